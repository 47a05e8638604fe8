package parser

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestParseBody checks the fields each format yields.
func TestParseBody(t *testing.T) {
	type want struct {
		format                             Format
		http, ssl, truncated, backendOK    bool
		client, server, frontend, backend  string
		status                             int
		read, sent                         int64
		treq, tq, tc, tr, td, tt           int
		method, uri, version, host, ua, ts string
		received                           time.Time
	}
	tests := []struct {
		name string
		body string
		want want
	}{
		{"recommended http", `elb-http 25/Nov/2026:17:13:48.481 127.0.0.1:37744 127.0.0.1:8080 127.0.0.1:9000 elb-http be_http/s1 1/2/3/4/15/20 200 130 123 -- - - "GET /a:b HTTP/1.1" "example.com" "curl/7.38.0"`,
			want{format: FormatELB, http: true, backendOK: true, client: "127.0.0.1:37744", server: "127.0.0.1:9000", frontend: "elb-http", backend: "be_http", status: 200, read: 130, sent: 123,
				treq: 1000, tq: 2000, tc: 3000, tr: 4000, td: 5000, tt: 20000, method: "GET", uri: "/a:b", version: "HTTP/1.1", host: "example.com", ua: "curl/7.38.0", ts: "--",
				received: time.Date(2026, 11, 25, 17, 13, 48, 481e6, time.UTC)}},
		{"recommended http, server never connected", `elb-http 25/Nov/2026:17:13:51.487 ::1:37744 ::1:8080 -:- elb-http be_none/<NOSRV> 0/-1/-1/-1/0/0 503 127 217 SC - - "GET /nosrv/x HTTP/1.1" "-" "-"`,
			want{format: FormatELB, http: true, client: "::1:37744", server: "-:-", frontend: "elb-http", backend: "be_none", status: 503, read: 127, sent: 217,
				treq: 0, tq: -1, tc: -1, tr: -1, td: -1, tt: 0, method: "GET", uri: "/nosrv/x", version: "HTTP/1.1", ts: "SC",
				received: time.Date(2026, 11, 25, 17, 13, 51, 487e6, time.UTC)}},
		{"recommended http cut in the user agent", `elb-http 25/Nov/2026:17:13:48.481 127.0.0.1:37744 127.0.0.1:8080 127.0.0.1:9000 elb-http~ be_http/s1 0/0/0/0/0/0 200 130 123 -- AES TLSv1.2 "GET / HTTP/1.1" "h" "curl/7.3`,
			want{format: FormatELB, http: true, ssl: true, truncated: true, backendOK: true, client: "127.0.0.1:37744", server: "127.0.0.1:9000", frontend: "elb-http", backend: "be_http", status: 200, read: 130, sent: 123,
				method: "GET", uri: "/", version: "HTTP/1.1", host: "h", ua: "curl/7.3", ts: "--", received: time.Date(2026, 11, 25, 17, 13, 48, 481e6, time.UTC)}},
		{"recommended http cut in the request", `elb-http 25/Nov/2026:17:13:48.481 127.0.0.1:37744 127.0.0.1:8080 127.0.0.1:9000 elb-http be_http/s1 0/0/0/0/0/0 200 130 123 -- - - "GET /ver`,
			want{format: FormatUnknown, truncated: true}},
		{"recommended http cut in the fixed fields", `elb-http 25/Nov/2026:17:13:48.481 127.0.0.1:37744 127.0.0.1:8080`,
			want{format: FormatUnknown, truncated: true}},
		{"stock httplog, server aborted the headers", `127.0.0.1:54292 [25/Nov/2026:17:13:30.441] fe be/s1 0/0/0/-1/5 502 217 - - SH-- 1/1/0/0/0 0/0 "GET /x HTTP/1.1"`,
			want{format: FormatHTTPLog, http: true, client: "127.0.0.1:54292", frontend: "fe", backend: "be", status: 502, read: -1, sent: 217,
				treq: 0, tq: 0, tc: 0, tr: -1, td: -1, tt: 5000, method: "GET", uri: "/x", version: "HTTP/1.1", ts: "SH",
				received: time.Date(2026, 11, 25, 17, 13, 30, 441e6, time.UTC)}},
		{"stock httplog, user agent captured alone", `127.0.0.1:1 [25/Nov/2026:17:13:30.441] fe~ be/s1 0/0/0/1/1 200 2 - - ---- 1/1/0/0/0 0/0 {Mozilla/5.0 (X11)} "GET / HTTP/1.1"`,
			want{format: FormatHTTPLog, http: true, ssl: true, backendOK: true, client: "127.0.0.1:1", frontend: "fe", backend: "be", status: 200, read: -1, sent: 2,
				tr: 1000, tt: 1000, method: "GET", uri: "/", version: "HTTP/1.1", ua: "Mozilla/5.0 (X11)", ts: "--",
				received: time.Date(2026, 11, 25, 17, 13, 30, 441e6, time.UTC)}},
		{"stock tcplog", `127.0.0.1:51140 [25/Nov/2026:17:13:39.460] fe be_tcp/s1 1/0/+2 6 -- 1/1/0/0/0 0/0`,
			want{format: FormatTCPLog, client: "127.0.0.1:51140", frontend: "fe", backend: "be_tcp", status: -1, read: -1, sent: 6,
				treq: -1, tq: 1000, tc: 0, tr: -1, td: 1000, tt: 2000, ts: "--", received: time.Date(2026, 11, 25, 17, 13, 39, 460e6, time.UTC)}},
		{"recipe as the seed stored it", `httplog http-80 backend-http-80 http-80 200 -- 4 0 1 1 6 "HEAD / HTTP/1.1" req_size=142 resp_size=241`,
			want{format: FormatRecipe, http: true, backendOK: true, frontend: "http-80", backend: "backend-http-80", status: 200, read: 142, sent: 241,
				treq: 4000, tq: 0, tc: 1000, tr: 1000, td: 0, tt: 6000, method: "HEAD", uri: "/", version: "HTTP/1.1", ts: "--"}},
		{"recipe short tcp", `tcplog fe be s1 -- 1 0 5`,
			want{format: FormatRecipeShort, frontend: "fe", backend: "be", status: -1, read: -1, sent: -1, treq: -1, tq: 1000, tc: 0, tr: -1, td: 4000, tt: 5000, ts: "--"}},
		{"servo http", `httplog 1795626825 10.0.0.1 51326 10.0.0.2 80 0 0 0 0 0 200 130 123 fe be s1 -- GET /index.html HTTP/1.1 example.com curl/7.38.0 (x86_64)`,
			want{format: FormatServo, http: true, backendOK: true, client: "10.0.0.1:51326", server: "10.0.0.2:80", frontend: "fe", backend: "be", status: 200, read: 130, sent: 123,
				method: "GET", uri: "/index.html", version: "HTTP/1.1", host: "example.com", ua: "curl/7.38.0 (x86_64)", ts: "--", received: time.Unix(1795626825, 0).UTC()}},
		{"servo tcp", `tcplog 1795626828 10.0.0.1 52584 10.0.0.2 25 1 0 3 6 6 fe be s1 --`,
			want{format: FormatServo, client: "10.0.0.1:52584", server: "10.0.0.2:25", frontend: "fe", backend: "be", status: -1, read: 6, sent: 6,
				treq: -1, tq: 1000, tc: 0, tr: -1, td: 2000, tt: 3000, ts: "--", received: time.Unix(1795626828, 0).UTC()}},
		{"haproxy event", `Proxy fe_http started.`, want{format: FormatUnknown}},
		{"tcplog tag with garbage", `tcplog a b`, want{format: FormatUnknown, truncated: true}},
		{"bad timer", `tcplog fe be s1 -- 1 x 5`, want{format: FormatUnknown}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Record
			ParseBody([]byte(tt.body), &r)
			w := tt.want
			if r.Format != w.format || r.Truncated != w.truncated {
				t.Fatalf("format, truncated: got %v, %v (%s), want %v, %v", r.Format, r.Truncated, r.Reason, w.format, w.truncated)
			}
			if r.Format == FormatUnknown {
				if r.Reason == "" {
					t.Errorf("unknown without a reason")
				}
				return
			}
			addr := func(ip, port []byte) string {
				if len(ip) == 0 {
					return ""
				}
				return string(ip) + ":" + string(port)
			}
			got := want{format: r.Format, http: r.HTTP, ssl: r.SSL, truncated: r.Truncated, backendOK: r.backendAnswered(),
				client: addr(r.ClientIP, r.ClientPort), server: addr(r.ServerIP, r.ServerPort), frontend: string(r.Frontend), backend: string(r.Backend),
				status: r.Status, read: r.BytesRead, sent: r.BytesSent,
				treq: r.TRequest, tq: r.TQueue, tc: r.TConnect, tr: r.TResponse, td: r.TData, tt: r.TTotal,
				method: string(r.Method), uri: string(r.URI), version: string(r.Version), host: string(r.Host), ua: string(r.UserAgent), ts: string(r.TermState),
				received: r.Received}
			if !got.received.Equal(w.received) {
				t.Errorf("received: got %v, want %v", got.received, w.received)
			}
			got.received = w.received
			if got != w {
				t.Errorf("\n got %+v\nwant %+v", got, w)
			}
		})
	}
}

