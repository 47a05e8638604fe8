package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/agent/control"
	"github.com/elb-access-logger/elb-access-logger/agent/ship"
	"github.com/elb-access-logger/elb-access-logger/agent/spool"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/uploader"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fakeELB is an AccessLogSource whose answer the test sets.
type fakeELB struct {
	mu    sync.Mutex
	attr  control.AccessLog
	err   error
	calls int
	names []string
}

func (f *fakeELB) AccessLog(ctx context.Context, lbName string) (control.AccessLog, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.names = append(f.names, lbName)
	return f.attr, f.err
}

func (f *fakeELB) set(attr control.AccessLog, err error) {
	f.mu.Lock()
	f.attr, f.err = attr, err
	f.mu.Unlock()
}

func (f *fakeELB) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// aclUploader records how buckets were provisioned and objects written.
type aclUploader struct {
	*memUploader
	mu        sync.Mutex
	provision []uploader.Bucket
	canned    map[string]string // bucket/key -> CannedACL
}

func (u *aclUploader) Provision(ctx context.Context, b uploader.Bucket) error {
	u.mu.Lock()
	u.provision = append(u.provision, b)
	u.mu.Unlock()
	return u.memUploader.Provision(ctx, b)
}

func (u *aclUploader) Put(ctx context.Context, o uploader.Object) error {
	u.mu.Lock()
	u.canned[o.Bucket+"/"+o.Key] = o.CannedACL
	u.mu.Unlock()
	return u.memUploader.Put(ctx, o)
}

// provisioned reports whether bucket was provisioned as user-owned with
// prefix.
func (u *aclUploader) provisioned(bucket, prefix string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, b := range u.provision {
		if b.Name == bucket && b.Prefix == prefix && b.UserOwned && b.OwnerAccount == "lbowner" {
			return true
		}
	}
	return false
}

// objectsUnder returns the bodies of the objects under bucket/prefix.
func (u *aclUploader) objectsUnder(prefix string) []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.memUploader.mu.Lock()
	defer u.memUploader.mu.Unlock()
	var out []string
	for k, v := range u.memUploader.objects {
		if strings.HasPrefix(k, prefix) {
			out = append(out, v)
		}
	}
	return out
}

func elbTestConfig(t *testing.T) *config.Config {
	c := testConfig(t)
	c.Schedule = "" // the attribute's interval: no window ends during the test
	c.Source, c.ELBPollInterval = config.SourceELBAPI, 20*time.Millisecond
	c.KeyLayout, c.Region, c.NodeIP = "seed", "us-east-1", "10.0.0.7"
	return c
}

func sendLine(t *testing.T, conn net.Conn, path string) {
	t.Helper()
	fmt.Fprintf(conn, "<158>Nov 25 06:12:36 haproxy[6817]: 127.0.0.1:35308 [25/Nov/2026:06:12:36.416] fe_http be_http/s1 0/0/0/6/6 200 185 - - ---- 1/1/0/0/0 0/0 \"GET /%s HTTP/1.1\"\n", path)
}

