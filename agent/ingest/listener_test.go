package ingest

import (
	"bytes"
	"context"
	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// sampleLine is a stock `option httplog` datagram as HAProxy 2.6 sends it.
const sampleLine = "<158>Nov 25 06:12:36 haproxy[6817]: 127.0.0.1:35308 [25/Nov/2026:06:12:36.416] fe_http be_http/s1 0/0/0/6/6 200 185 - - ---- 1/1/0/0/0 0/0 \"GET /index.html HTTP/1.1\"\n"

// startListener binds a listener on a free loopback port and serves it
// with handle until the test ends. It returns the listener, a connected
// client socket and a channel closed when serve returned.
func startListener(t *testing.T, ctx context.Context, maxLen int, handle func([]byte)) (*udpListener, *net.UDPConn, chan struct{}) {
	t.Helper()
	return startListenerOn(t, ctx, "127.0.0.1:0", maxLen, handle)
}

// startListenerAt is startListener on addr, with 2,048-byte datagrams.
func startListenerAt(t *testing.T, ctx context.Context, addr string, handle func([]byte)) (*udpListener, *net.UDPConn, chan struct{}) {
	t.Helper()
	return startListenerOn(t, ctx, addr, 2048, handle)
}

func startListenerOn(t *testing.T, ctx context.Context, addr string, maxLen int, handle func([]byte)) (*udpListener, *net.UDPConn, chan struct{}) {
	t.Helper()
	l, err := listenUDP(addr, maxLen, 8<<20, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.close() })
	client, err := net.DialUDP("udp", nil, l.Addr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.serve(ctx, handle)
	}()
	return l, client, done
}

func TestListenerMessageSizes(t *testing.T) {
	const maxLen = 1000
	tests := []struct {
		name      string
		size      int
		wantLen   int
		wantTrunc uint64
	}{
		{"empty", 0, 0, 0},
		{"one byte", 1, 1, 0},
		{"under the limit", maxLen - 1, maxLen - 1, 0},
		{"at the limit", maxLen, maxLen, 0},
		{"one over the limit", maxLen + 1, maxLen, 1},
		{"far over the limit", 60000, maxLen, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			got := make(chan []byte, 1)
			l, client, _ := startListener(t, ctx, maxLen, func(d []byte) { got <- bytes.Clone(d) })
			sent := bytes.Repeat([]byte("x"), tt.size)
			if _, err := client.Write(sent); err != nil {
				t.Fatal(err)
			}
			select {
			case d := <-got:
				if len(d) != tt.wantLen {
					t.Errorf("got %d bytes, want %d", len(d), tt.wantLen)
				}
				if !bytes.Equal(d, sent[:tt.wantLen]) {
					t.Errorf("got bytes that differ from the first %d sent", tt.wantLen)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("datagram not handled")
			}
			if got := l.Truncated(); got != tt.wantTrunc {
				t.Errorf("Truncated() = %d, want %d", got, tt.wantTrunc)
			}
		})
	}
}

func TestListenerOrderAndContent(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var got []string
	l, client, _ := startListener(t, ctx, 65536, func(d []byte) {
		mu.Lock()
		got = append(got, string(d))
		mu.Unlock()
	})
	const n = 2000
	for i := range n {
		// Datagrams of varied size, so chunks hold varied counts.
		line := strings.Repeat("y", i%700) + "\n"
		if _, err := client.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
		if i%100 == 99 {
			// In bursts a default-sized receive buffer holds.
			testbed.WaitFor(t, "a burst", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == i+1 })
		}
	}
	testbed.WaitFor(t, "every datagram", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == n })
	mu.Lock()
	defer mu.Unlock()
	for i, d := range got {
		if want := strings.Repeat("y", i%700) + "\n"; d != want {
			t.Fatalf("datagram %d: got %d bytes, want %d", i, len(d), len(want))
		}
	}
	if r, d := l.Received(), l.Dropped(); r != n || d != 0 {
		t.Errorf("Received() = %d, Dropped() = %d; want %d, 0", r, d, n)
	}
}

