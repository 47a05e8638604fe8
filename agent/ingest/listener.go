package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Ingest sizes. The kernel's receive buffer (syslog.receive_buffer_bytes)
// is the queue in front of the agent; the chunks absorb the moments the
// handler (parse, encode, spool) is slower than the reader.
const (
	// batchSlots is how many datagrams one read system call can return.
	batchSlots = 32
	// chunkBytes is the packed size of one hand-off chunk; about 800
	// HAProxy lines.
	chunkBytes = 256 << 10
	// chunkCount bounds the hand-off: chunkCount*chunkBytes of datagrams
	// wait for the handler at most, whatever the input.
	chunkCount = 8
	// chunkDatagrams caps the datagrams in one chunk (empty datagrams take
	// no bytes).
	chunkDatagrams = 4096
)

// chunk is a run of datagrams packed end to end, handed from the reading
// goroutine to the handler and back. Chunks are allocated once.
type chunk struct {
	buf  []byte
	ends []int // end offset in buf of each datagram
}

func (c *chunk) add(d []byte) bool {
	if len(c.ends) == cap(c.ends) || len(c.buf)+len(d) > cap(c.buf) {
		return false
	}
	c.buf = append(c.buf, d...)
	c.ends = append(c.ends, len(c.buf))
	return true
}

func (c *chunk) reset() {
	c.buf = c.buf[:0]
	c.ends = c.ends[:0]
}

// udpListener receives one syslog message per datagram.
//
// One goroutine reads the socket in batches (recvmmsg on Linux) into slots
// allocated once and packs the datagrams into a fixed set of chunks; the
// goroutine that called serve hands each datagram to the handler. When
// every chunk waits for the handler, the reader waits too, so datagrams
// queue in the kernel's receive buffer, and what overflows it the kernel
// drops and counts (Dropped). Nothing is queued without bound and nothing
// is read only to be thrown away.
type udpListener struct {
	sock   *udpSocket
	maxLen int
	rcvbuf int // effective receive buffer reported by the kernel; 0 unknown
	log    *slog.Logger
	// maxGather caps the gathering sleep (see gather); 0 is
	// DefaultMaxGather.
	maxGather time.Duration
	// queueLen is how many datagrams the kernel queues before the
	// sender's send fails (a unix socket: see unixQueue); 0: the receive
	// buffer bounds the queue. Below minGatherQueue the reader does not
	// sleep to gather.
	queueLen int

	buf   *batchBuf
	batch batchReader

	received  atomic.Uint64
	dropped   atomic.Uint64 // by the kernel, as of the last datagram read
	truncated atomic.Uint64

	// behind, if set, is called when the handler falls behind: it finds
	// behindChunks full chunks queued, or the kernel reports drops. The
	// agent's owner may then give the runtime more threads (Agent.OnBehind).
	behind func()
}

// behindChunks full chunks queued, half the hand-off (about 3,200 lines,
// several milliseconds of work), mean the handler is behind rather than
// catching up after a pause. At 2 the agent on one thread reported it at
// 200,000 datagrams/s, which one thread handles; at 4 it reported it at
// 400,000/s and not at 300,000/s (docs/performance.md).
const behindChunks = chunkCount / 2

// batchReader reads up to len(slots) datagrams, each into its own slot,
// and returns how many it read; sizes[i] is the length of datagram i and
// trunc[i] says the kernel cut it. With wait false it returns
// errWouldBlock instead of waiting for the first datagram; with wait true
// it waits up to pollTimeout, then returns errWouldBlock. On a closed
// socket it returns net.ErrClosed.
type batchReader interface {
	read(wait bool) (n int, err error)
}

// errWouldBlock: nothing queued on the socket.
var errWouldBlock = errors.New("no datagram queued")

// batchBuf is the memory a batchReader reads into.
type batchBuf struct {
	slots [][]byte
	sizes []int
	trunc []bool
	// drops is the kernel's count of datagrams this socket dropped, as
	// the last datagram read reported it (wrapping at 2^32); dropsSeen
	// says the batch reported it.
	drops     uint32
	dropsSeen bool
}