// TestELBAPIFollowsChanges runs the agent against a fake ELB API: enable
// writes the test file, each change of bucket, prefix or interval seals
// the window under the old settings, disable keeps the spool.
func TestELBAPIFollowsChanges(t *testing.T) {
	c := elbTestConfig(t)
	up := &aclUploader{memUploader: newMemUploader(), canned: map[string]string{}}
	elb := &fakeELB{attr: control.AccessLog{EmitInterval: 60}}
	var agent *Agent
	conn, cancel, done := startAgent(t, c, up, func(a *Agent) { a.SetAccessLogSource(elb); agent = a })
	defer func() { cancel(); <-done }()

	waitFor(t, "a poll", func() bool { return elb.callCount() > 1 })
	sendLine(t, conn, "while-disabled")

	steps := []struct {
		name string
		attr control.AccessLog
		line string
		// the window holding line lands under this bucket/prefix at the next step
		where string
	}{
		{"enable", control.AccessLog{Enabled: true, Bucket: "bucket-one", Prefix: "p1", EmitInterval: 5}, "one", "bucket-one/p1/AWSLogs/lbowner/elasticloadbalancing/"},
		{"bucket change", control.AccessLog{Enabled: true, Bucket: "bucket-two", Prefix: "p1", EmitInterval: 5}, "two", "bucket-two/p1/AWSLogs/"},
		{"prefix change", control.AccessLog{Enabled: true, Bucket: "bucket-two", Prefix: "p2", EmitInterval: 5}, "three", "bucket-two/p2/AWSLogs/"},
		{"interval change", control.AccessLog{Enabled: true, Bucket: "bucket-two", Prefix: "p2", EmitInterval: 60}, "four", "bucket-two/p2/AWSLogs/"},
	}
	var pending *struct{ line, where string }
	for _, st := range steps {
		elb.set(st.attr, nil)
		waitFor(t, st.name+" applied", func() bool {
			cfg := agent.Config()
			return cfg.Enabled && cfg.Bucket == st.attr.Bucket && cfg.KeyPrefix == st.attr.Prefix && cfg.EmitInterval == st.attr.EmitInterval
		})
		if st.name == "enable" || st.name == "bucket change" {
			// Provision of a user-owned bucket writes the test file.
			waitFor(t, "provisioning of "+st.attr.Bucket, func() bool { return up.provisioned(st.attr.Bucket, st.attr.Prefix) })
		}
		if pending != nil {
			p := *pending
			waitFor(t, "line "+p.line+" under "+p.where, func() bool {
				for _, body := range up.objectsUnder(p.where) {
					if strings.Contains(body, "/"+p.line+" ") {
						return true
					}
				}
				return false
			})
		}
		sendLine(t, conn, st.line)
		time.Sleep(100 * time.Millisecond) // the listener spools it
		pending = &struct{ line, where string }{st.line, st.where}
	}
	if got := agent.spool.End(); got.Minute() != 0 || got.Second() != 0 {
		t.Errorf("window end after the interval became 60: got %s, want on the hour", got)
	}

	// Disable: the window with "four" is sealed and kept, nothing uploaded.
	elb.set(control.AccessLog{EmitInterval: 60}, nil)
	waitFor(t, "disable applied", func() bool { return !agent.Config().Enabled })
	sendLine(t, conn, "after-disable")
	time.Sleep(300 * time.Millisecond)
	for _, body := range up.objectsUnder("") {
		for _, bad := range []string{"/four ", "/while-disabled ", "/after-disable "} {
			if strings.Contains(body, bad) {
				t.Errorf("uploaded %q: got it in %q", bad, body)
			}
		}
	}
	segs, err := agent.spool.Sealed()
	if err != nil || len(segs) != 1 {
		t.Fatalf("spool after disable: got %d segments (%v), want the 1 with line four", len(segs), err)
	}
	pins := readPins(t, c.SpoolDir)
	if d, ok := pins[filepath.Base(segs[0].Path)]; !ok || d.Bucket != "bucket-two" || d.Prefix != "p2" {
		t.Errorf("pin of the kept segment: got %+v %v, want bucket-two/p2", d, ok)
	}

	up.mu.Lock()
	for k, acl := range up.canned {
		if acl != uploader.CannedACLBucketOwnerFullControl {
			t.Errorf("object %s: got canned ACL %q, want %q", k, acl, uploader.CannedACLBucketOwnerFullControl)
		}
	}
	for _, b := range up.provision {
		if !b.UserOwned {
			t.Errorf("bucket %s provisioned as the agent's own, want user-owned", b.Name)
		}
	}
	up.mu.Unlock()

	// The state file keeps the last attribute, pins.json the pin.
	var st struct {
		AccessLog *control.AccessLog `json:"access_log"`
	}
	data, err := os.ReadFile(filepath.Join(c.SpoolDir, ship.LegacyStateFile))
	if err == nil {
		err = json.Unmarshal(data, &st)
	}
	if err != nil {
		t.Fatal(err)
	}
	if st.AccessLog == nil || st.AccessLog.Enabled {
		t.Errorf("state file: got %s, want disabled", data)
	}
	if pins := readPins(t, c.SpoolDir); len(pins) != 1 {
		t.Errorf("pins.json: got %+v, want one pin", pins)
	}
}

// readPins reads the pins the Shipper keeps in the spool directory.
func readPins(t *testing.T, dir string) map[string]ship.Destination {
	t.Helper()
	pins := map[string]ship.Destination{}
	data, err := os.ReadFile(filepath.Join(dir, ship.PinsFile))
	if err != nil {
		t.Fatalf("pins: %v", err)
	}
	if err := json.Unmarshal(data, &pins); err != nil {
		t.Fatalf("pins: %v", err)
	}
	return pins
}

