package agent

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/agent/ship"
	"github.com/elb-access-logger/elb-access-logger/agent/spool"
	"github.com/elb-access-logger/elb-access-logger/agent/spool/spooltest"
	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
	"io"
	"log/slog"
	"net"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/uploader"
)

// memUploader is an in-memory store that can be told to fail. It records
// the order of puts, the most puts in flight at once, and every overwrite
// of an object with different bytes.
type memUploader struct {
	mu       sync.Mutex
	objects  map[string]string // bucket/key -> body
	buckets  map[string]bool
	fail     error
	failKey  func(key string) error // per-key failure, nil: none
	delay    time.Duration          // each Put takes this long
	loseAcks int                    // this many stored puts answer with an error

	puts                  []string // keys, in the order puts completed
	inflight, maxInflight int
	overwrites            []string // keys overwritten with different bytes
	digests               []string // per Put: the body's Sums were "right", "wrong" or "none"
}

// checkSums says whether sums are the MD5s of body's parts: "right",
// "wrong" or "none".
func checkSums(sums uploader.Sums, body []byte) string {
	if sums.PartSize <= 0 {
		return "none"
	}
	var want [][md5.Size]byte
	for off := int64(0); off < int64(len(body)); off += sums.PartSize {
		want = append(want, md5.Sum(body[off:min(off+sums.PartSize, int64(len(body)))]))
	}
	if sums.Size != int64(len(body)) || !reflect.DeepEqual(sums.MD5, want) {
		return "wrong"
	}
	return "right"
}

func newMemUploader() *memUploader {
	return &memUploader{objects: map[string]string{}, buckets: map[string]bool{}}
}

func (m *memUploader) Provision(ctx context.Context, b uploader.Bucket) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.buckets[b.Name] = true
	return nil
}

func (m *memUploader) Put(ctx context.Context, o uploader.Object) error {
	bucket, key := o.Bucket, o.Key
	b, err := io.ReadAll(o.Body)
	if err != nil {
		return err
	}
	if int64(len(b)) != o.Size {
		return fmt.Errorf("size %d, read %d", o.Size, len(b))
	}
	m.mu.Lock()
	m.digests = append(m.digests, checkSums(o.Sums, b))
	m.inflight++
	m.maxInflight = max(m.maxInflight, m.inflight)
	m.mu.Unlock()
	select {
	case <-time.After(m.delay):
	case <-ctx.Done():
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inflight--
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.fail != nil {
		return m.fail
	}
	if m.failKey != nil {
		if err := m.failKey(key); err != nil {
			return err
		}
	}
	if !m.buckets[bucket] {
		return &uploader.Error{Op: "put object", Bucket: bucket, Key: key, Kind: uploader.ErrNoSuchBucket, Err: errors.New("404 NoSuchBucket")}
	}
	if old, ok := m.objects[bucket+"/"+key]; ok && old != string(b) {
		m.overwrites = append(m.overwrites, key)
	}
	m.objects[bucket+"/"+key] = string(b)
	m.puts = append(m.puts, key)
	if m.loseAcks > 0 {
		m.loseAcks-- // stored, but the 200 never reaches the agent
		return &uploader.Error{Op: "put object", Kind: uploader.ErrNetwork, Err: errors.New("connection reset")}
	}
	return nil
}

func (m *memUploader) lines() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, body := range m.objects {
		out = append(out, strings.Split(strings.TrimSuffix(body, "\n"), "\n")...)
	}
	sort.Strings(out)
	return out
}

func (m *memUploader) setFail(err error) {
	m.mu.Lock()
	m.fail = err
	m.mu.Unlock()
}

