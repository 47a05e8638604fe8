//go:build linux

package ingest

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// quietConn keeps a TCP connection whose reader gathers (sleeps between
// reads, see serveConn) from waking the runtime's network poller for every
// segment that arrives while the reader sleeps. Go registers every socket
// with the poller, edge-triggered; each segment makes the socket readable
// again and wakes a thread blocked in epoll_pwait that has no goroutine to
// give it to: at 20,000 lines/s sent a frame at a time, more than two such
// wake-ups for every read (docs/performance.md, "Transports").
//
// While the reader sleeps, SO_RCVLOWAT is raised to quietBytes, more than
// a gathering sleep lets queue at the rates where the reader sleeps at all
// (its timer wakes it), so the kernel tells the poller nothing meanwhile:
// past the mark, every segment would wake it again.
// The reads that follow are made directly (non-blocking) and return what
// is queued, however little. Only when a read finds nothing is the mark
// lowered to one byte and the reader parks in the poller as usual (an
// idle connection costs nothing while it waits); lowering the mark
// signals data already queued, so no wake-up is lost.
type quietConn struct {
	c    *net.TCPConn
	rc   syscall.RawConn // nil: plain reads
	high bool            // SO_RCVLOWAT is raised
}

func newQuietConn(c *net.TCPConn) *quietConn {
	rc, err := c.SyscallConn()
	if err != nil {
		return &quietConn{c: c}
	}
	return &quietConn{c: c, rc: rc}
}

// quiet raises the mark to n bytes before the reader sleeps.
func (q *quietConn) quiet(n int) {
	if q.rc == nil || q.high || n <= 1 {
		return
	}
	q.high = q.setLowat(n) == nil
}

func (q *quietConn) setLowat(n int) error {
	var serr error
	if err := q.rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT, n)
	}); err != nil {
		return err
	}
	return serr
}

// Read reads what is queued; see quietConn.
func (q *quietConn) Read(p []byte) (int, error) {
	if !q.high {
		return q.c.Read(p)
	}
	for {
		var n int
		var rerr error
		if err := q.rc.Read(func(fd uintptr) bool {
			n, rerr = syscall.Read(int(fd), p)
			return true // never wait here: an empty socket is handled below
		}); err != nil {
			return 0, err // closed, or past the read deadline
		}
		switch {
		case rerr == nil && n == 0:
			return 0, io.EOF
		case rerr == nil:
			return n, nil
		case errors.Is(rerr, syscall.EINTR):
			continue
		case errors.Is(rerr, syscall.EAGAIN):
			// Nothing queued: wait in the poller for the next byte.
			if err := q.setLowat(1); err != nil {
				return 0, err
			}
			q.high = false
			return q.c.Read(p)
		default:
			return 0, os.NewSyscallError("read", rerr)
		}
	}
}
