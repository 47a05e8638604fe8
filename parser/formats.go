package parser

import (
	"bytes"
	"time"
)

// parseELB reads the recommended formats of packaging/haproxy (after their
// "elb-http "/"elb-tcp " tag):
//
//	elb-http %tr %ci:%cp %fi:%fp %si:%sp %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta/%Tt %ST %U %B %ts %sslc %sslv %{+Q}r %{+Q}hrl
//	elb-tcp  %t  %ci:%cp %fi:%fp %si:%sp %ft %b/%s %Tw/%Tc/%Tt %U %B %ts %sslc %sslv
//
// The captures (%hrl) are Host then User-Agent, as the snippet declares.
func (r *Record) parseELB(b []byte, http bool, dates *secondCache) bool {
	s := scanner{b: b}
	r.HTTP = http
	var ok bool
	if r.Received, ok = parseDate(s.next(), dates); !ok {
		return r.fail(&s, ReasonBadField)
	}
	if !r.addresses(&s, true, true) || !r.proxies(&s) {
		return r.fail(&s, ReasonBadField)
	}
	if http {
		var active int
		if !timers(s.next(), []*int{&r.TRequest, &r.TQueue, &r.TConnect, &r.TResponse, &active, &r.TTotal}) {
			return r.fail(&s, ReasonBadField)
		}
		r.deriveTData(active)
		st, ok := count(s.next())
		if !ok {
			return r.fail(&s, ReasonBadField)
		}
		r.Status = int(st)
	} else {
		if !timers(s.next(), []*int{&r.TQueue, &r.TConnect, &r.TTotal}) {
			return r.fail(&s, ReasonBadField)
		}
		r.deriveTData(r.TTotal)
	}
	if !r.sizes(s.next(), s.next()) {
		return r.fail(&s, ReasonBadField)
	}
	r.TermState = s.next()
	r.SSLCipher, r.SSLVersion = dash(s.next()), dash(s.next())
	if s.eof || len(r.TermState) != 2 {
		return r.fail(&s, ReasonBadField)
	}
	r.SSL = r.SSL || len(r.SSLCipher) > 0
	if !http {
		if len(s.rest()) != 0 {
			return r.fail(nil, ReasonBadField)
		}
		r.Format = FormatELB
		return true
	}
	req, isQuoted, complete := s.quoted()
	if !isQuoted || !complete {
		return r.fail(&scanner{eof: s.eof || !complete}, ReasonBadField)
	}
	r.Request = req
	r.splitRequest()
	r.Format = FormatELB
	i := 0
	for ; len(s.rest()) > 0; i++ {
		v, isQuoted, complete := s.quoted()
		if !isQuoted {
			return r.fail(nil, ReasonBadField)
		}
		if !complete {
			r.Truncated, r.Reason = true, ReasonTruncated
		}
		switch i {
		case 0:
			r.Host = dash(v)
		case 1:
			r.UserAgent = dash(v)
		}
	}
	if i == 1 {
		// The snippet captures Host and User-Agent: HAProxy logs "-" for
		// a missing header, so a lone Host is a line cut at a field end.
		r.Truncated, r.Reason = true, ReasonTruncated
	}
	return true
}

