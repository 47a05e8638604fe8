// Command loadgen sends numbered, realistic HAProxy syslog messages at a
// target rate, for scripts/bench.sh, over the transports HAProxy logs
// through: UDP datagrams (-addr HOST:PORT or udp://HOST:PORT), a unix
// datagram socket (unix:///PATH, sent without blocking as HAProxy does: a
// message the full socket refuses is dropped and counted) and TCP
// (tcp://HOST:PORT, RFC 6587 octet-counted frames as HAProxy's ring sends
// them, over -conns connections that share the rate; the sender waits
// when the receiver does, so nothing is lost).
//
// Each datagram is one log line as HAProxy 2.6 sends it (PRI 158, no
// hostname, newline at the end), with a sequence number in the request
// path (or, for TCP lines, the byte count) and a client address derived
// from it, so a million datagrams come from a million clients. The
// formats rotate through those the agent recognises: stock `option
// httplog` and `option tcplog`, the extended format of the original
// recipe, the Eucalyptus servo format and stock httplog framed as RFC 5424.
//
// It prints one line to stdout when done: sent=N seconds=S rate=R
// dropped=D, D the messages a unix socket refused (0 otherwise).
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5514", "where to send: HOST:PORT or udp://HOST:PORT, unix:///PATH, tcp://HOST:PORT")
	conns := flag.Int("conns", 1, "TCP connections, sharing the rate")
	sndbuf := flag.Int("sndbuf", 0, "unix: the socket's send buffer in bytes (SO_SNDBUFFORCE as root); 0 keeps net.core.wmem_default, as HAProxy does")
	count := flag.Int("count", 1000000, "datagrams to send")
	rate := flag.Float64("rate", 0, "datagrams per second; 0 sends as fast as possible")
	formats := flag.String("formats", strings.Join(formatNames(), ","), "comma list of line formats, used in turn")
	flag.Parse()
	start := time.Now()
	unixSndbuf = *sndbuf
	sent, dropped, err := run(*addr, *count, *rate, *formats, *conns)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	secs := time.Since(start).Seconds()
	fmt.Printf("sent=%d seconds=%.3f rate=%.0f dropped=%d\n", sent, secs, float64(sent)/secs, dropped)
}

// format appends the body of datagram seq (after the syslog header).
type format struct {
	name   string
	rfc    int // 3164 or 5424 framing
	append func(b []byte, seq uint64, ip []byte, now time.Time) []byte
}

var allFormats = []format{
	{"httplog", 3164, func(b []byte, seq uint64, ip []byte, now time.Time) []byte {
		// 127.0.0.1:35308 [25/Nov/2026:06:12:36.416] fe_http be_http/s1 0/0/0/6/6 200 185 - - ---- 1/1/0/0/0 0/0 "GET /index.html HTTP/1.1"
		b = appendClient(b, ip, seq)
		b = appendAcceptDate(b, now)
		b = append(b, " fe_http be_http/s1 0/0/0/6/6 200 185 - - ---- 1/1/0/0/0 0/0 \"GET /item/"...)
		b = strconv.AppendUint(b, seq, 10)
		return append(b, "?q=bench HTTP/1.1\""...)
	}},
	{"tcplog", 3164, func(b []byte, seq uint64, ip []byte, now time.Time) []byte {
		// 127.0.0.1:50034 [25/Nov/2026:06:12:36.467] fe_tcp be_tcp/s1 1/0/1 190 -- 1/1/0/0/0 0/0
		b = appendClient(b, ip, seq)
		b = appendAcceptDate(b, now)
		b = append(b, " fe_tcp be_tcp/s1 1/0/1 "...)
		b = strconv.AppendUint(b, seq, 10)
		return append(b, " -- 1/1/0/0/0 0/0"...)
	}},
	{"extended", 3164, func(b []byte, seq uint64, ip []byte, now time.Time) []byte {
		// httplog %f %b %s %ST %ts %Tq %Tw %Tc %Tr %Tt %{+Q}r %ci:%cp %fi:%fp %si:%sp req_size=%U resp_size=%B
		b = append(b, "httplog http-80 backend-http-80 http-80 200 -- 4 0 1 1 6 \"GET /item/"...)
		b = strconv.AppendUint(b, seq, 10)
		b = append(b, " HTTP/1.1\" "...)
		b = appendClient(b, ip, seq)
		return append(b, " 10.0.0.1:80 10.0.0.2:8080 req_size=142 resp_size=241"...)
	}},
	{"servo", 3164, func(b []byte, seq uint64, ip []byte, now time.Time) []byte {
		// httplog %Ts %ci %cp %si %sp %Tq %Tw %Tc %Tr %Tt %ST %U %B %f %b %s %ts %r %hrl
		b = append(b, "httplog "...)
		b = strconv.AppendInt(b, now.Unix(), 10)
		b = append(b, ' ')
		b = append(b, ip...)
		b = append(b, ' ')
		b = strconv.AppendUint(b, 1024+seq%60000, 10)
		b = append(b, " 10.0.0.2 8080 4 0 1 1 6 200 142 241 http-80 backend-http-80 http-80 -- GET /item/"...)
		b = strconv.AppendUint(b, seq, 10)
		return append(b, " HTTP/1.1 www.example.com"...)
	}},
	{"rfc5424", 5424, func(b []byte, seq uint64, ip []byte, now time.Time) []byte {
		b = appendClient(b, ip, seq)
		b = appendAcceptDate(b, now)
		b = append(b, " fe_http be_http/s1 0/0/0/0/0 200 185 - - ---- 1/1/0/0/0 0/0 \"GET /item/"...)
		b = strconv.AppendUint(b, seq, 10)
		return append(b, " HTTP/1.1\""...)
	}},
}

