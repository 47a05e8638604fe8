package agent

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"unsafe"
)

// setReceiveBuffer asks for a receive buffer of n bytes: SO_RCVBUFFORCE,
// which passes net.core.rmem_max but needs CAP_NET_ADMIN, else SO_RCVBUF,
// which the kernel caps at rmem_max. It returns the size the kernel
// reports afterwards (twice the bytes granted) and whether it was forced.
func setReceiveBuffer(conn *net.UDPConn, n int) (effective int, forced bool, err error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return 0, false, err
	}
	var serr error
	cerr := rc.Control(func(fd uintptr) {
		s := int(fd)
		if syscall.SetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, n) == nil {
			forced = true
		} else if err := syscall.SetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_RCVBUF, n); err != nil {
			serr = fmt.Errorf("setsockopt SO_RCVBUF: %w", err)
			return
		}
		effective, serr = syscall.GetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_RCVBUF)
		if serr != nil {
			serr = fmt.Errorf("getsockopt SO_RCVBUF: %w", serr)
		}
	})
	return effective, forced, errors.Join(cerr, serr)
}

// mmsghdr is struct mmsghdr of <sys/socket.h>; Go pads it like C does.
type mmsghdr struct {
	hdr syscall.Msghdr
	n   uint32
}

// mmsgReader reads batches with recvmmsg(2), into memory allocated once:
// no allocation per call or per datagram. SO_RXQ_OVFL makes the kernel
// attach its count of dropped datagrams to each datagram read after one
// was dropped.
type mmsgReader struct {
	rc    syscall.RawConn
	buf   *batchBuf
	iovs  []syscall.Iovec
	hdrs  []mmsghdr
	oob   []byte // one control message per slot
	n     int
	errno syscall.Errno
	// The callbacks are method values made once, not per call.
	tryFn, waitFn func(fd uintptr) bool
}

func newBatchReader(conn *net.UDPConn, buf *batchBuf) (batchReader, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RXQ_OVFL, 1)
	}); err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, fmt.Errorf("setsockopt SO_RXQ_OVFL: %w", serr)
	}
	n := len(buf.slots)
	r := &mmsgReader{rc: rc, buf: buf, iovs: make([]syscall.Iovec, n), hdrs: make([]mmsghdr, n), oob: make([]byte, n*oobSpace)}
	for i, s := range buf.slots {
		r.iovs[i].Base = &s[0]
		r.iovs[i].SetLen(len(s))
		r.hdrs[i].hdr.Iov = &r.iovs[i]
		r.hdrs[i].hdr.Iovlen = 1
		r.hdrs[i].hdr.Control = &r.oob[i*oobSpace]
	}
	r.tryFn = r.try
	r.waitFn = r.wait
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
func (r *mmsgReader) recvmmsg(fd uintptr) {
	for i := range r.hdrs {
		r.hdrs[i].hdr.Flags = 0
		r.hdrs[i].hdr.SetControllen(oobSpace)
	}
	for {
		n, _, errno := syscall.RawSyscall6(syscall.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(len(r.hdrs)), syscall.MSG_DONTWAIT, 0, 0)
		if errno != syscall.EINTR {
			r.n, r.errno = int(n), errno
			return
		}
	}
}

func (r *mmsgReader) try(fd uintptr) bool { r.recvmmsg(fd); return true }

func (r *mmsgReader) wait(fd uintptr) bool {
	r.recvmmsg(fd)
	return r.errno != syscall.EAGAIN
}

func (r *mmsgReader) read(wait bool) (int, error) {
	fn := r.tryFn
	if wait {
		fn = r.waitFn
	}
	if err := r.rc.Read(fn); err != nil {
		return 0, err // closed, deadline
	}
	switch r.errno {
	case 0:
	case syscall.EAGAIN:
		return 0, errWouldBlock
	default:
		return 0, fmt.Errorf("recvmmsg: %w", r.errno)
	}
	for i := range r.n {
		r.buf.sizes[i] = int(r.hdrs[i].n)
		r.buf.trunc[i] = r.hdrs[i].hdr.Flags&syscall.MSG_TRUNC != 0
	}
	r.buf.drops, r.buf.dropsSeen = 0, false
	if r.n > 0 {
		r.buf.drops, r.buf.dropsSeen = r.drops(r.n - 1)
	}
	return r.n, nil
}

// oobSpace holds the one control message asked for: SO_RXQ_OVFL's uint32.
var oobSpace = syscall.CmsgSpace(4)

// drops returns the kernel's drop count attached to datagram i, if any.
// It reads the control message in place: ParseSocketControlMessage would
// allocate.
func (r *mmsgReader) drops(i int) (uint32, bool) {
	h := &r.hdrs[i].hdr
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