func newBatchBuf(n, slotLen int) *batchBuf {
	mem := make([]byte, n*slotLen)
	b := &batchBuf{slots: make([][]byte, n), sizes: make([]int, n), trunc: make([]bool, n)}
	for i := range b.slots {
		b.slots[i] = mem[i*slotLen : (i+1)*slotLen : (i+1)*slotLen]
	}
	return b
}

// listenUDP binds addr and sizes its receive buffer to rcvbuf bytes (0
// leaves the system default). maxLen is the largest datagram taken whole.
func listenUDP(addr string, maxLen, rcvbuf int, log *slog.Logger) (*udpListener, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen udp %s: %w", addr, err)
	}
	sock, err := openUDPSocket(ua)
	if err != nil {
		return nil, fmt.Errorf("listen udp %s: %w", addr, err)
	}
	l, err := newDatagramListener(sock, "udp", addr, maxLen, rcvbuf, log)
	if err != nil {
		sock.close()
		return nil, err
	}
	return l, nil
}

// newDatagramListener reads sock (bound to addr, of network udp or
// unixgram), sizing its receive buffer to rcvbuf bytes (0 leaves the
// system default).
func newDatagramListener(sock *udpSocket, network, addr string, maxLen, rcvbuf int, log *slog.Logger) (*udpListener, error) {
	l := &udpListener{sock: sock, maxLen: maxLen, log: log}
	if rcvbuf > 0 {
		eff, forced, err := sock.setReceiveBuffer(rcvbuf)
		switch {
		case err != nil:
			log.Warn("cannot set receive buffer", "addr", addr, "bytes", rcvbuf, "err", err)
		case eff > 0 && eff < rcvbuf:
			// Linux reports twice what it was asked (bookkeeping
			// overhead), so less than asked means it was capped.
			log.Warn("receive buffer smaller than syslog.receive_buffer_bytes; raise net.core.rmem_max or run with CAP_NET_ADMIN",
				"addr", addr, "requested_bytes", rcvbuf, "effective_bytes", eff, "forced", forced)
		default:
			log.Info("receive buffer", "addr", addr, "requested_bytes", rcvbuf, "effective_bytes", eff, "forced", forced)
		}
		l.rcvbuf = eff
	}
	// One byte more than the limit tells a datagram at the limit from a
	// longer one the kernel truncated.
	l.buf = newBatchBuf(batchSlots, maxLen+1)
	var err error
	l.batch, err = newBatchReader(sock, l.buf)
	if err != nil {
		return nil, fmt.Errorf("listen %s %s: %w", network, addr, err)
	}
	return l, nil
}

// Addr is the bound address (useful with port 0).
func (l *udpListener) Addr() net.Addr { return l.sock.LocalAddr() }

// ReceiveBuffer is the socket's receive buffer as the kernel reports it
// (Linux counts twice the bytes it was asked for); 0 when not set.
func (l *udpListener) ReceiveBuffer() int { return l.rcvbuf }

// Received counts the datagrams read from the socket.
func (l *udpListener) Received() uint64 { return l.received.Load() }

// Dropped counts the datagrams the kernel dropped because the socket's
// receive buffer was full: the handler was behind for longer than the
// buffer and the hand-off hold. Linux reports the count with the next
// datagram read (SO_RXQ_OVFL); elsewhere it stays 0.
func (l *udpListener) Dropped() uint64 { return l.dropped.Load() }

// Truncated counts the datagrams longer than syslog.max_message_bytes,
// which were cut to it.
func (l *udpListener) Truncated() uint64 { return l.truncated.Load() }

// gatherTime is how long the reader first sleeps after it emptied the
// socket's queue, so that it reads datagrams in batches and wakes the
// handler once per batch, not once per datagram. At a high rate a
// millisecond fills batches; at a low one the sleep grows (gather).
const gatherTime = time.Millisecond

