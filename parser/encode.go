package parser

import (
	"fmt"
	"strconv"
	"time"
)

// Encoder appends the output line for r, newline included, to dst and
// returns the extended slice. Encoders must not retain r or dst.
type Encoder interface {
	Encode(dst []byte, r *Record) []byte
}

// EncoderOptions is what encoders need beyond the Record.
type EncoderOptions struct {
	// LBName is the load balancer's name, the second field of an ELB line.
	// Empty: the HAProxy frontend name stands in.
	LBName string
	// Hostname stands in for a sender that sent no hostname in the raw
	// format (rsyslog substitutes the sending host's name the same way).
	// Empty: "localhost".
	Hostname string
	// Now is used for lines that carry no time at all; nil: time.Now.
	Now func() time.Time
}

// Formats lists the access_log.format values NewEncoder accepts.
var Formats = []string{"elb", "raw", "json"}

// NewEncoder returns the encoder for an access_log.format value: "elb"
// (AWS Classic ELB lines), "raw" (the syslog line as a file writer stores
// it) or "json" (one object per line with every parsed field).
func NewEncoder(format string, opts EncoderOptions) (Encoder, error) {
	if opts.Hostname == "" {
		opts.Hostname = "localhost"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	raw := RawEncoder{Hostname: opts.Hostname}
	switch format {
	case "elb":
		return ELBEncoder{opts: opts, raw: raw}, nil
	case "raw":
		return raw, nil
	case "json":
		return JSONEncoder{opts: opts}, nil
	}
	return nil, fmt.Errorf("parser: unknown output format %q (want elb, raw or json)", format)
}

// RawEncoder writes the line the way a classic syslog file writer (rsyslog's
// default file template) stores it:
//
//	Dec 11 05:05:36 localhost haproxy[1070]: httplog http-80 ...
//
// Hostname stands in when the sender did not send one, as rsyslog
// substitutes the name of the host the datagram came from.
type RawEncoder struct {
	Hostname string
}

// Encode implements Encoder.
func (e RawEncoder) Encode(dst []byte, r *Record) []byte {
	if r.Framing == FramingSyslog {
		dst = r.Header.appendClassic(dst, e.Hostname)
		dst = append(dst, ' ')
	}
	// Control characters are escaped the way rsyslog does by default
	// (#ooo, octal), so one record stays one line.
	for _, c := range r.Body {
		if c < 0x20 || c == 0x7f {
			dst = append(dst, '#', '0'+c>>6, '0'+(c>>3)&7, '0'+c&7)
			continue
		}
		dst = append(dst, c)
	}
	return append(dst, '\n')
}

// when returns the time of the record: when HAProxy received the request,
// else the syslog header's time, else now.
func when(r *Record, now func() time.Time) time.Time {
	switch {
	case !r.Received.IsZero():
		return r.Received
	case !r.Header.Timestamp.IsZero():
		return r.Header.Timestamp
	}
	return now().UTC()
}

// appendTime appends t as ISO 8601 with microseconds and Z:
// 2015-05-13T23:39:43.945958Z.
func appendTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	dst = appendPad(dst, y, 4)
	// The rest has a fixed width: append a template, fill in its digits.
	dst = append(dst, "-00-00T00:00:00.000000Z"...)
	b := dst[len(dst)-23:]
	put2(b[1:], int(mo))
	put2(b[4:], d)
	put2(b[7:], h)
	put2(b[10:], mi)
	put2(b[13:], s)
	put6(b[16:], t.Nanosecond()/1000)
	return dst
}

// digitPairs holds "00" to "99": one lookup writes two digits.
const digitPairs = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

// put2 writes n (0 to 99) as two digits to b[0:2].
func put2(b []byte, n int) {
	_ = b[1] // one bounds check for both writes
	b[0], b[1] = digitPairs[2*n], digitPairs[2*n+1]
}

// put6 writes n (0 to 999999) as six digits to b[0:6].
func put6(b []byte, n int) {
	put2(b[0:], n/10000)
	put2(b[2:], n/100%100)
	put2(b[4:], n%100)
}

// appendPad appends n (>= 0) zero-padded to width digits (more when n
// needs them). Numbers that fit the common widths skip the loop.
func appendPad(dst []byte, n, width int) []byte {
	switch {
	case n < 0:
		n = 0
	case width == 1 && n < 10:
		return append(dst, byte('0'+n))
	case width == 2 && n < 100:
		return append2(dst, n)
	case width == 4 && n < 10000:
		return append2(append2(dst, n/100), n%100)
	case width == 6 && n < 1000000:
		return append2(append2(append2(dst, n/10000), n/100%100), n%100)
	}
	var buf [20]byte
	i := len(buf)
	for n > 0 || width > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		width--
	}
	return append(dst, buf[i:]...)
}

// append2 appends n (0 to 99) as two digits.
func append2(dst []byte, n int) []byte {
	return append(dst, byte('0'+n/10), byte('0'+n%10))
}

// appendInt appends n in decimal.
func appendInt(dst []byte, n int64) []byte {
	if n >= 0 {
		return strconv.AppendInt(dst, n, 10)
	}
	return appendPad(append(dst, '-'), int(-n), 1)
}
