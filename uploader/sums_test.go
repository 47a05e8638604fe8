package uploader

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

// countingBody is a body that counts the bytes read from it, in sequence
// or at offsets (and has no WriteTo that would read around the count).
type countingBody struct {
	r    *bytes.Reader
	read atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.read.Add(int64(n))
	return n, err
}

func (b *countingBody) ReadAt(p []byte, off int64) (int, error) {
	n, err := b.r.ReadAt(p, off)
	b.read.Add(int64(n))
	return n, err
}

func (b *countingBody) Seek(off int64, whence int) (int64, error) { return b.r.Seek(off, whence) }

// sumsOf returns the digests of body in parts of part bytes, as the spool
// computes them.
func sumsOf(body []byte, part int64) Sums {
	s := Sums{PartSize: part, Size: int64(len(body))}
	for off := int64(0); off < int64(len(body)); off += part {
		s.MD5 = append(s.MD5, md5.Sum(body[off:min(off+part, int64(len(body)))]))
	}
	return s
}

// With the body's digests known, Put reads the body once (to send it) and
// sends them as its Content-MD5; without, it reads it twice (hash, send).
// Digests that do not match the body (a store answering BadDigest) get the
// object sent again, hashed as read. The fake store checks Content-MD5.
func TestPutUsesKnownSums(t *testing.T) {
	body := lines(100 << 10)
	good := sumsOf(body, MinPartSize)
	bad := sumsOf(body, MinPartSize)
	bad.MD5[0][0] ^= 1
	tests := []struct {
		name     string
		sums     Sums
		wantRead int64
		wantPUTs int
	}{
		{"known", good, int64(len(body)), 1},
		{"none", Sums{}, 2 * int64(len(body)), 1},
		{"other part size", sumsOf(body, 1<<10), 2 * int64(len(body)), 1},
		{"wrong", bad, 3 * int64(len(body)), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeS3("AKID")
			f.buckets["bkt"] = true
			c := newTestClient(t, f, func(o *Options) { o.UploaderID = "logger" })
			b := &countingBody{r: bytes.NewReader(body)}
			err := c.Put(context.Background(), Object{Bucket: "bkt", Key: "k.log", Body: b, Size: int64(len(body)), OwnerAccount: "owner", Sums: tt.sums})
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			if got := string(f.objects["bkt/k.log"]); got != string(body) {
				t.Errorf("stored %d bytes, want the %d put", len(got), len(body))
			}
			if got := b.read.Load(); got != tt.wantRead {
				t.Errorf("read %d bytes of the body, want %d", got, tt.wantRead)
			}
			puts := 0
			for _, s := range f.sent() {
				if s == "PUT /bkt/k.log" {
					puts++
				}
			}
			if puts != tt.wantPUTs {
				t.Errorf("%d PUTs, want %d: %v", puts, tt.wantPUTs, f.sent())
			}
		})
	}
}

// The same against radosgw, in parts: known digests are each part's
// Content-MD5 (radosgw checks them), the body is read once; a wrong one
// is refused and the object goes again, hashed as read, whole.
func TestRadosgwPutPartsUsesKnownSums(t *testing.T) {
	env := testbed.Require(t)
	ctx := testbed.Context(t, 2*time.Minute)
	bucket := bedBucket(t, env)
	up := provisionedClient(t, ctx, env, env.S3Endpoint, bucket, MinPartSize, nil)
	owner := env.S3(env.LBOwner)
	body := lines(2*MinPartSize + 12345) // three parts
	for i, wrong := range []bool{false, true} {
		sums := sumsOf(body, MinPartSize)
		want := int64(len(body))
		if wrong {
			sums.MD5[1][3] ^= 1
			want = -1 // more than once: checked below
		}
		key := fmt.Sprintf("sums-%d.log", i)
		b := &countingBody{r: bytes.NewReader(body)}
		if err := up.Put(ctx, Object{Bucket: bucket, Key: key, Body: b, Size: int64(len(body)), OwnerAccount: env.LBOwner.Name, Sums: sums}); err != nil {
			t.Fatalf("Put %s: %v", key, err)
		}
		if got := b.read.Load(); want > 0 && got != want || want < 0 && got <= int64(len(body)) {
			t.Errorf("%s: read %d bytes of a %d-byte body (wrong digest: %v)", key, got, len(body), wrong)
		}
		if got := rawGet(t, ctx, owner, bucket, key); got != string(body) {
			t.Errorf("GET %s as owner: %d bytes, want the %d put", key, len(got), len(body))
		}
	}
	if ups, err := up.ListUploads(ctx, bucket, ""); err != nil || len(ups) != 0 {
		t.Errorf("uploads left in progress: %v, %v", ups, err)
	}
}

var _ interface {
	io.ReadSeeker
	io.ReaderAt
} = (*countingBody)(nil)
