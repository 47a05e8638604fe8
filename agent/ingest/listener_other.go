//go:build !linux

package ingest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

// udpSocket is the portable socket: a net.UDPConn, in Go's network poller.
type udpSocket struct {
	conn *net.UDPConn
}

func openUDPSocket(addr *net.UDPAddr) (*udpSocket, error) {
	conn, err := net.ListenUDP("udp", addr)
	if err != nil {
		return nil, err
	}
	return &udpSocket{conn: conn}, nil
}

func (s *udpSocket) LocalAddr() net.Addr { return s.conn.LocalAddr() }
func (s *udpSocket) use() bool           { return true }
func (s *udpSocket) done()               {}
func (s *udpSocket) close() error        { return s.conn.Close() }

// setReceiveBuffer sets SO_RCVBUF; the effective size is not known here.
func (s *udpSocket) setReceiveBuffer(n int) (effective int, forced bool, err error) {
	return 0, false, s.conn.SetReadBuffer(n)
}

// inode identifies the socket in /proc/net/udp, where there is one.
func (s *udpSocket) inode() (uint64, error) {
	rc, err := s.conn.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("socket inode: %w", err)
	}
	var st syscall.Stat_t
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.Fstat(int(fd), &st) }); err != nil {
		return 0, fmt.Errorf("socket inode: %w", err)
	}
	if serr != nil {
		return 0, fmt.Errorf("socket inode: fstat: %w", serr)
	}
	return uint64(st.Ino), nil
}

// udpReader reads one datagram per call: the portable fallback of the
// Linux recvmmsg reader.
type udpReader struct {
	conn *net.UDPConn
	buf  *batchBuf
}

func newBatchReader(sock *udpSocket, buf *batchBuf) (batchReader, error) {
	return &udpReader{conn: sock.conn, buf: buf}, nil
}

func (r *udpReader) read(wait bool) (int, error) {
	if !wait {
		return 0, errWouldBlock
	}
	r.conn.SetReadDeadline(time.Now().Add(pollTimeout))
	n, _, err := r.conn.ReadFromUDP(r.buf.slots[0])
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return 0, errWouldBlock
	}
	if err != nil {
		return 0, err
	}
	r.buf.sizes[0], r.buf.trunc[0] = n, false
	return 1, nil
}
