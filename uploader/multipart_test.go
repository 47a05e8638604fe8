package uploader

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

func TestPartSize(t *testing.T) {
	for _, c := range []struct{ total, configured, want int64 }{
		{0, 0, MinPartSize},
		{100 << 20, 16 << 20, 16 << 20},
		{MaxParts * (16 << 20), 16 << 20, 16 << 20},
		// One byte more than 10,000 parts of 16 MiB hold: the next whole MiB.
		{MaxParts*(16<<20) + 1, 16 << 20, 17 << 20},
		// 5 TiB, the largest S3 object, in 10,000 parts.
		{5 << 40, 16 << 20, 525 << 20},
		{1 << 50, 16 << 20, MaxPartSize},
	} {
		if got := PartSize(c.total, c.configured); got != c.want {
			t.Errorf("PartSize(%d, %d) = %d, want %d", c.total, c.configured, got, c.want)
		}
		if c.total > 0 && c.want < MaxPartSize && (c.total+c.want-1)/c.want > MaxParts {
			t.Errorf("PartSize(%d, %d) = %d needs more than %d parts", c.total, c.configured, c.want, MaxParts)
		}
	}
}

// lines returns n bytes of numbered lines, so a part boundary falls inside
// a line and a misplaced byte shows.
func lines(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "line %09d of a window larger than one part\n", i)
	}
	return b.Bytes()[:n]
}

// A window larger than a part reaches the bucket whole, with the grants and
// metadata a single PUT gives it, under both signature versions.
func TestRadosgwPutParts(t *testing.T) {
	env := testbed.Require(t)
	for _, sig := range []string{SignatureV4, SignatureV2} {
		t.Run(sig, func(t *testing.T) {
			ctx := testbed.Context(t, 2*time.Minute)
			bucket := bedBucket(t, env)
			up := bedClient(t, env, sig)
			if err := up.Provision(ctx, Bucket{Name: bucket, OwnerAccount: env.LBOwner.Name}); err != nil {
				t.Fatalf("Provision: %v", err)
			}
			body := lines(2*MinPartSize + 12345)
			key := "elb-access-05122026-010000.log"
			o := Object{Bucket: bucket, Key: key, OwnerAccount: env.LBOwner.Name, Metadata: map[string]string{"lines": "42", "counts": "complete"}}
			var sent []int
			send := func(ctx context.Context, part func(context.Context) error) error {
				sent = append(sent, len(sent)+1)
				return part(ctx)
			}
			if err := up.PutParts(ctx, o, bytes.NewReader(body), int64(len(body)), MinPartSize, send); err != nil {
				t.Fatalf("PutParts: %v", err)
			}
			if len(sent) != 3 {
				t.Errorf("parts sent: %d, want 3", len(sent))
			}
			// The load balancer's owner reads it, byte for byte.
			owner := env.S3(env.LBOwner)
			if got := rawGet(t, ctx, owner, bucket, key); got != string(body) {
				t.Fatalf("GET as owner: %d bytes, want %d (same bytes: %v)", len(got), len(body), got == string(body))
			}
			head, err := owner.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			if err != nil {
				t.Fatalf("HEAD as owner: %v", err)
			}
			if head.Metadata["lines"] != "42" || head.Metadata["counts"] != "complete" || aws.ToString(head.ContentType) != "text/plain" {
				t.Errorf("metadata %v, content type %q", head.Metadata, aws.ToString(head.ContentType))
			}
			if !strings.HasSuffix(strings.Trim(aws.ToString(head.ETag), `"`), "-3") {
				t.Errorf("ETag %s: not the ETag of a 3-part upload", aws.ToString(head.ETag))
			}
			acl, err := env.S3(env.Logger).GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			if err != nil {
				t.Fatalf("GetObjectAcl: %v", err)
			}
			if got, want := grants(acl.Grants), env.LBOwner.Name+":READ,"+env.Logger.Name+":FULL_CONTROL"; got != want {
				t.Errorf("object grants %s, want %s", got, want)
			}
			if _, err := env.S3(env.Stranger).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); !isAccessDenied(err) {
				t.Errorf("GET as stranger: %v, want access denied", err)
			}
			if ups, err := up.ListUploads(ctx, bucket, ""); err != nil || len(ups) != 0 {
				t.Errorf("uploads left in progress: %v, %v", ups, err)
			}
		})
	}
}

