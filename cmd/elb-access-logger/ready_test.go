package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

// notifySocket is a NOTIFY_SOCKET of the test's own, as systemd makes it.
func notifySocket(t *testing.T) (string, *net.UnixConn) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return path, c
}

func readNotify(t *testing.T, c *net.UnixConn, d time.Duration) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no notification within %v: %v", d, err)
	}
	return string(buf[:n])
}

// TestNotifyReadyAndStopping runs the binary as systemd runs a Type=notify
// unit: READY=1 comes once the listener is bound (its port is taken when
// the message arrives) and the pid file is written; the first SIGTERM
// sends STOPPING=1; at exit the pid file is gone.
func TestNotifyReadyAndStopping(t *testing.T) {
	sock, conn := notifySocket(t)
	port := freeUDPPort(t)
	spool := t.TempDir()
	pidFile := filepath.Join(t.TempDir(), "agent.pid")
	unixSock := filepath.Join(t.TempDir(), "haproxy.sock")
	props := writeProps(t, fmt.Sprintf("metadata.endpoint =\naccess_log.lb_name = lb\naccess_log.owner_account = 123456789012\n"+
		"access_log.node_ip = 10.0.0.5\naccess_log.instance_id = i-315dd646\nobjectstorage.endpoint = http://127.0.0.1:1\n"+
		"objectstorage.access_key_id = K\nobjectstorage.secret_access_key = S\n"+
		"spool.dir = %s\nsyslog.listen = udp://127.0.0.1:%d, unix://%s\nmetrics.listen =\n", spool, port, unixSock))
	cmd := exec.Command(agentBinary(t), "--config", props, "--pid-file", pidFile)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock)
	stderr := &testbed.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill() // an error once it exited
		<-exited
		if t.Failed() {
			t.Logf("agent stderr:\n%s", stderr.String())
		}
	})

	msg := readNotify(t, conn, 10*time.Second)
	if !strings.HasPrefix(msg, "READY=1\n") || !strings.Contains(msg, fmt.Sprintf("STATUS=listening on udp://127.0.0.1:%d unix://%s, spool %s", port, unixSock, spool)) {
		t.Errorf("first notification %q: want READY=1 and the status", msg)
	}
	if l, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}); err == nil {
		l.Close()
		t.Errorf("READY=1 came before udp://127.0.0.1:%d was bound", port)
	} else if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("bind udp/%d: %v, want EADDRINUSE", port, err)
	}
	if data, err := os.ReadFile(pidFile); err != nil || strings.TrimSpace(string(data)) != strconv.Itoa(cmd.Process.Pid) {
		t.Errorf("pid file at READY=1: %q (%v), want %d", data, err, cmd.Process.Pid)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if msg := readNotify(t, conn, 10*time.Second); !strings.HasPrefix(msg, "STOPPING=1\n") {
		t.Errorf("after SIGTERM: notification %q, want STOPPING=1", msg)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Errorf("exit after SIGTERM: %v, want 0", waitErr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the agent did not exit within 30 s of SIGTERM")
	}
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("pid file after exit: %v, want it removed", err)
	}
}

// A pid file that cannot be written is a start failure, exit 1, said once.
func TestPidFileUnwritable(t *testing.T) {
	props := writeProps(t, startableProps(t, ""))
	_, stderr, code := runBinary(t, 10*time.Second, "--config", props, "--pid-file", filepath.Join(t.TempDir(), "absent", "agent.pid"))
	if code != exitRuntime || !strings.Contains(stderr, "pid file") {
		t.Errorf("unwritable pid file: exit %d, stderr %q; want exit 1 naming the pid file", code, stderr)
	}
}

// TestNotifyReloading: a reload is RELOADING=1 with MONOTONIC_USEC, then
// READY=1 once it is done, applied (SIGHUP) or rejected (a bad file the
// watch picks up), with the outcome as STATUS.
func TestNotifyReloading(t *testing.T) {
	sock, conn := notifySocket(t)
	content := startableProps(t, "")
	props := writeProps(t, content)
	cmd := exec.Command(agentBinary(t), "--config", props)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock)
	stderr := &testbed.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("agent stderr:\n%s", stderr.String())
		}
	})
	if msg := readNotify(t, conn, 10*time.Second); !strings.HasPrefix(msg, "READY=1\n") {
		t.Fatalf("first notification %q, want READY=1", msg)
	}
	// reload reads one reload's pair of notifications and returns the
	// READY=1 one.
	reload := func() string {
		t.Helper()
		msg := readNotify(t, conn, 10*time.Second)
		var usec int64
		if _, err := fmt.Sscanf(msg, "RELOADING=1\nMONOTONIC_USEC=%d\n", &usec); err != nil || usec <= 0 {
			t.Fatalf("notification %q: want RELOADING=1 and MONOTONIC_USEC (%v)", msg, err)
		}
		msg = readNotify(t, conn, 10*time.Second)
		if !strings.HasPrefix(msg, "READY=1\nSTATUS=") {
			t.Fatalf("after RELOADING=1: %q, want READY=1 with a STATUS", msg)
		}
		return msg
	}
	cmd.Process.Signal(syscall.SIGHUP)
	if msg := reload(); !strings.Contains(msg, "STATUS=configuration reloaded; listening on udp://") {
		t.Errorf("SIGHUP: %q, want the reload applied", msg)
	}
	if err := os.WriteFile(props, []byte(content+"log.level = loud\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if msg := reload(); !strings.Contains(msg, "STATUS=configuration rejected, the running one stays: ") || !strings.Contains(msg, "log.level") {
		t.Errorf("bad file: %q, want the rejection and why", msg)
	}
}
