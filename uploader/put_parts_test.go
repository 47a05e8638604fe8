package uploader

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

// limitProxy forwards to the store but answers 400 EntityTooLarge, as S3
// does past 5 GiB, to every PUT whose body is larger than limit.
type limitProxy struct {
	next  *httputil.ReverseProxy
	limit int64

	mu              sync.Mutex
	refused, single int // PUTs refused; whole-object PUTs forwarded
	parts           int // UploadPart requests forwarded
}

func (p *limitProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut && r.ContentLength > p.limit {
		// Read the body first, so the refusal reaches the client even
		// when it sent the body without waiting for 100-continue.
		io.Copy(io.Discard, r.Body)
		p.mu.Lock()
		p.refused++
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>EntityTooLarge</Code><Message>Your proposed upload exceeds the maximum allowed object size.</Message><ProposedSize>%d</ProposedSize><MaxSizeAllowed>%d</MaxSizeAllowed></Error>`, r.ContentLength, p.limit)
		return
	}
	if isObject := strings.Contains(strings.Trim(r.URL.Path, "/"), "/"); r.Method == http.MethodPut && isObject && !strings.Contains(r.URL.RawQuery, "acl") {
		p.mu.Lock()
		if r.URL.Query().Get("partNumber") != "" {
			p.parts++
		} else {
			p.single++
		}
		p.mu.Unlock()
	}
	p.next.ServeHTTP(w, r)
}

// counts says what the proxy saw since the last call.
func (p *limitProxy) counts() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := fmt.Sprintf("refused %d, single %d, parts %d", p.refused, p.single, p.parts)
	p.refused, p.single, p.parts = 0, 0, 0
	return s
}

// Put sends an object of one part in one PUT and a larger one (a file, or
// anything else that is an io.ReaderAt) in parts; a store that refuses a
// body as too large gets the object in smaller parts, and the objects
// after it go in parts at once. Each object reads back whole, with its
// metadata.
func TestRadosgwPutChoosesParts(t *testing.T) {
	env := testbed.Require(t)
	ctx := testbed.Context(t, 2*time.Minute)
	bucket := bedBucket(t, env)
	target, err := url.Parse(env.S3Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	proxy := &limitProxy{next: httputil.NewSingleHostReverseProxy(target), limit: 7 << 20}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	up, err := New(Options{Endpoint: srv.URL, Region: "us-east-1", PathStyle: true, PartSize: 16 << 20,
		AccessKeyID: env.Logger.AccessKey, SecretAccessKey: env.Logger.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Provision(ctx, Bucket{Name: bucket, OwnerAccount: env.LBOwner.Name}); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	proxy.counts() // what Provision sent
	owner := env.S3(env.LBOwner)
	sentParts := 0 // parts sent through Object.SendPart
	put := func(key string, n int, want string) {
		t.Helper()
		body := lines(n)
		o := Object{Bucket: bucket, Key: key, Body: bytes.NewReader(body), Size: int64(n), OwnerAccount: env.LBOwner.Name,
			Metadata: map[string]string{"lines": "7"},
			SendPart: func(ctx context.Context, part func(context.Context) error) error { sentParts++; return part(ctx) }}
		if err := up.Put(ctx, o); err != nil {
			t.Fatalf("Put %s (%d bytes): %v", key, n, err)
		}
		if got := proxy.counts(); got != want {
			t.Errorf("Put %s (%d bytes): %s; want %s", key, n, got, want)
		}
		if got := rawGet(t, ctx, owner, bucket, key); got != string(body) {
			t.Fatalf("GET %s as owner: %d bytes, want the %d put", key, len(got), n)
		}
		head, err := owner.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil || head.Metadata["lines"] != "7" {
			t.Errorf("HEAD %s: %v, metadata %v", key, err, head.Metadata)
		}
	}
	// 1 MiB: one PUT.
	put("small.log", 1<<20, "refused 0, single 1, parts 0")
	// 12 MiB, under the 16 MiB part size: one PUT, refused as too large
	// (over 7 MiB), then 2 parts of 6 MiB.
	put("refused.log", 12<<20, "refused 1, single 0, parts 2")
	// 13 MiB: the part size is 6 MiB now: 3 parts at once, nothing refused.
	put("after.log", 13<<20, "refused 0, single 0, parts 3")
	if sentParts != 5 {
		t.Errorf("%d parts went through Object.SendPart, want all 5", sentParts)
	}
	if ups, err := up.ListUploads(ctx, bucket, ""); err != nil || len(ups) != 0 {
		t.Errorf("uploads left in progress: %v, %v", ups, err)
	}
}
