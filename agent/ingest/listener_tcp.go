package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
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
)

// tcpOptions configure a TCP listener.
type tcpOptions struct {
	maxLen, maxConns int
	idle             time.Duration
}

func (in *Ingest) tcpOptions() tcpOptions {
	o := tcpOptions{maxLen: in.opts.MaxMessageBytes, maxConns: in.opts.MaxConnections, idle: in.opts.IdleTimeout}
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
// Nothing read is lost: a connection's bytes are peeked (MSG_PEEK), every
// whole frame among them is handed to the pipeline, and only then are
// those frames' bytes consumed from the socket. What the agent has not
// taken stays in the kernel and, behind it, in the sender's buffers (for
// HAProxy, its ring). Each connection holds one frame buffer
// (syslog.max_message_bytes and a few bytes), whatever it sends.
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
// it closes it.
func (t *tcpListener) serveConn(ctx context.Context, c *net.TCPConn, handle func([]byte)) {
	defer c.Close()
	peer := c.RemoteAddr().String()
	rc, err := c.SyscallConn()
	if err != nil {
		t.log.Warn("tcp connection", "listener", t.name(), "peer", peer, "err", err)
		return
	}
	// Once ctx is done: FIN to the sender, which closes its end, and
	// whatever it sent before is read within tcpDrainTime.
	var draining atomic.Bool
	drainUntil := func() time.Time { return time.Now().Add(tcpDrainTime) }
	stop := context.AfterFunc(ctx, func() {
		draining.Store(true)
		c.CloseWrite()
		c.SetReadDeadline(drainUntil())
	})
	defer stop()
	deadline := func() {
		c.SetReadDeadline(time.Now().Add(t.o.idle))
		if draining.Load() {
			c.SetReadDeadline(drainUntil())
		}
	}
	s := tcpStream{rc: rc, buf: make([]byte, 0, (&framer{max: t.o.maxLen}).frameBuf()), fr: framer{max: t.o.maxLen}}
	for {
		deadline()
		n, err := s.peek()
		if err != nil {
			if !draining.Load() || !errors.Is(err, os.ErrDeadlineExceeded) {
				t.closed(peer, s.pending, err)
			}
			return
		}
		if n == 0 {
			t.closed(peer, s.pending, io.EOF)
			return
		}
		used, err := t.frames(s.buf[:n], &s.fr, handle)
		if used > 0 {
			if cerr := s.consume(used); cerr != nil {
				t.closed(peer, s.pending, cerr)
				return
			}
		}
		s.pending = n - used
		if err != nil {
			t.malformed.Add(1)
			t.log.Warn("tcp connection closed: malformed frame", "listener", t.name(), "peer", peer, "err", err)
			return
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
// bytes they took.
func (t *tcpListener) frames(p []byte, fr *framer, handle func([]byte)) (int, error) {
	used := 0
	for {
		msg, n, trunc, err := fr.next(p[used:])
		if err != nil || n == 0 {
			return used, err
		}
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

// tcpStream reads a connection by peeking: bytes leave the socket only
// once the frames they hold were handled.
type tcpStream struct {
	rc      syscall.RawConn
	buf     []byte // cap: one frame buffer
	fr      framer
	pending int // bytes peeked that hold no whole frame yet
}

// peek copies what the socket holds into buf, up to its capacity, and
// returns how much; 0 is the end of the stream. It waits (in Go's poller,
// until the read deadline) for more than the pending bytes.
func (s *tcpStream) peek() (int, error) {
	var n int
	var serr error
	err := s.rc.Read(func(fd uintptr) bool {
		n, _, serr = syscall.Recvfrom(int(fd), s.buf[:cap(s.buf)], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		if serr == syscall.EINTR || serr == syscall.EAGAIN {
			return false
		}
		// Nothing new after a part of a frame: wait for the rest.
		return serr != nil || n == 0 || n > s.pending
	})
	if err != nil {
		return 0, err
	}
	if serr != nil {
		return 0, os.NewSyscallError("recvfrom", serr)
	}
	return n, nil
}

// consume takes n bytes, already peeked and handled, off the socket.
func (s *tcpStream) consume(n int) error {
	for n > 0 {
		var got int
		var serr error
		err := s.rc.Read(func(fd uintptr) bool {
			got, serr = syscall.Read(int(fd), s.buf[:n])
			return serr != syscall.EAGAIN && serr != syscall.EINTR
		})
		if err != nil {
			return err
		}
		if serr != nil {
			return os.NewSyscallError("read", serr)
		}
		if got == 0 {
			return io.ErrUnexpectedEOF
		}
		n -= got
	}
	return nil
}