// A handler that stops makes the reader wait and the kernel drop; the
// drops are counted exactly, a flood of large datagrams allocates nothing
// beyond the hand-off, and the listener goes on once the handler does.
func TestListenerOverflowCounted(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the kernel reports drops on Linux only")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	release := make(chan struct{})
	var handled atomic.Uint64
	l, client, _ := startListener(t, ctx, 65536, func(d []byte) {
		<-release
		handled.Add(1)
	})
	big := bytes.Repeat([]byte("z"), 60000)
	if _, err := client.Write(big); err != nil {
		t.Fatal(err)
	}
	testbed.WaitFor(t, "the first datagram", func() bool { return l.Received() == 1 })
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	// 60 MB: far more than the hand-off and the receive buffer hold.
	const flood = 1000
	for range flood - 1 {
		if _, err := client.Write(big); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Errorf("allocated %d bytes while %d datagrams of 60,000 bytes arrived for a blocked handler, want the hand-off's own memory only (under 1 MiB)", got, flood)
	}
	if got := l.Received(); got > chunkCount*4+batchSlots {
		t.Errorf("Received() = %d with a blocked handler, want at most what the hand-off holds (%d) plus a batch (%d)", got, chunkCount*4, batchSlots)
	}
	close(release)
	testbed.WaitFor(t, "the queued datagrams", func() bool {
		r := l.Received()
		time.Sleep(20 * time.Millisecond)
		return handled.Load() == r && l.Received() == r
	})
	// The kernel reports its drops with the next datagram read; sent
	// once the receive buffer is empty, it is not dropped itself.
	if _, err := client.Write([]byte(sampleLine)); err != nil {
		t.Fatal(err)
	}
	const sent = flood + 1
	testbed.WaitFor(t, "every datagram handled or dropped", func() bool { return handled.Load()+l.Dropped() == sent })
	if l.Dropped() == 0 {
		t.Errorf("Dropped() = 0 after a flood of %d datagrams for a blocked handler", flood)
	}
	if got, want := handled.Load(), l.Received(); got != want {
		t.Errorf("handled %d of %d datagrams read", got, want)
	}
}

// Datagrams the kernel queued before the stop are handled before serve
// returns.
func TestListenerDrainsOnStop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var handled atomic.Int64
	slow := make(chan struct{})
	l, client, done := startListener(t, ctx, 65536, func(d []byte) {
		<-slow
		handled.Add(1)
	})
	const n = 100
	for range n {
		if _, err := client.Write([]byte(sampleLine)); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	close(slow)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not return after the stop")
	}
	if got := handled.Load(); got != n {
		t.Errorf("handled %d datagrams sent before the stop, want %d (dropped %d)", got, n, l.Dropped())
	}
}

