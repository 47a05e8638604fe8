package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// countingProxy forwards every request to the store and counts, per second
// since reset, the uploads (PUTs of log objects) and everything else
// (provisioning: bucket HEAD/PUT, ACL, lifecycle, test file), with the
// latency of each upload and the errors.
type countingProxy struct {
	srv *http.Server
	url string

	mu        sync.Mutex
	start     time.Time
	puts      map[int]int // second since start -> uploads received
	provs     map[int]int // second since start -> provisioning calls received
	latencies []time.Duration
	errors    map[string]int // "503 on upload", "transport", ...
}

func newCountingProxy(target string) (*countingProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	rp := httputil.NewSingleHostReverseProxy(u) // keeps the Host the agent signed
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 4096, 4096
	rp.Transport = tr
	p := &countingProxy{}
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		p.countError("proxy: store unreachable")
		w.WriteHeader(http.StatusBadGateway)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p.url = "http://" + ln.Addr().String()
	p.reset()
	p.srv = &http.Server{Handler: p.handler(rp), ReadHeaderTimeout: time.Minute}
	go p.srv.Serve(ln)
	return p, nil
}

func (p *countingProxy) close() { p.srv.Close() }

// reset starts a new count at the start of the current wall-clock second,
// so that counted seconds are the seconds windows end on.
func (p *countingProxy) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.start = time.Now().Truncate(time.Second)
	p.puts, p.provs, p.latencies, p.errors = map[int]int{}, map[int]int{}, nil, map[string]int{}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (p *countingProxy) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upload := isUpload(r)
		t0 := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		took := time.Since(t0)
		p.mu.Lock()
		defer p.mu.Unlock()
		sec := int(t0.Sub(p.start) / time.Second)
		kind := "provisioning call"
		if upload {
			kind = "upload"
			p.puts[sec]++
			p.latencies = append(p.latencies, took)
		} else {
			p.provs[sec]++
			if debugRequests {
				fmt.Fprintf(os.Stderr, "debug: second %d: %s %s?%s -> %d in %v\n", sec, r.Method, r.URL.Path, r.URL.RawQuery, sw.status, took)
			}
		}
		switch {
		case sw.status >= 500 || sw.status == http.StatusTooManyRequests:
			p.errors[http.StatusText(sw.status)+" on "+kind]++
		case sw.status == http.StatusNotFound:
			// HEAD of a new bucket, a bucket without lifecycle, a
			// missing test file: provisioning asks, this is the answer.
		case sw.status >= 400:
			p.errors[http.StatusText(sw.status)+" on "+kind]++
		}
	})
}

func (p *countingProxy) countError(what string) {
	p.mu.Lock()
	p.errors[what]++
	p.mu.Unlock()
}

// debugRequests prints every provisioning call (FLEETSIM_DEBUG=1).
var debugRequests = os.Getenv("FLEETSIM_DEBUG") != ""

// isUpload reports whether r is the PUT of a log object (not of the test
// file, not of an ACL).
func isUpload(r *http.Request) bool {
	q := r.URL.Query() // the SDK adds x-id=PutObject
	if r.Method != http.MethodPut || q.Has("acl") || q.Has("lifecycle") || q.Has("uploads") {
		return false
	}
	_, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	return key != "" && !strings.HasSuffix(key, "ELBAccessLogTestFile")
}

// counts is what the proxy saw in one phase.
type counts struct {
	seconds    int   // length of the phase in whole seconds
	puts       []int // per second
	provs      []int
	latencies  []time.Duration // sorted
	errors     map[string]int
	totalPuts  int
	totalProvs int
}

func (p *countingProxy) snapshot() counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := int(time.Since(p.start)/time.Second) + 1
	c := counts{seconds: n, puts: make([]int, n), provs: make([]int, n), errors: map[string]int{}}
	for s, v := range p.puts {
		if s < n {
			c.puts[s] = v
		}
		c.totalPuts += v
	}
	for s, v := range p.provs {
		if s < n {
			c.provs[s] = v
		}
		c.totalProvs += v
	}
	c.latencies = append([]time.Duration(nil), p.latencies...)
	sort.Slice(c.latencies, func(i, j int) bool { return c.latencies[i] < c.latencies[j] })
	for k, v := range p.errors {
		c.errors[k] = v
	}
	return c
}

// quantile returns the q-quantile of sorted d, 0 for none.
func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(int(q*float64(len(d))), len(d)-1)]
}
