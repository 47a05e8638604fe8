package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestIsUpload(t *testing.T) {
	tests := []struct {
		method, target string
		want           bool
	}{
		{"PUT", "/bkt/AWSLogs/lbowner/elasticloadbalancing/us-east-1/2026/11/25/x.log?x-id=PutObject", true},
		{"PUT", "/bkt/elb-access-25112026-061000.log", true},
		{"PUT", "/bkt/AWSLogs/lbowner/ELBAccessLogTestFile?x-id=PutObject", false},
		{"GET", "/bkt/elb-access-25112026-061000.log", false},
		{"PUT", "/bkt", false},
		{"PUT", "/bkt?acl", false},
		{"PUT", "/bkt?lifecycle", false},
		{"HEAD", "/bkt", false},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, nil)
			if got := isUpload(r); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestCountingProxyCounts sends requests through the proxy to a store
// that answers 200, 404 and 503, and checks what the proxy counted.
func TestCountingProxyCounts(t *testing.T) {
	store := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/slow.log"):
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
		case r.Method == http.MethodHead:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer store.Close()
	px, err := newCountingProxy(store.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer px.close()
	for _, req := range []struct{ method, path string }{
		{"HEAD", "/bkt"}, {"PUT", "/bkt"}, {"PUT", "/bkt?acl"},
		{"PUT", "/bkt/a.log"}, {"PUT", "/bkt/b.log"}, {"PUT", "/bkt/slow.log"},
	} {
		r, err := http.NewRequest(req.method, px.url+req.path, strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	c := px.snapshot()
	if c.totalPuts != 3 || c.totalProvs != 3 {
		t.Errorf("counted %d uploads and %d provisioning calls, want 3 and 3", c.totalPuts, c.totalProvs)
	}
	if len(c.latencies) != 3 || c.latencies[0] <= 0 || c.latencies[2] > 10*time.Second {
		t.Errorf("latencies: got %v, want 3 positive", c.latencies)
	}
	want := map[string]int{"Service Unavailable on upload": 1}
	if len(c.errors) != len(want) || c.errors["Service Unavailable on upload"] != 1 {
		t.Errorf("errors: got %v, want %v (a 404 to HEAD is an answer, not an error)", c.errors, want)
	}
}

func TestSeriesAndQuantile(t *testing.T) {
	if got, want := series([]int{0, 0, 3, 0, 5}), "from second 2: 3 0 5"; got != want {
		t.Errorf("series: got %q, want %q", got, want)
	}
	if got := series([]int{0, 0}); got != "none" {
		t.Errorf("series of nothing: got %q, want none", got)
	}
	d := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tt := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 6}, {0.99, 10}, {0, 1}} {
		if got := quantile(d, tt.q); got != tt.want {
			t.Errorf("quantile(%v): got %v, want %v", tt.q, got, tt.want)
		}
	}
	if got := quantile(nil, 0.5); got != 0 {
		t.Errorf("quantile of none: got %v, want 0", got)
	}
}
