package ingest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

func TestGatherGrowsAtLowRates(t *testing.T) {
	// 8 MiB asked, 16 MiB reported: 8,192 small datagrams queued.
	g := newGather(0, 16<<20)
	if g.next != gatherTime {
		t.Fatalf("first sleep %v, want %v", g.next, gatherTime)
	}
	// 1,000 datagrams/s: the sleep doubles to the cap.
	var got []time.Duration
	d := gatherTime
	for range 8 {
		n := int(d / time.Millisecond) // one datagram a millisecond
		d = g.after(n, d)
		got = append(got, d)
	}
	want := []time.Duration{2, 4, 8, 16, 32, 50, 50, 50}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("sleeps at 1,000/s: %v, want %v ms", got, want)
		}
	}
	// A drop, or a wait for a datagram, starts again from the shortest.
	g.reset()
	if g.next != gatherTime {
		t.Errorf("after reset: %v, want %v", g.next, gatherTime)
	}
}

func TestGatherBoundedByTheBuffer(t *testing.T) {
	// 256 KiB reported: 128 datagrams. At 10,000/s the buffer fills in
	// 12.8 ms; eight times that rate must not overflow it during a sleep,
	// so the sleep stays at 1.6 ms whatever the cap.
	g := newGather(time.Second, 256<<10)
	d := gatherTime
	for range 10 {
		d = g.after(int(d.Seconds()*10000), d)
	}
	if want := 1600 * time.Microsecond; d != want {
		t.Errorf("sleep at 10,000/s with 128 datagrams of buffer: %v, want %v", d, want)
	}
	// Far beyond what the buffer holds, never below the shortest sleep.
	if d := g.after(1_000_000, time.Millisecond); d != gatherTime {
		t.Errorf("sleep at 1e9/s: %v, want %v", d, gatherTime)
	}
	// The configured cap holds too.
	g = newGather(5*time.Millisecond, 16<<20)
	d = gatherTime
	for range 10 {
		d = g.after(1, d)
	}
	if d != 5*time.Millisecond {
		t.Errorf("capped sleep: %v, want 5ms", d)
	}
}

// A steady low rate is read in batches, not one read per datagram; and a
// burst that follows, at full speed, is not dropped.
func TestListenerGathersAtLowRates(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var handled atomic.Int64
	l, err := listenUDP("127.0.0.1:0", 2048, 8<<20, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.close() })
	var reads atomic.Int64
	l.batch = countingReader{l.batch, &reads}
	client, err := net.DialUDP("udp", nil, l.Addr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	go l.serve(ctx, func([]byte) { handled.Add(1) })
	const slow = 300
	for range slow { // about 1,000/s for 0.3 s
		if _, err := client.Write([]byte(sampleLine)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	const burst = 3000
	for range burst {
		if _, err := client.Write([]byte(sampleLine)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for handled.Load()+int64(l.Dropped()) < slow+burst && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := handled.Load(); got != slow+burst || l.Dropped() != 0 {
		t.Fatalf("handled %d, kernel dropped %d; want %d and 0", got, l.Dropped(), slow+burst)
	}
	// With a 1 ms sleep between reads the slow part took about one read
	// (and one wait) per datagram; growing sleeps take a few dozen.
	if r := reads.Load(); r > slow/2 {
		t.Errorf("%d reads for %d datagrams sent one a millisecond (and a burst): the reader does not gather", r, slow+burst)
	}
}

// countingReader counts the reads of a batchReader.
type countingReader struct {
	batchReader
	n *atomic.Int64
}

func (c countingReader) read(wait bool) (int, error) {
	c.n.Add(1)
	return c.batchReader.read(wait)
}

// A unix socket's queue is bounded by max_dgram_qlen and by the sender's
// send buffer: raising the first alone does not make it longer.
func TestUnixQueue(t *testing.T) {
	for _, tt := range []struct{ qlen, wmem, want int }{
		{10, 212992, 11},      // the kernel's defaults
		{512, 212992, 166},    // systemd's qlen: the send buffer bounds it
		{4096, 212992, 166},   // measured: 167 sent before EAGAIN
		{4096, 4 << 20, 3276}, // both raised
		{0, 0, 1},             // never nothing
	} {
		if got := unixQueue(tt.qlen, tt.wmem); got != tt.want {
			t.Errorf("unixQueue(%d, %d) = %d, want %d", tt.qlen, tt.wmem, got, tt.want)
		}
	}
}

// A short queue's sleep starts below a millisecond, never lets eight
// times the rate overflow the queue, and still grows at low rates.
func TestQueueGatherShortQueue(t *testing.T) {
	const capacity = 166
	g := queueGather(0, capacity)
	if g.next >= gatherTime || g.next < minSleep {
		t.Fatalf("first sleep %v: want under %v, at least %v", g.next, gatherTime, minSleep)
	}
	for _, rate := range []float64{1_000, 20_000, 200_000, 400_000} {
		g.reset()
		d := g.next
		for range 20 {
			d = g.after(int(d.Seconds()*rate)+1, d)
			if d == 0 {
				break
			}
			if queued := d.Seconds() * rate * gatherBurst; queued > capacity*1.1 {
				t.Fatalf("at %.0f/s: sleep %v lets %.0f datagrams of eight times the rate into a queue of %d", rate, d, queued, capacity)
			}
		}
		if rate == 1_000 && d < 10*time.Millisecond {
			t.Errorf("at 1,000/s the sleep stays at %v: it does not gather", d)
		}
	}
	// Far beyond what the queue holds: no sleep at all.
	if d := g.after(1_000_000, time.Millisecond); d != 0 {
		t.Errorf("sleep at 1e9/s: %v, want 0", d)
	}
}
