//go:build linux

package ingest

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

func lowat(t *testing.T, c *net.TCPConn) int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	rc.Control(func(fd uintptr) { v, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT) })
	if gerr != nil {
		t.Fatal(gerr)
	}
	return v
}

// A quiet connection reads what is queued, however little, while its mark
// is raised; a read that finds nothing lowers the mark and waits for the
// next byte (not for the mark's worth); the end of the stream is io.EOF.
func TestQuietConn(t *testing.T) {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.DialTCP("tcp", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	server.SetReadDeadline(time.Now().Add(10 * time.Second))
	q := newQuietConn(server)

	q.quiet(64 << 10)
	if got := lowat(t, server); got != 64<<10 {
		t.Fatalf("SO_RCVLOWAT while quiet: %d, want %d", got, 64<<10)
	}
	client.Write([]byte("0123456789"))
	buf := make([]byte, 100)
	var n int
	for deadline := time.Now().Add(5 * time.Second); n < 10 && time.Now().Before(deadline); {
		m, err := q.Read(buf[n:])
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		n += m
	}
	if string(buf[:n]) != "0123456789" {
		t.Fatalf("read %q while the mark was raised, want the 10 bytes queued", buf[:n])
	}

	// Nothing queued: the read waits, and returns with the next byte.
	got := make(chan string, 1)
	go func() {
		m, err := q.Read(buf)
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		got <- string(buf[:m])
	}()
	time.Sleep(50 * time.Millisecond)
	client.Write([]byte("x"))
	select {
	case s := <-got:
		if s != "x" {
			t.Fatalf("read after waiting: %q, want %q", s, "x")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a read that found nothing queued still waited 5 s after the next byte: the mark was not lowered")
	}
	if got := lowat(t, server); got != 1 {
		t.Errorf("SO_RCVLOWAT after waiting: %d, want 1", got)
	}

	q.quiet(64 << 10)
	client.Close()
	if _, err := q.Read(buf); !errors.Is(err, io.EOF) {
		t.Errorf("Read at the end of the stream: %v, want io.EOF", err)
	}
}