// The steps of a streamed window: the object appears only once complete;
// the store's list of parts is what a restart resumes from; a finished or
// aborted upload is gone (ErrNoSuchUpload); a wrong ETag is refused.
func TestRadosgwUploadSteps(t *testing.T) {
	env := testbed.Require(t)
	ctx := testbed.Context(t, 2*time.Minute)
	bucket := bedBucket(t, env)
	up := bedClient(t, env, SignatureV4)
	if err := up.Provision(ctx, Bucket{Name: bucket, OwnerAccount: env.LBOwner.Name}); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	logger := env.S3(env.Logger)
	key := "AWSLogs/123/elasticloadbalancing/us-east-1/2026/12/05/x.log"
	u, err := up.CreateUpload(ctx, Object{Bucket: bucket, Key: key, OwnerAccount: env.LBOwner.Name})
	if err != nil {
		t.Fatalf("CreateUpload: %v", err)
	}
	p1, p2 := lines(MinPartSize), []byte("the last part may be short\n")
	var acked []Part
	for i, b := range [][]byte{p1, p2} {
		p, err := up.UploadPart(ctx, u, int32(i+1), bytes.NewReader(b), int64(len(b)), nil)
		if err != nil {
			t.Fatalf("UploadPart %d: %v", i+1, err)
		}
		acked = append(acked, p)
	}
	if _, err := logger.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); httpStatus(err) != http.StatusNotFound {
		t.Errorf("HEAD before complete: %v, want 404", err)
	}
	listed, err := up.ListParts(ctx, u)
	if err != nil {
		t.Fatalf("ListParts: %v", err)
	}
	if fmt.Sprint(listed) != fmt.Sprint(acked) {
		t.Errorf("ListParts: %v, want what UploadPart acknowledged: %v", listed, acked)
	}
	if ups, err := up.ListUploads(ctx, bucket, "AWSLogs/"); err != nil || len(ups) != 1 || ups[0] != u {
		t.Errorf("ListUploads: %v, %v; want [%v]", ups, err, u)
	}
	bad := append([]Part(nil), acked...)
	bad[0].ETag = `"00000000000000000000000000000000"`
	if err := up.CompleteUpload(ctx, u, bad); !errors.Is(err, ErrInvalidPart) || Retryable(err) {
		t.Errorf("Complete with a wrong ETag: %v (cause %s), want ErrInvalidPart", err, Cause(err))
	}
	// Parts in any order; the store assembles them by number.
	if err := up.CompleteUpload(ctx, u, []Part{acked[1], acked[0]}); err != nil {
		t.Fatalf("CompleteUpload: %v", err)
	}
	// Completing again, as a caller does whose first answer was lost, finds
	// the object made of these parts: done, not NoSuchUpload.
	if err := up.CompleteUpload(ctx, u, acked); err != nil {
		t.Errorf("CompleteUpload a second time: %v, want nil (the object is there)", err)
	}

	if got := rawGet(t, ctx, env.S3(env.LBOwner), bucket, key); got != string(p1)+string(p2) {
		t.Errorf("GET as owner: %d bytes, want %d", len(got), len(p1)+len(p2))
	}
	if _, err := up.ListParts(ctx, u); !errors.Is(err, ErrNoSuchUpload) {
		t.Errorf("ListParts after complete: %v, want ErrNoSuchUpload", err)
	}

	// Abort: the parts are gone and a second abort is no error.
	v, err := up.CreateUpload(ctx, Object{Bucket: bucket, Key: "abandoned.log", OwnerAccount: env.LBOwner.Name})
	if err != nil {
		t.Fatalf("CreateUpload: %v", err)
	}
	if _, err := up.UploadPart(ctx, v, 1, strings.NewReader("x\n"), 2, nil); err != nil {
		t.Fatalf("UploadPart: %v", err)
	}
	for i := 0; i < 2; i++ {
		if err := up.AbortUpload(ctx, v); err != nil {
			t.Errorf("AbortUpload #%d: %v", i+1, err)
		}
	}
	if _, err := up.UploadPart(ctx, v, 2, strings.NewReader("y\n"), 2, nil); !errors.Is(err, ErrNoSuchUpload) {
		t.Errorf("UploadPart after abort: %v, want ErrNoSuchUpload", err)
	}
	if ups, err := up.ListUploads(ctx, bucket, ""); err != nil || len(ups) != 0 {
		t.Errorf("uploads left: %v, %v", ups, err)
	}
}

// dropProxy forwards to the store but cuts the connection in the middle of
// the first request whose query has part, after reading half its body.
type dropProxy struct {
	next *httputil.ReverseProxy
	part string // e.g. "partNumber=2"

	mu      sync.Mutex
	dropped bool
	parts   map[string]int // partNumber -> requests seen
}

func (p *dropProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	if n := q.Get("partNumber"); n != "" {
		p.parts[n]++
	}
	drop := !p.dropped && strings.Contains(r.URL.RawQuery, p.part)
	p.dropped = p.dropped || drop
	p.mu.Unlock()
	if drop {
		io.CopyN(io.Discard, r.Body, r.ContentLength/2)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		}
		return
	}
	p.next.ServeHTTP(w, r)
}