// DefaultMaxGather is the longest gathering sleep: at 1,000 datagrams/s
// the reader wakes 20 times a second for 50 datagrams rather than 1,000
// times for one, which is most of what a line cost at that rate
// (docs/performance.md, "Cost per line"). A line waits that much longer
// before it reaches the spool's buffer: 5 % of the default
// spool.fsync_interval.
const DefaultMaxGather = 50 * time.Millisecond

// gatherBurst is how much faster than now datagrams may arrive during a
// gathering sleep without overflowing the receive buffer: the sleep is
// kept below what the buffer holds at gatherBurst times the current rate.
const gatherBurst = 8

// queuedBytes is what one small datagram is assumed to take of the receive
// buffer: its size plus the kernel's bookkeeping (the skb's truesize is
// about 1 KiB for a 300-byte datagram on loopback; twice that for safety).
const queuedBytes = 2048

// gather is the reader's gathering sleep. It starts at gatherTime after
// the reader was idle (it waited for a datagram), doubles after each sleep
// that did not fill a batch, and is capped by max and by what the receive
// buffer holds at gatherBurst times the rate just seen. A full batch or a
// kernel drop brings it back to gatherTime. So a steady low rate is read
// in a few large batches a second, a high one in batches the buffer holds
// eight times over, and a rate that rises sharply finds the sleep short
// by the time it could fill the buffer.
type gather struct {
	max      time.Duration
	capacity int           // datagrams the receive buffer holds
	next     time.Duration // the next sleep
	// first is the sleep after a reset and floor the shortest:
	// gatherTime for a receive buffer; shorter for a short queue (see
	// queueGather), which a millisecond could overflow.
	first, floor time.Duration
}

func newGather(longest time.Duration, rcvbuf int) gather {
	if longest <= 0 {
		longest = DefaultMaxGather
	}
	if rcvbuf <= 0 {
		rcvbuf = 208 << 10 // Linux's default net.core.rmem_default
	}
	return gather{max: longest, capacity: max(rcvbuf/queuedBytes, 1), next: gatherTime, first: gatherTime, floor: gatherTime}
}

// queueGather is the gathering sleep of a socket that queues n datagrams
// whatever their size (a unix socket, see unixQueue). Such a queue may be
// short, 166 datagrams with Linux's defaults: 0.8 ms at 200,000 logs/s.
// So the sleep starts where gatherRate times gatherBurst fills the queue
// and may shrink to nothing (0: read again at once) as the rate rises.
func queueGather(longest time.Duration, n int) gather {
	g := newGather(longest, 0)
	g.capacity = n
	g.first = min(gatherTime, time.Duration(n)*time.Second/(gatherBurst*gatherRate))
	g.next, g.floor = g.first, 0
	return g
}

// gatherRate is the rate a short queue's first sleep is sized for: the
// highest HAProxy sends at on one core.
const gatherRate = 200_000

// minSleep: a gathering sleep shorter than this is not slept.
const minSleep = 20 * time.Microsecond

// reset is for a reader that waited for a datagram, or saw drops: the
// rate may rise from nothing.
func (g *gather) reset() { g.next = g.first }

// after is told how many datagrams one sleep of slept gathered and
// returns the next sleep.
func (g *gather) after(n int, slept time.Duration) time.Duration {
	d := min(2*g.next, g.max)
	if n > 0 && slept > 0 {
		// n/slept datagrams per second; the buffer must hold
		// gatherBurst times that for the whole sleep.
		if limit := time.Duration(float64(slept) * float64(g.capacity) / float64(gatherBurst*n)); limit < d {
			d = limit
		}
	}
	g.next = max(d, g.floor)
	if g.next < minSleep {
		g.next = 0
	}
	return g.next
}

