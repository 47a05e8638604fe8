package parser

import "bytes"

// ELBEncoder writes AWS Classic ELB access-log lines:
//
//	timestamp elb client:port backend:port request_processing_time backend_processing_time response_processing_time elb_status_code backend_status_code received_bytes sent_bytes "request" "user_agent" ssl_cipher ssl_protocol
//
// docs/elb-format.md says where each field comes from and what is logged
// where HAProxy cannot give the AWS value. A record of no known format is
// written raw (and counted by the caller), never dropped.
type ELBEncoder struct {
	opts EncoderOptions
	raw  RawEncoder
}

// Encode implements Encoder.
func (e ELBEncoder) Encode(dst []byte, r *Record) []byte {
	if r.Format == FormatUnknown {
		return e.raw.Encode(dst, r)
	}
	dst = appendTime(dst, when(r, e.opts.Now))
	dst = append(dst, ' ')
	switch {
	case e.opts.LBName != "":
		dst = append(dst, e.opts.LBName...)
	case len(r.Frontend) > 0:
		dst = appendSafe(dst, r.Frontend)
	default:
		dst = append(dst, '-')
	}
	dst = append(dst, ' ')
	dst = appendAddr(dst, r.ClientIP, r.ClientPort)
	dst = append(dst, ' ')
	if r.connectedServer() {
		dst = appendAddr(dst, r.ServerIP, r.ServerPort)
	} else {
		dst = append(dst, '-')
	}

	// Processing times: all -1 when the request could not be dispatched.
	req, backend, resp := -1, -1, -1
	if r.HTTP {
		if r.TRequest >= 0 && r.TQueue >= 0 && r.TConnect >= 0 {
			req, backend, resp = r.TRequest+r.TQueue+r.TConnect, r.TResponse, r.TData
		}
	} else if r.TQueue >= 0 && r.TConnect >= 0 {
		req, backend, resp = r.TQueue, r.TConnect, r.TData
	}
	if backend < 0 {
		resp = -1
	}
	for _, us := range [3]int{req, backend, resp} {
		dst = append(dst, ' ')
		dst = appendSeconds(dst, us)
	}

	if r.HTTP {
		dst = append(dst, ' ')
		dst = appendCount(dst, int64(r.Status))
		dst = append(dst, ' ')
		if r.backendAnswered() {
			dst = appendCount(dst, int64(r.Status))
		} else {
			dst = append(dst, '-')
		}
	} else {
		dst = append(dst, " - -"...)
	}
	dst = append(dst, ' ')
	dst = appendCount(dst, r.BytesRead)
	dst = append(dst, ' ')
	dst = appendCount(dst, r.BytesSent)

	if r.HTTP && len(r.Method) > 0 {
		dst = append(dst, " \""...)
		dst = appendSafe(dst, r.Method)
		dst = append(dst, ' ')
		dst = r.appendURL(dst)
		dst = append(dst, ' ')
		if len(r.Version) > 0 {
			dst = appendSafe(dst, r.Version)
		} else {
			dst = append(dst, '-')
		}
		dst = append(dst, "\" \""...)
		if r.HTTP && len(r.UserAgent) > 0 {
			dst = appendSafe(dst, r.UserAgent)
		} else {
			dst = append(dst, '-')
		}
		dst = append(dst, '"')
	} else {
		dst = append(dst, ` "- - - " "-"`...)
	}
	dst = append(dst, ' ')
	dst = appendDash(dst, r.SSLCipher)
	dst = append(dst, ' ')
	dst = appendDash(dst, r.SSLVersion)
	return append(dst, '\n')
}

// connectedServer reports whether the record names the server address the
// request went to.
func (r *Record) connectedServer() bool {
	return len(r.ServerIP) > 0 && !(len(r.ServerIP) == 1 && r.ServerIP[0] == '-') &&
		string(r.Server) != "<NOSRV>" && r.TConnect >= 0
}

// backendAnswered reports whether the status HAProxy logged is the one the
// server sent: a server was connected, its response headers arrived (%Tr
// is not -1), and the termination state does not say HAProxy answered
// itself (L: local processing) or stopped before the response headers
// (second character R, Q, C, H or T).
func (r *Record) backendAnswered() bool {
	if r.Status < 0 || r.TResponse < 0 || string(r.Server) == "<NOSRV>" || len(r.TermState) < 2 {
		return false
	}
	if r.TermState[0] == 'L' {
		return false
	}
	switch r.TermState[1] {
	case 'R', 'Q', 'C', 'H', 'T':
		return false
	}
	return true
}

