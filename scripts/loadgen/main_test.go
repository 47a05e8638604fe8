package main

import (
	"bytes"
	"net"
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
	if err := run(conn.LocalAddr().String(), count, 20000, "httplog"); err != nil {
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
