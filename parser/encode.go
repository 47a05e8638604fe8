package parser

import "fmt"

// Encoder appends the output line for r, newline included, to dst and
// returns the extended slice. Encoders must not retain r or dst.
type Encoder interface {
	Encode(dst []byte, r *Record) []byte
}

// NewEncoder returns the encoder for an access_log.format value.
func NewEncoder(format string) (Encoder, error) {
	switch format {
	case "raw":
		return RawEncoder{Hostname: "localhost"}, nil
	}
	return nil, fmt.Errorf("parser: unknown output format %q (want raw)", format)
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
	dst = append(dst, r.Body...)
	return append(dst, '\n')
}
