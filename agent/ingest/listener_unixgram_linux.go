package ingest

import (
	"net"
	"os"
	"syscall"
)

// openUnixgramSocket binds a non-blocking unix datagram socket at path,
// read like a UDP socket (recvmmsg, outside Go's network poller).
func openUnixgramSocket(path string) (*udpSocket, error) {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	return &udpSocket{fd: fd, addr: &net.UnixAddr{Name: path, Net: "unixgram"}}, nil
}
