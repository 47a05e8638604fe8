package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

// Durability harness parameters. The whole test takes about a minute.
const (
	durKills         = 24                     // SIGKILLs
	durFsync         = 200 * time.Millisecond // spool.fsync_interval
	durWindow        = 2 * time.Second        // access_log.schedule below
	durSendEvery     = 4 * time.Millisecond   // 250 lines a second
	durLossTolerance = 2 * time.Second        // a lost line was sent at most this long before its kill
)

// seqLine is how a numbered line is stored (format raw).
var seqLine = regexp.MustCompile(`^Nov 25 06:12:36 localhost haproxy\[1\]: seq=(\d{7})$`)

// lineSender sends numbered syslog lines steadily and remembers when each
// one was sent.
type lineSender struct {
	mu   sync.Mutex
	sent []time.Time // by sequence number
	stop chan struct{}
	done chan struct{}
}

func startSender(t *testing.T, port int) *lineSender {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	s := &lineSender{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer conn.Close()
		tick := time.NewTicker(durSendEvery)
		defer tick.Stop()
		for seq := 0; ; seq++ {
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
			s.mu.Lock()
			s.sent = append(s.sent, time.Now())
			s.mu.Unlock()
			// Errors (nobody listening between runs) are expected.
			conn.WriteTo(fmt.Appendf(nil, "<158>Nov 25 06:12:36 haproxy[1]: seq=%07d\n", seq), to)
		}
	}()
	t.Cleanup(s.halt)
	return s
}

func (s *lineSender) halt() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}

func (s *lineSender) times() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.sent...)
}

// agentRun is one run of the real binary.
type agentRun struct {
	n        int
	kind     string // how it ended: kill-random, kill-boundary, kill-upload, sigterm
	cmd      *exec.Cmd
	done     chan error
	up, end  time.Time // listening; signal sent
	durable  map[int]bool
	storeOff bool
}

func startRun(t *testing.T, bin, cfg string, n int, logs *testbed.Buffer) *agentRun {
	t.Helper()
	cmd, done, listening := launch(t, logs, fmt.Sprintf("[run %d] ", n), bin, "--config", cfg)
	r := &agentRun{n: n, cmd: cmd, done: done}
	select {
	case <-listening:
		r.up = time.Now()
	case err := <-r.done:
		t.Fatalf("run %d exited before listening: %v", n, err)
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("run %d not listening after 15s", n)
	}
	return r
}

func (r *agentRun) kill(t *testing.T) {
	t.Helper()
	r.end = time.Now()
	r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
}

func (r *agentRun) terminate(t *testing.T) {
	t.Helper()
	r.end = time.Now()
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("run %d: exit after SIGTERM: %v, want status 0", r.n, err)
		}
	case <-time.After(25 * time.Second):
		r.cmd.Process.Kill()
		t.Fatalf("run %d did not exit within 25s of SIGTERM", r.n)
	}
}

// spoolSeqs returns the sequence numbers of the whole lines in the spool's
// files, and how many sealed segments it holds.
func spoolSeqs(t *testing.T, dir string) (map[int]bool, int) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	seqs := map[int]bool{}
	sealed := 0
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".log") && !strings.HasSuffix(name, ".active") {
			continue
		}
		if strings.HasSuffix(name, ".log") {
			sealed++
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			continue // uploaded and removed meanwhile
		}
		if i := strings.LastIndexByte(string(b), '\n'); i >= 0 {
			b = b[:i+1]
		} else {
			b = nil
		}
		for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			if m := seqLine.FindStringSubmatch(l); m != nil {
				n, _ := strconv.Atoi(m[1])
				seqs[n] = true
			}
		}
	}
	return seqs, sealed
}

