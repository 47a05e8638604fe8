package parser

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// benchLines is one captured line per format (testdata/haproxy).
var benchLines = []struct{ name, line string }{
	{"elb-http", `<158>Nov 25 17:16:40 haproxy[18064]: elb-http 25/Nov/2026:17:16:40.623 127.0.0.1:56962 127.0.0.1:8080 127.0.0.1:9000 elb-https~ be_http/s1 0/0/1/0/1/1 200 130 123 -- TLS_AES_256_GCM_SHA384 TLSv1.3 "GET /index.html HTTP/1.1" "127.0.0.1:8080" "curl/7.38.0 (x86_64; capture: #22quoted#22)"` + "\n"},
	{"elb-tcp", `<158>Nov 25 17:16:40 haproxy[18064]: elb-tcp 25/Nov/2026:17:16:40.626 127.0.0.1:34856 127.0.0.1:8080 127.0.0.1:9000 elb-ssl~ be_tcp/s1 1/1/1 6 6 -- TLS_AES_256_GCM_SHA384 TLSv1.3` + "\n"},
	{"httplog", `<158>Nov 25 17:16:40 haproxy[18064]: 127.0.0.1:43126 [25/Nov/2026:17:16:40.616] stock-httplog be_http/s1 0/0/0/0/0 200 123 - - ---- 1/1/0/0/0 0/0 {127.0.0.1:8080|curl/7.38.0} "GET /index.html HTTP/1.1"` + "\n"},
	{"httplog-rfc5424", `<158>1 2026-11-25T17:13:36.453580+00:00 - haproxy 18569 - - 127.0.0.1:41192 [25/Nov/2026:17:13:36.452] stock-httplog-rfc5424 be_http/s1 0/0/0/0/0 200 123 - - ---- 1/1/0/0/0 0/0 "GET /index.html HTTP/1.1"` + "\n"},
	{"tcplog", `<158>Nov 25 17:16:40 haproxy[18064]: 127.0.0.1:40888 [25/Nov/2026:17:16:40.618] stock-tcplog be_tcp/s1 1/0/0 6 -- 1/1/0/0/0 0/0` + "\n"},
	{"recipe", `<158>Nov 25 17:13:39 haproxy[18569]: httplog recipe-http be_http s1 200 -- 0 0 0 0 0 "GET /index.html HTTP/1.1" 127.0.0.1:59538 127.0.0.1:8080 127.0.0.1:9000 req_size=130 resp_size=123` + "\n"},
	{"recipe-short", `<158>Nov 25 17:13:42 haproxy[18569]: httplog recipe-short-http be_http s1 200 -- 0 0 0 0 0` + "\n"},
	{"servo", `<158>Nov 25 17:13:45 haproxy[18569]: httplog 1795626825 127.0.0.1 51326 127.0.0.1 41813 0 0 0 0 0 200 130 123 servo-http be_http s1 -- GET /index.html HTTP/1.1 127.0.0.1:8080 curl/7.38.0` + "\n"},
	{"unknown", `<158>Nov 25 06:12:36 haproxy[6817]: Proxy fe_http started.` + "\n"},
}

// BenchmarkBaseline splits each line with bytes.Fields: the yardstick the
// parser is compared with in docs/performance.md.
func BenchmarkBaseline(b *testing.B) {
	for _, bl := range benchLines {
		line := []byte(bl.line)
		b.Run(bl.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				if len(bytes.Fields(line)) == 0 {
					b.Fatal("no fields")
				}
			}
		})
	}
}

