package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/elb-access-logger/elb-access-logger/agent/ingest"
	"io"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/uploader"
)

// Memory stays bounded whatever arrives (issue #9, item 4): these tests
// run the agent's real path (listener or Ingest, parser, encoder, spool,
// upload rounds) in this process and sample the live heap after a
// collection while far more bytes go through it than the bound.

// sinkUploader reads every body to the end and keeps nothing, so the
// heap measured is the agent's own; fail makes every call fail instead.
type sinkUploader struct {
	fail     atomic.Bool
	puts     atomic.Int64
	bytes    atomic.Int64
	attempts atomic.Int64
}

var errStoreDown = errors.New("503 Service Unavailable")

func (s *sinkUploader) Provision(ctx context.Context, b uploader.Bucket) error {
	s.attempts.Add(1)
	if s.fail.Load() {
		return &uploader.Error{Op: "head bucket", Bucket: b.Name, Kind: uploader.ErrServer, Err: errStoreDown}
	}
	return nil
}

func (s *sinkUploader) Put(ctx context.Context, o uploader.Object) error {
	s.attempts.Add(1)
	if s.fail.Load() {
		return &uploader.Error{Op: "put object", Bucket: o.Bucket, Key: o.Key, Kind: uploader.ErrServer, Err: errStoreDown}
	}
	n, err := io.Copy(io.Discard, o.Body)
	if err != nil {
		return err
	}
	s.puts.Add(1)
	s.bytes.Add(n)
	return nil
}

// heapSampler records the live heap (HeapInuse after a collection).
type heapSampler struct {
	base, peak uint64
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func newHeapSampler() *heapSampler {
	h := liveHeap()
	return &heapSampler{base: h, peak: h}
}

func (h *heapSampler) sample() {
	h.peak = max(h.peak, liveHeap())
}

// check fails t when the heap grew by more than limit over the base.
func (h *heapSampler) check(t *testing.T, what string, limit uint64) {
	t.Helper()
	h.sample()
	grew := int64(h.peak) - int64(h.base)
	t.Logf("%s: live heap %.1f MiB at the start, peak %.1f MiB (grew %.1f MiB)", what,
		float64(h.base)/(1<<20), float64(h.peak)/(1<<20), float64(grew)/(1<<20))
	if grew > int64(limit) {
		t.Errorf("%s: live heap grew by %d bytes, want at most %d", what, grew, limit)
	}
}

// stopAgent cancels Run and waits for it.
func stopAgent(t *testing.T, cancel context.CancelFunc, done chan error) {
	t.Helper()
	cancel()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("Run: %v", err)
		}
	case <-time.After(2 * ShutdownTimeout):
		t.Fatal("Run did not return after cancel")
	}
}

// A flood of the largest datagrams (64 KiB) goes through
// the listener, the parser (kept raw: no HAProxy format) and the spool
// with the heap bounded by the hand-off and the spool's buffer, not by
// what arrives.
func TestMemoryBoundedFloodOf64KiBDatagrams(t *testing.T) {
	c := testConfig(t)
	c.Schedule = "0 0 1 1 *" // one window: no upload while flooding
	up := &sinkUploader{}
	var a *Agent
	conn, cancel, done := startAgent(t, c, up, func(x *Agent) { a = x })
	h := newHeapSampler()
	// 65,507 bytes: the largest UDP payload over IPv4, within the default
	// syslog.max_message_bytes (65,536), so every datagram is taken whole.
	const size = 65507
	head := "<158>Nov 25 06:12:36 haproxy[1]: "
	dgram := append([]byte(head), bytes.Repeat([]byte("x"), size-len(head))...)
	const flood = 2000 // 131 MB
	var sent int
	for i := range flood {
		if _, err := conn.Write(dgram); err != nil {
			t.Fatalf("send datagram %d: %v", i, err)
		}
		sent++
		if i%250 == 249 {
			h.sample()
		}
	}
	// The socket's own counts: datagrams read and the kernel's drops.
	sock := func() ingest.ListenerStats { return a.in.Stats().Listeners[0] }
	waitFor(t, "the flood read or dropped", func() bool {
		l := sock()
		r := l.Received + l.Dropped
		time.Sleep(50 * time.Millisecond)
		l = sock()
		return r == l.Received+l.Dropped && r > 0
	})
	// The kernel reports its drops with the next datagram read.
	if _, err := fmt.Fprintf(conn, "<158>Nov 25 06:12:36 haproxy[1]: %s\n", httplogBody); err != nil {
		t.Fatal(err)
	}
	sent++
	waitFor(t, "every datagram read or counted as dropped", func() bool { l := sock(); return l.Received+l.Dropped == uint64(sent) })
	l := sock()
	stopAgent(t, cancel, done)
	h.check(t, fmt.Sprintf("%d datagrams of 64 KiB (%d read, %d dropped by the kernel)", sent-1, l.Received, l.Dropped), 16<<20)
	if l.Oversize != 0 {
		t.Errorf("oversize = %d, want 0: a %d-byte datagram is within syslog.max_message_bytes", l.Oversize, size)
	}
}

