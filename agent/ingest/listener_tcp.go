package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// TCP listener defaults.
const (
	// DefaultMaxConnections is syslog.max_connections' default.
	DefaultMaxConnections = 64
	// DefaultIdleTimeout is syslog.idle_timeout's default: HAProxy's
	// ring reconnects when it has something to send.
	DefaultIdleTimeout = 10 * time.Minute
	// tcpDrainTime is how long a stopping listener keeps reading a
	// connection after it told the sender it is done (FIN): HAProxy
	// then closes, and what it had sent is read to the end.
	tcpDrainTime = 2 * time.Second
	// quietBytes is the SO_RCVLOWAT of a connection while its reader
	// sleeps (see quietConn): 50 ms of 35,000 lines/s; the kernel may
	// grow the connection's receive buffer to hold it.
	quietBytes = 256 << 10
)

// tcpOptions configure a TCP listener.
type tcpOptions struct {
	maxLen, maxConns int
	idle             time.Duration
	maxGather        time.Duration // caps the gathering sleep (0: DefaultMaxGather)
}

func (in *Ingest) tcpOptions() tcpOptions {
	o := tcpOptions{maxLen: in.opts.MaxMessageBytes, maxConns: in.opts.MaxConnections, idle: in.opts.IdleTimeout,
		maxGather: in.opts.MaxGather}
	if o.maxConns <= 0 {
		o.maxConns = DefaultMaxConnections
	}
	if o.idle <= 0 {
		o.idle = DefaultIdleTimeout
	}
	return o
}

// tcpListener receives syslog over TCP (RFC 6587, see framing.go), at
// most maxConns connections at a time; more are closed as soon as
// accepted, and counted refused.
//
// Nothing read is lost: every whole frame a read brings is handed to the
// pipeline (and so to the spool's buffer) before the next read, and a
// stopping listener reads each connection to its end (see serveConn).
// Each connection holds one frame buffer (syslog.max_message_bytes and a
// few bytes), whatever it sends. Peeking instead of reading (MSG_PEEK,
// consuming only whole frames) was tried and dropped: see
// docs/decisions.md.
type tcpListener struct {
	ln   *net.TCPListener
	o    tcpOptions
	log  *slog.Logger
	once sync.Once // closes ln

	received, truncated, malformed atomic.Uint64
	accepted, refused              atomic.Uint64
	open                           atomic.Int64
}

// listenTCP binds addr.
func listenTCP(addr string, o tcpOptions, log *slog.Logger) (*tcpListener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen tcp %s: %w", addr, err)
	}
	return &tcpListener{ln: ln.(*net.TCPListener), o: o, log: log}, nil
}

func (t *tcpListener) Addr() net.Addr { return t.ln.Addr() }
func (t *tcpListener) name() string   { return "tcp://" + t.Addr().String() }

func (t *tcpListener) close() error {
	var err error
	t.once.Do(func() { err = t.ln.Close() })
	return err
}

func (t *tcpListener) counts(lc *listenerCounters, _ string) error {
	lc.oversize.Store(int64(t.truncated.Load()))
	lc.received.Store(t.received.Load())
	lc.malformed.Store(int64(t.malformed.Load()))
	lc.connsOpen.Store(t.open.Load())
	lc.connsAccepted.Store(int64(t.accepted.Load()))
	lc.connsRefused.Store(int64(t.refused.Load()))
	return nil
}

// serveMessages accepts connections until ctx is done, each served by
// its own goroutine and handler; then it stops accepting, lets each
// connection drain and returns when all are closed.
func (t *tcpListener) serveMessages(ctx context.Context, newHandle func() func([]byte)) {
	stop := context.AfterFunc(ctx, func() { t.close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := t.ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || ctx.Err() != nil {
				return
			}
			t.log.Warn("tcp accept", "listener", t.name(), "err", err)
			time.Sleep(10 * time.Millisecond) // EMFILE and the like: do not spin
			continue
		}
		if t.open.Load() >= int64(t.o.maxConns) {
			c.SetLinger(0)
			c.Close()
			if n := t.refused.Add(1); isPowerOf10(n) {
				t.log.Warn("tcp connection refused: syslog.max_connections open", "listener", t.name(),
					"peer", c.RemoteAddr().String(), "max_connections", t.o.maxConns, "refused_total", n)
			}
			continue
		}
		t.open.Add(1)
		t.accepted.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer t.open.Add(-1)
			t.serveConn(ctx, c, newHandle())
		}()
	}
}