// parseStock reads HAProxy's "option httplog", "option httpslog" and
// "option tcplog" lines:
//
//	%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq [{%hrl}] [{%hsl}] %{+Q}r [httpslog's SSL errors and %[ssl_fc_sni]/%sslv/%sslc]
//	%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq
func (r *Record) parseStock(b []byte, dates *secondCache) bool {
	s := scanner{b: b}
	var ok bool
	if r.ClientIP, r.ClientPort, ok = splitHostPort(s.next()); !ok {
		return r.fail(nil, ReasonNoFormat)
	}
	date := s.next()
	if len(date) < 2 || date[0] != '[' || date[len(date)-1] != ']' {
		return r.fail(nil, ReasonNoFormat)
	}
	if r.Received, ok = parseDate(date[1:len(date)-1], dates); !ok {
		return r.fail(nil, ReasonNoFormat)
	}
	if !r.proxies(&s) {
		return r.fail(&s, ReasonBadField)
	}
	t := s.next()
	switch bytes.Count(t, []byte("/")) {
	case 4:
		r.HTTP = true
		r.Format = FormatHTTPLog
		var active int
		if !timers(t, []*int{&r.TRequest, &r.TQueue, &r.TConnect, &r.TResponse, &active}) {
			return r.fail(&s, ReasonBadField)
		}
		r.deriveTData(active)
		if active >= 0 && r.TRequest >= 0 {
			r.TTotal = active // %Ta: the total without the idle and handshake times
		}
		st, ok := count(s.next())
		if !ok {
			return r.fail(&s, ReasonBadField)
		}
		r.Status = int(st)
	case 2:
		r.Format = FormatTCPLog
		if !timers(t, []*int{&r.TQueue, &r.TConnect, &r.TTotal}) {
			return r.fail(&s, ReasonBadField)
		}
		r.deriveTData(r.TTotal)
	default:
		return r.fail(&s, ReasonBadField)
	}
	if !r.sizes(nil, s.next()) {
		return r.fail(&s, ReasonBadField)
	}
	if r.HTTP {
		s.next() // %CC
		s.next() // %CS
	}
	ts := s.next()
	if len(ts) != 2 && len(ts) != 4 {
		return r.fail(&s, ReasonBadField)
	}
	r.TermState = ts[:2]
	s.next() // %ac/%fc/%bc/%sc/%rc
	s.next() // %sq/%bq
	if s.eof {
		return r.fail(&s, ReasonBadField)
	}
	if !r.HTTP {
		if len(s.rest()) != 0 {
			return r.fail(nil, ReasonBadField)
		}
		return true
	}
	for group := 0; ; group++ {
		rest := s.rest()
		if len(rest) == 0 || rest[0] != '{' {
			break
		}
		end := bytes.IndexByte(rest, '}')
		if end < 0 {
			return r.fail(&scanner{eof: true}, ReasonBadField)
		}
		if group == 0 {
			r.requestCaptures(rest[1:end], '|')
		}
		s.b = rest[end+1:]
	}
	req, isQuoted, complete := s.quoted()
	if !isQuoted || !complete {
		return r.fail(&scanner{eof: s.eof || !complete}, ReasonBadField)
	}
	r.Request = req
	r.splitRequest()
	if len(s.rest()) == 0 {
		return true
	}
	// option httpslog: %[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed] %[ssl_fc_sni]/%sslv/%sslc
	errs, ssl := s.next(), s.next()
	if bytes.Count(errs, []byte("/")) != 4 || bytes.Count(ssl, []byte("/")) != 2 || len(s.rest()) != 0 {
		return r.fail(&s, ReasonBadField)
	}
	_, ssl, _ = bytes.Cut(ssl, []byte("/"))
	version, cipher, _ := bytes.Cut(ssl, []byte("/"))
	r.SSLVersion, r.SSLCipher = dash(version), dash(cipher)
	r.SSL = r.SSL || len(r.SSLCipher) > 0
	return true
}

// requestCaptures picks Host and User-Agent out of captured request
// headers separated by sep. The documented order is Host, then
// User-Agent; a first value that cannot be a host name (it holds '/' or a
// space) is taken as the user agent.
func (r *Record) requestCaptures(list []byte, sep byte) {
	first, rest, _ := bytes.Cut(list, []byte{sep})
	if len(first) > 0 && bytes.IndexAny(first, "/ ") < 0 {
		r.Host = first
		first, _, _ = bytes.Cut(rest, []byte{sep})
	}
	r.UserAgent = first
}

// parseLegacy reads the bodies tagged "httplog "/"tcplog ": the Eucalyptus
// servo formats when the first field is a Unix time, else the original
// recipe's formats.
func (r *Record) parseLegacy(b []byte, http bool) bool {
	first, _, _ := cutSpace(b)
	if _, isNum := digits(first); isNum && len(first) >= 9 {
		if r.parseServo(b, http) {
			return true
		}
		r.resetFields()
	}
	return r.parseRecipe(b, http)
}

// parseServo reads the Eucalyptus servo formats:
//
//	httplog %Ts %ci %cp %si %sp %Tq %Tw %Tc %Tr %Tt %ST %U %B %f %b %s %ts %r %hrl
//	tcplog %Ts %ci %cp %si %sp %Tw %Tc %Tt %U %B %f %b %s %ts
//
// %r and %hrl are not quoted: the request is METHOD URI VERSION (or
// "<BADREQ>"), then the captures, Host first, the user agent the rest.
func (r *Record) parseServo(b []byte, http bool) bool {
	s := scanner{b: b}
	r.HTTP = http
	ts, ok := atoi(s.next())
	if !ok || ts < 0 || ts > 1<<40 {
		return r.fail(&s, ReasonBadField)
	}
	r.Received = time.Unix(ts, 0).UTC()
	r.ClientIP, r.ClientPort = s.next(), s.next()
	r.ServerIP, r.ServerPort = s.next(), s.next()
	ts2 := []*int{&r.TQueue, &r.TConnect, &r.TTotal}
	if http {
		ts2 = []*int{&r.TRequest, &r.TQueue, &r.TConnect, &r.TResponse, &r.TTotal}
	}
	for _, p := range ts2 {
		if *p, ok = timer(s.next()); !ok {
			return r.fail(&s, ReasonBadField)
		}
	}
	r.deriveTData(r.TTotal)
	if http {
		st, ok := count(s.next())
		if !ok {
			return r.fail(&s, ReasonBadField)
		}
		r.Status = int(st)
	}
	if !r.sizes(s.next(), s.next()) {
		return r.fail(&s, ReasonBadField)
	}
	r.Frontend, r.Backend, r.Server = s.next(), s.next(), s.next()
	r.TermState = s.next()
	if s.eof || len(r.TermState) != 2 {
		return r.fail(&s, ReasonBadField)
	}
	r.Format = FormatServo
	if !http {
		return len(s.rest()) == 0 || r.fail(nil, ReasonBadField)
	}
	start := s.rest()
	m := s.next()
	if s.eof {
		return r.fail(&s, ReasonBadField)
	}
	end := len(start) - len(s.b)
	if string(m) != "<BADREQ>" {
		s.next() // URI
		if v := s.rest(); bytes.HasPrefix(v, []byte("HTTP/")) {
			s.next()
		}
		end = len(start) - len(s.b)
	}
	r.Request = start[:end]
	r.splitRequest()
	if hrl := s.rest(); len(hrl) > 0 {
		r.requestCaptures(hrl, ' ')
		if len(r.Host) > 0 {
			r.UserAgent = bytes.TrimLeft(hrl[len(r.Host):], " ")
		} else {
			r.UserAgent = hrl
		}
	}
	return true
}

