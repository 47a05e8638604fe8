package parser_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
	"github.com/elb-access-logger/elb-access-logger/parser"
)

var update = flag.Bool("update", false, "rewrite testdata captures and golden files")

// Paths shared by the tests of this package.
const (
	captureDir  = "../testdata/haproxy"
	goldenDir   = "../testdata/golden"
	snippetPath = "../packaging/haproxy/elb-access-logger.cfg"
)

// captureFrontend is one HAProxy frontend of the capture, logging to its
// own UDP socket so every datagram is attributed to its format.
type captureFrontend struct {
	name   string // testdata file name without .log
	mode   string // http or tcp
	ssl    bool
	format parser.Format
	// conf is what goes into the frontend besides bind, mode and backend:
	// the log format and captures.
	conf string
	// logOpts is appended to the frontend's log line (e.g. "len 200").
	logOpts string
	// truncLen is the "log ... len" of a frontend that tests truncation:
	// HAProxy cuts its datagrams, header included, to this many bytes.
	truncLen int
}

// recommendedFormats reads the HTTP and TCP log-format lines of the
// shipped snippet, so the capture tests exactly what operators install.
func recommendedFormats(t *testing.T) (httpFormat, tcpFormat string) {
	t.Helper()
	data, err := os.ReadFile(snippetPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, `log-format "elb-http `):
			httpFormat = line
		case strings.HasPrefix(line, `log-format "elb-tcp `):
			tcpFormat = line
		}
	}
	if httpFormat == "" || tcpFormat == "" {
		t.Fatalf("%s: want an elb-http and an elb-tcp log-format line", snippetPath)
	}
	return httpFormat, tcpFormat
}

const (
	recipeHTTP = `log-format "httplog %f %b %s %ST %ts %Tq %Tw %Tc %Tr %Tt %{+Q}r %ci:%cp %fi:%fp %si:%sp req_size=%U resp_size=%B"`
	// The recipe's tcplog also logged %{+Q}r, which HAProxy 2.6 refuses in
	// mode tcp; lines with it (from older HAProxy) are in hand-made testdata.
	recipeTCP       = `log-format "tcplog %f %b %s %ts %Tw %Tc %Tt %ci:%cp %fi:%fp %si:%sp req_size=%U resp_size=%B"`
	recipeShortHTTP = `log-format "httplog %f %b %s %ST %ts %Tq %Tw %Tc %Tr %Tt"`
	recipeShortTCP  = `log-format "tcplog %f %b %s %ts %Tw %Tc %Tt"`
	servoHTTP       = `log-format "httplog %Ts %ci %cp %si %sp %Tq %Tw %Tc %Tr %Tt %ST %U %B %f %b %s %ts %r %hrl"`
	servoTCP        = `log-format "tcplog %Ts %ci %cp %si %sp %Tw %Tc %Tt %U %B %f %b %s %ts"`
	captureHeaders  = "capture request header Host len 255\n    capture request header User-Agent len 8192"
)

