package ingest

import (
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// udpSocket is a bound UDP socket that the agent reads itself, outside
// Go's network poller. A socket in the poller (as net.ListenUDP makes it)
// wakes the poller's thread for datagrams that arrive while the reader
// sleeps to let a batch gather, a wake-up nobody needs: 80,000 epoll_pwait
// calls and 33,000 context switches per million datagrams at 200,000/s,
// against 6,000 and 7,000 with the socket left out, and a fifth less CPU
// (docs/performance.md). The reader waits for the first datagram with
// ppoll(2) instead.
type udpSocket struct {
	fd   int
	addr net.Addr // *net.UDPAddr, or *net.UnixAddr (listener_unixgram.go)

	mu     sync.Mutex // guards closed and inUse, so the fd is closed once, by the last user
	closed bool
	inUse  int // readers between use and done
}

// openUDPSocket binds a non-blocking UDP socket to addr.
func openUDPSocket(addr *net.UDPAddr) (*udpSocket, error) {
	family, sa, err := sockaddr(addr)
	if err != nil {
		return nil, err
	}
	fd, err := syscall.Socket(family, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, syscall.IPPROTO_UDP)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if family == syscall.AF_INET6 && addr.IP.To4() == nil {
		// As net.ListenUDP: an IPv6 address means IPv6 only.
		syscall.SetsockoptInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY, 1)
	}
	if err := syscall.Bind(fd, sa); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	bound, err := syscall.Getsockname(fd)
	if err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("getsockname", err)
	}
	s := &udpSocket{fd: fd}
	switch b := bound.(type) {
	case *syscall.SockaddrInet4:
		s.addr = &net.UDPAddr{IP: net.IP(b.Addr[:]).To16(), Port: b.Port}
	case *syscall.SockaddrInet6:
		s.addr = &net.UDPAddr{IP: net.IP(b.Addr[:]), Port: b.Port, Zone: addr.Zone}
	}
	return s, nil
}

// sockaddr is addr for bind(2); an unspecified address binds every IPv4
// address, as an empty host does.
func sockaddr(addr *net.UDPAddr) (int, syscall.Sockaddr, error) {
	if ip4 := addr.IP.To4(); ip4 != nil || len(addr.IP) == 0 {
		sa := &syscall.SockaddrInet4{Port: addr.Port}
		copy(sa.Addr[:], ip4)
		return syscall.AF_INET, sa, nil
	}
	sa := &syscall.SockaddrInet6{Port: addr.Port}
	copy(sa.Addr[:], addr.IP.To16())
	if addr.Zone != "" {
		ifi, err := net.InterfaceByName(addr.Zone)
		if err != nil {
			return 0, nil, err
		}
		sa.ZoneId = uint32(ifi.Index)
	}
	return syscall.AF_INET6, sa, nil
}

// LocalAddr is the bound address.
func (s *udpSocket) LocalAddr() net.Addr { return s.addr }

// use registers a reader of the socket; false once it is closed.
func (s *udpSocket) use() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.inUse++
	return true
}

// done ends a use; the last one out of a closed socket closes the fd, so
// no reader ever finds its number reused by another file.
func (s *udpSocket) done() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inUse--; s.inUse == 0 && s.closed {
		syscall.Close(s.fd)
	}
}

func (s *udpSocket) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// close closes the socket: at once when nobody reads it, else when the
// reader notices, within pollTimeout.
func (s *udpSocket) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.inUse == 0 {
		return os.NewSyscallError("close", syscall.Close(s.fd))
	}
	return nil
}

// inode identifies the socket in /proc/net/udp.
func (s *udpSocket) inode() (uint64, error) {
	if !s.use() {
		return 0, net.ErrClosed
	}
	defer s.done()
	var st syscall.Stat_t
	if err := syscall.Fstat(s.fd, &st); err != nil {
		return 0, fmt.Errorf("socket inode: fstat: %w", err)
	}
	return st.Ino, nil
}

// setReceiveBuffer asks for a receive buffer of n bytes: SO_RCVBUFFORCE,
// which passes net.core.rmem_max but needs CAP_NET_ADMIN, else SO_RCVBUF,
// which the kernel caps at rmem_max. It returns the size the kernel
// reports afterwards (twice the bytes granted) and whether it was forced.
func (s *udpSocket) setReceiveBuffer(n int) (effective int, forced bool, err error) {
	if syscall.SetsockoptInt(s.fd, syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, n) == nil {
		forced = true
	} else if err := syscall.SetsockoptInt(s.fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, n); err != nil {
		return 0, false, fmt.Errorf("setsockopt SO_RCVBUF: %w", err)
	}
	effective, err = syscall.GetsockoptInt(s.fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF)
	if err != nil {
		return 0, forced, fmt.Errorf("getsockopt SO_RCVBUF: %w", err)
	}
	return effective, forced, nil
}