// yieldEvery is how many datagrams the handler takes between two calls to
// runtime.Gosched. The agent runs Go code on one thread while it keeps up
// (cmd/elb-access-logger); there a reader whose gathering sleep has ended
// waits until the handler yields, and a handler working through a full
// hand-off (thousands of lines, milliseconds) would leave the kernel's
// buffer unread meanwhile. 128 lines are about 0.1 ms of work; a yield
// with nothing else to run costs well under a microsecond.
const yieldEvery = 128

// dropWarnInterval spaces the warnings about kernel drops.
const dropWarnInterval = 10 * time.Second

// drainTime is how long a stopping listener keeps reading what the kernel
// had already queued, so a shutdown does not drop accepted datagrams.
const drainTime = 200 * time.Millisecond

// pollTimeout bounds how long the reader waits for a datagram before it
// looks at its context again: how soon an idle listener stops. Each
// timeout is a wake-up of an idle agent: at 100 ms they were most of its
// 0.12 % of a core, at 250 ms it uses 0.07 % (docs/performance.md).
const pollTimeout = 250 * time.Millisecond

// handoff passes chunks of datagrams from the reading goroutine to the
// handling one. The reader fills cur and queues it on full when it is
// full; a handler with nothing queued takes cur as it is. So a handler
// that keeps up sees every datagram at once, and one that is behind finds
// full chunks queued: the hand-off then holds chunkCount*chunkBytes of
// datagrams, not chunkCount small bursts.
type handoff struct {
	free, full chan *chunk
	ready      chan struct{} // the reader added to cur
	mu         sync.Mutex    // guards cur; the reader queues on full holding it
	cur        *chunk        // being filled; nil when the reader waits for one
}

func newHandoff(chunkSize int) *handoff {
	h := &handoff{free: make(chan *chunk, chunkCount), full: make(chan *chunk, chunkCount), ready: make(chan struct{}, 1)}
	for range chunkCount {
		h.free <- &chunk{buf: make([]byte, 0, chunkSize), ends: make([]int, 0, chunkDatagrams)}
	}
	return h
}

// add appends one datagram and reports whether it found room. The caller
// holds mu; on false it waits for a free chunk (without mu), makes it cur
// and adds again.
func (h *handoff) add(d []byte) bool {
	if h.cur != nil && h.cur.add(d) {
		return true
	}
	if h.cur != nil && len(h.cur.ends) > 0 {
		h.full <- h.cur // never blocks: full has room for every chunk
	}
	h.cur = nil
	select {
	case h.cur = <-h.free:
		return h.cur.add(d)
	default:
		return false
	}
}

// take returns the next chunk for the handler: a queued one, else the one
// being filled, else it waits. It returns nil once the reader stopped and
// everything was taken.
func (h *handoff) take() *chunk {
	for {
		select {
		case c, ok := <-h.full:
			if !ok {
				return nil
			}
			return c
		default:
		}
		// The reader queues chunks holding mu, so under mu an empty
		// queue means cur holds the oldest datagrams.
		h.mu.Lock()
		var c *chunk
		if len(h.full) == 0 && h.cur != nil && len(h.cur.ends) > 0 {
			c, h.cur = h.cur, nil
		}
		queued := len(h.full) > 0
		h.mu.Unlock()
		if c != nil {
			return c
		}
		if queued {
			continue
		}
		select {
		case c, ok := <-h.full:
			if !ok {
				return nil
			}
			return c
		case <-h.ready:
		}
	}
}

// serve reads datagrams until ctx is done, calling handle for each from
// the calling goroutine; then it drains the socket's queue for up to
// drainTime and returns once every datagram read was handled. handle must
// not retain the slice.
func (l *udpListener) serve(ctx context.Context, handle func([]byte)) {
	h := newHandoff(max(chunkBytes, l.maxLen))
	go l.read(ctx, h)
	for c := h.take(); c != nil; c = h.take() {
		if l.behind != nil && len(h.full) >= behindChunks {
			l.behind()
		}
		start := 0
		for i, end := range c.ends {
			handle(c.buf[start:end:end])
			start = end
			if i%yieldEvery == yieldEvery-1 {
				runtime.Gosched()
			}
		}
		c.reset()
		h.free <- c
	}
}

