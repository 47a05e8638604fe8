package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/agent/control"
	"github.com/elb-access-logger/elb-access-logger/agent/ship"
	"github.com/elb-access-logger/elb-access-logger/uploader"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

const (
	httplogBody   = `127.0.0.1:35308 [25/Nov/2026:06:12:36.416] fe_http be_http/s1 0/0/0/6/6 200 185 - - ---- 1/1/0/0/0 0/0 "GET /index.html HTTP/1.1"`
	truncatedBody = `127.0.0.1:35308 [25/Nov/2026:06:12:36.416] fe_http be_http/s1 0/0/0/6/6 200 185 - - ---- 1/1/0/0/0 0/0 "GET /index.ht`
)

// metaUploader records the metadata each object was put with.
type metaUploader struct {
	*memUploader
	mu   sync.Mutex
	meta map[string]map[string]string // key -> metadata
}

func (m *metaUploader) Put(ctx context.Context, o uploader.Object) error {
	if err := m.memUploader.Put(ctx, o); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.meta == nil {
		m.meta = map[string]map[string]string{}
	}
	m.meta[o.Key] = o.Metadata
	return nil
}

// sum adds metadata field name over every object.
func (m *metaUploader) sum(t *testing.T, name string) int64 {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for key, md := range m.meta {
		v, err := strconv.ParseInt(md[name], 10, 64)
		if err != nil {
			t.Fatalf("object %s: metadata %s = %q: %v", key, name, md[name], err)
		}
		n += v
	}
	return n
}

// scrape reads the agent's real endpoint and returns each sample as
// "name{labels}" -> value.
func scrape(t *testing.T, addr net.Addr) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr.String() + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: status %d", resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scrape: parse: %v", err)
	}
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			out[name+labelString(m)] = value(m)
		}
	}
	return out
}

