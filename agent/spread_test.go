package agent

import (
	"context"
	"errors"
	"fmt"
	"github.com/elb-access-logger/elb-access-logger/agent/ship"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/uploader"
)

// timedUploader records when each Put reached it.
type timedUploader struct {
	*memUploader
	mu   sync.Mutex
	when []time.Time
}

func (u *timedUploader) Put(ctx context.Context, o uploader.Object) error {
	u.mu.Lock()
	u.when = append(u.when, time.Now())
	u.mu.Unlock()
	return u.memUploader.Put(ctx, o)
}

// TestAgentWaitsItsOffsetAfterTheWindow: with a spread, a sealed window is
// uploaded at its end plus the node's offset, not at once, and its name
// and contents are those of the window.
func TestAgentWaitsItsOffsetAfterTheWindow(t *testing.T) {
	c := testConfig(t)
	c.Schedule = "*/2 * * * * *"
	c.UploadSpread = 3 * time.Second
	c.InstanceID = "i-0000000a"
	offset := ship.Offset(c.Identity(), c.UploadSpread)
	for i := 0; offset < 800*time.Millisecond; i++ { // an offset the test can tell from "at once"
		c.InstanceID = fmt.Sprintf("i-%08x", 0xb+i)
		offset = ship.Offset(c.Identity(), c.UploadSpread)
	}
	up := &timedUploader{memUploader: newMemUploader()}
	conn, cancel, done := startAgent(t, c, up)
	defer func() { cancel(); <-done }()
	if time.Until(time.Now().Truncate(2*time.Second).Add(2*time.Second)) < 300*time.Millisecond {
		time.Sleep(400 * time.Millisecond) // not on a window edge
	}
	sent := time.Now()
	fmt.Fprintf(conn, "<158>Nov 25 06:12:36 haproxy[1]: spread\n")
	waitFor(t, "the line uploaded", func() bool { return len(up.lines()) == 1 })
	up.mu.Lock()
	at := up.when[0]
	up.mu.Unlock()
	end := sent.Truncate(2 * time.Second).Add(2 * time.Second) // of the line's window
	if late := at.Sub(end.Add(offset)); late < 0 || late > 1500*time.Millisecond {
		t.Errorf("upload at %s: want the window end %s plus the offset %v (got %v after that)",
			at.Format("15:04:05.000"), end.Format("15:04:05"), offset, late)
	}
	puts, _, _ := up.snapshot()
	if want := uploader.SeedKey(end.UTC()); len(puts) != 1 || puts[0] != want {
		t.Errorf("keys: got %q, want [%s]", puts, want)
	}
}

// TestAgentShutdownDoesNotWaitForTheOffset: a stop uploads at once, even
// with an offset of most of an hour.
func TestAgentShutdownDoesNotWaitForTheOffset(t *testing.T) {
	up := newMemUploader()
	c := testConfig(t)
	c.Schedule = "0 0 * * * *"
	c.UploadSpread = time.Hour
	c.InstanceID = "i-0000000a"
	for i := 0; ship.Offset(c.Identity(), c.UploadSpread) < 10*time.Minute; i++ {
		c.InstanceID = fmt.Sprintf("i-%08x", 0xb+i)
	}
	conn, cancel, done := startAgent(t, c, up)
	fmt.Fprintf(conn, "<158>Nov 25 06:12:36 haproxy[1]: at-shutdown\n")
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := up.lines(); len(got) != 1 {
		t.Fatalf("uploaded lines: got %q, want the one line", got)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("shutdown took %v, want no wait for the offset", d)
	}
}

