package agent

import (
	"github.com/elb-access-logger/elb-access-logger/internal/testbed"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
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

func TestAccessLogCheck(t *testing.T) {
	tests := []struct {
		name    string
		attr    AccessLog
		wantErr string // "" means valid
	}{
		{"disabled needs nothing", AccessLog{}, ""},
		{"aws 5", AccessLog{true, "my-logs", "", 5}, ""},
		{"aws 60 with prefix", AccessLog{true, "my-logs", "a/b", 60}, ""},
		{"eucalyptus 7", AccessLog{true, "my-logs", "", 7}, ""},
		{"interval 4", AccessLog{true, "my-logs", "", 4}, "EmitInterval 4: must be from 5 to 60"},
		{"interval 61", AccessLog{true, "my-logs", "", 61}, "EmitInterval 61"},
		{"no bucket", AccessLog{true, "", "", 5}, "S3BucketName"},
		{"template braces", AccessLog{true, "logs-{lb_name}", "", 5}, "S3BucketName"},
		{"AWSLogs prefix", AccessLog{true, "my-logs", "x/AWSLogs", 5}, "must not contain AWSLogs"},
		{"control char prefix", AccessLog{true, "my-logs", "a\nb", 5}, "control characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.attr.check(uploader.NamingDNS)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("check: got %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("check: got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestEmitIntervalWindows checks the Eucalyptus semantics: windows end at
// the minutes of each UTC hour that are multiples of the interval, the
// last of the hour shorter.
func TestEmitIntervalWindows(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		interval int
		schedule string // in the file: wins over the attribute
		from     string
		want     []string
	}{
		{5, "", "2026-11-25T06:52:10Z", []string{"06:55", "07:00", "07:05"}},
		{60, "", "2026-11-25T06:52:10Z", []string{"07:00", "08:00"}},
		{7, "", "2026-11-25T06:48:00Z", []string{"06:49", "06:56", "07:00", "07:07"}},
		{45, "", "2026-11-25T06:10:00Z", []string{"06:45", "07:00", "07:45"}},
		{7, "0 */30 * * * *", "2026-11-25T06:48:00Z", []string{"07:00", "07:30"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d %s", tt.interval, tt.schedule), func(t *testing.T) {
			base := config.DefaultConfig()
			base.Source, base.Schedule = config.SourceELBAPI, tt.schedule
			c := effectiveConfig(base, &AccessLog{Enabled: true, Bucket: "b-1", EmitInterval: tt.interval})
			s, err := config.WindowSchedule(c)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for tm := at(tt.from); len(got) < len(tt.want); {
				tm = config.NextWindowEnd(s, tm)
				got = append(got, tm.Format("15:04"))
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("window ends: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEffectiveConfig(t *testing.T) {
	base := config.DefaultConfig()
	base.Source = config.SourceELBAPI
	base.Bucket, base.KeyLayout, base.LifecycleDays = "file-{lb_name}", "seed", 30
	tests := []struct {
		name string
		attr *AccessLog
		want func(c *config.Config) string // "" when right
	}{
		{"unknown keeps logging off", nil, func(c *config.Config) string {
			if c.Enabled {
				return "enabled, want disabled"
			}
			return ""
		}},
		{"enabled", &AccessLog{true, "users-bucket", "pre", 5}, func(c *config.Config) string {
			if !c.Enabled || c.Bucket != "users-bucket" || c.KeyPrefix != "pre" || c.KeyLayout != "aws" || c.EmitInterval != 5 || !c.UserBucket {
				return fmt.Sprintf("got enabled %v bucket %q prefix %q layout %q interval %d user %v",
					c.Enabled, c.Bucket, c.KeyPrefix, c.KeyLayout, c.EmitInterval, c.UserBucket)
			}
			if o := c.Origin("access_log.bucket"); o.Source != config.SourceELBAPI {
				return "bucket origin " + o.String()
			}
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if msg := tt.want(effectiveConfig(base, tt.attr)); msg != "" {
				t.Error(msg)
			}
			if base.Bucket != "file-{lb_name}" || base.Enabled != true {
				t.Errorf("base changed: bucket %q enabled %v", base.Bucket, base.Enabled)
			}
		})
	}
	props := config.DefaultConfig()
	if got := effectiveConfig(props, &AccessLog{true, "x-y-z", "", 5}); got != props {
		t.Errorf("properties mode: the attribute changed the configuration")
	}
}

func TestServoConfELBServiceURL(t *testing.T) {
	tests := []struct{ servo, want string }{
		{"elb_service_url=http://elb.example.com:8773/services/LoadBalancing\n", "http://elb.example.com:8773/services/LoadBalancing"},
		{"elb_service_url=10.1.1.1\nwebservice_port=8080\n", "http://10.1.1.1:8080/services/LoadBalancing"},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		servo := testbed.WriteFile(t, dir, "servo.conf", tt.servo)
		props := testbed.WriteFile(t, dir, "a.properties", "objectstorage.servo_conf = "+servo+"\n")
		c, err := config.LoadConfig(props, true)
		if err != nil {
			t.Fatal(err)
		}
		if c.ELBEndpoint != tt.want {
			t.Errorf("elb.endpoint from %q: got %q, want %q", tt.servo, c.ELBEndpoint, tt.want)
		}
	}
}

// fakeELB is an AccessLogSource whose answer the test sets.
type fakeELB struct {
	mu    sync.Mutex
	attr  AccessLog
	err   error
	calls int
	names []string
}

func (f *fakeELB) AccessLog(ctx context.Context, lbName string) (AccessLog, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.names = append(f.names, lbName)
	return f.attr, f.err
}

func (f *fakeELB) set(attr AccessLog, err error) {
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
	elb := &fakeELB{attr: AccessLog{EmitInterval: 60}}
	var agent *Agent
	conn, cancel, done := startAgent(t, c, up, func(a *Agent) { a.SetAccessLogSource(elb); agent = a })
	defer func() { cancel(); <-done }()

	waitFor(t, "a poll", func() bool { return elb.callCount() > 1 })
	sendLine(t, conn, "while-disabled")

	steps := []struct {
		name string
		attr AccessLog
		line string
		// the window holding line lands under this bucket/prefix at the next step
		where string
	}{
		{"enable", AccessLog{true, "bucket-one", "p1", 5}, "one", "bucket-one/p1/AWSLogs/lbowner/elasticloadbalancing/"},
		{"bucket change", AccessLog{true, "bucket-two", "p1", 5}, "two", "bucket-two/p1/AWSLogs/"},
		{"prefix change", AccessLog{true, "bucket-two", "p2", 5}, "three", "bucket-two/p2/AWSLogs/"},
		{"interval change", AccessLog{true, "bucket-two", "p2", 60}, "four", "bucket-two/p2/AWSLogs/"},
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
	elb.set(AccessLog{EmitInterval: 60}, nil)
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
	st, err := loadELBState(nil, c.SpoolDir)
	if err != nil {
		t.Fatal(err)
	}
	if st.AccessLog == nil || st.AccessLog.Enabled {
		t.Errorf("state file: got %+v, want disabled", st)
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
	data, _ := json.Marshal(elbStateData{AccessLog: &AccessLog{true, "kept-bucket", "kp", 5}})
	if err := spool.WriteFileAtomic(nil, c.SpoolDir, elbStateFile, data); err != nil {
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
	elb := &fakeELB{attr: AccessLog{true, "good-bucket", "", 5}}
	var agent *Agent
	_, cancel, done := startAgent(t, c, up, func(a *Agent) { a.SetAccessLogSource(elb); agent = a })
	defer func() { cancel(); <-done }()
	waitFor(t, "enable applied", func() bool { return agent.Config().Bucket == "good-bucket" })
	elb.set(AccessLog{true, "good-bucket", "x/AWSLogs", 5}, nil)
	waitFor(t, "refusal counted", func() bool { return agent.ELBStats().Rejected >= 1 })
	if cfg := agent.Config(); cfg.KeyPrefix != "" || !cfg.Enabled {
		t.Errorf("after a refused attribute: got prefix %q enabled %v, want the earlier one", cfg.KeyPrefix, cfg.Enabled)
	}
}

func TestLoadELBState(t *testing.T) {
	tests := []struct {
		name, content string // content "" means no file
		wantErr       string
		wantAttr      *AccessLog
	}{
		{"no file", "", "", nil},
		{"attribute and pin", `{"access_log":{"enabled":true,"s3_bucket_name":"b-1","s3_bucket_prefix":"p","emit_interval":5},"pinned":{"window-20261125T061000Z-abcdefgh.log":{"bucket":"b-0"}}}`, "", &AccessLog{true, "b-1", "p", 5}},
		{"garbage", `{"access_log":`, "parse ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.content != "" {
				testbed.WriteFile(t, dir, elbStateFile, tt.content)
			}
			st, err := loadELBState(nil, dir)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("got %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), elbStateFile)):
				t.Fatalf("got %v, want an error naming %s and containing %q", err, elbStateFile, tt.wantErr)
			}
			if (st.AccessLog == nil) != (tt.wantAttr == nil) || (st.AccessLog != nil && *st.AccessLog != *tt.wantAttr) {
				t.Errorf("attribute: got %+v, want %+v", st.AccessLog, tt.wantAttr)
			}
		})
	}
}

func TestCollectorReadsELBStats(t *testing.T) {
	a, err := New(elbTestConfig(t), newMemUploader(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	a.elb.polls.Add(4)
	a.elb.pollErrors.Add(3)
	a.elb.rejected.Add(2)
	a.elb.changes.Add(1)
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
	if err := testutil.CollectAndCompare(agentCollector{a: a}, strings.NewReader(want),
		"elb_access_logger_elb_api_changes_total", "elb_access_logger_elb_api_poll_errors_total",
		"elb_access_logger_elb_api_polls_total", "elb_access_logger_elb_api_rejected_total"); err != nil {
		t.Error(err)
	}
}