// TestDurabilityKill9 runs the real binary against the real radosgw (behind
// a proxy the test can cut), sends numbered lines steadily, SIGKILLs the
// agent at random moments (at random, just after a window boundary when it
// seals, and while a PUT is in flight) and restarts it, cuts the store for
// a while, stops the agent cleanly now and then, and ends with SIGTERM.
// Then, with versioning on the bucket:
//   - no line is in the bucket twice;
//   - no object was ever overwritten with different bytes;
//   - every line found on disk in the spool right after a kill is in the
//     bucket;
//   - a line lost by a kill was sent at most durLossTolerance before it;
//   - no window was split into two objects by a crash (only clean stops
//     seal a window early).
func TestDurabilityKill9(t *testing.T) {
	bed := testbed.Require(t)
	start := time.Now()
	bin := agentBinary(t)
	u, err := url.Parse(bed.S3Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newStoreProxy(t, u.Host)
	// The seed layout needs the node in the bucket name: {instance_num}
	// of i-d0ab1e00.
	bucketBase := "durability-" + randomSuffix(t)
	bucket := bucketBase + "-d0ab1e00"
	store := bed.S3(bed.Logger)
	ctx := testbed.Context(t, 4*time.Minute)
	if _, err := store.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
	// Versioning keeps every PUT, so an overwrite with different bytes
	// cannot hide.
	if _, err := store.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
	}); err != nil {
		t.Fatalf("enable versioning: %v", err)
	}

	spoolDir := t.TempDir()
	port := freeUDPPort(t)
	cfg := filepath.Join(t.TempDir(), "access-log.properties")
	props := fmt.Sprintf(`syslog.listen = udp://127.0.0.1:%d
access_log.schedule = */%d * * * * *
access_log.format = raw
access_log.bucket = %s
access_log.lb_name = durability
access_log.node_ip = 127.0.0.1
access_log.instance_id = i-d0ab1e00
access_log.owner_account = lbowner
access_log.lifecycle_days = 0
access_log.upload_spread = 0
spool.dir = %s
spool.fsync_interval = %s
objectstorage.endpoint = %s
objectstorage.access_key_id = %s
objectstorage.secret_access_key = %s
metadata.endpoint =
metrics.listen = 127.0.0.1:0
`, port, int(durWindow/time.Second), bucketBase+"-{instance_num}", spoolDir, durFsync, proxy.URL(), bed.Logger.AccessKey, bed.Logger.SecretKey)
	if err := os.WriteFile(cfg, []byte(props), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &testbed.Buffer{}
	t.Cleanup(func() {
		if t.Failed() {
			out := logs.String()
			t.Logf("agent logs (last 8 KiB):\n%s", out[max(0, len(out)-8<<10):])
		}
	})

	sender := startSender(t, port)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	between := func(lo, hi time.Duration) time.Duration { return lo + time.Duration(rng.Int64N(int64(hi-lo))) }
	terms := map[int]bool{4: true, 18: true, 22: true}
	const outageFrom, outageTo = 7, 15
	var runs []*agentRun
	kills := 0
	for n := 0; kills < durKills; n++ {
		r := startRun(t, bin, cfg, n, logs)
		r.storeOff = n >= outageFrom && n <= outageTo
		runs = append(runs, r)
		switch {
		case n == outageFrom, n == outageTo:
			// The store goes away (comes back) under a running agent,
			// which must retry, back off and keep everything meanwhile.
			r.kind = "kill-random, store cut"
			if n == outageTo {
				r.kind = "kill-random, store back"
			}
			time.Sleep(500 * time.Millisecond)
			proxy.setDown(n == outageFrom)
			time.Sleep(between(5*time.Second, 7*time.Second))
			r.kill(t)
			kills++
		case terms[n]:
			r.kind = "sigterm"
			time.Sleep(between(500*time.Millisecond, 2*time.Second))
			r.terminate(t)
		case n%3 == 1:
			// Just after a window boundary: the agent is sealing.
			r.kind = "kill-boundary"
			time.Sleep(between(300*time.Millisecond, 2*time.Second))
			next := time.Now().Truncate(durWindow).Add(durWindow)
			time.Sleep(time.Until(next) + between(0, 5*time.Millisecond))
			r.kill(t)
			kills++
		case n%3 == 2 && !r.storeOff:
			// While a PUT is in flight: the store has the object, the
			// agent never hears so.
			r.kind = "kill-upload"
			if n%2 == 0 {
				// A fresh window rather than the backlog of earlier runs.
				time.Sleep(between(durWindow/2, 3*durWindow/2))
			}
			select {
			case <-proxy.held:
			default:
			}
			proxy.armTrap([]byte("PUT /" + bucket + "/elb-access-"))
			select {
			case <-proxy.held:
				time.Sleep(30 * time.Millisecond)
			case <-time.After(2 * durWindow):
				r.kind = "kill-upload(no put seen)"
			}
			r.kill(t)
			proxy.armTrap(nil)
			kills++
		default:
			r.kind = "kill-random"
			time.Sleep(between(300*time.Millisecond, 2500*time.Millisecond))
			r.kill(t)
			kills++
		}
		if r.kind != "sigterm" {
			r.durable, _ = spoolSeqs(t, spoolDir)
		}
		time.Sleep(between(0, 300*time.Millisecond)) // down for a moment
	}
	proxy.setDown(false)

	// The last run drains the backlog, then stops cleanly.
	last := startRun(t, bin, cfg, len(runs), logs)
	last.kind = "sigterm (final)"
	runs = append(runs, last)
	deadline := time.Now().Add(90 * time.Second)
	for {
		if _, sealed := spoolSeqs(t, spoolDir); sealed == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("backlog not drained 90s after the store came back")
		}
		time.Sleep(200 * time.Millisecond)
	}
	sender.halt()
	time.Sleep(300 * time.Millisecond)
	last.terminate(t)
	if seqs, sealed := spoolSeqs(t, spoolDir); sealed != 0 || len(seqs) != 0 {
		t.Errorf("after the final SIGTERM the spool still holds %d sealed segments and %d lines", sealed, len(seqs))
	}

	// What is in the bucket.
	versions := map[string][]string{} // key -> ETags
	pager := s3.NewListObjectVersionsPaginator(store, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)})
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("list versions: %v", err)
		}
		for _, v := range page.Versions {
			if strings.HasPrefix(*v.Key, "AWSLogs/") {
				continue // the provisioning preflight's test file, rewritten at each start
			}
			versions[*v.Key] = append(versions[*v.Key], aws.ToString(v.ETag))
		}
		if len(page.DeleteMarkers) > 0 {
			t.Errorf("%d delete markers in the bucket", len(page.DeleteMarkers))
		}
	}
	reuploads := 0
	inBucket := map[int]int{}
	var offGrid []string
	for key, etags := range versions {
		for _, e := range etags[1:] {
			if e != etags[0] {
				t.Errorf("object %s overwritten with different bytes: ETags %v", key, etags)
				break
			}
		}
		if len(etags) > 1 {
			reuploads++
		}
		end, err := time.Parse("elb-access-02012006-150405.log", key)
		if err != nil {
			t.Errorf("key %q is not in the seed layout: %v", key, err)
		} else if end.Unix()%int64(durWindow/time.Second) != 0 {
			offGrid = append(offGrid, key)
		}
		obj, err := store.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("get %s: %v", key, err)
		}
		body, err := io.ReadAll(obj.Body)
		obj.Body.Close()
		if err != nil {
			t.Fatalf("read %s: %v", key, err)
		}
		if len(body) == 0 || body[len(body)-1] != '\n' {
			t.Errorf("object %s does not end in a whole line", key)
		}
		for _, l := range strings.Split(strings.TrimSuffix(string(body), "\n"), "\n") {
			m := seqLine.FindStringSubmatch(l)
			if m == nil {
				t.Errorf("object %s: malformed line %q", key, l)
				continue
			}
			n, _ := strconv.Atoi(m[1])
			inBucket[n]++
		}
	}
	for n, c := range inBucket {
		if c > 1 {
			t.Errorf("line seq=%07d is in the bucket %d times", n, c)
		}
	}
	// Only clean stops seal a window early (off the 2 s grid).
	stops := 0
	for _, r := range runs {
		if strings.HasPrefix(r.kind, "sigterm") {
			stops++
		}
	}
	if len(offGrid) > stops {
		sort.Strings(offGrid)
		t.Errorf("%d objects end off the window grid (%v), but only %d clean stops sealed early: a crash split a window", len(offGrid), offGrid, stops)
	}

	// Every line on disk after a kill must be in the bucket; lines lost
	// by a kill must be recent.
	sent := sender.times()
	var report strings.Builder
	fmt.Fprintf(&report, "%-4s %-26s %-5s %8s %8s %8s %14s\n", "run", "ended by", "store", "sent", "lost", "durable", "oldest lost")
	totalLost, totalSentUp := 0, 0
	for _, r := range runs {
		for n := range r.durable {
			if inBucket[n] == 0 {
				t.Errorf("run %d (%s): line seq=%07d was in the spool after the kill but is not in the bucket", r.n, r.kind, n)
			}
		}
		sentUp, lost := 0, 0
		var oldest time.Duration
		for n, at := range sent {
			if at.Before(r.up) || at.After(r.end) {
				continue
			}
			sentUp++
			if inBucket[n] > 0 {
				continue
			}
			lost++
			age := r.end.Sub(at)
			oldest = max(oldest, age)
			if strings.HasPrefix(r.kind, "sigterm") {
				t.Errorf("run %d (%s): line seq=%07d sent %v before a clean stop is lost", r.n, r.kind, n, age)
			} else if age > durLossTolerance {
				t.Errorf("run %d (%s): line seq=%07d sent %v before the kill is lost (tolerance %v)", r.n, r.kind, n, age, durLossTolerance)
			}
		}
		totalLost += lost
		totalSentUp += sentUp
		store := "up"
		if r.storeOff {
			store = "cut"
		}
		fmt.Fprintf(&report, "%-4d %-26s %-5s %8d %8d %8d %14v\n", r.n, r.kind, store, sentUp, lost, len(r.durable), oldest.Round(time.Millisecond))
	}
	keys := make([]string, 0, len(versions))
	for k := range versions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t.Logf("durability: %d kills, %d clean stops, store cut for runs %d-%d, %v total\n"+
		"lines sent %d (while an agent listened %d), in the bucket %d, lost %d; "+
		"%d objects (%d off the grid by clean stops), %d re-uploaded with identical bytes\n%s",
		durKills, stops, outageFrom, outageTo-1, time.Since(start).Round(time.Second),
		len(sent), totalSentUp, len(inBucket), totalLost, len(keys), len(offGrid), reuploads, report.String())
}