// A connection dropped in the middle of a part is a network error, retried
// for that part alone; the object is whole and nothing is left behind.
func TestRadosgwPartRetriedAlone(t *testing.T) {
	env := testbed.Require(t)
	ctx := testbed.Context(t, 2*time.Minute)
	bucket := bedBucket(t, env)
	proxy := &dropProxy{next: storeProxy(t, env), part: "partNumber=2", parts: map[string]int{}}
	up := provisionedClient(t, ctx, env, serveProxy(t, proxy), bucket, 0, nil)
	body := lines(3 * MinPartSize)
	var failures []error
	retry := func(ctx context.Context, part func(context.Context) error) error {
		for attempt := 0; ; attempt++ {
			err := part(ctx)
			if err == nil || attempt == 2 || !Retryable(err) {
				return err
			}
			failures = append(failures, err)
		}
	}
	if err := up.PutParts(ctx, Object{Bucket: bucket, Key: "k.log", OwnerAccount: env.LBOwner.Name}, bytes.NewReader(body), int64(len(body)), MinPartSize, retry); err != nil {
		t.Fatalf("PutParts: %v", err)
	}
	if len(failures) != 1 || !errors.Is(failures[0], ErrNetwork) {
		t.Errorf("failures: %v, want one network error", failures)
	}
	proxy.mu.Lock()
	if fmt.Sprint(proxy.parts) != "map[1:1 2:2 3:1]" {
		t.Errorf("part requests %v: want part 2 sent twice, the others once", proxy.parts)
	}
	proxy.mu.Unlock()
	if got := rawGet(t, ctx, env.S3(env.LBOwner), bucket, "k.log"); got != string(body) {
		t.Errorf("GET: %d bytes, want %d", len(got), len(body))
	}
}

// A part that fails for good aborts the upload, so the store keeps no
// orphaned parts, and the error says why.
func TestRadosgwPutPartsAbortsOnFailure(t *testing.T) {
	env := testbed.Require(t)
	ctx := testbed.Context(t, time.Minute)
	bucket := bedBucket(t, env)
	up := bedClient(t, env, SignatureV4)
	if err := up.Provision(ctx, Bucket{Name: bucket, OwnerAccount: env.LBOwner.Name}); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	body := lines(2*MinPartSize + 1)
	refuse := errors.New("refused by the test")
	n := 0
	send := func(ctx context.Context, part func(context.Context) error) error {
		if n++; n == 2 {
			return refuse
		}
		return part(ctx)
	}
	err := up.PutParts(ctx, Object{Bucket: bucket, Key: "k.log"}, bytes.NewReader(body), int64(len(body)), MinPartSize, send)
	if !errors.Is(err, refuse) {
		t.Fatalf("PutParts: %v, want the part's error", err)
	}
	if ups, err := up.ListUploads(ctx, bucket, ""); err != nil || len(ups) != 0 {
		t.Errorf("uploads left after a failed PutParts: %v, %v", ups, err)
	}
	if _, err := env.S3(env.Logger).HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("k.log")}); httpStatus(err) != http.StatusNotFound {
		t.Errorf("HEAD after a failed PutParts: %v, want 404", err)
	}
}

// A Complete whose answer was lost is sent again; the store then no longer
// knows the upload, and the object is there if its ETag is the one these
// parts make.
func TestCompleteAgain(t *testing.T) {
	parts := []Part{{1, 5, `"5d41402abc4b2a76b9719d911017c592"`}, {2, 5, `"7d793037a0760186574b0282f2f435e7"`}}
	for _, c := range []struct {
		etag string
		want error
	}{
		// md5(md5("hello") || md5("world")) and the count.
		{`"` + "065947336a2f2a95ba8899f3675c3be6-2" + `"`, nil},
		{`"065947336a2f2a95ba8899f3675c3be6-3"`, ErrNoSuchUpload},
		{`"5eb63bbbe01eeed093cb22bb8f5acdc3"`, ErrNoSuchUpload},
	} {
		f := newFakeS3("AKID")
		f.buckets["bkt"] = true
		f.answers["POST /bkt/k"] = s3Error(404, "NoSuchUpload")
		f.answers["HEAD /bkt/k"] = func(w http.ResponseWriter, r *http.Request) { w.Header().Set("ETag", c.etag) }
		up := newTestClient(t, f, nil)
		err := up.CompleteUpload(context.Background(), Upload{Bucket: "bkt", Key: "k", ID: "u"}, parts)
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("object ETag %s: CompleteUpload = %v, want %v", c.etag, err, c.want)
		}
	}
}
