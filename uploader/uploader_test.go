package uploader

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a fake S3 endpoint that records what it was sent and answers
// from a table keyed by "METHOD path".
type recorder struct {
	mu       sync.Mutex
	requests []string
	bodies   map[string]string
	answers  map[string]func(w http.ResponseWriter)
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	k := r.Method + " " + r.URL.Path
	rec.requests = append(rec.requests, k)
	rec.bodies[k] = string(body)
	answer := rec.answers[k]
	rec.mu.Unlock()
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKID/") {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	if k == "PUT /bkt/elb-access-01022026-030405.log" && r.Header.Get("Content-Type") != "text/plain" {
		http.Error(w, "bad content type "+r.Header.Get("Content-Type"), http.StatusBadRequest)
		return
	}
	if answer != nil {
		answer(w)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func s3Error(status int, code string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>`+code+`</Code><Message>m</Message></Error>`)
	}
}

func newTestClient(t *testing.T, rec *recorder) *Client {
	t.Helper()
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	c, err := New(Options{Endpoint: srv.URL, Region: "us-east-1", AccessKeyID: "AKID", SecretAccessKey: "secret", PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEnsureBucket(t *testing.T) {
	tests := []struct {
		name    string
		answers map[string]func(http.ResponseWriter)
		want    []string
		wantErr error
	}{
		{"exists", nil, []string{"HEAD /bkt"}, nil},
		{"missing is created",
			map[string]func(http.ResponseWriter){"HEAD /bkt": s3Error(404, "NotFound")},
			[]string{"HEAD /bkt", "PUT /bkt"}, nil},
		{"created concurrently by us",
			map[string]func(http.ResponseWriter){"HEAD /bkt": s3Error(404, "NotFound"), "PUT /bkt": s3Error(409, "BucketAlreadyOwnedByYou")},
			[]string{"HEAD /bkt", "PUT /bkt"}, nil},
		{"owned by someone else",
			map[string]func(http.ResponseWriter){"HEAD /bkt": s3Error(404, "NotFound"), "PUT /bkt": s3Error(409, "BucketAlreadyExists")},
			[]string{"HEAD /bkt", "PUT /bkt"}, ErrBucketOwnedByOther},
		{"forbidden head",
			map[string]func(http.ResponseWriter){"HEAD /bkt": s3Error(403, "AccessDenied")},
			[]string{"HEAD /bkt"}, ErrBucketOwnedByOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{bodies: map[string]string{}, answers: tt.answers}
			err := newTestClient(t, rec).EnsureBucket(context.Background(), "bkt")
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("EnsureBucket: got %v, want %v", err, tt.wantErr)
			}
			if strings.Join(rec.requests, ",") != strings.Join(tt.want, ",") {
				t.Errorf("requests: got %v, want %v", rec.requests, tt.want)
			}
		})
	}
}

func TestPut(t *testing.T) {
	rec := &recorder{bodies: map[string]string{}}
	c := newTestClient(t, rec)
	key := SeedKey(time.Date(2026, 2, 1, 3, 4, 5, 0, time.UTC))
	body := "line 1\nline 2\n"
	if err := c.Put(context.Background(), Object{Bucket: "bkt", Key: key, Body: strings.NewReader(body), Size: int64(len(body))}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got := rec.bodies["PUT /bkt/"+key]; got != body {
		t.Errorf("stored body: got %q, want %q (requests %v)", got, body, rec.requests)
	}
}

func TestPutErrorIsReported(t *testing.T) {
	rec := &recorder{bodies: map[string]string{}, answers: map[string]func(http.ResponseWriter){
		"PUT /bkt/k": s3Error(403, "AccessDenied"),
	}}
	err := newTestClient(t, rec).Put(context.Background(), Object{Bucket: "bkt", Key: "k", Body: strings.NewReader("x"), Size: 1})
	if err == nil || !strings.Contains(err.Error(), "bkt/k") {
		t.Fatalf("Put: got %v, want an error naming bkt/k", err)
	}
}

func TestSeedKey(t *testing.T) {
	end := time.Date(2026, 12, 1, 5, 5, 0, 0, time.FixedZone("x", 3600))
	if got, want := SeedKey(end), "elb-access-01122026-040500.log"; got != want {
		t.Errorf("SeedKey: got %q, want %q", got, want)
	}
}

func TestAWSKey(t *testing.T) {
	got := AWSKey(AWSKeyParams{
		Prefix: "my-prefix/", Account: "123456789012", Region: "us-west-2", LBName: "my-loadbalancer",
		End: time.Date(2014, 2, 15, 23, 40, 0, 0, time.UTC), NodeIP: "172.160.001.192", Random: "20sg8hgm",
	})
	want := "my-prefix/AWSLogs/123456789012/elasticloadbalancing/us-west-2/2014/02/15/123456789012_elasticloadbalancing_us-west-2_my-loadbalancer_20140215T2340Z_172.160.001.192_20sg8hgm.log"
	if got != want {
		t.Errorf("AWSKey:\n got %s\nwant %s", got, want)
	}
	if got := TestFileKey("", "123456789012"); got != "AWSLogs/123456789012/ELBAccessLogTestFile" {
		t.Errorf("TestFileKey: %s", got)
	}
}
