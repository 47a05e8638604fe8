package parser

import (
	"testing"
	"time"
)

func TestParseFraming(t *testing.T) {
	year := time.Now().UTC().Year()
	tests := []struct {
		name    string
		in      string
		header  Header
		framing Framing
		body    string
	}{
		{
			name:   "rfc3164 without hostname, as HAProxy sends",
			in:     "<158>Nov 25 06:12:36 haproxy[6817]: 127.0.0.1:35308 [25/Nov/2026:06:12:36.416] fe_http be_http/s1 0/0/0/6/6 200 185 - - ---- 1/1/0/0/0 0/0 \"GET /a:b HTTP/1.1\"\n",
			header: Header{Timestamp: time.Date(year, 11, 25, 6, 12, 36, 0, time.UTC), Tag: "haproxy", PID: "6817", Priority: 158},
			body:   "127.0.0.1:35308 [25/Nov/2026:06:12:36.416] fe_http be_http/s1 0/0/0/6/6 200 185 - - ---- 1/1/0/0/0 0/0 \"GET /a:b HTTP/1.1\"",
		},
		{
			name:   "rfc3164 with hostname and space-padded day",
			in:     "<158>Nov  5 06:13:18 vm haproxy[7316]: httplog a:b:c",
			header: Header{Timestamp: time.Date(year, 11, 5, 6, 13, 18, 0, time.UTC), Hostname: "vm", Tag: "haproxy", PID: "7316", Priority: 158},
			body:   "httplog a:b:c",
		},
		{
			name:   "rfc5424",
			in:     "<158>1 2026-11-25T06:13:06.172255+00:00 - haproxy 7121 - - 127.0.0.1:51096 [25/Nov/2026:06:13:06.171] fe_http\n",
			header: Header{Timestamp: time.Date(2026, 11, 25, 6, 13, 6, 172255000, time.UTC), Tag: "haproxy", PID: "7121", Priority: 158},
			body:   "127.0.0.1:51096 [25/Nov/2026:06:13:06.171] fe_http",
		},
		{
			name:    "not syslog at all is kept whole",
			in:      "just some text: with colons\n",
			header:  Header{Priority: -1},
			framing: FramingNone,
			body:    "just some text: with colons",
		},
	}
	p := NewParser()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Record
			if err := p.Parse([]byte(tt.in), &r); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !r.Header.Timestamp.Equal(tt.header.Timestamp) || r.Header.Hostname != tt.header.Hostname ||
				r.Header.Tag != tt.header.Tag || r.Header.PID != tt.header.PID || r.Header.Priority != tt.header.Priority {
				t.Errorf("header: got %+v, want %+v", r.Header, tt.header)
			}
			if r.Framing != tt.framing {
				t.Errorf("framing: got %v, want %v", r.Framing, tt.framing)
			}
			if string(r.Body) != tt.body {
				t.Errorf("body:\n got %q\nwant %q", r.Body, tt.body)
			}
		})
	}
}

func TestParseEmpty(t *testing.T) {
	var r Record
	for _, in := range []string{"", "\n", "  \r\n"} {
		if err := NewParser().Parse([]byte(in), &r); err != ErrEmpty {
			t.Errorf("Parse(%q): got %v, want ErrEmpty", in, err)
		}
	}
}

func TestRawEncoder(t *testing.T) {
	p := NewParser()
	tests := []struct{ in, want string }{
		{"<158>Dec 11 05:05:36 haproxy[1070]: httplog http-80 backend-http-80 http-80 200 -- 4 0 1 1 6 \"HEAD / HTTP/1.1\" req_size=142 resp_size=241",
			"Dec 11 05:05:36 localhost haproxy[1070]: httplog http-80 backend-http-80 http-80 200 -- 4 0 1 1 6 \"HEAD / HTTP/1.1\" req_size=142 resp_size=241\n"},
		{"<158>Dec  1 05:05:36 lb1 haproxy[1070]: x", "Dec  1 05:05:36 lb1 haproxy[1070]: x\n"},
		{"garbage", "garbage\n"},
	}
	enc, err := NewEncoder("raw", EncoderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		var r Record
		if err := p.Parse([]byte(tt.in), &r); err != nil {
			t.Fatal(err)
		}
		if got := string(enc.Encode(nil, &r)); got != tt.want {
			t.Errorf("Encode(%q):\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestNewEncoderUnknown(t *testing.T) {
	if _, err := NewEncoder("xml", EncoderOptions{}); err == nil {
		t.Fatal("NewEncoder(xml): want error")
	}
}

// An empty message keeps its header and has an empty body: go-syslog alone
// returns the tail of the tag ("1]: ") as the message.
func TestFrameEmptyMessage(t *testing.T) {
	tests := []struct{ in, tag, pid string }{
		{"<158>Nov 25 06:12:36 haproxy[1]: \n", "haproxy", "1"},
		{"<158>Nov 25 06:12:36 haproxy[1]:", "haproxy", "1"},
		{"<158>Nov 25 06:12:36 lb1 haproxy: ", "haproxy", ""},
		{"<158>1 2026-11-25T06:13:06.172255+00:00 - haproxy 7121 - - \n", "haproxy", "7121"},
	}
	p := NewParser()
	for _, tt := range tests {
		var r Record
		if err := p.Frame([]byte(tt.in), &r); err != nil {
			t.Fatalf("Frame(%q): %v", tt.in, err)
		}
		if r.Framing != FramingSyslog || r.Header.Tag != tt.tag || r.Header.PID != tt.pid || len(r.Body) != 0 {
			t.Errorf("Frame(%q): framing %v tag %q pid %q body %q; want syslog, %q, %q, empty",
				tt.in, r.Framing, r.Header.Tag, r.Header.PID, r.Body, tt.tag, tt.pid)
		}
	}
}
