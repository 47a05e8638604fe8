package parser

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// addCorpus seeds f with every line of testdata/haproxy, whole (as
// datagrams) or as bodies.
func addCorpus(f *testing.F, bodies bool) {
	files, _ := filepath.Glob("../testdata/haproxy/*.log")
	p := NewParser()
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range bytes.SplitAfter(data, []byte("\n")) {
			if !bodies {
				f.Add(line)
				continue
			}
			var r Record
			if p.Parse(line, &r) == nil {
				f.Add(append([]byte(nil), r.Body...))
			}
		}
	}
}

// encodeAll runs every encoder over r and checks each wrote one line.
func encodeAll(t *testing.T, r *Record) {
	for _, format := range Formats {
		enc, err := NewEncoder(format, EncoderOptions{LBName: "lb", Now: fixedNow})
		if err != nil {
			t.Fatal(err)
		}
		out := enc.Encode(nil, r)
		if len(out) == 0 || out[len(out)-1] != '\n' || bytes.Count(out, []byte("\n")) != 1 {
			t.Fatalf("%s encoder wrote %q for body %q: want exactly one trailing newline", format, out, r.Body)
		}
	}
}

// FuzzParse feeds arbitrary datagrams through framing, body parsing and
// every encoder: no input may panic or produce other than one line.
func FuzzParse(f *testing.F) {
	addCorpus(f, false)
	p := NewParser()
	p.now = fixedNow
	f.Fuzz(func(t *testing.T, datagram []byte) {
		var r Record
		if err := p.Parse(datagram, &r); err != nil {
			return
		}
		if r.Format == FormatUnknown && r.Reason == "" {
			t.Fatalf("unknown format without a reason for %q", datagram)
		}
		encodeAll(t, &r)
	})
}

// FuzzParseBody feeds arbitrary HAProxy bodies to the format parsers.
func FuzzParseBody(f *testing.F) {
	addCorpus(f, true)
	f.Fuzz(func(t *testing.T, body []byte) {
		var r Record
		ParseBody(body, &r)
		if r.Format == FormatUnknown && r.Reason == "" {
			t.Fatalf("unknown format without a reason for %q", body)
		}
		encodeAll(t, &r)
	})
}

// FuzzFrameAgreement checks the fast framing path against go-syslog:
// whenever the fast path takes a datagram with a PRI and without control
// characters (HAProxy escapes them), go-syslog must read the same header
// and body from it. With control characters in the message go-syslog gives
// up on the header while the fast path keeps it; that difference is meant.
func FuzzFrameAgreement(f *testing.F) {
	addCorpus(f, false)
	p := NewParser()
	p.now = fixedNow
	f.Fuzz(func(t *testing.T, datagram []byte) {
		var fast, slow Record
		if p.Frame(datagram, &fast) != nil || fast.Framing != FramingSyslog || len(datagram) == 0 || datagram[0] != '<' {
			return
		}
		line := bytes.TrimRight(datagram, "\r\n\x00")
		if bytes.ContainsFunc(line, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return
		}
		if !p.fastFrame(line, &fast) {
			return
		}
		if err := p.slowFrame(line, &slow); err != nil {
			t.Fatal(err)
		}
		fh, sh := fast.Header, slow.Header
		if !fh.Timestamp.Equal(sh.Timestamp) || fh.Hostname != sh.Hostname || fh.Tag != sh.Tag || fh.PID != sh.PID || fh.Priority != sh.Priority {
			t.Fatalf("%q: header fast %+v, go-syslog %+v", line, fh, sh)
		}
		if !bytes.Equal(fast.Body, slow.Body) {
			t.Fatalf("%q: body fast %q, go-syslog %q", line, fast.Body, slow.Body)
		}
	})
}
