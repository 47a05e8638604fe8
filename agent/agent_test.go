package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/uploader"
)

// memUploader is an in-memory store that can be told to fail.
type memUploader struct {
	mu      sync.Mutex
	objects map[string]string // bucket/key -> body
	buckets map[string]bool
	fail    error
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
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if !m.buckets[bucket] {
		return errors.New("NoSuchBucket")
	}
	m.objects[bucket+"/"+key] = string(b)
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

func testConfig(t *testing.T) *Config {
	c := DefaultConfig()
	c.Schedule = "* * * * * *" // one-second windows
	c.Listen = []string{"udp://127.0.0.1:0"}
	c.SpoolDir = t.TempDir()
	c.FsyncInterval = 50 * time.Millisecond
	c.Bucket = "logs-{lb_name}"
	c.LBName = "lb1"
	c.OwnerAccount = "lbowner"
	return c
}

func startAgent(t *testing.T, c *Config, up Uploader) (net.Conn, context.CancelFunc, chan error) {
	t.Helper()
	a, err := New(c, up, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
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
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAgentDeliversEveryLineOnce(t *testing.T) {
	up := &memUploader{objects: map[string]string{}, buckets: map[string]bool{}}
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

func TestAgentKeepsSegmentsWhileStoreFails(t *testing.T) {
	up := &memUploader{objects: map[string]string{}, buckets: map[string]bool{}, fail: errors.New("503 SlowDown")}
	c := testConfig(t)
	conn, cancel, done := startAgent(t, c, up)
	fmt.Fprintf(conn, "<158>Nov 25 06:12:36 haproxy[1]: kept\n")
	sp := &Spool{dir: c.SpoolDir}
	waitFor(t, "a sealed segment", func() bool { s, _ := sp.Sealed(); return len(s) > 0 })
	time.Sleep(1500 * time.Millisecond) // at least one more failing round
	if len(up.lines()) != 0 {
		t.Fatal("uploaded while the store fails")
	}
	up.setFail(nil)
	waitFor(t, "the kept line uploaded", func() bool { return len(up.lines()) == 1 })
	waitFor(t, "the spool emptied", func() bool { s, _ := sp.Sealed(); return len(s) == 0 })
	cancel()
	<-done
}

func TestAgentShutdownUploadsActiveWindow(t *testing.T) {
	up := &memUploader{objects: map[string]string{}, buckets: map[string]bool{}}
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
