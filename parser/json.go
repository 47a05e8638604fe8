package parser

import "unicode/utf8"

// JSONEncoder writes one JSON object per line with every parsed field.
// Byte fields are strings (invalid UTF-8 is replaced by U+FFFD), timers are
// milliseconds with microsecond decimals (-1: never happened), counts are
// -1 when the format does not log them. Absent strings are omitted.
type JSONEncoder struct {
	opts EncoderOptions
}

// Encode implements Encoder.
func (e JSONEncoder) Encode(dst []byte, r *Record) []byte {
	dst = append(dst, `{"time":"`...)
	dst = appendTime(dst, when(r, e.opts.Now))
	dst = append(dst, `","format":"`...)
	dst = append(dst, r.Format.String()...)
	dst = append(dst, '"')
	if e.opts.LBName != "" {
		dst = jsonField(dst, "elb", e.opts.LBName)
	}
	if r.Truncated {
		dst = append(dst, `,"truncated":true`...)
	}
	if r.Reason != "" {
		dst = jsonField(dst, "reason", r.Reason)
	}
	if r.Format != FormatUnknown {
		dst = append(dst, `,"http":`...)
		dst = appendBool(dst, r.HTTP)
		dst = append(dst, `,"ssl":`...)
		dst = appendBool(dst, r.SSL)
		for _, f := range [...]struct {
			name string
			v    []byte
		}{
			{"client_ip", r.ClientIP}, {"client_port", r.ClientPort},
			{"frontend_ip", r.FrontendIP}, {"frontend_port", r.FrontendPort},
			{"server_ip", r.ServerIP}, {"server_port", r.ServerPort},
			{"frontend", r.Frontend}, {"backend", r.Backend}, {"server", r.Server},
			{"termination_state", r.TermState},
			{"request", r.Request}, {"method", r.Method}, {"uri", r.URI}, {"version", r.Version},
			{"host", r.Host}, {"user_agent", r.UserAgent},
			{"ssl_cipher", r.SSLCipher}, {"ssl_version", r.SSLVersion},
		} {
			if len(f.v) > 0 {
				dst = jsonField(dst, f.name, f.v)
			}
		}
		for _, f := range [...]struct {
			name string
			us   int
		}{
			{"request_ms", r.TRequest}, {"queue_ms", r.TQueue}, {"connect_ms", r.TConnect},
			{"response_ms", r.TResponse}, {"data_ms", r.TData}, {"total_ms", r.TTotal},
		} {
			dst = append(dst, `,"`...)
			dst = append(dst, f.name...)
			dst = append(dst, `":`...)
			dst = appendMillis(dst, f.us)
		}
		dst = append(dst, `,"status":`...)
		dst = appendInt(dst, int64(r.Status))
		dst = append(dst, `,"bytes_read":`...)
		dst = appendInt(dst, r.BytesRead)
		dst = append(dst, `,"bytes_sent":`...)
		dst = appendInt(dst, r.BytesSent)
	}
	dst = append(dst, `,"syslog":{`...)
	dst = append(dst, `"priority":`...)
	dst = appendInt(dst, int64(r.Header.Priority))
	if !r.Header.Timestamp.IsZero() {
		dst = append(dst, `,"timestamp":"`...)
		dst = appendTime(dst, r.Header.Timestamp)
		dst = append(dst, '"')
	}
	for _, f := range [...]struct{ name, v string }{
		{"hostname", r.Header.Hostname}, {"tag", r.Header.Tag}, {"pid", r.Header.PID},
	} {
		if f.v != "" {
			dst = append(dst, `,"`...)
			dst = append(dst, f.name...)
			dst = append(dst, `":`...)
			dst = appendJSONString(dst, f.v)
		}
	}
	dst = append(dst, '}')
	dst = jsonField(dst, "message", r.Body)
	return append(dst, "}\n"...)
}

func jsonField[T []byte | string](dst []byte, name string, v T) []byte {
	dst = append(dst, `,"`...)
	dst = append(dst, name...)
	dst = append(dst, `":`...)
	return appendJSONString(dst, v)
}

func appendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, "true"...)
	}
	return append(dst, "false"...)
}

// appendMillis appends microseconds as milliseconds ("12.345"), or -1.
func appendMillis(dst []byte, us int) []byte {
	if us < 0 {
		return append(dst, "-1"...)
	}
	dst = appendPad(dst, us/1000, 1)
	if us%1000 != 0 {
		dst = append(dst, '.')
		dst = appendPad(dst, us%1000, 3)
	}
	return dst
}

// appendJSONString appends s as a JSON string.
func appendJSONString[T []byte | string](dst []byte, s T) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		var buf [utf8.UTFMax]byte
		r, n := utf8.DecodeRune(buf[:copy(buf[:], s[i:])])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, buf[:n]...)
		}
		i += n
	}
	return append(dst, '"')
}
