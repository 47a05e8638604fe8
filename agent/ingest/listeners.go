package ingest

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// listener is one bound syslog.listen entry: a datagram socket (udp://,
// unix://) or a stream listener (tcp://). Ingest serves each the same way
// and every one feeds the same pipeline.
type listener interface {
	// Addr is the bound address.
	Addr() net.Addr
	// name labels the listener in metrics: scheme://address as bound.
	name() string
	// serveMessages hands each message to a handler until ctx is done,
	// then drains what its peers already sent and returns. newHandle
	// makes the handler of one goroutine (a handler is not safe for
	// concurrent use).
	serveMessages(ctx context.Context, newHandle func() func([]byte))
	// counts copies the listener's own counts into lc.
	counts(lc *listenerCounters, procNet string) error
	close() error
}

// Schemes of syslog.listen.
const (
	SchemeUDP  = "udp"
	SchemeUnix = "unix"
	SchemeTCP  = "tcp"
)

// ParseListen checks one syslog.listen entry and returns its scheme and
// address: udp://HOST:PORT, unix:///PATH or tcp://HOST:PORT.
func ParseListen(s string) (scheme, addr string, err error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", "", fmt.Errorf("listen address %q: %w", s, err)
	}
	switch u.Scheme {
	case SchemeUDP, SchemeTCP:
		if u.Host == "" || u.Path != "" || u.Port() == "" {
			return "", "", fmt.Errorf("listen address %q: want %s://HOST:PORT", s, u.Scheme)
		}
		return u.Scheme, u.Host, nil
	case SchemeUnix:
		if u.Host != "" || !strings.HasPrefix(u.Path, "/") || strings.HasSuffix(u.Path, "/") {
			return "", "", fmt.Errorf("listen address %q: want unix:///ABSOLUTE/PATH (three slashes)", s)
		}
		return u.Scheme, u.Path, nil
	}
	return "", "", fmt.Errorf("listen address %q: want udp://HOST:PORT, unix:///PATH or tcp://HOST:PORT", s)
}

func (l *udpListener) name() string { return "udp://" + l.Addr().String() }

func (l *udpListener) serveMessages(ctx context.Context, newHandle func() func([]byte)) {
	l.serve(ctx, newHandle())
}

// counts reads the socket's counts and its kernel drops (/proc/net/udp).
func (l *udpListener) counts(lc *listenerCounters, procNet string) error {
	lc.oversize.Store(int64(l.Truncated()))
	lc.received.Store(l.Received())
	lc.kdropped.Store(l.Dropped())
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return lc.drops.update(procNet, l.sock)
}

func (u *unixgramListener) name() string { return "unix://" + u.path }

// counts reads the socket's counts; the kernel drops nothing at a unix
// datagram socket's receiving end (HAProxy counts what it could not send).
func (u *unixgramListener) counts(lc *listenerCounters, _ string) error {
	lc.oversize.Store(int64(u.Truncated()))
	lc.received.Store(u.Received())
	return nil
}

// setBehind sets the function called when the handler falls behind.
func (l *udpListener) setBehind(f func()) { l.behind = f }

// Names returns the bound listeners as scheme://address, in
// syslog.listen order.
func (in *Ingest) Names() []string {
	var out []string
	for _, l := range in.bound() {
		out = append(out, l.name())
	}
	return out
}

// Describe says what a syslog.listen entry will be, for --check-config:
// its transport and how it loses messages, and for a unix:// path what
// stands in the way of creating the socket (a missing directory, a file
// that is not a socket), as a warning.
func Describe(s string) (what, warning string) {
	scheme, addr, err := ParseListen(s)
	if err != nil {
		return "", err.Error()
	}
	switch scheme {
	case SchemeUDP:
		return "UDP datagrams; the kernel drops what overflows the receive buffer (kernel_receive_drops_total)", ""
	case SchemeTCP:
		return "TCP syslog (RFC 6587), octet-counted or LF-delimited frames; no loss in the kernel, the sender waits", ""
	}
	what = "unix datagram socket; when its queue is full the sender's send fails (HAProxy: DroppedLogs)"
	if fi, err := os.Stat(filepath.Dir(addr)); err != nil || !fi.IsDir() {
		return what, fmt.Sprintf("directory %s of the socket does not exist", filepath.Dir(addr))
	}
	if fi, err := os.Lstat(addr); err == nil && fi.Mode().Type() != fs.ModeSocket {
		return what, fmt.Sprintf("%s exists and is not a socket; the agent will not replace it", addr)
	}
	return what, ""
}
