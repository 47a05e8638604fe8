//go:build linux

package ingest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

func TestUnixgramListener(t *testing.T) {
	path := filepath.Join(t.TempDir(), "haproxy.sock")
	in, sink, _ := serveIngest(t, Options{UnixSocket: UnixSocket{Group: "haproxy"}}, "unix://"+path)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket file mode %v, want a socket of 0660", fi.Mode())
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 100 {
		if _, err := c.Write([]byte(rawLine(i))); err != nil {
			t.Fatal(err)
		}
	}
	got := sink.waitLines(t, 100)
	for i, l := range got {
		if !strings.HasSuffix(l, fmt.Sprintf(": line %d\n", i)) {
			t.Fatalf("line %d: %q", i, l)
		}
	}
	if st := statsOf(t, in, "unix://"); st.Name != "unix://"+path || st.Datagrams != 100 || st.Received != 100 {
		t.Errorf("stats %+v", st)
	}
	in.Rebind(nil)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Lstat(path); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("socket file still there after its listener stopped")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// staleSocket leaves a unix datagram socket file nobody is bound to.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	syscall.Close(fd)
}

func TestUnixgramSocketFile(t *testing.T) {
	dir := t.TempDir()
	t.Run("stale socket replaced", func(t *testing.T) {
		path := filepath.Join(dir, "stale.sock")
		staleSocket(t, path)
		_, sink, _ := serveIngest(t, Options{}, "unix://"+path)
		c, err := net.Dial("unixgram", path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte(rawLine(1)))
		sink.waitLines(t, 1)
	})
	t.Run("regular file refused and kept", func(t *testing.T) {
		path := filepath.Join(dir, "file")
		os.WriteFile(path, []byte("keep me"), 0o600)
		in, _ := New(&lineSink{}, Options{Format: "raw"})
		err := in.Bind([]string{"unix://" + path})
		if err == nil || !strings.Contains(err.Error(), "not a socket") {
			t.Fatalf("err %v, want not a socket", err)
		}
		if b, _ := os.ReadFile(path); string(b) != "keep me" {
			t.Error("the file was touched")
		}
	})
	t.Run("socket in use refused", func(t *testing.T) {
		path := filepath.Join(dir, "live.sock")
		live, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		defer live.Close()
		in, _ := New(&lineSink{}, Options{Format: "raw"})
		if err := in.Bind([]string{"unix://" + path}); err == nil || !strings.Contains(err.Error(), "in use") {
			t.Fatalf("err %v, want in use", err)
		}
	})
	t.Run("mode and a required group that does not exist", func(t *testing.T) {
		path := filepath.Join(dir, "mode.sock")
		serveIngest(t, Options{UnixSocket: UnixSocket{Mode: 0o600, Group: "no-such-group-elb"}}, "unix://"+path)
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("mode: %v %v, want 0600", fi.Mode(), err)
		}
		in, _ := New(&lineSink{}, Options{Format: "raw", UnixSocket: UnixSocket{Group: "no-such-group-elb", GroupRequired: true}})
		other := filepath.Join(dir, "group.sock")
		if err := in.Bind([]string{"unix://" + other}); err == nil || !strings.Contains(err.Error(), "syslog.unix_socket_group") {
			t.Fatalf("err %v, want a syslog.unix_socket_group error", err)
		}
		if _, err := os.Lstat(other); !os.IsNotExist(err) {
			t.Error("socket file left behind by a failed bind")
		}
	})
}

// TestUnixgramFullQueueIsTheSendersLoss: a unix datagram socket never
// drops at the receiver; a sender that does not wait (as HAProxy) gets
// EAGAIN once net.unix.max_dgram_qlen datagrams are queued, and counts
// the loss itself (DroppedLogs). So the listener reports no drops.
func TestUnixgramFullQueueIsTheSendersLoss(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.sock")
	hold := make(chan struct{})
	var once sync.Once
	in, sink, _ := serveIngest(t, Options{Hold: func() { <-hold }}, "unix://"+path)
	defer once.Do(func() { close(hold) })
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	sent, eagain := 0, 0
	for i := range 200_000 {
		err := syscall.Sendto(fd, []byte(rawLine(i)), 0, &syscall.SockaddrUnix{Name: path})
		if err == syscall.EAGAIN {
			eagain++
			if eagain > 100 {
				break
			}
			time.Sleep(time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		sent++
	}
	if eagain == 0 {
		t.Fatalf("no EAGAIN after %d datagrams to a listener that does not read", sent)
	}
	once.Do(func() { close(hold) })
	sink.waitLines(t, sent)
	if st := statsOf(t, in, "unix://"); st.Dropped != 0 || st.KernelDrops != 0 {
		t.Errorf("drops %+v, want none at the receiver", st)
	}
}

// TestRebindAcrossTransports: a reload may add and remove listeners of
// any transport; the kept ones stay bound and every one is served.
func TestRebindAcrossTransports(t *testing.T) {
	udp := fmt.Sprintf("udp://127.0.0.1:%d", testbed.FreeUDPPort(t))
	unix := "unix://" + filepath.Join(t.TempDir(), "h.sock")
	in, sink, _ := serveIngest(t, Options{}, udp)
	if err := in.Rebind([]string{udp, unix, "tcp://127.0.0.1:0"}); err != nil {
		t.Fatal(err)
	}
	if got := in.Names(); len(got) != 3 || got[0] != udp || got[1] != unix || !strings.HasPrefix(got[2], "tcp://127.0.0.1:") {
		t.Fatalf("names %q", got)
	}
	sendTo(t, udpAddr(t, in))
	c, err := net.Dial("unixgram", strings.TrimPrefix(unix, "unix://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(rawLine(1)))
	tc, err := net.Dial("tcp", tcpAddr(t, in))
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	fmt.Fprintf(tc, "%s\n", rawLine(2))
	sink.waitLines(t, 3)
	if err := in.Rebind([]string{unix}); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte(rawLine(3)))
	sink.waitLines(t, 4)
	if got := in.Names(); len(got) != 1 || got[0] != unix {
		t.Errorf("names after the second rebind %q", got)
	}
}
