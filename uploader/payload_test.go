package uploader

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

// corrupter records the payload-hash and MD5 headers of every request
// that sends an object's bytes and flips one byte of the body of those
// whose path ends in "corrupt.log", as a faulty network path would.
type corrupter struct {
	next http.RoundTripper

	mu      sync.Mutex
	hashes  []string // x-amz-content-sha256 of each PUT
	missing int      // PUTs of bytes without Content-MD5
}

func (c *corrupter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPut && r.ContentLength > 0 && !strings.Contains(r.URL.RawQuery, "acl") && strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1 {
		c.mu.Lock()
		c.hashes = append(c.hashes, r.Header.Get("X-Amz-Content-Sha256"))
		if r.Header.Get("Content-Md5") == "" {
			c.missing++
		}
		c.mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "corrupt.log") {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				return nil, err
			}
			body[len(body)/2] ^= 1
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
	}
	return c.next.RoundTrip(r)
}

// Object bytes go unhashed into the SigV4 signature (UNSIGNED-PAYLOAD: one
// pass less over every byte), whole PUTs and parts alike, and always with
// a Content-MD5: a body changed on the way is refused by the store, under
// both signatures.
func TestRadosgwUnsignedPayloadKeepsIntegrity(t *testing.T) {
	env := testbed.Require(t)
	for _, sig := range []string{SignatureV4, SignatureV2} {
		t.Run(sig, func(t *testing.T) {
			ctx := testbed.Context(t, 2*time.Minute)
			bucket := bedBucket(t, env)
			rec := &corrupter{next: http.DefaultTransport}
			up, err := New(Options{Endpoint: env.S3Endpoint, Region: "us-east-1", PathStyle: true, Signature: sig,
				AccessKeyID: env.Logger.AccessKey, SecretAccessKey: env.Logger.SecretKey, PartSize: MinPartSize,
				HTTPClient: &http.Client{Transport: rec, Timeout: time.Minute}})
			if err != nil {
				t.Fatal(err)
			}
			if err := up.Provision(ctx, Bucket{Name: bucket, OwnerAccount: env.LBOwner.Name}); err != nil {
				t.Fatalf("Provision: %v", err)
			}
			rec.mu.Lock()
			rec.hashes, rec.missing = nil, 0
			rec.mu.Unlock()
			owner := env.S3(env.LBOwner)
			for _, n := range []int{1000, MinPartSize + 1000} {
				body := lines(n)
				if err := up.Put(ctx, Object{Bucket: bucket, Key: "ok.log", Body: bytes.NewReader(body), Size: int64(n), OwnerAccount: env.LBOwner.Name}); err != nil {
					t.Fatalf("Put %d bytes: %v", n, err)
				}
				if got := rawGet(t, ctx, owner, bucket, "ok.log"); got != string(body) {
					t.Errorf("GET after a Put of %d bytes: %d bytes back", n, len(got))
				}
				err := up.Put(ctx, Object{Bucket: bucket, Key: "corrupt.log", Body: bytes.NewReader(body), Size: int64(n), OwnerAccount: env.LBOwner.Name})
				if err == nil {
					t.Errorf("Put of %d bytes changed on the way: accepted", n)
				}
				if _, err := owner.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("corrupt.log")}); err == nil {
					t.Errorf("a changed body of %d bytes became an object", n)
				}
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			want := map[string]string{SignatureV4: "UNSIGNED-PAYLOAD", SignatureV2: ""}[sig]
			for _, h := range rec.hashes {
				if h != want {
					t.Errorf("x-amz-content-sha256 %q, want %q", h, want)
					break
				}
			}
			if len(rec.hashes) < 5 || rec.missing > 0 {
				t.Errorf("%d PUTs of bytes seen, %d without Content-MD5; want whole PUTs and parts, all with it", len(rec.hashes), rec.missing)
			}
		})
	}
}