// TestIngestSpoolsLikeAListener: an agent without listeners, fed through
// Ingest, uploads what it was given.
func TestIngestSpoolsLikeAListener(t *testing.T) {
	c := testConfig(t)
	c.Listen = nil
	up := newMemUploader()
	a, err := New(c, up, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Ingest([]byte("<158>Nov 25 06:12:36 haproxy[1]: early\n")); err == nil {
		t.Error("Ingest before Start: got nil error")
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	if got := len(a.Addrs()); got != 0 {
		t.Fatalf("listeners: got %d, want 0", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	for _, d := range []string{"<158>Nov 25 06:12:36 haproxy[1]: one\n", "", "<158>Nov 25 06:12:36 haproxy[1]: two\n"} {
		if err := a.Ingest([]byte(d)); err != nil {
			t.Fatalf("Ingest %q: %v", d, err)
		}
	}
	waitFor(t, "two lines uploaded", func() bool { return len(up.lines()) == 2 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := up.lines()
	want := []string{"Nov 25 06:12:36 localhost haproxy[1]: one", "Nov 25 06:12:36 localhost haproxy[1]: two"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("lines: got %q, want %q", got, want)
	}
}

// throttlingUploader answers every Put with 503 SlowDown and a Retry-After
// until it is told to stop, and records when each Put arrived.
type throttlingUploader struct {
	*memUploader
	retryAfter time.Duration
	mu         sync.Mutex
	throttle   bool
	throttled  []time.Time // arrivals answered with 503
}

func (u *throttlingUploader) Put(ctx context.Context, o uploader.Object) error {
	u.mu.Lock()
	if u.throttle {
		u.throttled = append(u.throttled, time.Now())
		u.mu.Unlock()
		return &uploader.Error{Op: "put object", Bucket: o.Bucket, Key: o.Key, Kind: uploader.ErrServer,
			Err: errors.New("503 SlowDown"), RetryAfter: u.retryAfter}
	}
	u.mu.Unlock()
	return u.memUploader.Put(ctx, o)
}

// TestAgentBacklogBacksOffWhileThrottled: a node with a backlog of 20
// windows, facing a store that answers 503 SlowDown with Retry-After, sends
// no more than its concurrency per Retry-After period (no burst), and once
// the store recovers drains the backlog oldest first.
func TestAgentBacklogBacksOffWhileThrottled(t *testing.T) {
	c := testConfig(t)
	c.MaxConcurrency = 2
	const n = 20
	sealSegments(t, c.SpoolDir, n)
	up := &throttlingUploader{memUploader: newMemUploader(), retryAfter: 300 * time.Millisecond, throttle: true}
	_, cancel, done := startAgent(t, c, up)
	defer func() { cancel(); <-done }()
	const throttleFor = 1500 * time.Millisecond
	time.Sleep(throttleFor)
	up.mu.Lock()
	up.throttle = false
	arrivals := append([]time.Time(nil), up.throttled...)
	up.mu.Unlock()
	waitFor(t, "the backlog uploaded", func() bool { p, _, _ := up.snapshot(); return len(p) >= n })

	// At most MaxConcurrency requests start in any Retry-After period:
	// count the requests in each sliding window of that length.
	for i := range arrivals {
		in := 0
		for _, a := range arrivals[i:] {
			if a.Sub(arrivals[i]) < up.retryAfter {
				in++
			}
		}
		if in > c.MaxConcurrency {
			t.Fatalf("%d throttled requests within %v of request %d, want at most %d", in, up.retryAfter, i, c.MaxConcurrency)
		}
	}
	if max := int(throttleFor/up.retryAfter+1) * c.MaxConcurrency; len(arrivals) == 0 || len(arrivals) > max {
		t.Errorf("requests while throttled: got %d, want 1 to %d", len(arrivals), max)
	}
	// Oldest first: segments are handed out in order; only those whose
	// retry was waiting out the pause when the store recovered (at most
	// one per upload slot) complete after younger ones. Seed keys of one
	// day sort by time.
	puts, _, _ := up.snapshot()
	late := 0
	newest := ""
	for _, k := range puts[:n] {
		if k < newest {
			late++
		}
		newest = max(newest, k)
	}
	if late > c.MaxConcurrency {
		t.Errorf("%d uploads completed after a younger window, want at most %d: %v", late, c.MaxConcurrency, puts)
	}
}