// BenchmarkFrame measures syslog framing alone: the fast path and go-syslog.
func BenchmarkFrame(b *testing.B) {
	line := []byte(benchLines[0].line)
	p := NewParser()
	var r Record
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := p.Frame(line, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-syslog", func(b *testing.B) {
		b.ReportAllocs()
		trimmed := bytes.TrimRight(line, "\n")
		for b.Loop() {
			if err := p.slowFrame(trimmed, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkParse measures framing plus body parsing, per format.
func BenchmarkParse(b *testing.B) {
	p := NewParser()
	var r Record
	for _, bl := range benchLines {
		line := []byte(bl.line)
		b.Run(bl.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				if err := p.Parse(line, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncode measures each encoder on the recommended format's line.
func BenchmarkEncode(b *testing.B) {
	var r Record
	if err := NewParser().Parse([]byte(benchLines[0].line), &r); err != nil {
		b.Fatal(err)
	}
	for _, format := range Formats {
		enc, err := NewEncoder(format, EncoderOptions{LBName: "my-loadbalancer"})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(format, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 4096)
			for b.Loop() {
				buf = enc.Encode(buf[:0], &r)
			}
		})
	}
}

// BenchmarkParseEncodeELB is the agent's hot path: parse and ELB-encode one
// datagram into a reused buffer, for each captured format and for "mix",
// the lines scripts/loadgen sends to the benchmark (ns/op is per line).
func BenchmarkParseEncodeELB(b *testing.B) {
	enc, err := NewEncoder("elb", EncoderOptions{LBName: "my-loadbalancer"})
	if err != nil {
		b.Fatal(err)
	}
	p := NewParser()
	var r Record
	buf := make([]byte, 0, 4096)
	for _, bl := range benchLines {
		line := []byte(bl.line)
		b.Run(bl.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Parse(line, &r); err != nil {
					b.Fatal(err)
				}
				buf = enc.Encode(buf[:0], &r)
			}
		})
	}
	b.Run("mix", func(b *testing.B) {
		lines := loadgenMix(1000)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := p.Parse(lines[i], &r); err != nil {
				b.Fatal(err)
			}
			buf = enc.Encode(buf[:0], &r)
			if i++; i == len(lines) {
				i = 0
			}
		}
	})
}

// loadgenMix returns n datagrams as scripts/loadgen sends them: its five
// formats in turn (stock httplog and tcplog, the recipe's extended httplog,
// servo, stock httplog framed as RFC 5424), numbered, each from its own
// client address. They are one millisecond apart, so the n lines span n
// milliseconds: the dates change within a line's second as often as in
// the slowest paced run, and the second itself every thousand lines.
func loadgenMix(n int) [][]byte {
	start := time.Date(2026, 11, 25, 17, 16, 40, 123456000, time.UTC)
	lines := make([][]byte, n)
	for seq := range lines {
		now := start.Add(time.Duration(seq) * time.Millisecond)
		lines[seq] = loadgenLine(uint64(seq), now)
	}
	return lines
}

// loadgenLine is scripts/loadgen's datagram(): keep the two in step.
func loadgenLine(seq uint64, now time.Time) []byte {
	ip := fmt.Appendf(nil, "10.%d.%d.%d", (seq>>16)&0xff, (seq>>8)&0xff, seq&0xff)
	port := 1024 + seq%60000
	acceptDate := now.Format("02/Jan/2006:15:04:05.000")
	header := "<158>" + now.Format(time.Stamp) + " haproxy[6817]: "
	var body string
	switch seq % 5 {
	case 0: // httplog
		body = fmt.Sprintf(`%s:%d [%s] fe_http be_http/s1 0/0/0/6/6 200 185 - - ---- 1/1/0/0/0 0/0 "GET /item/%d?q=bench HTTP/1.1"`, ip, port, acceptDate, seq)
	case 1: // tcplog
		body = fmt.Sprintf(`%s:%d [%s] fe_tcp be_tcp/s1 1/0/1 %d -- 1/1/0/0/0 0/0`, ip, port, acceptDate, seq)
	case 2: // extended
		body = fmt.Sprintf(`httplog http-80 backend-http-80 http-80 200 -- 4 0 1 1 6 "GET /item/%d HTTP/1.1" %s:%d 10.0.0.1:80 10.0.0.2:8080 req_size=142 resp_size=241`, seq, ip, port)
	case 3: // servo
		body = fmt.Sprintf(`httplog %d %s %d 10.0.0.2 8080 4 0 1 1 6 200 142 241 http-80 backend-http-80 http-80 -- GET /item/%d HTTP/1.1 www.example.com`, now.Unix(), ip, port, seq)
	case 4: // rfc5424
		header = "<158>1 " + now.Format("2006-01-02T15:04:05.000000-07:00") + " - haproxy 6817 - - "
		body = fmt.Sprintf(`%s:%d [%s] fe_http be_http/s1 0/0/0/0/0 200 185 - - ---- 1/1/0/0/0 0/0 "GET /item/%d HTTP/1.1"`, ip, port, acceptDate, seq)
	}
	return []byte(header + body + "\n")
}

// TestHotPathAllocs pins the steady-state allocation count of parse plus
// every encoder at zero for every format.
func TestHotPathAllocs(t *testing.T) {
	p := NewParser()
	var r Record
	buf := make([]byte, 0, 4096)
	for _, format := range Formats {
		enc, err := NewEncoder(format, EncoderOptions{LBName: "my-loadbalancer"})
		if err != nil {
			t.Fatal(err)
		}
		for _, bl := range benchLines {
			line := []byte(bl.line)
			p.Parse(line, &r) // warm the interned header strings
			got := testing.AllocsPerRun(100, func() {
				if err := p.Parse(line, &r); err != nil {
					t.Fatal(err)
				}
				buf = enc.Encode(buf[:0], &r)
			})
			if got != 0 {
				t.Errorf("%s/%s: allocs per line got %v, want 0", bl.name, format, got)
			}
		}
	}
}

// TestLoadgenMix checks the benchmark mix is what it says: each line is
// read as its format, without allocating.
func TestLoadgenMix(t *testing.T) {
	want := []Format{FormatHTTPLog, FormatTCPLog, FormatRecipe, FormatServo, FormatHTTPLog}
	enc, err := NewEncoder("elb", EncoderOptions{LBName: "my-loadbalancer"})
	if err != nil {
		t.Fatal(err)
	}
	p := NewParser()
	var r Record
	buf := make([]byte, 0, 4096)
	lines := loadgenMix(10)
	for i, line := range lines {
		if err := p.Parse(line, &r); err != nil || r.Format != want[i%5] || r.Truncated {
			t.Errorf("%q: format got %v (%s, err %v), want %v", line, r.Format, r.Reason, err, want[i%5])
		}
	}
	i := 0
	got := testing.AllocsPerRun(100, func() {
		if err := p.Parse(lines[i%len(lines)], &r); err != nil {
			t.Fatal(err)
		}
		buf = enc.Encode(buf[:0], &r)
		i++
	})
	if got != 0 {
		t.Errorf("allocs per line got %v, want 0", got)
	}
}
