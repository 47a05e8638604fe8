package testbed

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// Requests sends n GET requests to http://fe/n/NNNN (NNNN from 0000), one
// after the other, pausing pause between two, in a goroutine. sent counts
// those answered; the channel returns the first error (nil when all were
// answered) and is then closed.
func Requests(fe string, n int, pause time.Duration, sent *atomic.Int64) <-chan error {
	done := make(chan error, 1)
	go func() {
		defer close(done)
		client := &http.Client{Timeout: 5 * time.Second}
		for i := range n {
			resp, err := client.Get(fmt.Sprintf("http://%s/n/%04d", fe, i))
			if err != nil {
				done <- fmt.Errorf("request %d: %w", i, err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			sent.Add(1)
			time.Sleep(pause)
		}
		done <- nil
	}()
	return done
}

// FreeTCPAddr is a loopback address whose TCP port is free now.
func FreeTCPAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// HAProxyRing is an HAProxy ring section named name that forwards logs to
// the agent's tcp:// listener at addr, octet-counted (RFC 6587).
func HAProxyRing(name, addr string) string {
	return fmt.Sprintf(`ring %s
    format rfc3164
    maxlen 65535
    size 8388608
    timeout connect 1s
    timeout server 10s
    server agent %s log-proto octet-count
`, name, addr)
}
