package uploader

import (
	"bytes"
	"compress/gzip"
	"io"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

// A Gzip object is a gzip file in the bucket: Content-Type
// application/gzip, no Content-Encoding (a download stays .gz), the lines
// whole once decompressed, the metadata and grants of any object; in one
// PUT or in parts; and no temporary file is left behind.
func TestRadosgwGzipObject(t *testing.T) {
	env := testbed.Require(t)
	ctx := testbed.Context(t, 2*time.Minute)
	bucket := bedBucket(t, env)
	tmp := t.TempDir()
	up := provisionedClient(t, ctx, env, env.S3Endpoint, bucket, MinPartSize, func(o *Options) { o.TempDir = tmp })
	owner := env.S3(env.LBOwner)
	// Numbered lines compress about eighteenfold; lines of random hex
	// about twofold, so 14 MiB of them are over one part (5 MiB) gzipped.
	for _, body := range [][]byte{lines(100 << 10), hexLines(14 << 20)} {
		n := len(body)
		key := "gz.log.gz"
		if err := up.Put(ctx, Object{Bucket: bucket, Key: key, Body: bytes.NewReader(body), Size: int64(n), Gzip: true,
			OwnerAccount: env.LBOwner.Name, Metadata: map[string]string{"lines": "3"}}); err != nil {
			t.Fatalf("Put %d bytes gzipped: %v", n, err)
		}
		out, err := owner.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("GET as owner: %v", err)
		}
		raw, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if ct, ce := aws.ToString(out.ContentType), aws.ToString(out.ContentEncoding); ct != "application/gzip" || ce != "" {
			t.Errorf("Content-Type %q, Content-Encoding %q; want application/gzip and none", ct, ce)
		}
		if out.Metadata["lines"] != "3" {
			t.Errorf("metadata %v", out.Metadata)
		}
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("the object is not gzip: %v", err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("decompressed: %d bytes (%v), want the %d put", len(got), err, n)
		}
		t.Logf("%d bytes of lines: %d gzipped (%.1fx), multipart %v", n, len(raw), float64(n)/float64(len(raw)),
			bytes.Contains([]byte(aws.ToString(out.ETag)), []byte("-")))
		if gotParts := bytes.Contains([]byte(aws.ToString(out.ETag)), []byte("-")); gotParts != (len(raw) > MinPartSize) {
			t.Errorf("ETag %s for %d gzipped bytes: in parts %v, want %v", aws.ToString(out.ETag), len(raw), gotParts, len(raw) > MinPartSize)
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temporary files left in TempDir: %v", left)
	}
}

// hexLines returns n bytes of lines of random hex digits.
func hexLines(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		if i%81 == 80 {
			b[i] = '\n'
			continue
		}
		b[i] = "0123456789abcdef"[r.IntN(16)]
	}
	return b
}