// haproxyLine is datagram seq of a stock `option httplog` stream, each
// from its own client address.
func haproxyLine(b []byte, seq int) []byte {
	b = append(b, "<158>Nov 25 06:12:36 haproxy[6817]: "...)
	b = append(b, "10."...)
	b = strconv.AppendInt(b, int64(seq>>16&0xff), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(seq>>8&0xff), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(seq&0xff), 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(1024+seq%60000), 10)
	b = append(b, " [25/Nov/2026:06:12:36.416] fe_http be_http/s1 0/0/0/6/6 200 185 - - ---- 1/1/0/0/0 0/0 \"GET /item/"...)
	b = strconv.AppendInt(b, int64(seq), 10)
	return append(b, " HTTP/1.1\"\n"...)
}

// With the store down, windows keep sealing into a spool at its bound
// (spool.max_bytes 1 MiB, the least allowed): the oldest segments are
// evicted, the retries go on, and neither the heap nor the spool grows
// with what keeps arriving.
func TestMemoryBoundedStoreOutageFullSpool(t *testing.T) {
	c := testConfig(t) // one-second windows
	c.SpoolMaxBytes = 1 << 20
	c.Format = "elb"
	up := &sinkUploader{}
	up.fail.Store(true)
	var a *Agent
	_, cancel, done := startAgent(t, c, up, func(x *Agent) { a = x })
	h := newHeapSampler()
	var b []byte
	var sentBytes int
	// About 1.6 MB a second for 4 s: four windows sealed, each over the
	// bound, so every rotation evicts.
	deadline := time.Now().Add(4 * time.Second)
	for seq := 0; time.Now().Before(deadline); seq++ {
		b = haproxyLine(b[:0], seq)
		if err := a.Ingest(b); err != nil {
			t.Fatalf("Ingest %d: %v", seq, err)
		}
		sentBytes += len(b)
		if seq%1000 == 999 {
			time.Sleep(100 * time.Millisecond)
		}
		if seq%10000 == 9999 {
			h.sample()
		}
	}
	// Let the last window seal and the eviction run.
	time.Sleep(1500 * time.Millisecond)
	_, pending, err := a.spool.Pending()
	if err != nil {
		t.Fatal(err)
	}
	attempts := up.attempts.Load()
	stopAgent(t, cancel, done)
	h.check(t, fmt.Sprintf("%.1f MB ingested with the store down", float64(sentBytes)/1e6), 16<<20)
	if sentBytes < 4*int(c.SpoolMaxBytes) {
		t.Fatalf("ingested %d bytes, want several times spool.max_bytes (%d) to fill the spool", sentBytes, c.SpoolMaxBytes)
	}
	// Sealed segments are kept at the bound; the active window is on top.
	// Four windows were ingested: sealed segments at the bound, the active
	// window and one being sealed on top.
	if limit := c.SpoolMaxBytes + int64(sentBytes)/2; pending > limit {
		t.Errorf("spool holds %d bytes after %d ingested, want at most spool.max_bytes plus two windows (%d)", pending, sentBytes, limit)
	}
	if attempts == 0 {
		t.Error("no upload attempted while the store was down")
	}
	if up.puts.Load() != 0 {
		t.Errorf("%d puts succeeded with the store down", up.puts.Load())
	}
}

// A million distinct client addresses leave nothing behind: the parser,
// the ELB encoder and the spool keep no per-client state.
func TestMemoryBoundedMillionClients(t *testing.T) {
	c := testConfig(t)
	c.Format = "elb"
	up := &sinkUploader{}
	var a *Agent
	_, cancel, done := startAgent(t, c, up, func(x *Agent) { a = x })
	n := 1_000_000
	if raceEnabled {
		n = 200_000 // the race detector makes each line about ten times slower
	}
	h := newHeapSampler()
	var b []byte
	for seq := range n {
		b = haproxyLine(b[:0], seq)
		if err := a.Ingest(b); err != nil {
			t.Fatalf("Ingest %d: %v", seq, err)
		}
		if seq%100000 == 99999 {
			h.sample()
		}
	}
	waitFor(t, "the windows uploaded", func() bool {
		segs, _, err := a.spool.Pending()
		return err == nil && segs == 0 && up.puts.Load() > 0
	})
	stopAgent(t, cancel, done)
	h.check(t, fmt.Sprintf("%d lines from as many client addresses", n), 8<<20)
	if st := a.spool.Stats(); st.DroppedLines != 0 {
		t.Errorf("spool dropped %d lines", st.DroppedLines)
	}
}