func formatNames() []string {
	var out []string
	for _, f := range allFormats {
		out = append(out, f.name)
	}
	return out
}

func pickFormats(list string) ([]format, error) {
	var out []format
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		found := false
		for _, f := range allFormats {
			if f.name == name {
				out = append(out, f)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("format %q: want one of %s", name, strings.Join(formatNames(), ", "))
		}
	}
	return out, nil
}

// clientIP writes the client address of datagram seq: 10.x.y.z, distinct
// for the first 16 million.
func clientIP(b []byte, seq uint64) []byte {
	b = append(b, "10."...)
	b = strconv.AppendUint(b, (seq>>16)&0xff, 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, (seq>>8)&0xff, 10)
	b = append(b, '.')
	return strconv.AppendUint(b, seq&0xff, 10)
}

func appendClient(b, ip []byte, seq uint64) []byte {
	b = append(b, ip...)
	b = append(b, ':')
	return strconv.AppendUint(b, 1024+seq%60000, 10)
}

func appendAcceptDate(b []byte, now time.Time) []byte {
	b = append(b, " ["...)
	b = now.AppendFormat(b, "02/Jan/2006:15:04:05.000")
	return append(b, ']')
}

// header appends the syslog header HAProxy sends for local3.info.
func header(b []byte, rfc int, now time.Time) []byte {
	if rfc == 5424 {
		b = append(b, "<158>1 "...)
		b = now.AppendFormat(b, "2006-01-02T15:04:05.000000-07:00")
		return append(b, " - haproxy 6817 - - "...)
	}
	b = append(b, "<158>"...)
	b = now.AppendFormat(b, time.Stamp)
	return append(b, " haproxy[6817]: "...)
}

// datagram appends datagram seq in format f, sent at now.
func datagram(b []byte, f format, seq uint64, now time.Time) []byte {
	var ipb [16]byte
	ip := clientIP(ipb[:0], seq)
	b = header(b, f.rfc, now)
	b = f.append(b, seq, ip, now)
	return append(b, '\n')
}

// run sends count messages to addr and returns how many it sent and how
// many of those the receiver refused (a unix socket's full queue).
func run(addr string, count int, rate float64, formatList string, conns int) (sent, dropped int64, err error) {
	fs, err := pickFormats(formatList)
	if err != nil {
		return 0, 0, err
	}
	if count < 0 || rate < 0 || conns < 1 {
		return 0, 0, fmt.Errorf("count %d, rate %g, conns %d: want zero or more, and one connection or more", count, rate, conns)
	}
	scheme, where := "udp", addr
	if i := strings.Index(addr, "://"); i >= 0 {
		scheme, where = addr[:i], addr[i+3:]
	}
	if scheme != "tcp" {
		conns = 1
	}
	// Connection k sends messages k, k+conns, k+2*conns... at rate/conns.
	senders := make([]sender, conns)
	for k := range senders {
		if senders[k], err = dial(scheme, where); err != nil {
			for _, s := range senders[:k] {
				s.close()
			}
			return 0, 0, err
		}
	}
	start := time.Now()
	errs := make(chan error, conns)
	var nsent, ndropped atomic.Int64
	for k, snd := range senders {
		go func() {
			defer snd.close()
			n := count / conns
			if k < count%conns {
				n++
			}
			errs <- pace(snd, fs, uint64(k), uint64(conns), n, rate/float64(conns), start, &nsent, &ndropped)
		}()
	}
	for range senders {
		if e := <-errs; e != nil && err == nil {
			err = fmt.Errorf("send to %s: %w", addr, e)
		}
	}
	return nsent.Load(), ndropped.Load(), err
}

