package uploader

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

func TestStorageCheck(t *testing.T) {
	for _, c := range []struct {
		s    Storage
		want string // part of the error, "" for none
	}{
		{Storage{}, ""},
		{Storage{SSE: SSENone}, ""},
		{Storage{SSE: SSEAES256, StorageClass: "STANDARD_IA"}, ""},
		{Storage{SSE: SSEKMS, SSEKMSKeyID: "arn:aws:kms:us-east-1:123456789012:key/1234abcd"}, ""},
		{Storage{SSE: "aes256"}, `server-side encryption "aes256" is not none, AES256 or aws:kms`},
		{Storage{SSE: SSEAES256, SSEKMSKeyID: "k"}, `a KMS key id is set but server-side encryption is "AES256"`},
		{Storage{SSEKMSKeyID: "k"}, `server-side encryption is "none"`},
		{Storage{SSE: SSEKMS, SSEKMSKeyID: "a b"}, "white space"},
		{Storage{StorageClass: "standard"}, `storage class "standard"`},
		{Storage{StorageClass: "GLACIER\nX"}, `storage class "GLACIER\nX"`},
	} {
		err := c.s.Check()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: Check() = %v, want %q", c.s, err, c.want)
		}
		if _, err := New(Options{Region: "us-east-1", AccessKeyID: "a", SecretAccessKey: "s", Storage: c.s}); (err == nil) != (c.want == "") {
			t.Errorf("%+v: New() = %v", c.s, err)
		}
	}
}

// Every object, put whole or in parts, carries the encryption and the
// storage class asked for; nothing is sent when nothing is asked.
func TestStorageHeaders(t *testing.T) {
	names := []string{"X-Amz-Server-Side-Encryption", "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", "X-Amz-Storage-Class"}
	for _, c := range []struct {
		s    Storage
		want string
	}{
		{Storage{}, ""},
		{Storage{SSE: SSENone}, ""},
		{Storage{SSE: SSEAES256}, "x-amz-server-side-encryption: AES256"},
		{Storage{SSE: SSEKMS, SSEKMSKeyID: "key-1", StorageClass: "STANDARD_IA"},
			"x-amz-server-side-encryption-aws-kms-key-id: key-1\nx-amz-server-side-encryption: aws:kms\nx-amz-storage-class: STANDARD_IA"},
		{Storage{SSE: SSEKMS}, "x-amz-server-side-encryption: aws:kms"},
	} {
		for _, sig := range []string{SignatureV4, SignatureV2} {
			f := newFakeS3("AKID")
			f.buckets["bkt"] = true
			f.answers["POST /bkt/big.log"] = func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult><Bucket>bkt</Bucket><Key>big.log</Key><UploadId>u1</UploadId></InitiateMultipartUploadResult>`)
			}
			up := newTestClient(t, f, func(o *Options) { o.Storage, o.Signature, o.UploaderID = c.s, sig, "logger" })
			ctx := context.Background()
			if err := up.Put(ctx, Object{Bucket: "bkt", Key: "k.log", Body: strings.NewReader("x\n"), Size: 2}); err != nil {
				t.Fatalf("Put: %v", err)
			}
			if _, err := up.CreateUpload(ctx, Object{Bucket: "bkt", Key: "big.log"}); err != nil {
				t.Fatalf("CreateUpload: %v", err)
			}
			for _, req := range []string{"PUT /bkt/k.log", "POST /bkt/big.log"} {
				r := f.last(req)
				if r == nil {
					t.Fatalf("%s: not sent (sent %v)", req, f.sent())
				}
				if got := headerSubset(r.Header, names...); got != c.want {
					t.Errorf("%+v, %s, %s: headers\n%s\nwant\n%s", c.s, sig, req, got, c.want)
				}
			}
		}
	}
}

// The test bed's radosgw takes the standard class and refuses one it does
// not define, with an error that says so and is not retried unchanged.
func TestRadosgwStorageClass(t *testing.T) {
	env := testbed.Require(t)
	ctx := testbed.Context(t, time.Minute)
	bucket := bedBucket(t, env)
	for _, c := range []struct {
		class string
		ok    bool
	}{{"STANDARD", true}, {"NO_SUCH_CLASS", false}} {
		up, err := New(Options{Endpoint: env.S3Endpoint, Region: "us-east-1", PathStyle: true,
			AccessKeyID: env.Logger.AccessKey, SecretAccessKey: env.Logger.SecretKey, Storage: Storage{StorageClass: c.class}})
		if err != nil {
			t.Fatal(err)
		}
		if err := up.Provision(ctx, Bucket{Name: bucket, OwnerAccount: env.LBOwner.Name}); err != nil {
			t.Fatalf("Provision: %v", err)
		}
		err = coded(func() error {
			return up.Put(ctx, Object{Bucket: bucket, Key: c.class + ".log", Body: strings.NewReader("x\n"), Size: 2, OwnerAccount: env.LBOwner.Name})
		})
		if c.ok && err != nil {
			t.Errorf("Put with class %s: %v", c.class, err)
		}
		if !c.ok && (err == nil || Retryable(err)) {
			t.Errorf("Put with class %s: %v, want a permanent error", c.class, err)
		}
		if c.ok {
			u, err := up.CreateUpload(ctx, Object{Bucket: bucket, Key: "parts.log", OwnerAccount: env.LBOwner.Name})
			if err != nil {
				t.Fatalf("CreateUpload with class %s: %v", c.class, err)
			}
			up.AbortUpload(ctx, u)
		}
	}
}
