package agent

import (
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
	"github.com/elb-access-logger/elb-access-logger/parser"
	"github.com/elb-access-logger/elb-access-logger/uploader"
	"github.com/prometheus/client_golang/prometheus"
)

// notAtStart are the families with no series before anything happened,
// and why.
var notAtStart = map[string]string{
	// HAProxy's own counter, mirrored: a 0 before the first read would
	// make the first read look like a burst of drops.
	"elb_access_logger_haproxy_dropped_logs_total": "mirrors HAProxy's DroppedLogs, absent until read",
}

// Every family the agent's collector describes has its series from the
// start, at 0 before any traffic, every failure cause and every format
// included, so rate() and absent() work from the first scrape.
func TestEveryFamilyExportedAtStart(t *testing.T) {
	c := testConfig(t)
	c.Listen = append(c.Listen, "tcp://127.0.0.1:0")
	var a *Agent
	_, cancel, done := startAgent(t, c, newMemUploader(), func(x *Agent) { a = x })
	defer func() { cancel(); <-done }()
	m := scrape(t, a.MetricsAddr())

	descs := make(chan *prometheus.Desc, 100)
	agentCollector{a: a}.Describe(descs)
	close(descs)
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range descs {
		name := fqName.FindStringSubmatch(d.String())[1]
		if _, skip := notAtStart[name]; skip {
			continue
		}
		found := false
		for series := range m {
			if series == name || strings.HasPrefix(series, name+"{") {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s has no series at start", name)
		}
	}
	for _, cause := range uploader.Causes() {
		if v, ok := m[`elb_access_logger_upload_failures_total{cause="`+cause+`"}`]; !ok || v != 0 {
			t.Errorf("upload_failures_total{cause=%q}: %v %v, want 0 from the start", cause, v, ok)
		}
	}
	for f := parser.Format(0); f.String() != "invalid"; f++ {
		if v, ok := m[`elb_access_logger_lines_total{format="`+f.String()+`"}`]; !ok || v != 0 {
			t.Errorf("lines_total{format=%q}: %v %v, want 0 from the start", f, v, ok)
		}
	}
	for _, name := range []string{"config_last_reload_successful", "upload_bytes_total"} {
		want := map[string]float64{"config_last_reload_successful": 1}[name]
		if v, ok := m["elb_access_logger_"+name]; !ok || v != want {
			t.Errorf("%s: %v %v, want %v", name, v, ok, want)
		}
	}
	if v := m["elb_access_logger_config_last_reload_success_timestamp_seconds"]; v < float64(a.started.Unix()) {
		t.Errorf("config_last_reload_success_timestamp_seconds %v, want the start (%d)", v, a.started.Unix())
	}
}

// promtool's linter (Debian's prometheus package; make test installs it)
// finds nothing in a scrape of the running agent.
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		testbed.Skip(t, "no promtool in PATH: apt-get install prometheus (the metrics are linted with promtool check metrics)")
	}
	c := testConfig(t)
	c.Listen = append(c.Listen, "tcp://127.0.0.1:0")
	var a *Agent
	conn, cancel, done := startAgent(t, c, newMemUploader(), func(x *Agent) { a = x })
	defer func() { cancel(); <-done }()
	sendLine(t, conn, "lint")
	waitFor(t, "an upload", func() bool { return scrape(t, a.MetricsAddr())["elb_access_logger_uploads_total"] > 0 })
	resp, err := http.Get("http://" + a.MetricsAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(string(body))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
