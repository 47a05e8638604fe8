package ingest

import (
	"bytes"
	"fmt"
)

// TCP syslog framing (RFC 6587): each frame is either octet-counted,
// "MSG-LEN SP MSG" with MSG-LEN a decimal count of MSG's bytes, or
// LF-delimited, "MSG LF". As rsyslog does, the two are told apart per
// frame by its first byte: a digit 1-9 starts an octet count (a syslog
// message itself starts with '<'), anything else a line.

// maxLenDigits bounds the octet count: 10 digits take any length a
// sender could mean (and a 2 GB frame); an 11th digit is malformed.
const maxLenDigits = 10

// framer splits a TCP syslog stream into messages. It is given the bytes
// received and not consumed yet, takes one frame at a time and keeps no
// copy: the only state it carries from one call to the next is what is
// left to discard of a frame longer than max.
type framer struct {
	max      int   // longest message kept whole (syslog.max_message_bytes)
	skip     int64 // bytes of an oversized octet-counted frame still to discard
	skipLine bool  // discarding the rest of an oversized LF-delimited frame
}

// frameBuf is the buffer size that always holds a whole frame, or enough
// of one to cut it: max bytes, with an octet count and its space or LF.
func (f *framer) frameBuf() int { return f.max + maxLenDigits + 1 }

// malformedError says why a stream cannot be framed; the connection is
// closed.
type malformedError struct{ reason string }

func (e *malformedError) Error() string { return "malformed frame: " + e.reason }

// next takes the first frame of p, the bytes received and not consumed.
// It returns n, how many bytes of p the frame took (0: p holds no whole
// frame yet, read more), and msg, the message (nil when n bytes were
// discarded: the rest of an oversized frame), cut to max bytes when
// truncated. msg is a slice of p. Given len(p) >= frameBuf() bytes it
// always returns n > 0 or an error.
func (f *framer) next(p []byte) (msg []byte, n int, truncated bool, err error) {
	switch {
	case f.skip > 0:
		n = int(min(int64(len(p)), f.skip))
		f.skip -= int64(n)
		return nil, n, false, nil
	case f.skipLine:
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			return nil, len(p), false, nil
		}
		f.skipLine = false
		return nil, i + 1, false, nil
	case len(p) == 0:
		return nil, 0, false, nil
	case p[0] >= '1' && p[0] <= '9':
		return f.counted(p)
	}
	i := bytes.IndexByte(p[:min(len(p), f.max+1)], '\n')
	if i >= 0 {
		return bytes.TrimSuffix(p[:i], []byte{'\r'}), i + 1, false, nil
	}
	if len(p) <= f.max {
		return nil, 0, false, nil
	}
	f.skipLine = true
	return p[:f.max], f.max, true, nil
}

// counted takes an octet-counted frame.
func (f *framer) counted(p []byte) (msg []byte, n int, truncated bool, err error) {
	var length int64
	i := 0
	for ; i < len(p) && p[i] >= '0' && p[i] <= '9'; i++ {
		if i == maxLenDigits {
			return nil, 0, false, &malformedError{fmt.Sprintf("octet count %q... longer than %d digits", p[:i], maxLenDigits)}
		}
		length = length*10 + int64(p[i]-'0')
	}
	if i == len(p) {
		return nil, 0, false, nil
	}
	if p[i] != ' ' {
		return nil, 0, false, &malformedError{fmt.Sprintf("octet count %q followed by byte 0x%02x, not a space", p[:i], p[i])}
	}
	body := p[i+1:]
	if length <= int64(f.max) {
		if int64(len(body)) < length {
			return nil, 0, false, nil
		}
		return body[:length], i + 1 + int(length), false, nil
	}
	if len(body) < f.max {
		return nil, 0, false, nil
	}
	f.skip = length - int64(f.max)
	return body[:f.max], i + 1 + f.max, true, nil
}
