package ingest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

// TestHAProxyDroppedLogsFromRealHAProxy runs the test bed's HAProxy
// logging to a unix datagram socket nobody reads: once the socket's small
// queue is full HAProxy drops each log and counts it. The DroppedLogs the
// agent reads from HAProxy's stats socket and the logs that did arrive
// add up to the requests sent.
func TestHAProxyDroppedLogsFromRealHAProxy(t *testing.T) {
	env := testbed.RequireHAProxy(t)
	dir := t.TempDir()
	sinkPath := filepath.Join(dir, "sink.sock")
	sink, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sinkPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	stats := filepath.Join(dir, "admin.sock")
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`global
    stats socket %s mode 600 level user
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind %s
    log %s local3
    option httplog
    http-request return status 200
`, stats, addr, sinkPath)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(env.HAProxy, "-f", cfg, "-db")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()

	ctx := testbed.Context(t, 30*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := haproxyDroppedLogs(ctx, stats); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("HAProxy's stats socket not answering after 10s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	const requests = 300
	client := &http.Client{Timeout: 5 * time.Second}
	for i := range requests {
		resp, err := client.Get("http://" + addr + "/")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	var dropped int64
	deadline = time.Now().Add(10 * time.Second)
	received := 0
	buf := make([]byte, 65536)
	for {
		dropped, err = haproxyDroppedLogs(ctx, stats)
		if err != nil {
			t.Fatal(err)
		}
		sink.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		for {
			if _, err := sink.Read(buf); err != nil {
				break
			}
			received++
		}
		if int64(received)+dropped >= requests || time.Now().After(deadline) {
			break
		}
	}
	if dropped == 0 {
		t.Errorf("DroppedLogs: got 0, want > 0 (received %d)", received)
	}
	if got := int64(received) + dropped; got != requests {
		t.Errorf("logs received %d + dropped %d = %d, want %d", received, dropped, got, requests)
	}
}
