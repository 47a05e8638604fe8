package ingest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// frameAll feeds stream to a framer as a socket would: in reads of at
// most step bytes into a buffer of frameBuf() bytes, consuming only whole
// frames. It returns the messages (with "~" appended to a truncated
// one), the bytes left unconsumed, and the framing error.
func frameAll(max int, stream []byte, step int) (msgs []string, left int, err error) {
	f := framer{max: max}
	buf := make([]byte, 0, f.frameBuf())
	for {
		room := cap(buf) - len(buf)
		take := min(room, step, len(stream))
		buf = append(buf, stream[:take]...)
		stream = stream[take:]
		used := 0
		for {
			msg, n, trunc, err := f.next(buf[used:])
			if err != nil {
				return msgs, len(buf) - used + len(stream), err
			}
			if n == 0 {
				break
			}
			if msg != nil {
				if trunc {
					msgs = append(msgs, string(msg)+"~")
				} else {
					msgs = append(msgs, string(msg))
				}
			}
			used += n
		}
		if used == 0 && len(buf) == cap(buf) {
			panic(fmt.Sprintf("framer stuck on a full buffer: %q", buf))
		}
		buf = append(buf[:0], buf[used:]...)
		if len(stream) == 0 && used == 0 {
			return msgs, len(buf), nil
		}
	}
}

func TestFramer(t *testing.T) {
	long := strings.Repeat("x", 25)
	tests := []struct {
		name   string
		stream string
		want   []string
		left   int
		err    string
	}{
		{"lf", "<1>a\n<2>b\n", []string{"<1>a", "<2>b"}, 0, ""},
		{"crlf", "<1>a\r\n", []string{"<1>a"}, 0, ""},
		{"counted", "4 <1>a5 <2>b\n", []string{"<1>a", "<2>b\n"}, 0, ""},
		{"mixed per frame", "4 <1>a<2>b\n3 xyz", []string{"<1>a", "<2>b", "xyz"}, 0, ""},
		{"counted with LF inside", "5 a\nb\nc", []string{"a\nb\nc"}, 0, ""},
		{"empty lines", "\n\n<1>a\n", []string{"", "", "<1>a"}, 0, ""},
		{"half a line", "<1>a\n<2>b", []string{"<1>a"}, 4, ""},
		{"half a counted frame", "10 abc", nil, 6, ""},
		{"half an octet count", "12", nil, 2, ""},
		{"line at the limit", strings.Repeat("y", 20) + "\n<1>a\n", []string{strings.Repeat("y", 20), "<1>a"}, 0, ""},
		{"line over the limit cut, then the next", long + "\n<1>a\n", []string{long[:20] + "~", "<1>a"}, 0, ""},
		{"counted at the limit", "20 " + strings.Repeat("y", 20), []string{strings.Repeat("y", 20)}, 0, ""},
		{"counted over the limit cut, then the next", "25 " + long + "4 <1>a", []string{long[:20] + "~", "<1>a"}, 0, ""},
		{"2 GB octet count cut", "2147483648 " + long, []string{long[:20] + "~"}, 0, ""},
		{"octet count not followed by a space", "12x<1>a\n", nil, 8, "followed by byte 0x78"},
		{"11-digit octet count", "12345678901 x", nil, 13, "longer than 10 digits"},
		{"binary garbage without digits", "\x00\xff\xfe\n\x01", []string{"\x00\xff\xfe"}, 1, ""},
	}
	for _, tt := range tests {
		for _, step := range []int{1, 3, 1 << 20} {
			t.Run(fmt.Sprintf("%s/step %d", tt.name, step), func(t *testing.T) {
				msgs, left, err := frameAll(20, []byte(tt.stream), step)
				if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				var me *malformedError
				if err != nil && !errors.As(err, &me) {
					t.Errorf("err %T, want *malformedError", err)
				}
				if fmt.Sprintf("%q", msgs) != fmt.Sprintf("%q", tt.want) {
					t.Errorf("messages %q, want %q", msgs, tt.want)
				}
				if left != tt.left {
					t.Errorf("%d bytes left, want %d", left, tt.left)
				}
			})
		}
	}
}

// FuzzFramer: whatever the stream, the framer never gets stuck or
// panics, no message is longer than the limit, and how the stream is
// split into reads changes nothing.
func FuzzFramer(f *testing.F) {
	for _, s := range []string{"<1>a\n", "4 <1>a", "2147483648 xx", "12x", "\x00\xff\n", "25 " + strings.Repeat("x", 25) + "\n"} {
		f.Add([]byte(s), uint8(7))
	}
	f.Fuzz(func(t *testing.T, stream []byte, step uint8) {
		const max = 16
		whole, wleft, werr := frameAll(max, stream, 1<<20)
		split, sleft, serr := frameAll(max, stream, int(step%32)+1)
		if fmt.Sprint(whole) != fmt.Sprint(split) || wleft != sleft || (werr == nil) != (serr == nil) {
			t.Fatalf("read whole: %q %d %v; in steps of %d: %q %d %v", whole, wleft, werr, step%32+1, split, sleft, serr)
		}
		for _, m := range whole {
			if len(strings.TrimSuffix(m, "~")) > max {
				t.Fatalf("message of %d bytes over the limit %d", len(m), max)
			}
		}
		if werr == nil && len(stream) > 0 && wleft == len(stream) && len(stream) >= max+maxLenDigits+1 {
			t.Fatalf("nothing framed of %d bytes", len(stream))
		}
	})
}