// serveConn reads one connection until the peer closes it, it stays idle
// for the idle timeout, it sends a malformed frame, or ctx is done; then
// it closes it. Every whole frame a read brought is handed to the
// pipeline before the next read; only the start of a frame not yet whole
// waits in the buffer.
func (t *tcpListener) serveConn(ctx context.Context, c *net.TCPConn, handle func([]byte)) {
	defer c.Close()
	peer := c.RemoteAddr().String()
	// Once ctx is done: FIN to the sender, which closes its end, and
	// whatever it sent before is read until tcpDrainTime from then, a
	// deadline set once: a sender that goes on sending cannot hold the
	// stop up.
	var drainUntil atomic.Int64 // unix nanoseconds; 0 until ctx is done
	stop := context.AfterFunc(ctx, func() {
		until := time.Now().Add(tcpDrainTime)
		drainUntil.Store(until.UnixNano())
		c.CloseWrite()
		c.SetReadDeadline(until)
	})
	defer stop()
	draining := func() bool { return drainUntil.Load() != 0 }
	fr := framer{max: t.o.maxLen}
	buf := make([]byte, 0, fr.frameBuf())
	// Between reads that did not fill the buffer, frames gather in the
	// kernel's buffers (see gather), so a connection is read in batches
	// rather than once per frame. Nothing bounds the sleep but
	// maxGather: when the kernel's buffers are full the sender waits
	// (HAProxy holds the lines in its ring), nothing is lost, and the
	// next reads fill the buffer, which they do without sleeping.
	g := newGather(t.o.maxGather, 0)
	g.capacity = math.MaxInt32
	var slept time.Duration
	var gathered int
	q := newQuietConn(c)
	nap := time.NewTimer(time.Hour)
	nap.Stop()
	defer nap.Stop()
	for {
		c.SetReadDeadline(time.Now().Add(t.o.idle))
		if until := drainUntil.Load(); until != 0 {
			c.SetReadDeadline(time.Unix(0, until))
		}
		free := cap(buf) - len(buf)
		n, err := q.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		used, frames, ferr := t.frames(buf, &fr, handle)
		buf = buf[:copy(buf, buf[used:])]
		if ferr != nil {
			t.malformed.Add(1)
			t.log.Warn("tcp connection closed: malformed frame", "listener", t.name(), "peer", peer, "err", ferr)
			return
		}
		if err != nil {
			if !draining() || !errors.Is(err, os.ErrDeadlineExceeded) {
				t.closed(peer, len(buf), err)
			}
			return
		}
		gathered += frames
		if n < free/2 && !draining() {
			d := g.next
			if slept > 0 {
				d = g.after(gathered, slept)
			}
			q.quiet(quietBytes) // no wake-up for each segment while asleep
			nap.Reset(d)
			select {
			case <-nap.C:
			case <-ctx.Done():
				nap.Stop()
			}
			slept, gathered = d, 0
		}
	}
}

// closed logs why a connection ended, when it was not a plain close
// between frames.
func (t *tcpListener) closed(peer string, pending int, err error) {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		t.log.Info("tcp connection idle, closed", "listener", t.name(), "peer", peer, "idle_timeout", t.o.idle, "partial_frame_bytes", pending)
	case errors.Is(err, io.EOF) && pending == 0:
	case errors.Is(err, io.EOF):
		t.log.Warn("tcp connection closed in the middle of a frame", "listener", t.name(), "peer", peer, "partial_frame_bytes", pending)
	default:
		t.log.Warn("tcp connection", "listener", t.name(), "peer", peer, "err", err)
	}
}

// frames hands every whole frame of p to handle and returns how many
// bytes they took and how many frames.
func (t *tcpListener) frames(p []byte, fr *framer, handle func([]byte)) (used, frames int, err error) {
	for {
		msg, n, trunc, err := fr.next(p[used:])
		if err != nil || n == 0 {
			return used, frames, err
		}
		frames++
		used += n
		if trunc {
			if tr := t.truncated.Add(1); isPowerOf10(tr) {
				t.log.Warn("tcp frame longer than syslog.max_message_bytes, truncated", "listener", t.name(),
					"limit", t.o.maxLen, "truncated_total", tr)
			}
		}
		if len(msg) > 0 {
			t.received.Add(1)
			handle(msg)
		}
	}
}
