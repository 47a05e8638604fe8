package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"time"
)

// listenAddr splits a syslog.listen entry such as udp://127.0.0.1:514.
func listenAddr(s string) (network, addr string, err error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", "", fmt.Errorf("listen address %q: %w", s, err)
	}
	if u.Scheme != "udp" || u.Host == "" {
		return "", "", fmt.Errorf("listen address %q: want udp://HOST:PORT", s)
	}
	return u.Scheme, u.Host, nil
}

// udpListener receives one syslog message per datagram.
type udpListener struct {
	conn   *net.UDPConn
	maxLen int
	log    *slog.Logger
}

func listenUDP(addr string, maxLen, rcvbuf int, log *slog.Logger) (*udpListener, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen udp %s: %w", addr, err)
	}
	conn, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("listen udp %s: %w", addr, err)
	}
	if rcvbuf > 0 {
		if err := conn.SetReadBuffer(rcvbuf); err != nil {
			log.Warn("cannot set receive buffer", "addr", addr, "bytes", rcvbuf, "err", err)
		}
	}
	return &udpListener{conn: conn, maxLen: maxLen, log: log}, nil
}

// Addr is the bound address (useful with port 0).
func (l *udpListener) Addr() net.Addr { return l.conn.LocalAddr() }

// drainTime is how long a stopping listener keeps reading what the kernel
// had already queued, so a shutdown does not drop accepted datagrams.
const drainTime = 200 * time.Millisecond

// serve reads datagrams until ctx is done, calling handle for each; then it
// drains the socket's queue for up to drainTime and returns. handle must not
// retain the slice.
func (l *udpListener) serve(ctx context.Context, handle func([]byte)) {
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-ctx.Done():
			l.conn.SetReadDeadline(time.Now().Add(drainTime))
		case <-stop:
		}
	}()
	// One byte more than the limit tells a datagram at the limit from a
	// longer one the kernel truncated.
	buf := make([]byte, l.maxLen+1)
	for {
		n, _, err := l.conn.ReadFromUDP(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
				return
			}
			l.log.Warn("udp read", "err", err)
			continue
		}
		if n > l.maxLen {
			l.log.Warn("datagram longer than syslog.max_message_bytes, truncated", "limit", l.maxLen)
			n = l.maxLen
		}
		handle(buf[:n])
	}
}

// close stops the listener.
func (l *udpListener) close() error { return l.conn.Close() }
