// Command udpsink is the bare baseline of scripts/bench.sh: it reads UDP
// datagrams one at a time and appends each, as a line, to a file through
// a buffer. Nothing else: no parsing, no batching, no second goroutine.
// Whatever a receiver does beyond this is its own cost.
//
// SIGTERM or SIGINT flushes the file and exits.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:5514", "UDP address to read")
	out := flag.String("out", "udpsink.log", "file to append lines to")
	rcvbuf := flag.Int("rcvbuf", 8<<20, "socket receive buffer in bytes (SO_RCVBUFFORCE when privileged); 0 keeps the system default")
	flag.Parse()
	if err := run(*listen, *out, *rcvbuf); err != nil {
		fmt.Fprintln(os.Stderr, "udpsink:", err)
		os.Exit(1)
	}
}

func run(listen, out string, rcvbuf int) error {
	ua, err := net.ResolveUDPAddr("udp", listen)
	if err != nil {
		return fmt.Errorf("address %s: %w", listen, err)
	}
	conn, err := net.ListenUDP("udp", ua)
	if err != nil {
		return fmt.Errorf("listen %s: %w", listen, err)
	}
	if rcvbuf > 0 {
		eff, err := setReceiveBuffer(conn, rcvbuf)
		if err != nil {
			return fmt.Errorf("receive buffer of %s: %w", listen, err)
		}
		fmt.Fprintf(os.Stderr, "udpsink: listening on %s, receive buffer %d bytes (kernel reports %d)\n", listen, rcvbuf, eff)
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 64<<10)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-sig; conn.Close() }()

	buf := make([]byte, 65536)
	for {
		n, _, err := conn.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				break
			}
			return fmt.Errorf("read %s: %w", listen, err)
		}
		line := buf[:n]
		if n == 0 || line[n-1] != '\n' {
			line = append(line, '\n')
		}
		if _, err := w.Write(line); err != nil {
			return fmt.Errorf("write %s: %w", out, err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	return f.Close()
}

// setReceiveBuffer forces the buffer when privileged, else asks for it
// (capped by net.core.rmem_max), and returns what the kernel reports.
func setReceiveBuffer(conn *net.UDPConn, n int) (int, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return 0, err
	}
	var eff int
	var serr error
	if err := rc.Control(func(fd uintptr) {
		s := int(fd)
		if syscall.SetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, n) != nil {
			serr = syscall.SetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_RCVBUF, n)
		}
		if serr == nil {
			eff, serr = syscall.GetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_RCVBUF)
		}
	}); err != nil {
		return 0, err
	}
	return eff, serr
}
