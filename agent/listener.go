package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"sync/atomic"
	"time"
)

// listenAddr splits a syslog.listen entry such as udp://127.0.0.1:514.
func listenAddr(s string) (network, addr string, err error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", "", fmt.Errorf("listen address %q: %w", s, err)
	}
	if u.Scheme != "udp" || u.Host == "" {
		return "", "", fmt.Errorf("listen address %q: want udp://HOST:PORT", s)
	}
	return u.Scheme, u.Host, nil
}

// Ingest sizes. The kernel's receive buffer (syslog.receive_buffer_bytes)
// absorbs the moments the reading goroutine is not scheduled; the chunks
// absorb the moments the handler (parse, encode, spool) is behind.
const (
	// batchSlots is how many datagrams one read system call can return.
	batchSlots = 32
	// chunkBytes is the packed size of one hand-off chunk; about 800
	// HAProxy lines.
	chunkBytes = 256 << 10
	// chunkCount bounds the hand-off: chunkCount*chunkBytes of datagrams
	// wait for the handler at most, whatever the input.
	chunkCount = 16
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
// allocated once and packs the datagrams into chunks; the goroutine that
// called serve hands each datagram to the handler. The hand-off is bounded:
// when every chunk is waiting for the handler, datagrams read from the
// socket are dropped and counted (Dropped), never queued without limit.
type udpListener struct {
	conn   *net.UDPConn
	maxLen int
	rcvbuf int // effective receive buffer reported by the kernel; 0 unknown
	log    *slog.Logger

	buf   *batchBuf
	batch batchReader

	received  atomic.Uint64
	dropped   atomic.Uint64
	truncated atomic.Uint64
}

// batchReader reads up to len(slots) datagrams, each into its own slot,
// and returns how many it read; sizes[i] is the length of datagram i and
// trunc[i] says the kernel cut it. With wait false it returns
// errWouldBlock instead of waiting for the first datagram.
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
	conn, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("listen udp %s: %w", addr, err)
	}
	l := &udpListener{conn: conn, maxLen: maxLen, log: log}
	if rcvbuf > 0 {
		eff, forced, err := setReceiveBuffer(conn, rcvbuf)
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
	l.batch, err = newBatchReader(conn, l.buf)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("listen udp %s: %w", addr, err)
	}
	return l, nil
}

// Addr is the bound address (useful with port 0).
func (l *udpListener) Addr() net.Addr { return l.conn.LocalAddr() }

// ReceiveBuffer is the socket's receive buffer as the kernel reports it
// (Linux counts twice the bytes it was asked for); 0 when not set.
func (l *udpListener) ReceiveBuffer() int { return l.rcvbuf }

// Received counts the datagrams read from the socket.
func (l *udpListener) Received() uint64 { return l.received.Load() }

// Dropped counts the datagrams read from the socket and dropped because
// the handler was behind and the hand-off was full.
func (l *udpListener) Dropped() uint64 { return l.dropped.Load() }

// Truncated counts the datagrams longer than syslog.max_message_bytes,
// which were cut to it.
func (l *udpListener) Truncated() uint64 { return l.truncated.Load() }

// drainTime is how long a stopping listener keeps reading what the kernel
// had already queued, so a shutdown does not drop accepted datagrams.
const drainTime = 200 * time.Millisecond

// serve reads datagrams until ctx is done, calling handle for each from
// the calling goroutine; then it drains the socket's queue for up to
// drainTime and returns once every datagram read was handled. handle must
// not retain the slice.
func (l *udpListener) serve(ctx context.Context, handle func([]byte)) {
	free := make(chan *chunk, chunkCount)
	full := make(chan *chunk, chunkCount)
	size := max(chunkBytes, l.maxLen)
	for range chunkCount {
		free <- &chunk{buf: make([]byte, 0, size), ends: make([]int, 0, chunkDatagrams)}
	}
	go l.read(ctx, free, full)
	for c := range full {
		start := 0
		for _, end := range c.ends {
			handle(c.buf[start:end:end])
			start = end
		}
		c.reset()
		free <- c
	}
}

// read is the socket-reading goroutine of serve. It packs datagrams into
// chunks from free and sends a chunk to full when it is full or when the
// socket has nothing more queued; it closes full when it stops.
func (l *udpListener) read(ctx context.Context, free, full chan *chunk) {
	defer close(full)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-ctx.Done():
			l.conn.SetReadDeadline(time.Now().Add(drainTime))
		case <-stop:
		}
	}()
	var cur *chunk // nil: no chunk was free
	take := func() {
		if ctx.Err() != nil {
			// Draining: wait for the handler rather than drop; the
			// read deadline bounds the drain.
			cur = <-free
			return
		}
		select {
		case cur = <-free:
		default:
			cur = nil
		}
	}
	handOff := func() {
		if cur != nil && len(cur.ends) > 0 {
			full <- cur
			cur = nil
		}
	}
	take()
	buf := l.buf
	for {
		n, err := l.batch.read(false)
		if errors.Is(err, errWouldBlock) {
			// The socket is empty: give the handler what we have
			// before sleeping.
			handOff()
			n, err = l.batch.read(true)
		}
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
				handOff()
				return
			}
			l.log.Warn("udp read", "addr", l.Addr().String(), "err", err)
			continue
		}
		l.received.Add(uint64(n))
		for i := range n {
			d := buf.slots[i][:buf.sizes[i]]
			if len(d) > l.maxLen || buf.trunc[i] {
				if t := l.truncated.Add(1); isPowerOf10(t) {
					l.log.Warn("datagram longer than syslog.max_message_bytes, truncated",
						"addr", l.Addr().String(), "limit", l.maxLen, "truncated_total", t)
				}
				d = d[:min(len(d), l.maxLen)]
			}
			if cur == nil || !cur.add(d) {
				handOff()
				take()
				if cur == nil || !cur.add(d) {
					if t := l.dropped.Add(1); isPowerOf10(t) {
						l.log.Warn("handler behind, datagrams dropped", "addr", l.Addr().String(), "dropped_total", t)
					}
				}
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
func (l *udpListener) close() error { return l.conn.Close() }