func captureFrontends(rec, recTCP string) []captureFrontend {
	return []captureFrontend{
		{name: "stock-httplog", mode: "http", format: parser.FormatHTTPLog, conf: "option httplog"},
		{name: "stock-httplog-captures", mode: "http", format: parser.FormatHTTPLog, conf: "option httplog\n    " + captureHeaders + "\n    capture response header Content-Type len 64"},
		{name: "stock-httplog-rfc5424", mode: "http", format: parser.FormatHTTPLog, conf: "option httplog", logOpts: "len 65535 format rfc5424"},
		{name: "stock-httpslog", mode: "http", ssl: true, format: parser.FormatHTTPLog, conf: "option httpslog\n    " + captureHeaders},
		{name: "stock-tcplog", mode: "tcp", format: parser.FormatTCPLog, conf: "option tcplog"},
		{name: "recipe-http", mode: "http", format: parser.FormatRecipe, conf: recipeHTTP},
		{name: "recipe-tcp", mode: "tcp", format: parser.FormatRecipe, conf: recipeTCP},
		{name: "recipe-short-http", mode: "http", format: parser.FormatRecipeShort, conf: recipeShortHTTP},
		{name: "recipe-short-tcp", mode: "tcp", format: parser.FormatRecipeShort, conf: recipeShortTCP},
		{name: "servo-http", mode: "http", format: parser.FormatServo, conf: servoHTTP + "\n    " + captureHeaders},
		{name: "servo-tcp", mode: "tcp", format: parser.FormatServo, conf: servoTCP},
		{name: "elb-http", mode: "http", format: parser.FormatELB, conf: rec + "\n    " + captureHeaders},
		{name: "elb-https", mode: "http", ssl: true, format: parser.FormatELB, conf: rec + "\n    " + captureHeaders},
		{name: "elb-tcp", mode: "tcp", format: parser.FormatELB, conf: recTCP},
		{name: "elb-ssl", mode: "tcp", ssl: true, format: parser.FormatELB, conf: recTCP},
		{name: "elb-http-truncated", mode: "http", format: parser.FormatELB, conf: rec + "\n    " + captureHeaders, logOpts: "len 280", truncLen: 280},
		{name: "elb-http-truncated-request", mode: "http", format: parser.FormatELB, conf: rec + "\n    " + captureHeaders, logOpts: "len 230", truncLen: 230},
	}
}

// captureRequest is one request sent to every http frontend.
type captureRequest struct {
	method, path, body string
	status             int
}

var captureRequests = []captureRequest{
	{"GET", "/index.html", "", 200},
	{"GET", "/a:b/c?q=1:2&ipv6=[::1]", "", 200},
	{"POST", "/post", "hello", 201},
	{"GET", "/missing", "", 404},
	{"GET", "/down/x", "", 503},  // server refuses the connection
	{"GET", "/nosrv/x", "", 503}, // backend without a server
}

const captureUserAgent = "curl/7.38.0 (x86_64; capture: \"quoted\")"

