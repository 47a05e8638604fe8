package parser

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden from testdata/haproxy")

// fixedNow is the clock of golden tests: RFC 3164 headers carry no year.
func fixedNow() time.Time { return time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC) }

// athenaClassicELB is the RegexSerDe of Amazon Athena's documented table
// for Classic Load Balancer logs: an ELB line a log tool accepts matches it.
var athenaClassicELB = regexp.MustCompile(`^([^ ]*) ([^ ]*) ([^ ]*):([0-9]*) ([^ ]*)[:-]([0-9]*) ([-.0-9]*) ([-.0-9]*) ([-.0-9]*) (|[-0-9]*) (-|[-0-9]*) ([-0-9]*) ([-0-9]*) \"([^ ]*) ([^ ]*) (- |[^ ]*)\" (\"[^\"]*\") ([A-Z0-9-_]+) ([A-Za-z0-9.-]*)$`)

// TestGolden encodes every capture in testdata/haproxy with every encoder
// and compares with testdata/golden/NAME.ENCODER (-update-golden rewrites).
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("../testdata/haproxy/*.log")
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures in testdata/haproxy: %v", err)
	}
	for _, file := range files {
		in, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(file), ".log")
		for _, format := range Formats {
			t.Run(name+"."+format, func(t *testing.T) {
				enc, err := NewEncoder(format, EncoderOptions{LBName: "my-loadbalancer", Now: fixedNow})
				if err != nil {
					t.Fatal(err)
				}
				p := NewParser()
				p.now = fixedNow
				var out []byte
				var r Record
				for _, line := range bytes.SplitAfter(in, []byte("\n")) {
					if p.Parse(line, &r) != nil {
						continue
					}
					before := len(out)
					out = enc.Encode(out, &r)
					checkLine(t, format, &r, out[before:])
				}
				golden := filepath.Join("../testdata/golden", name+"."+format)
				if *updateGolden {
					if err := os.WriteFile(golden, out, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./parser -run Golden -update-golden)", err)
				}
				if !bytes.Equal(out, want) {
					t.Errorf("%s differs:\n got:\n%s\nwant:\n%s", golden, out, want)
				}
			})
		}
	}
}

// checkLine checks what every output line must satisfy.
func checkLine(t *testing.T, format string, r *Record, line []byte) {
	t.Helper()
	if len(line) == 0 || line[len(line)-1] != '\n' || bytes.Count(line, []byte("\n")) != 1 {
		t.Errorf("%s line %q: want exactly one trailing newline", format, line)
	}
	line = line[:len(line)-1]
	switch {
	case format == "json":
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Errorf("json line %s: %v", line, err)
		} else if m["format"] != r.Format.String() {
			t.Errorf("json line %s: format got %v, want %v", line, m["format"], r.Format)
		}
	case format == "elb" && r.Format != FormatUnknown && len(r.ClientIP) > 0:
		// Formats without the client address (the recipe's short one)
		// cannot give the client:port field.
		if !athenaClassicELB.Match(line) {
			t.Errorf("elb line does not match the Athena Classic ELB pattern:\n%s", line)
		}
	}
}

// TestAWSExamples feeds HAProxy lines equivalent to the four examples of
// the AWS documentation and wants them back byte for byte. HAProxy logs
// milliseconds; these inputs carry microseconds, which the parser accepts.
func TestAWSExamples(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"http",
			`<158>May 13 23:39:44 haproxy[1]: elb-http 13/May/2015:23:39:43.945958 192.168.131.39:2817 10.0.0.2:80 10.0.0.1:80 http-80 be/s1 0.073/0/0/1.048/1.178/1.178 200 0 29 -- - - "GET / HTTP/1.1" "www.example.com" "curl/7.38.0"`,
			`2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000073 0.001048 0.000057 200 200 0 29 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.38.0" - -`},
		{"https",
			`<158>May 13 23:39:44 haproxy[1]: elb-http 13/May/2015:23:39:43.945958 192.168.131.39:2817 10.0.0.2:443 10.0.0.1:80 https-443~ be/s1 0.086/0/0/1.048/2.471/2.471 200 0 57 -- DHE-RSA-AES128-SHA TLSv1.2 "GET / HTTP/1.1" "www.example.com" "curl/7.38.0"`,
			`2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000086 0.001048 0.001337 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" "curl/7.38.0" DHE-RSA-AES128-SHA TLSv1.2`},
		{"tcp",
			`<158>May 13 23:39:44 haproxy[1]: elb-tcp 13/May/2015:23:39:43.945958 192.168.131.39:2817 10.0.0.2:25 10.0.0.1:80 tcp-25 be/s1 1.069/0.028/1.138 82 305 -- - -`,
			`2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.001069 0.000028 0.000041 - - 82 305 "- - - " "-" - -`},
		{"ssl",
			`<158>May 13 23:39:44 haproxy[1]: elb-tcp 13/May/2015:23:39:43.945958 192.168.131.39:2817 10.0.0.2:465 10.0.0.1:80 ssl-465~ be/s1 1.065/0.015/1.103 57 502 -- ECDHE-ECDSA-AES128-GCM-SHA256 TLSv1.2`,
			`2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.001065 0.000015 0.000023 - - 57 502 "- - - " "-" ECDHE-ECDSA-AES128-GCM-SHA256 TLSv1.2`},
	}
	enc, err := NewEncoder("elb", EncoderOptions{LBName: "my-loadbalancer"})
	if err != nil {
		t.Fatal(err)
	}
	p := NewParser()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Record
			if err := p.Parse([]byte(tt.in), &r); err != nil {
				t.Fatal(err)
			}
			if r.Format != FormatELB {
				t.Fatalf("format got %v (%s), want elb", r.Format, r.Reason)
			}
			got := string(enc.Encode(nil, &r))
			if got != tt.want+"\n" {
				t.Errorf("\n got %q\nwant %q", got, tt.want+"\n")
			}
			if !athenaClassicELB.MatchString(tt.want) {
				t.Errorf("the AWS example itself does not match the Athena pattern: the pattern is wrong")
			}
		})
	}
}
