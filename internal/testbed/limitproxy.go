package testbed

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// LimitProxy is an object store in front of the bed's (target) that
// refuses every PUT whose body is larger than Limit with 400
// EntityTooLarge, as S3 refuses one PUT past 5 GiB: a store of a
// scaled-down limit. It counts what it refused and forwarded.
type LimitProxy struct {
	URL   string
	Limit int64
	next  *httputil.ReverseProxy

	mu      sync.Mutex
	refused int // PUTs refused
	whole   int // whole-object PUTs forwarded
	parts   int // UploadPart requests forwarded
}

// NewLimitProxy serves a LimitProxy for the store at target until the
// test ends.
func NewLimitProxy(t testing.TB, target string, limit int64) *LimitProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &LimitProxy{Limit: limit, next: httputil.NewSingleHostReverseProxy(u)}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

func (p *LimitProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	object := strings.Contains(strings.Trim(r.URL.Path, "/"), "/") && !strings.Contains(r.URL.RawQuery, "acl")
	if r.Method == http.MethodPut && r.ContentLength > p.Limit {
		// Read the body first, so the refusal reaches the client even
		// when it sent the body without waiting for 100-continue.
		io.Copy(io.Discard, r.Body)
		p.count(&p.refused)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>EntityTooLarge</Code><Message>Your proposed upload exceeds the maximum allowed object size.</Message><ProposedSize>%d</ProposedSize><MaxSizeAllowed>%d</MaxSizeAllowed></Error>`, r.ContentLength, p.Limit)
		return
	}
	if r.Method == http.MethodPut && object {
		if r.URL.Query().Get("partNumber") != "" {
			p.count(&p.parts)
		} else {
			p.count(&p.whole)
		}
	}
	p.next.ServeHTTP(w, r)
}

func (p *LimitProxy) count(n *int) {
	p.mu.Lock()
	*n++
	p.mu.Unlock()
}

// Counts says what the proxy saw since the last call: PUTs refused,
// whole-object PUTs and UploadPart requests forwarded.
func (p *LimitProxy) Counts() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := fmt.Sprintf("refused %d, single %d, parts %d", p.refused, p.whole, p.parts)
	p.refused, p.whole, p.parts = 0, 0, 0
	return s
}