func TestListenerReceiveBuffer(t *testing.T) {
	var logged bytes.Buffer
	const want = 1 << 20
	l, err := listenUDP("127.0.0.1:0", 65536, want, slog.New(slog.NewTextHandler(&logged, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	if runtime.GOOS != "linux" {
		t.Skip("the effective size is read back on Linux only")
	}
	if got := l.ReceiveBuffer(); got <= 0 {
		t.Errorf("ReceiveBuffer() = %d, want the kernel's size", got)
	}
	if !strings.Contains(logged.String(), "effective_bytes=") {
		t.Errorf("log %q does not give the effective size", logged.String())
	}
}

// After warm-up, reading and handing off allocates nothing per datagram.
func TestListenerNoAllocationPerDatagram(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the batched reader is Linux only")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var handled atomic.Int64
	_, client, _ := startListener(t, ctx, 65536, func(d []byte) { handled.Add(1) })
	line := []byte(sampleLine)
	send := func(n int) {
		// In bursts the kernel queue holds even under the race
		// detector.
		for sent := 0; sent < n; sent += 100 {
			want := handled.Load() + 100
			for range 100 {
				if _, err := client.Write(line); err != nil {
					t.Fatal(err)
				}
			}
			deadline := time.Now().Add(5 * time.Second)
			for handled.Load() < want {
				if time.Now().After(deadline) {
					t.Fatalf("handled %d datagrams, want %d", handled.Load(), want)
				}
				runtime.Gosched()
			}
		}
	}
	send(1000)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 20000
	send(n)
	runtime.ReadMemStats(&after)
	// The sender, waitFor and the runtime allocate a little; one
	// allocation per datagram would be 20,000.
	if got := after.Mallocs - before.Mallocs; got > n/20 {
		t.Errorf("%d allocations for %d datagrams, want fewer than %d", got, n, n/20)
	}
}

// BenchmarkListener measures one datagram through the socket, the batched
// reader and the hand-off to a handler, sent in bursts the kernel queue
// holds.
func BenchmarkListener(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var handled atomic.Int64
	l, err := listenUDP("127.0.0.1:0", 65536, 8<<20, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer l.close()
	go l.serve(ctx, func(d []byte) { handled.Add(1) })
	client, err := net.DialUDP("udp", nil, l.Addr().(*net.UDPAddr))
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	line := []byte(sampleLine)
	const burst = 256
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	b.ResetTimer()
	var sent int64
	for sent < int64(b.N) {
		k := min(burst, int64(b.N)-sent)
		for range k {
			if _, err := client.Write(line); err != nil {
				b.Fatal(err)
			}
		}
		sent += k
		deadline := time.Now().Add(5 * time.Second)
		for handled.Load() < sent {
			if time.Now().After(deadline) {
				b.Fatalf("handled %d of %d (dropped %d)", handled.Load(), sent, l.Dropped())
			}
			runtime.Gosched()
		}
	}
}

// A handler that falls behind is reported (udpListener.behind): chunks
// queue for it, and the kernel drops. One that keeps up is not.
func TestListenerReportsBehind(t *testing.T) {
	for _, tt := range []struct {
		name      string
		datagrams int
		block     bool
		want      bool
	}{
		{"keeps up", 100, false, false},
		// Enough to queue more than behindChunks full chunks behind the
		// one the handler holds (which may be full already), not to
		// fill the hand-off: the report comes from the backlog, not
		// from drops.
		{"blocked handler", (behindChunks + 3) * chunkBytes / len(sampleLine), true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			l, err := listenUDP("127.0.0.1:0", 2048, 8<<20, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			defer l.close()
			var behind atomic.Int64
			l.behind = func() { behind.Add(1) }
			release := make(chan struct{})
			if !tt.block {
				close(release)
			}
			var handled atomic.Int64
			go l.serve(ctx, func([]byte) {
				<-release
				handled.Add(1)
			})
			client, err := net.DialUDP("udp", nil, l.Addr().(*net.UDPAddr))
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			for i := range tt.datagrams {
				if _, err := client.Write([]byte(sampleLine)); err != nil {
					t.Fatal(err)
				}
				if !tt.block && i%10 == 9 {
					time.Sleep(time.Millisecond)
				}
			}
			if tt.block {
				testbed.WaitFor(t, "the hand-off to fill", func() bool { return l.Received() == uint64(tt.datagrams) })
				close(release)
			}
			testbed.WaitFor(t, "every datagram read handled", func() bool {
				r := l.Received()
				time.Sleep(20 * time.Millisecond)
				return handled.Load() == int64(r) && l.Received() == r && r+l.Dropped() == uint64(tt.datagrams)
			})
			if got := behind.Load() > 0; got != tt.want {
				t.Errorf("behind reported %d times, want reported: %v (received %d, dropped %d)", behind.Load(), tt.want, l.Received(), l.Dropped())
			}
		})
	}
}

// The listener binds IPv4 and IPv6 addresses, a given port or a free one,
// reports what it bound, and reads what is sent there.
func TestListenerAddresses(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0", "localhost:0"} {
		t.Run(addr, func(t *testing.T) {
			if strings.Contains(addr, "::1") {
				if c, err := net.ListenPacket("udp6", "[::1]:0"); err != nil {
					t.Skipf("no IPv6 loopback here: %v", err)
				} else {
					c.Close()
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var got atomic.Int64
			l, client, _ := startListenerAt(t, ctx, addr, func([]byte) { got.Add(1) })
			ua := l.Addr().(*net.UDPAddr)
			if ua.Port == 0 {
				t.Fatalf("Addr() = %v: no port", ua)
			}
			if _, err := client.Write([]byte(sampleLine)); err != nil {
				t.Fatal(err)
			}
			testbed.WaitFor(t, "the datagram", func() bool { return got.Load() == 1 })
			// The port is taken while the listener lives.
			if _, err := listenUDP(ua.String(), 2048, 0, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
				t.Errorf("a second listener bound %v", ua)
			}
		})
	}
}

// Closing a listener that is being served ends serve, and the socket is
// released then (the reader closes it last), so the port binds again.
func TestListenerCloseWhileServing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l, _, done := startListener(t, ctx, 2048, func([]byte) {})
	addr := l.Addr().String()
	time.Sleep(20 * time.Millisecond) // the reader waits in ppoll
	if err := l.close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * pollTimeout):
		t.Fatalf("serve still running %v after close", 10*pollTimeout)
	}
	again, err := listenUDP(addr, 2048, 0, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("bind %s after close: %v", addr, err)
	}
	again.close()
}