// parseRecipe reads the original recipe's formats and their short
// predecessor:
//
//	httplog %f %b %s %ST %ts %Tq %Tw %Tc %Tr %Tt [%{+Q}r] [%ci:%cp %fi:%fp %si:%sp] [req_size=%U resp_size=%B]
//	tcplog %f %b %s %ts %Tw %Tc %Tt [%{+Q}r] [%ci:%cp %fi:%fp %si:%sp] [req_size=%U resp_size=%B]
func (r *Record) parseRecipe(b []byte, http bool) bool {
	s := scanner{b: b}
	r.HTTP = http
	r.Frontend, r.Backend, r.Server = s.next(), s.next(), s.next()
	var ts []*int
	if http {
		st, ok := count(s.next())
		if !ok {
			return r.fail(&s, ReasonBadField)
		}
		r.Status = int(st)
		r.TermState = s.next()
		ts = []*int{&r.TRequest, &r.TQueue, &r.TConnect, &r.TResponse, &r.TTotal}
	} else {
		r.TermState = s.next()
		ts = []*int{&r.TQueue, &r.TConnect, &r.TTotal}
	}
	if len(r.TermState) != 2 {
		return r.fail(&s, ReasonBadField)
	}
	var ok bool
	for _, p := range ts {
		if *p, ok = timer(s.next()); !ok {
			return r.fail(&s, ReasonBadField)
		}
	}
	r.deriveTData(r.TTotal)
	if len(s.rest()) == 0 {
		r.Format = FormatRecipeShort
		return true
	}
	r.Format = FormatRecipe
	if req, isQuoted, complete := s.quoted(); isQuoted {
		if !complete {
			return r.fail(&scanner{eof: true}, ReasonBadField)
		}
		r.Request = req
		if http {
			r.splitRequest()
		}
	}
	if rest := s.rest(); len(rest) > 0 && !bytes.HasPrefix(rest, []byte("req_size=")) {
		if !r.addresses(&s, true, true) {
			return r.fail(&s, ReasonBadField)
		}
	}
	if len(s.rest()) > 0 {
		u, okU := bytes.CutPrefix(s.next(), []byte("req_size="))
		bs, okB := bytes.CutPrefix(s.next(), []byte("resp_size="))
		if !okU || !okB || !r.sizes(u, bs) {
			return r.fail(&s, ReasonBadField)
		}
	}
	return len(s.rest()) == 0 || r.fail(nil, ReasonBadField)
}

// addresses reads "%ci:%cp %fi:%fp %si:%sp".
func (r *Record) addresses(s *scanner, frontend, server bool) bool {
	var ok bool
	if r.ClientIP, r.ClientPort, ok = splitHostPort(s.next()); !ok {
		return false
	}
	if frontend {
		if r.FrontendIP, r.FrontendPort, ok = splitHostPort(s.next()); !ok {
			return false
		}
	}
	if server {
		if r.ServerIP, r.ServerPort, ok = splitHostPort(s.next()); !ok {
			return false
		}
	}
	return true
}

// proxies reads "%ft %b/%s"; a '~' after the frontend name marks TLS.
func (r *Record) proxies(s *scanner) bool {
	r.Frontend = s.next()
	if n := len(r.Frontend); n > 1 && r.Frontend[n-1] == '~' {
		r.Frontend, r.SSL = r.Frontend[:n-1], true
	}
	var ok bool
	r.Backend, r.Server, ok = splitProxy(s.next())
	return ok && len(r.Frontend) > 0
}

// sizes reads %U and %B; a nil u means the format has no %U.
func (r *Record) sizes(u, b []byte) bool {
	var ok bool
	if u != nil {
		if r.BytesRead, ok = count(u); !ok {
			return false
		}
	}
	r.BytesSent, ok = count(b)
	return ok
}

// dash returns nil for HAProxy's "-" (no value).
func dash(b []byte) []byte {
	if len(b) == 1 && b[0] == '-' {
		return nil
	}
	return b
}
