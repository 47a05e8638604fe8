// Command loadgen sends numbered, realistic HAProxy syslog datagrams over
// UDP at a target rate, for scripts/bench.sh.
//
// Each datagram is one log line as HAProxy 2.6 sends it (PRI 158, no
// hostname, newline at the end), with a sequence number in the request
// path (or, for TCP lines, the byte count) and a client address derived
// from it, so a million datagrams come from a million clients. The
// formats rotate through those the agent recognises: stock `option
// httplog` and `option tcplog`, the extended format of the original
// recipe, the Eucalyptus servo format and stock httplog framed as RFC 5424.
//
// It prints one line to stdout when done: sent=N seconds=S rate=R.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5514", "UDP address to send to")
	count := flag.Int("count", 1000000, "datagrams to send")
	rate := flag.Float64("rate", 0, "datagrams per second; 0 sends as fast as possible")
	formats := flag.String("formats", strings.Join(formatNames(), ","), "comma list of line formats, used in turn")
	flag.Parse()
	if err := run(*addr, *count, *rate, *formats); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
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

func run(addr string, count int, rate float64, formatList string) error {
	fs, err := pickFormats(formatList)
	if err != nil {
		return err
	}
	if count < 0 || rate < 0 {
		return fmt.Errorf("count %d, rate %g: want zero or more", count, rate)
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return fmt.Errorf("address %s: %w", addr, err)
	}
	conn, err := net.DialUDP("udp", nil, ua)
	if err != nil {
		return fmt.Errorf("dial %s: %w", addr, err)
	}
	defer conn.Close()
	conn.SetWriteBuffer(4 << 20)

	buf := make([]byte, 0, 1024)
	start := time.Now()
	sent := 0
	for sent < count {
		batch := count - sent
		if rate > 0 {
			due := int(time.Since(start).Seconds() * rate)
			if due <= sent {
				time.Sleep(20 * time.Microsecond)
				continue
			}
			batch = min(due-sent, count-sent)
		} else {
			batch = min(batch, 1024)
		}
		now := time.Now()
		for range batch {
			buf = datagram(buf[:0], fs[sent%len(fs)], uint64(sent), now)
			if _, err := conn.Write(buf); err != nil {
				// The receiver is not there (ICMP refused):
				// the datagram is lost like on a real network.
				if !isRefused(err) {
					return fmt.Errorf("send to %s: %w", addr, err)
				}
			}
			sent++
		}
	}
	secs := time.Since(start).Seconds()
	fmt.Printf("sent=%d seconds=%.3f rate=%.0f\n", sent, secs, float64(sent)/secs)
	return nil
}

func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