func testConfig(t *testing.T) *config.Config {
	c := config.DefaultConfig()
	c.Schedule = "* * * * * *" // one-second windows
	c.Listen = []string{"udp://127.0.0.1:0"}
	c.SpoolDir = t.TempDir()
	c.FsyncInterval = 50 * time.Millisecond
	c.Bucket = "logs-{lb_name}"
	c.LBName = "lb1"
	c.OwnerAccount = "lbowner"
	c.UploadSpread = 0 // upload at once; spread_test.go covers the offset
	c.MetricsListen = "127.0.0.1:0"
	return c
}

func startAgent(t *testing.T, c *config.Config, up Uploader, opts ...func(*Agent)) (net.Conn, context.CancelFunc, chan error) {
	t.Helper()
	a, err := New(c, up, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	a.opts.backoff = ship.Backoff{Base: 10 * time.Millisecond, Max: 100 * time.Millisecond}
	for _, o := range opts {
		o(a)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("udp", a.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	return conn, cancel, done
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testbed.WaitFor(t, what, cond)
}

func TestAgentDeliversEveryLineOnce(t *testing.T) {
	up := newMemUploader()
	conn, cancel, done := startAgent(t, testConfig(t), up)
	const n = 200
	var want []string
	for i := 0; i < n; i++ {
		body := fmt.Sprintf("line-%04d", i)
		want = append(want, "Nov 25 06:12:36 localhost haproxy[1]: "+body)
		fmt.Fprintf(conn, "<158>Nov 25 06:12:36 haproxy[1]: %s\n", body)
		if i%50 == 0 {
			time.Sleep(300 * time.Millisecond) // spread over windows
		}
	}
	waitFor(t, "all lines uploaded", func() bool { return len(up.lines()) >= n })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	sort.Strings(want)
	if got := up.lines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("uploaded lines: got %d, want %d\nfirst got %q", len(got), len(want), got[:min(3, len(got))])
	}
	for k := range up.objects {
		if !strings.HasPrefix(k, "logs-lb1/elb-access-") {
			t.Errorf("object %q not in the seed layout", k)
		}
	}
}

// Every upload of a window the agent wrote carries the MD5s of its parts,
// computed as the lines were written, so the uploader need not read the
// segment to hash it (issue 20 item 7); a gzip destination sends other
// bytes and gets none.
func TestAgentUploadsCarryTheirDigests(t *testing.T) {
	for _, gz := range []bool{false, true} {
		up := newMemUploader()
		c := testConfig(t)
		c.PartSizeBytes = 100 // parts of 100 bytes: several per window
		if gz {
			c.Compression = config.CompressionGzip
		}
		conn, cancel, done := startAgent(t, c, up)
		for i := range 40 {
			fmt.Fprintf(conn, "<158>Nov 25 06:12:36 haproxy[1]: line-%04d\n", i)
		}
		waitFor(t, "all lines uploaded", func() bool { return len(up.lines()) >= 40 })
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
		want := "right"
		if gz {
			want = "none"
		}
		up.mu.Lock()
		for i, d := range up.digests {
			if d != want {
				t.Errorf("gzip %v: put %d carried %s digests, want %s", gz, i, d, want)
			}
		}
		up.mu.Unlock()
	}
}

func TestAgentKeepsSegmentsWhileStoreFails(t *testing.T) {
	up := newMemUploader()
	up.fail = errors.New("503 SlowDown")
	c := testConfig(t)
	conn, cancel, done := startAgent(t, c, up)
	fmt.Fprintf(conn, "<158>Nov 25 06:12:36 haproxy[1]: kept\n")
	waitFor(t, "a sealed segment", func() bool { return len(sealedIn(c.SpoolDir)) > 0 })
	time.Sleep(1500 * time.Millisecond) // at least one more failing round
	if len(up.lines()) != 0 {
		t.Fatal("uploaded while the store fails")
	}
	up.setFail(nil)
	waitFor(t, "the kept line uploaded", func() bool { return len(up.lines()) == 1 })
	waitFor(t, "the spool emptied", func() bool { return len(sealedIn(c.SpoolDir)) == 0 })
	cancel()
	<-done
}

func TestAgentShutdownUploadsActiveWindow(t *testing.T) {
	up := newMemUploader()
	c := testConfig(t)
	c.Schedule = "0 0 * * * *" // the window will not end during the test
	conn, cancel, done := startAgent(t, c, up)
	fmt.Fprintf(conn, "<158>Nov 25 06:12:36 haproxy[1]: at-shutdown\n")
	time.Sleep(200 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := up.lines(); len(got) != 1 || !strings.HasSuffix(got[0], "at-shutdown") {
		t.Fatalf("got %q", got)
	}
}

func (m *memUploader) snapshot() (puts, overwrites []string, maxInflight int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.puts...), append([]string(nil), m.overwrites...), m.maxInflight
}

// sealSegments leaves n sealed one-line segments, one per minute ending
// at 06:01, 06:02, ..., in dir, as an earlier run with a store outage would.
func sealSegments(t *testing.T, dir string, n int) {
	t.Helper()
	s, err := spool.Open(dir, every(time.Minute), t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		appendLines(t, s, fmt.Sprintf("backlog-%03d", i))
		if err := s.Rotate(t0.Add(time.Duration(i) * time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
}

func TestAgentDrainsBacklogOldestFirstWithBoundedConcurrency(t *testing.T) {
	tests := []struct {
		name        string
		concurrency int
	}{
		{"one at a time", 1},
		{"three at a time", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConfig(t)
			c.MaxConcurrency = tt.concurrency
			const n = 12
			sealSegments(t, c.SpoolDir, n)
			up := newMemUploader()
			up.delay = 30 * time.Millisecond
			_, cancel, done := startAgent(t, c, up)
			waitFor(t, "the backlog uploaded", func() bool { p, _, _ := up.snapshot(); return len(p) >= n })
			cancel()
			<-done
			puts, overwrites, maxIn := up.snapshot()
			if maxIn != tt.concurrency {
				t.Errorf("most puts in flight: got %d, want %d", maxIn, tt.concurrency)
			}
			if len(overwrites) != 0 {
				t.Errorf("objects overwritten with different bytes: %v", overwrites)
			}
			// Oldest first: a put never completes more than concurrency-1
			// places ahead of an older window.
			for i, k := range puts[:n] {
				want := t0.Add(time.Duration(i+1) * time.Minute)
				got, err := time.Parse("elb-access-02012006-150405.log", k)
				if err != nil {
					t.Fatalf("key %q: %v", k, err)
				}
				if d := got.Sub(want); d < -time.Duration(tt.concurrency)*time.Minute || d > time.Duration(tt.concurrency)*time.Minute {
					t.Errorf("put %d: got %s, want about %s (oldest first)", i, k, uploader.SeedKey(want))
				}
			}
		})
	}
}

// notRetryable is an error the store will keep giving (a 403, say).
type notRetryable struct{ error }

func (notRetryable) Retryable() bool { return false }
func (e notRetryable) Unwrap() error { return e.error }

func TestAgentFailingSegmentDoesNotStallOthers(t *testing.T) {
	c := testConfig(t)
	c.MaxConcurrency = 1
	sealSegments(t, c.SpoolDir, 4)
	up := newMemUploader()
	var calls atomic.Int32
	poison := uploader.SeedKey(t0.Add(time.Minute)) // the oldest
	up.failKey = func(key string) error {
		if key == poison {
			calls.Add(1)
			return notRetryable{errors.New("403 AccessDenied")}
		}
		return nil
	}
	_, cancel, done := startAgent(t, c, up)
	waitFor(t, "the younger segments uploaded", func() bool { p, _, _ := up.snapshot(); return len(p) >= 3 })
	cancel()
	<-done
	segs := sealedIn(c.SpoolDir)
	if len(segs) != 1 || uploader.SeedKey(segs[0].End) != poison {
		t.Fatalf("left in the spool: got %+v, want only the failing segment", segs)
	}
	if n := calls.Load(); n == 0 {
		t.Fatal("the failing segment was never tried")
	}
}

func TestAgentRestartAfterCleanStopNeverOverwrites(t *testing.T) {
	c := testConfig(t)
	c.Schedule = "0 0 * * * *" // the window outlives the test: both runs share it
	up := newMemUploader()
	for run := 1; run <= 3; run++ {
		conn, cancel, done := startAgent(t, c, up)
		fmt.Fprintf(conn, "<158>Nov 25 06:12:36 haproxy[1]: run-%d\n", run)
		time.Sleep(150 * time.Millisecond)
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
	}
	puts, overwrites, _ := up.snapshot()
	if len(overwrites) != 0 {
		t.Fatalf("objects overwritten with different bytes: %v", overwrites)
	}
	if len(puts) != 3 {
		t.Fatalf("puts: got %v, want three distinct keys", puts)
	}
	if got := up.lines(); len(got) != 3 {
		t.Fatalf("lines: got %q, want one per run", got)
	}
}

func TestAgentDiskFullKeepsRunningAndResumes(t *testing.T) {
	c := testConfig(t)
	ffs := &spooltest.FaultFS{}
	var a *Agent
	up := newMemUploader()
	conn, cancel, done := startAgent(t, c, up, func(ag *Agent) { ag.opts.fs = ffs; a = ag })
	ffs.Set(syscall.ENOSPC, 0)
	fmt.Fprintf(conn, "<158>Nov 25 06:12:36 haproxy[1]: while-full\n")
	waitFor(t, "the write error counted", func() bool { return a.spool.Stats().WriteErrors > 0 })
	time.Sleep(1200 * time.Millisecond) // a window end passes on the full disk
	select {
	case err := <-done:
		t.Fatalf("agent stopped on a full disk: %v", err)
	default:
	}
	ffs.Set(nil, 0)
	fmt.Fprintf(conn, "<158>Nov 25 06:12:36 haproxy[1]: after\n")
	waitFor(t, "both lines uploaded", func() bool { return len(up.lines()) == 2 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestAgentDisabledKeepsSpool(t *testing.T) {
	c := testConfig(t)
	c.Enabled = false
	sealSegments(t, c.SpoolDir, 2)
	up := newMemUploader()
	conn, cancel, done := startAgent(t, c, up)
	fmt.Fprintf(conn, "<158>Nov 25 06:12:36 haproxy[1]: ignored\n")
	time.Sleep(1200 * time.Millisecond)
	cancel()
	<-done
	if p, _, _ := up.snapshot(); len(p) != 0 {
		t.Fatalf("uploaded while disabled: %v", p)
	}
	segs := sealedIn(c.SpoolDir)
	if len(segs) != 2 {
		t.Fatalf("spool: got %d segments, want the 2 kept", len(segs))
	}
}

func TestAgentAWSKeyLayout(t *testing.T) {
	c := testConfig(t)
	c.KeyLayout, c.KeyPrefix = "aws", "logs/elb"
	c.OwnerAccount, c.Region, c.NodeIP = "123456789012", "eu-west-1", "10.0.0.7"
	sealSegments(t, c.SpoolDir, 1)
	up := newMemUploader()
	_, cancel, done := startAgent(t, c, up)
	waitFor(t, "the segment uploaded", func() bool { p, _, _ := up.snapshot(); return len(p) == 1 })
	cancel()
	<-done
	p, _, _ := up.snapshot()
	re := regexp.MustCompile(`^logs/elb/AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/11/25/123456789012_elasticloadbalancing_eu-west-1_lb1_20261125T0601Z_10\.0\.0\.7_[a-z0-9]{8}\.log$`)
	if !re.MatchString(p[0]) {
		t.Fatalf("key: got %q, want %s", p[0], re)
	}
}

func TestAgentProvisionsAgainWhenTheBucketVanishes(t *testing.T) {
	up := newMemUploader()
	conn, cancel, done := startAgent(t, testConfig(t), up)
	fmt.Fprintf(conn, "<158>Nov 25 06:12:36 haproxy[1]: first\n")
	waitFor(t, "the first line uploaded", func() bool { return len(up.lines()) == 1 })
	up.mu.Lock()
	up.buckets = map[string]bool{} // an operator deleted the bucket
	up.mu.Unlock()
	fmt.Fprintf(conn, "<158>Nov 25 06:12:36 haproxy[1]: second\n")
	waitFor(t, "the second line uploaded to the re-created bucket", func() bool { return len(up.lines()) == 2 })
	cancel()
	<-done
}

// A PUT whose answer is lost is repeated under the same key, random suffix
// included, with the same bytes: never a second object.
func TestAgentLostAckReuploadsSameKey(t *testing.T) {
	c := testConfig(t)
	c.KeyLayout = "aws"
	c.OwnerAccount, c.Region, c.NodeIP = "123456789012", "eu-west-1", "10.0.0.7"
	sealSegments(t, c.SpoolDir, 1)
	up := newMemUploader()
	up.loseAcks = 2
	var a *Agent
	_, cancel, done := startAgent(t, c, up, func(ag *Agent) { a = ag })
	waitFor(t, "the segment acknowledged", func() bool { ok, _ := a.UploadStats(); return ok == 1 })
	cancel()
	<-done
	puts, overwrites, _ := up.snapshot()
	if len(puts) != 3 || puts[0] != puts[1] || puts[1] != puts[2] {
		t.Fatalf("puts: got %q, want the same key three times", puts)
	}
	if len(overwrites) != 0 || len(up.objects) != 1 {
		t.Fatalf("objects: got %d (overwritten with other bytes: %v), want 1", len(up.objects), overwrites)
	}
	if st := a.SpoolStats(); st.Sealed != 0 {
		t.Errorf("SpoolStats().Sealed: got %d, want 0 (sealed by an earlier run)", st.Sealed)
	}
}

// specUploader records the bucket specs provisioned.
type specUploader struct {
	*memUploader
	specs []uploader.Bucket
}

func (u *specUploader) Provision(ctx context.Context, b uploader.Bucket) error {
	u.mu.Lock()
	u.specs = append(u.specs, b)
	u.mu.Unlock()
	return u.memUploader.Provision(ctx, b)
}

// TestLifecycleRuleCoversTheAgentsKeys: in each key layout, every key the
// agent uploads starts with the prefix its lifecycle rule is scoped to (the
// aws layout's objects under {prefix/}AWSLogs/ were left out of a rule on
// elb-access-).
func TestLifecycleRuleCoversTheAgentsKeys(t *testing.T) {
	for _, layout := range []string{"seed", "aws"} {
		t.Run(layout, func(t *testing.T) {
			c := testConfig(t)
			c.KeyLayout, c.KeyPrefix = layout, "logs/elb"
			c.OwnerAccount, c.Region, c.NodeIP = "123456789012", "eu-west-1", "10.0.0.7"
			sealSegments(t, c.SpoolDir, 1)
			up := &specUploader{memUploader: newMemUploader()}
			_, cancel, done := startAgent(t, c, up)
			waitFor(t, "the segment uploaded", func() bool { p, _, _ := up.snapshot(); return len(p) == 1 })
			cancel()
			<-done
			p, _, _ := up.snapshot()
			up.mu.Lock()
			defer up.mu.Unlock()
			if len(up.specs) == 0 {
				t.Fatal("no provisioning")
			}
			if prefix := up.specs[0].LifecyclePrefix(); !strings.HasPrefix(p[0], prefix) {
				t.Errorf("key %q is outside the lifecycle rule's prefix %q", p[0], prefix)
			}
		})
	}
}
