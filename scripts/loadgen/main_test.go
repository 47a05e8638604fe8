package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestFormats(t *testing.T) {
	now := time.Date(2026, 11, 5, 6, 12, 36, 416000000, time.UTC)
	tests := []struct {
		format string
		want   string
	}{
		{"httplog", `<158>Nov  5 06:12:36 haproxy[6817]: 10.1.226.64:4480 [05/Nov/2026:06:12:36.416] fe_http be_http/s1 0/0/0/6/6 200 185 - - ---- 1/1/0/0/0 0/0 "GET /item/123456?q=bench HTTP/1.1"` + "\n"},
		{"tcplog", `<158>Nov  5 06:12:36 haproxy[6817]: 10.1.226.64:4480 [05/Nov/2026:06:12:36.416] fe_tcp be_tcp/s1 1/0/1 123456 -- 1/1/0/0/0 0/0` + "\n"},
		{"extended", `<158>Nov  5 06:12:36 haproxy[6817]: httplog http-80 backend-http-80 http-80 200 -- 4 0 1 1 6 "GET /item/123456 HTTP/1.1" 10.1.226.64:4480 10.0.0.1:80 10.0.0.2:8080 req_size=142 resp_size=241` + "\n"},
		{"servo", `<158>Nov  5 06:12:36 haproxy[6817]: httplog 1793859156 10.1.226.64 4480 10.0.0.2 8080 4 0 1 1 6 200 142 241 http-80 backend-http-80 http-80 -- GET /item/123456 HTTP/1.1 www.example.com` + "\n"},
		{"rfc5424", `<158>1 2026-11-05T06:12:36.416000+00:00 - haproxy 6817 - - 10.1.226.64:4480 [05/Nov/2026:06:12:36.416] fe_http be_http/s1 0/0/0/0/0 200 185 - - ---- 1/1/0/0/0 0/0 "GET /item/123456 HTTP/1.1"` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			fs, err := pickFormats(tt.format)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(datagram(nil, fs[0], 123456, now)); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestPickFormatsRejectsUnknown(t *testing.T) {
	_, err := pickFormats("httplog,nope")
	if err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("got %v, want an error naming the unknown format", err)
	}
}

func TestClientAddressesDistinct(t *testing.T) {
	seen := map[string]bool{}
	for seq := uint64(0); seq < 1<<17; seq += 97 {
		ip := string(clientIP(nil, seq))
		if net.ParseIP(ip) == nil {
			t.Fatalf("seq %d: %q is not an address", seq, ip)
		}
		if seen[ip] {
			t.Fatalf("seq %d: %s given twice", seq, ip)
		}
		seen[ip] = true
	}
}

// Every datagram is sent, numbered 0..count-1, in order.
func TestRunSendsEveryDatagram(t *testing.T) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadBuffer(1 << 20)
	const count = 200
	if _, _, err := run(conn.LocalAddr().String(), count, 20000, "httplog", 1); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i := range count {
		n, _, err := conn.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		if want := "/item/" + strconv.Itoa(i) + "?"; !bytes.Contains(buf[:n], []byte(want)) {
			t.Fatalf("datagram %d: %q does not contain %q", i, buf[:n], want)
		}
	}
}

// A unix socket that does not read refuses what overflows its queue:
// those messages are counted dropped, the others arrive, numbered in order.
func TestRunUnixCountsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const count = 2000 // far more than net.unix.max_dgram_qlen (10 by default)
	sent, dropped, err := run("unix://"+path, count, 0, "httplog", 1)
	if err != nil {
		t.Fatal(err)
	}
	if sent != count || dropped == 0 || dropped == count {
		t.Fatalf("sent %d, dropped %d: want %d sent, some but not all dropped", sent, dropped, count)
	}
	buf := make([]byte, 2048)
	got, last := 0, -1
	for {
		conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, err := conn.Read(buf)
		if err != nil {
			break
		}
		m := regexp.MustCompile(`/item/(\d+)\?`).FindSubmatch(buf[:n])
		if m == nil {
			t.Fatalf("message %d: %q has no number", got, buf[:n])
		}
		seq, _ := strconv.Atoi(string(m[1]))
		if seq <= last {
			t.Fatalf("message %d: %q after %d", got, buf[:n], last)
		}
		last = seq
		got++
	}
	if int64(got)+dropped != count {
		t.Errorf("received %d + dropped %d, want %d", got, dropped, count)
	}
}

// Over TCP every message arrives once, as an octet-counted frame without
// the newline, whatever the number of connections.
func TestRunTCPFramesEveryMessageOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const count, conns = 3000, 3
	type result struct {
		seqs []int
		err  error
	}
	results := make(chan result, conns)
	go func() {
		for range conns {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var r result
				br := bufio.NewReader(c)
				for {
					var n int
					if _, err := fmt.Fscanf(br, "%d ", &n); err != nil {
						if err != io.EOF {
							r.err = err
						}
						break
					}
					msg := make([]byte, n)
					if _, err := io.ReadFull(br, msg); err != nil {
						r.err = err
						break
					}
					if bytes.HasSuffix(msg, []byte("\n")) {
						r.err = fmt.Errorf("frame %q ends in a newline", msg)
						break
					}
					m := regexp.MustCompile(`/item/(\d+)`).FindSubmatch(msg)
					if m == nil {
						r.err = fmt.Errorf("frame %q has no number", msg)
						break
					}
					seq, _ := strconv.Atoi(string(m[1]))
					r.seqs = append(r.seqs, seq)
				}
				results <- r
			}()
		}
	}()
	sent, dropped, err := run("tcp://"+ln.Addr().String(), count, 0, "httplog,extended", conns)
	if err != nil || sent != count || dropped != 0 {
		t.Fatalf("run: sent %d dropped %d err %v", sent, dropped, err)
	}
	seen := make([]int, count)
	for range conns {
		select {
		case r := <-results:
			if r.err != nil {
				t.Fatal(r.err)
			}
			for _, s := range r.seqs {
				seen[s]++
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a connection was not closed")
		}
	}
	for s, n := range seen {
		if n != 1 {
			t.Fatalf("message %d arrived %d times", s, n)
		}
	}
}