// TestELBAPIUnreachableKeepsLastKnown: a restart with the ELB API down
// follows the attribute persisted by the earlier run, and counts the
// failed polls.
func TestELBAPIUnreachableKeepsLastKnown(t *testing.T) {
	c := elbTestConfig(t)
	data, _ := json.Marshal(map[string]any{"access_log": control.AccessLog{Enabled: true, Bucket: "kept-bucket", Prefix: "kp", EmitInterval: 5}})
	if err := spool.WriteFileAtomic(nil, c.SpoolDir, ship.LegacyStateFile, data); err != nil {
		t.Fatal(err)
	}
	up := &aclUploader{memUploader: newMemUploader(), canned: map[string]string{}}
	elb := &fakeELB{err: errors.New("dial tcp 127.0.0.1:1: connection refused")}
	var agent *Agent
	conn, cancel, done := startAgent(t, c, up, func(a *Agent) { a.SetAccessLogSource(elb); agent = a })
	if cfg := agent.Config(); !cfg.Enabled || cfg.Bucket != "kept-bucket" || cfg.KeyPrefix != "kp" {
		t.Fatalf("config at start: got enabled %v bucket %q prefix %q, want the persisted attribute", cfg.Enabled, cfg.Bucket, cfg.KeyPrefix)
	}
	waitFor(t, "failed polls counted", func() bool { return agent.ELBStats().PollErrors >= 2 })
	sendLine(t, conn, "kept")
	time.Sleep(100 * time.Millisecond)
	cancel()
	<-done
	if got := up.objectsUnder("kept-bucket/kp/AWSLogs/lbowner/elasticloadbalancing/"); len(got) != 1 || !strings.Contains(got[0], "/kept ") {
		t.Errorf("objects under the persisted destination: got %q, want one with line kept", got)
	}
	if s := agent.ELBStats(); s.Polls != 0 || s.Changes != 0 {
		t.Errorf("stats: got %+v, want no answered poll and no change", s)
	}
}

// TestELBAPIRefusesBadAttribute: an attribute the agent cannot follow is
// counted and logged, and the one in force stays.
func TestELBAPIRefusesBadAttribute(t *testing.T) {
	c := elbTestConfig(t)
	up := &aclUploader{memUploader: newMemUploader(), canned: map[string]string{}}
	elb := &fakeELB{attr: control.AccessLog{Enabled: true, Bucket: "good-bucket", Prefix: "", EmitInterval: 5}}
	var agent *Agent
	_, cancel, done := startAgent(t, c, up, func(a *Agent) { a.SetAccessLogSource(elb); agent = a })
	defer func() { cancel(); <-done }()
	waitFor(t, "enable applied", func() bool { return agent.Config().Bucket == "good-bucket" })
	elb.set(control.AccessLog{Enabled: true, Bucket: "good-bucket", Prefix: "x/AWSLogs", EmitInterval: 5}, nil)
	waitFor(t, "refusal counted", func() bool { return agent.ELBStats().Rejected >= 1 })
	if cfg := agent.Config(); cfg.KeyPrefix != "" || !cfg.Enabled {
		t.Errorf("after a refused attribute: got prefix %q enabled %v, want the earlier one", cfg.KeyPrefix, cfg.Enabled)
	}
}

func TestCollectorReadsELBStats(t *testing.T) {
	a, err := New(elbTestConfig(t), newMemUploader(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	stats := func() control.Stats {
		return control.Stats{ELBPolls: 4, ELBPollErrors: 3, ELBRejected: 2, ELBChanges: 1}
	}
	want := `
# HELP elb_access_logger_elb_api_changes_total AccessLog attribute changes applied.
# TYPE elb_access_logger_elb_api_changes_total counter
elb_access_logger_elb_api_changes_total 1
# HELP elb_access_logger_elb_api_poll_errors_total ELB API polls that failed; the last known AccessLog attribute stayed in force.
# TYPE elb_access_logger_elb_api_poll_errors_total counter
elb_access_logger_elb_api_poll_errors_total 3
# HELP elb_access_logger_elb_api_polls_total AccessLog attributes read from the ELB API (access_log.source = elb-api).
# TYPE elb_access_logger_elb_api_polls_total counter
elb_access_logger_elb_api_polls_total 4
# HELP elb_access_logger_elb_api_rejected_total AccessLog attributes refused as invalid (bad bucket, prefix with AWSLogs, interval outside 5..60).
# TYPE elb_access_logger_elb_api_rejected_total counter
elb_access_logger_elb_api_rejected_total 2
`
	if err := testutil.CollectAndCompare(agentCollector{a: a, ctl: stats}, strings.NewReader(want),
		"elb_access_logger_elb_api_changes_total", "elb_access_logger_elb_api_poll_errors_total",
		"elb_access_logger_elb_api_polls_total", "elb_access_logger_elb_api_rejected_total"); err != nil {
		t.Error(err)
	}
}