// appendURL appends the absolute request URL: scheme://host:port/path. The
// host is the captured Host header, else the frontend address; the port is
// the frontend port, else the Host header's, else the scheme's default. A
// URI that is already absolute is kept; without any host the URI is
// written as logged.
func (r *Record) appendURL(dst []byte) []byte {
	if len(r.URI) == 0 || r.URI[0] != '/' { // absolute ("http://...") or not a path
		return appendSafe(dst, dashIfEmpty(r.URI))
	}
	host, hostPort := splitHostHeader(r.Host)
	if len(host) == 0 && len(r.FrontendIP) > 0 && string(r.FrontendIP) != "-" {
		host = r.FrontendIP
		if bytes.IndexByte(host, ':') >= 0 {
			dst = append(dst, "http"...)
			if r.SSL {
				dst = append(dst, 's')
			}
			dst = append(dst, "://["...)
			dst = appendSafe(dst, host)
			dst = append(dst, ']', ':')
			return appendSafe(appendPort(dst, r, hostPort), r.URI)
		}
	}
	if len(host) == 0 {
		return appendSafe(dst, r.URI)
	}
	dst = append(dst, "http"...)
	if r.SSL {
		dst = append(dst, 's')
	}
	dst = append(dst, "://"...)
	dst = appendSafe(dst, host)
	dst = append(dst, ':')
	dst = appendPort(dst, r, hostPort)
	return appendSafe(dst, r.URI)
}

func appendPort(dst []byte, r *Record, hostPort []byte) []byte {
	switch {
	case len(r.FrontendPort) > 0 && string(r.FrontendPort) != "-":
		return appendSafe(dst, r.FrontendPort)
	case len(hostPort) > 0:
		return appendSafe(dst, hostPort)
	case r.SSL:
		return append(dst, "443"...)
	}
	return append(dst, "80"...)
}

// splitHostHeader splits a Host header value into host and port; IPv6
// literals keep their brackets.
func splitHostHeader(h []byte) (host, port []byte) {
	i := bytes.LastIndexByte(h, ':')
	if i < 0 || bytes.IndexByte(h[i:], ']') >= 0 {
		return h, nil
	}
	if _, ok := digits(h[i+1:]); !ok {
		return h, nil
	}
	return h[:i], h[i+1:]
}

// appendSeconds appends microseconds as seconds with six decimals, or -1.
func appendSeconds(dst []byte, us int) []byte {
	switch {
	case us < 0:
		return append(dst, "-1"...)
	case us == 0: // the usual request and response processing time
		return append(dst, "0.000000"...)
	}
	dst = appendPad(dst, us/1000000, 1)
	dst = append(dst, ".000000"...)
	put6(dst[len(dst)-6:], us%1000000)
	return dst
}

// appendCount appends n, or "-" when it is unknown (-1).
func appendCount(dst []byte, n int64) []byte {
	if n < 0 {
		return append(dst, '-')
	}
	return appendInt(dst, n)
}

// appendDash appends v, or "-" when it is empty.
func appendDash(dst, v []byte) []byte {
	return appendSafe(dst, dashIfEmpty(v))
}

var dashBytes = []byte("-")

func dashIfEmpty(v []byte) []byte {
	if len(v) == 0 {
		return dashBytes
	}
	return v
}

// unsafeELB marks the bytes that would break an ELB line: the quote and
// control characters.
var unsafeELB = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t[0x7f] = true, true
	return t
}()

// appendSafe appends v with the bytes that would break an ELB line (the
// quote, control characters) written as HAProxy's #XX escapes, the form
// HAProxy itself logs them in.
func appendSafe(dst, v []byte) []byte {
	const hex = "0123456789ABCDEF"
	for len(v) > 0 {
		i := 0
		for i < len(v) && !unsafeELB[v[i]] {
			i++
		}
		dst = append(dst, v[:i]...)
		if i == len(v) {
			break
		}
		c := v[i]
		dst = append(dst, '#', hex[c>>4], hex[c&15])
		v = v[i+1:]
	}
	return dst
}

// appendAddr appends ip:port, or "-" when the address is unknown.
func appendAddr(dst, ip, port []byte) []byte {
	if len(ip) == 0 || (len(ip) == 1 && ip[0] == '-') {
		return append(dst, '-')
	}
	dst = appendSafe(dst, ip)
	dst = append(dst, ':')
	return appendSafe(dst, dashIfEmpty(port))
}