// read is the socket-reading goroutine of serve. When it stops it queues
// what it holds and closes h.full.
func (l *udpListener) read(ctx context.Context, h *handoff) {
	defer func() {
		h.mu.Lock()
		if h.cur != nil && len(h.cur.ends) > 0 {
			h.full <- h.cur
		}
		h.cur = nil
		h.mu.Unlock()
		close(h.full)
	}()
	if !l.sock.use() {
		return // closed before it was served
	}
	defer l.sock.done()
	buf := l.buf
	g := newGather(l.maxGather, l.rcvbuf)
	if l.queueLen > 0 {
		g = queueGather(l.maxGather, l.queueLen)
	}
	var slept time.Duration // the last gathering sleep, 0 after a wait
	var gathered int        // datagrams read since that sleep
	var lastDrops uint32
	var lastWarn time.Time
	var drainUntil time.Time // set once ctx is done
	for {
		if drainUntil.IsZero() && ctx.Err() != nil {
			drainUntil = time.Now().Add(drainTime)
		}
		draining := !drainUntil.IsZero()
		if draining && time.Now().After(drainUntil) {
			return
		}
		n, err := l.batch.read(false)
		if errors.Is(err, errWouldBlock) {
			if draining {
				return // what the kernel had queued is read
			}
			// Nothing gathered: wait for the next datagram, whose
			// rate may be anything.
			g.reset()
			slept, gathered = 0, 0
			n, err = l.batch.read(true) // waits up to pollTimeout
		}
		if errors.Is(err, errWouldBlock) {
			continue
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			l.log.Warn("udp read", "addr", l.Addr().String(), "err", err)
			continue
		}
		l.received.Add(uint64(n))
		if buf.dropsSeen && buf.drops != lastDrops {
			t := l.dropped.Add(uint64(buf.drops - lastDrops))
			lastDrops = buf.drops
			g.reset()
			if l.behind != nil {
				l.behind()
			}
			if now := time.Now(); now.Sub(lastWarn) >= dropWarnInterval {
				lastWarn = now
				l.log.Warn("receive buffer full, the kernel dropped datagrams; raise syslog.receive_buffer_bytes or give the agent more CPU",
					"addr", l.Addr().String(), "dropped_total", t)
			}
		}
		h.mu.Lock()
		for i := range n {
			d := buf.slots[i][:buf.sizes[i]]
			if len(d) > l.maxLen || buf.trunc[i] {
				if t := l.truncated.Add(1); isPowerOf10(t) {
					l.log.Warn("datagram longer than syslog.max_message_bytes, truncated",
						"addr", l.Addr().String(), "limit", l.maxLen, "truncated_total", t)
				}
				d = d[:min(len(d), l.maxLen)]
			}
			for !h.add(d) {
				// The handler is behind: wait for it, and let
				// the kernel's buffer take what arrives.
				h.mu.Unlock()
				c := <-h.free
				h.mu.Lock()
				h.cur = c
			}
		}
		h.mu.Unlock()
		select {
		case h.ready <- struct{}{}:
		default:
		}
		gathered += n
		if n < len(buf.slots) && ctx.Err() == nil && (l.queueLen == 0 || l.queueLen >= minGatherQueue) {
			// The queue is empty: let datagrams gather in the
			// kernel's buffer rather than wake up for each.
			d := g.next
			if slept > 0 {
				d = g.after(gathered, slept)
			}
			if d > 0 {
				time.Sleep(d)
				slept, gathered = d, 0
			}
		}
	}
}

// isPowerOf10 thins out repeated warnings: the 1st, 10th, 100th... event.
func isPowerOf10(n uint64) bool {
	for n >= 10 && n%10 == 0 {
		n /= 10
	}
	return n == 1
}

// close stops the listener.
func (l *udpListener) close() error { return l.sock.close() }
