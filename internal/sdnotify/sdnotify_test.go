package sdnotify

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// listen makes a notify socket like systemd's and returns its name.
func listen(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func read(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

func TestNotify(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify.sock")
	abstract := "@elb-access-logger-test-" + strings.ReplaceAll(t.Name(), "/", "-")
	for _, name := range []string{path, abstract} {
		c := listen(t, name)
		t.Setenv("NOTIFY_SOCKET", name)
		sent, err := Notify(Ready + "\nSTATUS=listening")
		if !sent || err != nil {
			t.Fatalf("%s: Notify = %v, %v; want sent", name, sent, err)
		}
		if got := read(t, c); got != "READY=1\nSTATUS=listening" {
			t.Errorf("%s: received %q", name, got)
		}
	}
}

func TestNotifyWithoutSocket(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if sent, err := Notify(Ready); sent || err != nil {
		t.Errorf("without NOTIFY_SOCKET: Notify = %v, %v; want nothing sent, no error", sent, err)
	}
	for _, bad := range []string{"relative.sock", filepath.Join(t.TempDir(), "absent.sock")} {
		t.Setenv("NOTIFY_SOCKET", bad)
		if sent, err := Notify(Ready); sent || err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("NOTIFY_SOCKET=%s: Notify = %v, %v; want an error naming it", bad, sent, err)
		}
	}
}

// RELOADING=1 carries MONOTONIC_USEC on CLOCK_MONOTONIC (systemd rejects
// a reload notification without it for Type=notify-reload).
func TestReloadingNow(t *testing.T) {
	before := monotonic()
	msg := ReloadingNow()
	after := monotonic()
	var usec int64
	if _, err := fmt.Sscanf(msg, "RELOADING=1\nMONOTONIC_USEC=%d", &usec); err != nil {
		t.Fatalf("%q: %v", msg, err)
	}
	if got := time.Duration(usec) * time.Microsecond; got < before.Truncate(time.Microsecond) || got > after || usec == 0 {
		t.Errorf("MONOTONIC_USEC %d not between %v and %v", usec, before, after)
	}
}