// mmsgReader reads batches with recvmmsg(2), into memory allocated once:
// no allocation per call or per datagram. SO_RXQ_OVFL makes the kernel
// attach its count of dropped datagrams to each datagram read after one
// was dropped.
type mmsgReader struct {
	sock *udpSocket
	buf  *batchBuf
	iovs []unix.Iovec
	hdrs []unix.Mmsghdr // struct mmsghdr of <sys/socket.h>
	oob  []byte         // one control message per slot
	pfd  [1]unix.PollFd // what ppoll waits for
}

func newBatchReader(sock *udpSocket, buf *batchBuf) (batchReader, error) {
	if err := syscall.SetsockoptInt(sock.fd, syscall.SOL_SOCKET, syscall.SO_RXQ_OVFL, 1); err != nil {
		return nil, fmt.Errorf("setsockopt SO_RXQ_OVFL: %w", err)
	}
	n := len(buf.slots)
	r := &mmsgReader{sock: sock, buf: buf, iovs: make([]unix.Iovec, n), hdrs: make([]unix.Mmsghdr, n), oob: make([]byte, n*oobSpace)}
	for i, s := range buf.slots {
		r.iovs[i].Base = &s[0]
		r.iovs[i].SetLen(len(s))
		r.hdrs[i].Hdr.Iov = &r.iovs[i]
		r.hdrs[i].Hdr.Iovlen = 1
		r.hdrs[i].Hdr.Control = &r.oob[i*oobSpace]
	}
	return r, nil
}

// recvmmsg makes one non-blocking call, repeated if a signal interrupted
// it.
//
// It is a raw system call: MSG_DONTWAIT means it never waits, so the
// scheduler need not be told the goroutine entered the kernel. Through
// syscall.Syscall6, a call that copied a full batch (tens of
// microseconds) outlasted a tick of the runtime's monitor thread, which
// then took the processor away for the call's remainder and kept itself
// polling every 20 microseconds: about a tenth of the agent's CPU at
// 200,000 datagrams/s (docs/performance.md).
func (r *mmsgReader) recvmmsg() (int, syscall.Errno) {
	for i := range r.hdrs {
		r.hdrs[i].Hdr.Flags = 0
		r.hdrs[i].Hdr.SetControllen(oobSpace)
	}
	for {
		n, _, errno := syscall.RawSyscall6(syscall.SYS_RECVMMSG, uintptr(r.sock.fd), uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(len(r.hdrs)), syscall.MSG_DONTWAIT, 0, 0)
		if errno != syscall.EINTR {
			return int(n), errno
		}
	}
}

// waitReadable waits with ppoll(2) until a datagram is queued or
// pollTimeout passed. It is a blocking system call, so the scheduler runs
// other goroutines meanwhile.
func (r *mmsgReader) waitReadable() {
	r.pfd[0] = unix.PollFd{Fd: int32(r.sock.fd), Events: unix.POLLIN}
	ts := unix.NsecToTimespec(int64(pollTimeout))
	unix.Ppoll(r.pfd[:], &ts, nil) // EINTR or a timeout: the caller reads and sees

}

func (r *mmsgReader) read(wait bool) (int, error) {
	if r.sock.isClosed() {
		return 0, net.ErrClosed
	}
	if wait {
		r.waitReadable()
	}
	n, errno := r.recvmmsg()
	switch errno {
	case 0:
	case syscall.EAGAIN:
		return 0, errWouldBlock
	default:
		return 0, fmt.Errorf("recvmmsg: %w", errno)
	}
	for i := range n {
		r.buf.sizes[i] = int(r.hdrs[i].Len)
		r.buf.trunc[i] = r.hdrs[i].Hdr.Flags&syscall.MSG_TRUNC != 0
	}
	r.buf.drops, r.buf.dropsSeen = 0, false
	if n > 0 {
		r.buf.drops, r.buf.dropsSeen = r.drops(n - 1)
	}
	return n, nil
}

// oobSpace holds the one control message asked for: SO_RXQ_OVFL's uint32.
var oobSpace = syscall.CmsgSpace(4)

// drops returns the kernel's drop count attached to datagram i, if any.
// It reads the control message in place: ParseSocketControlMessage would
// allocate.
func (r *mmsgReader) drops(i int) (uint32, bool) {
	h := &r.hdrs[i].Hdr
	if int(h.Controllen) < syscall.CmsgLen(4) {
		return 0, false
	}
	oob := r.oob[i*oobSpace : (i+1)*oobSpace]
	cm := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
	if cm.Level != syscall.SOL_SOCKET || cm.Type != syscall.SO_RXQ_OVFL || int(cm.Len) < syscall.CmsgLen(4) {
		return 0, false
	}
	return *(*uint32)(unsafe.Pointer(&oob[syscall.CmsgLen(0)])), true
}
