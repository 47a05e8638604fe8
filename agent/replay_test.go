package agent

import (
	"bytes"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"strings"
	"testing"
	"time"
)

func replayConfig(t testing.TB, format string, maxBytes int) *config.Config {
	t.Helper()
	c := config.DefaultConfig()
	c.Format = format
	c.LBName = "lb"
	c.MaxMessageBytes = maxBytes
	return c
}

func TestReplayLines(t *testing.T) {
	long := "<158>Nov 25 06:12:36 haproxy[1]: " + strings.Repeat("x", 2000)
	tests := []struct {
		name                       string
		in                         string
		max                        int
		lines, unparsed, truncated int
		wantLongest                int // longest output line, newline excluded
	}{
		{"blank lines skipped, no final newline", "\n\ntcplog fe be s1 -- 1 0 5\n\n<158>Nov 25 06:12:36 haproxy[1]: Proxy fe started.", 65536, 2, 1, 0, 0},
		{"a line longer than syslog.max_message_bytes is cut to it", long + "\nnext\n", 1000, 2, 2, 0, 1000 - len("<158>") + len(" localhost")},
		{"crlf", "tcplog fe be s1 -- 1 0 5\r\ntcplog fe be s1 -- 1 0 5\r\n", 65536, 2, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			plan, err := Replay(replayConfig(t, "raw", tt.max), strings.NewReader(tt.in), &out, time.Date(2026, 11, 25, 6, 30, 0, 0, time.UTC))
			if err != nil {
				t.Fatal(err)
			}
			if plan.Lines != tt.lines || plan.Unparsed != tt.unparsed || plan.Truncated != tt.truncated {
				t.Errorf("lines, unparsed, truncated: got %d, %d, %d, want %d, %d, %d", plan.Lines, plan.Unparsed, plan.Truncated, tt.lines, tt.unparsed, tt.truncated)
			}
			if got := strings.Count(out.String(), "\n"); got != tt.lines {
				t.Errorf("output lines: got %d, want %d", got, tt.lines)
			}
			if plan.Bytes != int64(out.Len()) {
				t.Errorf("plan bytes: got %d, want %d", plan.Bytes, out.Len())
			}
			if want := time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC); !plan.WindowEnd.Equal(want) {
				t.Errorf("window end: got %v, want %v", plan.WindowEnd, want)
			}
			if tt.wantLongest > 0 {
				longest := 0
				for _, l := range strings.Split(out.String(), "\n") {
					longest = max(longest, len(l))
				}
				if longest != tt.wantLongest {
					t.Errorf("longest line: got %d, want %d", longest, tt.wantLongest)
				}
			}
		})
	}
}

// FuzzReplay feeds arbitrary files to Replay: every non-blank line comes
// out as exactly one line, whatever the encoder.
func FuzzReplay(f *testing.F) {
	f.Add([]byte("tcplog fe be s1 -- 1 0 5\n\n<158>Nov 25 06:12:36 haproxy[1]: x\r\n"))
	f.Add([]byte("elb-http 25/Nov/2026:17:13:48.481 127.0.0.1:1 127.0.0.1:2 -:- fe be/<NOSRV> 0/-1/-1/-1/0/0 503 1 2 SC - - \"GET / HTTP/1.1\" \"h\" \"ua\""))
	cfgs := map[string]*config.Config{}
	for _, format := range []string{"elb", "raw", "json"} {
		cfgs[format] = replayConfig(f, format, 300)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for format, cfg := range cfgs {
			var out bytes.Buffer
			plan, err := Replay(cfg, bytes.NewReader(in), &out, time.Unix(0, 0))
			if err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			if got := bytes.Count(out.Bytes(), []byte("\n")); got != plan.Lines {
				t.Fatalf("%s: %d output lines, plan says %d", format, got, plan.Lines)
			}
		}
	})
}