// TestFastFrameMatchesGoSyslog frames every captured datagram both ways:
// the fast path must agree with go-syslog.
func TestFastFrameMatchesGoSyslog(t *testing.T) {
	files, _ := filepath.Glob("../testdata/haproxy/*.log")
	p := NewParser()
	n := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range bytes.SplitAfter(data, []byte("\n")) {
			line = bytes.TrimRight(line, "\n")
			if len(line) == 0 || line[0] != '<' {
				continue // go-syslog needs the PRI
			}
			var fast, slow Record
			if !p.fastFrame(line, &fast) {
				continue
			}
			n++
			if err := p.slowFrame(line, &slow); err != nil {
				t.Fatal(err)
			}
			fh, sh := fast.Header, slow.Header
			if !fh.Timestamp.Equal(sh.Timestamp) || fh.Hostname != sh.Hostname || fh.Tag != sh.Tag || fh.PID != sh.PID || fh.Priority != sh.Priority {
				t.Errorf("%q: header fast %+v, go-syslog %+v", line, fh, sh)
			}
			if !bytes.Equal(fast.Body, slow.Body) {
				t.Errorf("%q: body fast %q, go-syslog %q", line, fast.Body, slow.Body)
			}
		}
	}
	if n < 50 {
		t.Errorf("only %d datagrams took the fast path; want the captures to", n)
	}
}