// pace sends n messages, numbered first, first+step..., at rate per
// second (0: as fast as it can), flushing after each burst.
func pace(snd sender, fs []format, first, step uint64, n int, rate float64, start time.Time, sent, dropped *atomic.Int64) error {
	buf := make([]byte, 0, 1024)
	done := 0
	for done < n {
		batch := n - done
		if rate > 0 {
			due := int(time.Since(start).Seconds() * rate)
			if due <= done {
				time.Sleep(20 * time.Microsecond)
				continue
			}
			batch = min(due-done, batch)
		} else {
			batch = min(batch, 1024)
		}
		now := time.Now()
		for range batch {
			seq := first + uint64(done)*step
			buf = datagram(buf[:0], fs[seq%uint64(len(fs))], seq, now)
			ok, err := snd.send(buf)
			if err != nil {
				return err
			}
			if !ok {
				dropped.Add(1)
			}
			sent.Add(1)
			done++
		}
		if err := snd.flush(); err != nil {
			return err
		}
	}
	return nil
}

// sender sends one message at a time over one transport.
type sender interface {
	// send sends msg (one datagram, newline at the end); false: the
	// receiver refused it and it is lost, as it would be for HAProxy.
	send(msg []byte) (bool, error)
	flush() error
	close() error
}

// unixSndbuf is -sndbuf: the send buffer of a unix socket, which holds
// every datagram sent and not yet read (0: the system's default).
var unixSndbuf int

func dial(scheme, addr string) (sender, error) {
	switch scheme {
	case "udp":
		ua, err := net.ResolveUDPAddr("udp", addr)
		if err != nil {
			return nil, fmt.Errorf("address %s: %w", addr, err)
		}
		conn, err := net.DialUDP("udp", nil, ua)
		if err != nil {
			return nil, fmt.Errorf("dial %s: %w", addr, err)
		}
		conn.SetWriteBuffer(4 << 20)
		return udpSender{conn}, nil
	case "unix":
		fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("socket for %s: %w", addr, err)
		}
		if unixSndbuf > 0 {
			if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUFFORCE, unixSndbuf); err != nil {
				syscall.Close(fd)
				return nil, fmt.Errorf("send buffer of %d bytes for %s: %w", unixSndbuf, addr, err)
			}
		}
		return &unixSender{fd: fd, to: &syscall.SockaddrUnix{Name: addr}}, nil
	case "tcp":
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("dial %s: %w", addr, err)
		}
		return &tcpSender{c: conn, w: bufio.NewWriterSize(conn, 64<<10)}, nil
	}
	return nil, fmt.Errorf("scheme %q: want udp, unix or tcp", scheme)
}

type udpSender struct{ c *net.UDPConn }

func (u udpSender) send(msg []byte) (bool, error) {
	if _, err := u.c.Write(msg); err != nil {
		// The receiver is not there (ICMP refused): the datagram is
		// lost like on a real network.
		if !isRefused(err) {
			return false, err
		}
	}
	return true, nil
}
func (u udpSender) flush() error { return nil }
func (u udpSender) close() error { return u.c.Close() }

// unixSender sends as HAProxy does to a unix socket: without waiting, a
// datagram the full socket refuses (EAGAIN) is dropped.
type unixSender struct {
	fd int
	to *syscall.SockaddrUnix
}

func (u *unixSender) send(msg []byte) (bool, error) {
	for {
		err := syscall.Sendto(u.fd, msg, syscall.MSG_DONTWAIT, u.to)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EAGAIN), isRefused(err), errors.Is(err, syscall.ENOENT):
			return false, nil
		}
		return false, err
	}
}
func (u *unixSender) flush() error { return nil }
func (u *unixSender) close() error { return syscall.Close(u.fd) }

// tcpSender writes octet-counted frames (RFC 6587: "LEN SP MSG", the
// message without its newline), as HAProxy's ring does.
type tcpSender struct {
	c net.Conn
	w *bufio.Writer
}

func (t *tcpSender) send(msg []byte) (bool, error) {
	msg = bytes.TrimSuffix(msg, []byte{'\n'})
	var n [20]byte
	t.w.Write(strconv.AppendInt(n[:0], int64(len(msg)), 10))
	t.w.WriteByte(' ')
	_, err := t.w.Write(msg)
	return true, err
}
func (t *tcpSender) flush() error { return t.w.Flush() }
func (t *tcpSender) close() error {
	t.w.Flush()
	return t.c.Close()
}

func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