// TestCaptureHAProxy runs the test bed's HAProxy with one frontend per log
// format, sends real HTTP and TCP traffic through it, and checks that the
// parser recognises every datagram HAProxy sent. With -update it rewrites
// testdata/haproxy/*.log from the capture.
func TestCaptureHAProxy(t *testing.T) {
	env := testbed.RequireHAProxy(t)
	dir := t.TempDir()
	certFile := writeSelfSigned(t, dir)

	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		switch {
		case r.URL.Path == "/missing":
			http.NotFound(w, r)
		case r.Method == "POST":
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, "created\n")
		default:
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html>hello</html>\n")
		}
	}))
	defer backend.Close()
	echo := startEcho(t)
	closedPort := freePort(t, "tcp")

	fes := captureFrontends(recommendedFormats(t))
	type sink struct {
		conn *net.UDPConn
		mu   sync.Mutex
		got  [][]byte
	}
	sinks := make([]*sink, len(fes))
	ports := make([]string, len(fes))
	var cfg strings.Builder
	fmt.Fprintf(&cfg, `global
    nbthread 1
defaults
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    retries 0
backend be_http
    mode http
    server s1 %s
backend be_down
    mode http
    server s1 127.0.0.1:%s
backend be_none
    mode http
backend be_tcp
    mode tcp
    server s1 %s
`, strings.TrimPrefix(backend.URL, "http://"), closedPort, echo)
	for i, fe := range fes {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s := &sink{conn: c}
		sinks[i] = s
		go func() {
			buf := make([]byte, 65536)
			for {
				n, _, err := c.ReadFromUDP(buf)
				if err != nil {
					return
				}
				s.mu.Lock()
				s.got = append(s.got, append([]byte(nil), buf[:n]...))
				s.mu.Unlock()
			}
		}()
		ports[i] = freePort(t, "tcp")
		ssl := ""
		if fe.ssl {
			ssl = " ssl crt " + certFile
		}
		logOpts := " len 65535"
		if fe.logOpts != "" {
			logOpts = " " + fe.logOpts
		}
		fmt.Fprintf(&cfg, "frontend %s\n    mode %s\n    bind 127.0.0.1:%s%s\n    log %s %s local3 info\n    %s\n",
			fe.name, fe.mode, ports[i], ssl, c.LocalAddr(), logOpts, fe.conf)
		if fe.mode == "http" {
			cfg.WriteString("    use_backend be_down if { path_beg /down }\n    use_backend be_none if { path_beg /nosrv }\n    default_backend be_http\n")
		} else {
			cfg.WriteString("    default_backend be_tcp\n")
		}
	}
	cfgFile := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfgFile, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(env.HAProxy, "-c", "-f", cfgFile).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s\n%s", err, out, cfg.String())
	}
	cmd := exec.Command(env.HAProxy, "-db", "-f", cfgFile)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	for _, p := range ports {
		waitListening(t, "127.0.0.1:"+p)
	}

	// waitListening's probe connection is logged too: HAProxy reports
	// the client that closed without a request ("CR" in HTTP, "CD" in TCP).
	want := make([]int, len(fes))
	for i := range want {
		want[i] = 1
	}
	for i, fe := range fes {
		addr := "127.0.0.1:" + ports[i]
		if fe.mode == "tcp" {
			for _, msg := range []string{"hello\n", strings.Repeat("x", 1000) + "\n"} {
				tcpExchange(t, addr, fe.ssl, msg)
				want[i]++
			}
			continue
		}
		scheme := "http"
		if fe.ssl {
			scheme = "https"
		}
		tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} // the test's own self-signed cert
		client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		for _, rq := range captureRequests {
			req, err := http.NewRequest(rq.method, scheme+"://"+addr+rq.path, strings.NewReader(rq.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("User-Agent", captureUserAgent)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", fe.name, rq.path, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != rq.status {
				t.Errorf("%s %s: status got %d, want %d", fe.name, rq.path, resp.StatusCode, rq.status)
			}
			want[i]++
		}
		tr.CloseIdleConnections()
	}

	deadline := time.Now().Add(15 * time.Second)
	for i := range fes {
		for {
			sinks[i].mu.Lock()
			n := len(sinks[i].got)
			sinks[i].mu.Unlock()
			if n >= want[i] || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	p := parser.NewParser()
	for i, fe := range fes {
		sinks[i].mu.Lock()
		got := sinks[i].got
		sinks[i].mu.Unlock()
		t.Run(fe.name, func(t *testing.T) {
			if len(got) != want[i] {
				t.Fatalf("datagrams: got %d, want %d", len(got), want[i])
			}
			for _, d := range got {
				var r parser.Record
				if err := p.Parse(d, &r); err != nil {
					t.Errorf("Parse(%q): %v", d, err)
					continue
				}
				wantFormat, wantTrunc := fe.format, fe.truncLen > 0 && len(d) >= fe.truncLen && !endsWhole(d)
				if wantTrunc && !strings.Contains(string(d), `HTTP/1.1" "`) {
					wantFormat = parser.FormatUnknown // cut before the request line ended
				}
				if strings.Contains(string(d), "Connection closed during SSL handshake") {
					wantFormat = parser.FormatUnknown // HAProxy's connection error line
				}
				if r.Format != wantFormat {
					t.Errorf("Parse(%q): format got %v (%s), want %v", d, r.Format, r.Reason, wantFormat)
				}
				if r.Truncated != wantTrunc {
					t.Errorf("Parse(%q): truncated got %v, want %v", d, r.Truncated, wantTrunc)
				}
				checkCaptured(t, fe, d, &r)
			}
			if *update {
				path := filepath.Join(captureDir, fe.name+".log")
				if err := os.WriteFile(path, scrubCapture(got, ports[i], echo, backend.URL, closedPort), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// checkCaptured compares the fields the test knows with what was parsed.
// endsWhole reports whether an elb-http line ends with its last field,
// the captured User-Agent, whole: such a line was exactly as long as the
// frontend's "len" (short process ids make it so) and HAProxy cut nothing.
func endsWhole(d []byte) bool {
	ua := strings.ReplaceAll(captureUserAgent, `"`, "#22")
	return strings.HasSuffix(strings.TrimRight(string(d), "\n"), ` "`+ua+`"`)
}

func checkCaptured(t *testing.T, fe captureFrontend, d []byte, r *parser.Record) {
	t.Helper()
	if fe.truncLen > 0 || isProbe(r) || r.Format == parser.FormatUnknown {
		return
	}
	wantHTTP := fe.mode == "http"
	if r.HTTP != wantHTTP {
		t.Errorf("Parse(%q): HTTP got %v, want %v", d, r.HTTP, wantHTTP)
	}
	if !wantHTTP {
		// The probe sent nothing; the echoes were 6 and 1001 bytes.
		if fe.format != parser.FormatRecipeShort && r.BytesSent != 0 && r.BytesSent < 6 {
			t.Errorf("Parse(%q): bytes sent got %d, want >= 6", d, r.BytesSent)
		}
		return
	}
	// The request line says which request it was.
	var rq *captureRequest
	for k := range captureRequests {
		if strings.Contains(string(d), " "+captureRequests[k].path+" ") || strings.Contains(string(d), " "+captureRequests[k].path+"\"") {
			rq = &captureRequests[k]
		}
	}
	if rq == nil {
		if fe.format != parser.FormatRecipeShort {
			t.Errorf("Parse(%q): no known request in the line", d)
		}
		return
	}
	if r.Status != rq.status {
		t.Errorf("Parse(%q): status got %d, want %d", d, r.Status, rq.status)
	}
	if string(r.Method) != rq.method || string(r.URI) != rq.path {
		t.Errorf("Parse(%q): request got %s %s, want %s %s", d, r.Method, r.URI, rq.method, rq.path)
	}
	// HAProxy escapes '"' in captures as #22.
	if ua := strings.ReplaceAll(captureUserAgent, `"`, "#22"); (fe.format == parser.FormatELB || strings.Contains(fe.conf, "User-Agent")) && string(r.UserAgent) != ua {
		t.Errorf("Parse(%q): user agent got %q, want %q", d, r.UserAgent, ua)
	}
}

// isProbe tells waitListening's connection: closed by the client with no
// request and no data.
func isProbe(r *parser.Record) bool {
	return len(r.TermState) > 0 && r.TermState[0] == 'C' && (r.BytesRead <= 0 || !r.HTTP) && len(r.Method) == 0
}

// scrubCapture makes a capture stable: the ephemeral ports of the
// frontend, the backends and the closed port become 8080, 9000 and 9001,
// so regenerating testdata gives a small diff.
func scrubCapture(got [][]byte, fePort, echo, backendURL, closedPort string) []byte {
	_, echoPort, _ := net.SplitHostPort(echo)
	_, bePort, _ := net.SplitHostPort(strings.TrimPrefix(backendURL, "http://"))
	ports := map[string]string{fePort: "8080", echoPort: "9000", bePort: "9000", closedPort: "9001"}
	re := regexp.MustCompile(`\b(` + fePort + "|" + echoPort + "|" + bePort + "|" + closedPort + `)\b`)
	var out []byte
	for _, d := range got {
		s := re.ReplaceAllStringFunc(string(d), func(p string) string { return ports[p] })
		if !strings.HasSuffix(s, "\n") {
			s += "\n"
		}
		out = append(out, s...)
	}
	return out
}

func freePort(t *testing.T, network string) string {
	t.Helper()
	l, err := net.Listen(network, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy not listening on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startEcho starts a TCP server that echoes one line and closes.
func startEcho(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				line, _ := bufio.NewReader(c).ReadString('\n')
				io.WriteString(c, line)
			}()
		}
	}()
	return l.Addr().String()
}

func tcpExchange(t *testing.T, addr string, useTLS bool, msg string) {
	t.Helper()
	var c net.Conn
	var err error
	if useTLS {
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	} else {
		c, err = net.DialTimeout("tcp", addr, 5*time.Second)
	}
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, msg)
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || got != msg {
		t.Fatalf("echo through %s: got %q (%v), want %q", addr, got, err, msg)
	}
}

// writeSelfSigned writes a PEM file holding a fresh self-signed certificate
// and its key, as HAProxy's "crt" wants it.
func writeSelfSigned(t *testing.T, dir string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pemData := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	pemData = append(pemData, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})...)
	path := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(path, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