func labelString(m *dto.Metric) string {
	if len(m.GetLabel()) == 0 {
		return ""
	}
	var parts []string
	for _, l := range m.GetLabel() {
		parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return m.GetUntyped().GetValue()
}

func TestMetricsAfterRealTraffic(t *testing.T) {
	up := &metaUploader{memUploader: newMemUploader()}
	var a *Agent
	conn, cancel, done := startAgent(t, testConfig(t), up, func(x *Agent) { a = x })
	defer func() { cancel(); <-done }()
	listener := "udp://" + a.Addrs()[0].String()

	sent := map[string]int{"httplog": 30, "unknown": 7, "truncated": 4}
	var sentBytes int
	for kind, n := range sent {
		body := map[string]string{"httplog": httplogBody, "unknown": "not an haproxy line", "truncated": truncatedBody}[kind]
		for range n {
			msg := "<158>Nov 25 06:12:36 haproxy[1]: " + body + "\n"
			sentBytes += len(msg)
			if _, err := io.WriteString(conn, msg); err != nil {
				t.Fatal(err)
			}
		}
	}
	total := sent["httplog"] + sent["unknown"] + sent["truncated"]
	// A line cut before its request line ends matches no format: it is
	// both unparsed (kept verbatim) and truncated.
	unparsed := sent["unknown"] + sent["truncated"]
	waitFor(t, "every line uploaded", func() bool { return len(up.lines()) >= total })
	var m map[string]float64
	waitFor(t, "the last upload counted", func() bool {
		m = scrape(t, a.MetricsAddr())
		return m["elb_access_logger_spool_segments"] == 0 && m["elb_access_logger_uploads_total"] >= 1
	})

	tests := []struct {
		name string
		want float64
	}{
		{`elb_access_logger_datagrams_received_total{listener="` + listener + `"}`, float64(total)},
		{`elb_access_logger_received_bytes_total{listener="` + listener + `"}`, float64(sentBytes)},
		{`elb_access_logger_kernel_receive_drops_total{listener="` + listener + `"}`, 0},
		{`elb_access_logger_lines_total{format="httplog"}`, float64(sent["httplog"])},
		{`elb_access_logger_lines_total{format="unknown"}`, float64(unparsed)},
		{`elb_access_logger_upload_bytes_total`, float64(uploadedBytes(up.memUploader))},
		{`elb_access_logger_config_last_reload_successful`, 1},
		{`elb_access_logger_lines_truncated_total`, float64(sent["truncated"])},
		{`elb_access_logger_lines_dropped_total`, 0},
		{`elb_access_logger_lines_held_total`, 0},
		{`elb_access_logger_upload_duration_seconds`, m["elb_access_logger_uploads_total"]},
		{`elb_access_logger_provisioning_errors_total`, 0},
		{`elb_access_logger_provisionings_total`, 1},
		{`elb_access_logger_healthy`, 1},
	}
	for _, tt := range tests {
		if got, ok := m[tt.name]; !ok || got != tt.want {
			t.Errorf("%s: got %v (present %v), want %v", tt.name, got, ok, tt.want)
		}
	}
	if got := m["elb_access_logger_spooled_bytes_total"]; got <= 0 {
		t.Errorf("spooled_bytes_total: got %v, want > 0", got)
	}
	if got := m["elb_access_logger_windows_sealed_total"]; got < 1 {
		t.Errorf("windows_sealed_total: got %v, want >= 1", got)
	}
	if got := m["elb_access_logger_last_upload_timestamp_seconds"]; time.Since(time.Unix(int64(got), 0)) > time.Minute {
		t.Errorf("last_upload_timestamp_seconds: got %v, want about now", got)
	}
	// Each object says what its window held; together they add up to
	// what was sent.
	for _, tt := range []struct {
		field string
		want  int
	}{{"lines", total}, {"unparsed", unparsed}, {"truncated", sent["truncated"]}, {"kernel-drops", 0}} {
		if got := up.sum(t, tt.field); got != int64(tt.want) {
			t.Errorf("metadata %s summed over objects: got %d, want %d", tt.field, got, tt.want)
		}
	}
}

func TestMetricsCountKernelDrops(t *testing.T) {
	up := &metaUploader{memUploader: newMemUploader()}
	c := testConfig(t)
	c.ReceiveBufferBytes = 4096
	release := make(chan struct{})
	var held sync.Once
	var a *Agent
	conn, cancel, done := startAgent(t, c, up, func(x *Agent) {
		a = x
		// The reader stops at the first datagram until released, so the
		// kernel's small queue overflows.
		x.opts.ingest.Hold = func() { held.Do(func() { <-release }) }
	})
	defer func() { cancel(); <-done }()
	listener := "udp://" + a.Addrs()[0].String()
	const sent = 300
	for i := range sent {
		fmt.Fprintf(conn, "<158>Nov 25 06:12:36 haproxy[1]: %s seq=%d\n", httplogBody, i)
	}
	var m map[string]float64
	waitFor(t, "kernel drops", func() bool {
		m = scrape(t, a.MetricsAddr())
		return m[`elb_access_logger_kernel_receive_drops_total{listener="`+listener+`"}`] > 0
	})
	close(release)
	recv := `elb_access_logger_datagrams_received_total{listener="` + listener + `"}`
	drops := `elb_access_logger_kernel_receive_drops_total{listener="` + listener + `"}`
	waitFor(t, "received + dropped = sent", func() bool {
		m = scrape(t, a.MetricsAddr())
		return m[recv]+m[drops] >= sent
	})
	if got := m[recv] + m[drops]; got != sent {
		t.Errorf("received %v + dropped %v = %v, want %d", m[recv], m[drops], got, sent)
	}
	if m[drops] == 0 || m[recv] == 0 {
		t.Errorf("received %v, dropped %v: want both > 0", m[recv], m[drops])
	}
	// The windows' counts, summed over the uploaded objects, carry the
	// same totals.
	waitFor(t, "windows with the drops uploaded", func() bool {
		up.mu.Lock()
		defer up.mu.Unlock()
		var lines, kd int64
		for _, md := range up.meta {
			l, _ := strconv.ParseInt(md["lines"], 10, 64)
			k, _ := strconv.ParseInt(md["kernel-drops"], 10, 64)
			lines, kd = lines+l, kd+k
		}
		return lines == int64(m[recv]) && kd == int64(m[drops])
	})
}

func TestHealthz(t *testing.T) {
	up := newMemUploader()
	var a *Agent
	conn, cancel, done := startAgent(t, testConfig(t), up, func(x *Agent) { a = x })
	defer func() { cancel(); <-done }()
	health := func() int {
		resp, err := http.Get("http://" + a.MetricsAddr().String() + "/healthz")
		if err != nil {
			t.Fatalf("healthz: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := health(); got != http.StatusOK {
		t.Fatalf("healthz at start: got %d, want 200", got)
	}
	// One-second windows: failing uploads turn it 503 after two seconds.
	up.setFail(&uploader.Error{Op: "put object", Kind: uploader.ErrServer, Err: fmt.Errorf("503 SlowDown")})
	fmt.Fprintf(conn, "<158>Nov 25 06:12:36 haproxy[1]: %s\n", httplogBody)
	start := time.Now()
	waitFor(t, "healthz 503 while uploads fail", func() bool { return health() == http.StatusServiceUnavailable })
	if d := time.Since(start); d < 2*time.Second {
		t.Errorf("503 after %s, want not before two windows (2s)", d)
	}
	m := scrape(t, a.MetricsAddr())
	if got := m[`elb_access_logger_upload_failures_total{cause="server_error"}`] + m[`elb_access_logger_provisioning_errors_total`]; got < 1 {
		t.Errorf("failures by cause: got %v, want >= 1", got)
	}
	if got := m["elb_access_logger_healthy"]; got != 0 {
		t.Errorf("healthy: got %v, want 0", got)
	}
	up.setFail(nil)
	waitFor(t, "healthz 200 once uploads work", func() bool { return health() == http.StatusOK })
}

func TestHealthWithoutListener(t *testing.T) {
	a, err := New(testConfig(t), newMemUploader(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if ok, why := a.health(time.Now()); ok || !strings.Contains(why, "listener") {
		t.Errorf("health before Start: got %v %q, want false naming the listener", ok, why)
	}
}

func TestMetricsLint(t *testing.T) {
	a, err := New(testConfig(t), newMemUploader(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	stats := func() ship.Stats {
		return ship.Stats{FailuresByCause: map[string]int64{uploader.Cause(&uploader.Error{Kind: uploader.ErrAccessDenied, Err: fmt.Errorf("403")}): 1}}
	}
	problems, err := testutil.CollectAndLint(agentCollector{a: a, ship: stats})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	problems, err = testutil.CollectAndLint(a.obs.uploadLatency)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestCollectorReadsAgentStats(t *testing.T) {
	a, err := New(testConfig(t), newMemUploader(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctl := func() control.Stats { return control.Stats{ReloadsOK: 2, ReloadsFailed: 1} }
	denied := uploader.Cause(&uploader.Error{Kind: uploader.ErrAccessDenied, Err: fmt.Errorf("403")})
	stats := func() ship.Stats {
		return ship.Stats{Uploads: 5, ProvisionErrors: 3,
			FailuresByCause: map[string]int64{denied: 2, uploader.Cause(fmt.Errorf("something else")): 1}}
	}
	want := `
# HELP elb_access_logger_config_reload_failures_total Configuration reloads rejected (bad file, listener not bound).
# TYPE elb_access_logger_config_reload_failures_total counter
elb_access_logger_config_reload_failures_total 1
# HELP elb_access_logger_config_reloads_total Configuration reloads applied.
# TYPE elb_access_logger_config_reloads_total counter
elb_access_logger_config_reloads_total 2
# HELP elb_access_logger_provisioning_errors_total Bucket provisioning attempts (create, ACL, lifecycle, test file) that failed after their retries.
# TYPE elb_access_logger_provisioning_errors_total counter
elb_access_logger_provisioning_errors_total 3
# HELP elb_access_logger_upload_failures_total Segment uploads that failed after their retries, by cause.
# TYPE elb_access_logger_upload_failures_total counter
elb_access_logger_upload_failures_total{cause="access_denied"} 2
elb_access_logger_upload_failures_total{cause="bucket_owned_by_other"} 0
elb_access_logger_upload_failures_total{cause="credentials"} 0
elb_access_logger_upload_failures_total{cause="entity_too_large"} 0
elb_access_logger_upload_failures_total{cause="invalid_bucket_name"} 0
elb_access_logger_upload_failures_total{cause="invalid_part"} 0
elb_access_logger_upload_failures_total{cause="network"} 0
elb_access_logger_upload_failures_total{cause="no_such_bucket"} 0
elb_access_logger_upload_failures_total{cause="no_such_upload"} 0
elb_access_logger_upload_failures_total{cause="other"} 1
elb_access_logger_upload_failures_total{cause="preflight"} 0
elb_access_logger_upload_failures_total{cause="server_error"} 0
elb_access_logger_upload_failures_total{cause="signature"} 0
elb_access_logger_upload_failures_total{cause="timeout"} 0
# HELP elb_access_logger_uploads_total Segments the store acknowledged.
# TYPE elb_access_logger_uploads_total counter
elb_access_logger_uploads_total 5
`
	if err := testutil.CollectAndCompare(agentCollector{a: a, ship: stats, ctl: ctl}, strings.NewReader(want),
		"elb_access_logger_config_reload_failures_total", "elb_access_logger_config_reloads_total",
		"elb_access_logger_provisioning_errors_total", "elb_access_logger_upload_failures_total",
		"elb_access_logger_uploads_total"); err != nil {
		t.Error(err)
	}
}

// A datagram longer than syslog.max_message_bytes is kept, cut to the
// limit, and counted per listener.
func TestMetricsCountOversizeDatagrams(t *testing.T) {
	up := &metaUploader{memUploader: newMemUploader()}
	c := testConfig(t)
	c.MaxMessageBytes = 600
	var a *Agent
	conn, cancel, done := startAgent(t, c, up, func(x *Agent) { a = x })
	defer func() { cancel(); <-done }()
	listener := "udp://" + a.Addrs()[0].String()
	short := "<158>Nov 25 06:12:36 haproxy[1]: short\n"
	long := "<158>Nov 25 06:12:36 haproxy[1]: long " + strings.Repeat("x", 2000) + "\n"
	for _, msg := range []string{short, long, short, long, long} {
		if _, err := io.WriteString(conn, msg); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every line uploaded", func() bool { return len(up.lines()) >= 5 })
	m := scrape(t, a.MetricsAddr())
	name := `elb_access_logger_datagrams_oversize_total{listener="` + listener + `"}`
	if got := m[name]; got != 3 {
		t.Errorf("%s: got %v, want 3", name, got)
	}
	for _, l := range up.lines() {
		if len(l) > 600+64 {
			t.Errorf("a kept line is %d bytes, longer than the 600-byte limit allows", len(l))
		}
	}
}

// uploadedBytes is the bytes of every object m holds.
func uploadedBytes(m *memUploader) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, body := range m.objects {
		n += len(body)
	}
	return n
}
