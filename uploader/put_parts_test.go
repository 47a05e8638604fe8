package uploader

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

// Put sends an object of one part in one PUT and a larger one (a file, or
// anything else that is an io.ReaderAt) in parts; a store that refuses a
// body as too large gets the object in smaller parts, and the objects
// after it go in parts at once. Each object reads back whole, with its
// metadata.
func TestRadosgwPutChoosesParts(t *testing.T) {
	env := testbed.Require(t)
	ctx := testbed.Context(t, 2*time.Minute)
	bucket := bedBucket(t, env)
	proxy := testbed.NewLimitProxy(t, env.S3Endpoint, 7<<20)
	up := provisionedClient(t, ctx, env, proxy.URL, bucket, 16<<20, nil)
	proxy.Counts() // what Provision sent
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
		if got := proxy.Counts(); got != want {
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
	// An upload of after.log abandoned by an agent killed in the middle of
	// it: aborted when the object starts again.
	if _, err := up.CreateUpload(ctx, Object{Bucket: bucket, Key: "after.log", OwnerAccount: env.LBOwner.Name}); err != nil {
		t.Fatalf("CreateUpload: %v", err)
	}
	// 13 MiB: the part size is 6 MiB now: 3 parts at once, nothing refused.
	put("after.log", 13<<20, "refused 0, single 0, parts 3")
	if sentParts != 5 {
		t.Errorf("%d parts went through Object.SendPart, want all 5", sentParts)
	}
	if ups, err := up.ListUploads(ctx, bucket, ""); err != nil || len(ups) != 0 {
		t.Errorf("uploads left in progress: %v, %v", ups, err)
	}
}

// loseUpload forwards to the store but answers the first
// CompleteMultipartUpload with 404 NoSuchUpload, as a store does whose
// lifecycle rule or another client aborted the upload meanwhile.
type loseUpload struct {
	next http.Handler

	mu               sync.Mutex
	lost             bool
	creates, answers int
}

func (p *loseUpload) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	if r.Method == http.MethodPost && q.Has("uploads") {
		p.creates++
	}
	lose := r.Method == http.MethodPost && q.Get("uploadId") != "" && !p.lost
	p.lost = p.lost || lose
	p.mu.Unlock()
	if lose {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>`)
		return
	}
	p.next.ServeHTTP(w, r)
}

// An upload the store lost before it was completed starts the object
// again, within the same Put: the object is whole, the lost upload is
// aborted (the store still had it here), nothing is left in progress.
func TestRadosgwPutRestartsALostUpload(t *testing.T) {
	env := testbed.Require(t)
	ctx := testbed.Context(t, 2*time.Minute)
	bucket := bedBucket(t, env)
	proxy := &loseUpload{next: storeProxy(t, env)}
	up := provisionedClient(t, ctx, env, serveProxy(t, proxy), bucket, MinPartSize, nil)
	body := lines(MinPartSize + 4096)
	if err := up.Put(ctx, Object{Bucket: bucket, Key: "lost.log", Body: bytes.NewReader(body), Size: int64(len(body)), OwnerAccount: env.LBOwner.Name}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got := rawGet(t, ctx, env.S3(env.LBOwner), bucket, "lost.log"); got != string(body) {
		t.Errorf("GET: %d bytes, want %d", len(got), len(body))
	}
	proxy.mu.Lock()
	if proxy.creates != 2 {
		t.Errorf("%d uploads created, want 2 (the object started again once)", proxy.creates)
	}
	proxy.mu.Unlock()
	if ups, err := up.ListUploads(ctx, bucket, ""); err != nil || len(ups) != 0 {
		t.Errorf("uploads left in progress: %v, %v", ups, err)
	}
}
