package uploader

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func newTestClient(t *testing.T, f *fakeS3, mod func(*Options)) *Client {
	t.Helper()
	opts := Options{Endpoint: f.start(t), Region: "us-east-1", AccessKeyID: f.akid, SecretAccessKey: "secret", PathStyle: true}
	if mod != nil {
		mod(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func TestEnsureBucket(t *testing.T) {
	tests := []struct {
		name    string
		exists  bool
		answers map[string]http.HandlerFunc
		want    []string
		wantErr error
	}{
		{"exists", true, nil, []string{"HEAD /bkt"}, nil},
		{"missing is created", false, nil, []string{"HEAD /bkt", "PUT /bkt"}, nil},
		{"created concurrently by us", false,
			map[string]http.HandlerFunc{"PUT /bkt": s3Error(409, "BucketAlreadyOwnedByYou")},
			[]string{"HEAD /bkt", "PUT /bkt"}, nil},
		{"owned by someone else", false,
			map[string]http.HandlerFunc{"HEAD /bkt": s3Error(403, "AccessDenied"), "PUT /bkt": s3Error(409, "BucketAlreadyExists")},
			[]string{"HEAD /bkt", "PUT /bkt"}, ErrBucketOwnedByOther},
		{"not allowed to create", false,
			map[string]http.HandlerFunc{"PUT /bkt": s3Error(403, "AccessDenied")},
			[]string{"HEAD /bkt", "PUT /bkt"}, ErrAccessDenied},
		{"bad name", false,
			map[string]http.HandlerFunc{"PUT /bkt": s3Error(400, "InvalidBucketName")},
			[]string{"HEAD /bkt", "PUT /bkt"}, ErrInvalidBucketName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeS3("AKID")
			f.buckets["bkt"] = tt.exists
			for k, h := range tt.answers {
				f.answers[k] = h
			}
			err := newTestClient(t, f, nil).EnsureBucket(context.Background(), "bkt")
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("EnsureBucket: got %v, want %v", err, tt.wantErr)
			}
			if got, want := strings.Join(f.sent(), ","), strings.Join(tt.want, ","); got != want {
				t.Errorf("requests: got %v, want %v", got, want)
			}
		})
	}
}

func TestPutHeaders(t *testing.T) {
	body := "line 1\nline 2\n"
	sum := md5.Sum([]byte(body))
	key := SeedKey(time.Date(2026, 2, 1, 3, 4, 5, 0, time.UTC))
	tests := []struct {
		name      string
		signature string
		self      string // configured UploaderID
		wantSent  []string
	}{
		{"v4, own id discovered", SignatureV4, "", []string{"GET /", "PUT /bkt/" + key}},
		{"v2, own id discovered", SignatureV2, "", []string{"GET /", "PUT /bkt/" + key}},
		{"v4, own id configured", SignatureV4, "logger", []string{"PUT /bkt/" + key}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeS3("AKID")
			f.buckets["bkt"] = true
			c := newTestClient(t, f, func(o *Options) { o.Signature, o.UploaderID = tt.signature, tt.self })
			for i := 0; i < 2; i++ { // the second Put reuses the cached id
				err := c.Put(context.Background(), Object{Bucket: "bkt", Key: key, Body: strings.NewReader(body), Size: int64(len(body)), OwnerAccount: "lbowner"})
				if err != nil {
					t.Fatalf("Put: %v", err)
				}
			}
			wantSent := append(tt.wantSent, "PUT /bkt/"+key)
			if got, want := strings.Join(f.sent(), ","), strings.Join(wantSent, ","); got != want {
				t.Errorf("requests:\n got %s\nwant %s", got, want)
			}
			put := f.last("PUT /bkt/" + key)
			got := headerSubset(put.Header, "X-Amz-Grant-Read", "X-Amz-Grant-Full-Control", "Content-Md5", "Content-Type", "X-Amz-Acl")
			want := strings.Join([]string{
				"content-md5: " + base64.StdEncoding.EncodeToString(sum[:]),
				"content-type: text/plain",
				"x-amz-grant-full-control: id=logger",
				"x-amz-grant-read: id=lbowner",
			}, "\n")
			if got != want {
				t.Errorf("headers:\n got %s\nwant %s", got, want)
			}
			if put.Body != body {
				t.Errorf("body: got %q, want %q", put.Body, body)
			}
			wantAuth := map[string]string{SignatureV4: "AWS4-HMAC-SHA256 ", SignatureV2: "AWS AKID:"}[tt.signature]
			if a := put.Header.Get("Authorization"); !strings.HasPrefix(a, wantAuth) {
				t.Errorf("Authorization: got %q, want prefix %q", a, wantAuth)
			}
		})
	}
}

func TestPutBodyFromOffset(t *testing.T) {
	// A body already read from (a retried upload) is sent from where it
	// stands, and the MD5 covers exactly those bytes.
	f := newFakeS3("AKID")
	f.buckets["bkt"] = true
	c := newTestClient(t, f, func(o *Options) { o.UploaderID = "logger" })
	r := strings.NewReader("skip|payload")
	r.Seek(5, 0)
	if err := c.Put(context.Background(), Object{Bucket: "bkt", Key: "k", Body: r, Size: 7}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got := string(f.objects["bkt/k"]); got != "payload" {
		t.Errorf("stored: got %q, want %q", got, "payload")
	}
	if h := f.last("PUT /bkt/k").Header.Get("X-Amz-Grant-Read"); h != "" {
		t.Errorf("x-amz-grant-read without an owner: got %q, want none", h)
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

// TestSetUploaderID: an id remembered from an earlier process spares Put
// the bucket ACL read; a known id is not replaced.
func TestSetUploaderID(t *testing.T) {
	f := newFakeS3("AKID")
	f.buckets["bkt"] = true
	c := newTestClient(t, f, nil)
	if got := c.UploaderID(); got != "" {
		t.Fatalf("UploaderID before: got %q, want empty", got)
	}
	c.SetUploaderID("logger")
	c.SetUploaderID("other")
	if got := c.UploaderID(); got != "logger" {
		t.Fatalf("UploaderID: got %q, want logger", got)
	}
	if err := c.Put(context.Background(), Object{Bucket: "bkt", Key: "k", Body: strings.NewReader("x"), Size: 1, OwnerAccount: "lbowner"}); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(f.sent(), ","), "PUT /bkt/k"; got != want {
		t.Errorf("requests: got %s, want %s", got, want)
	}
	if got := headerSubset(f.last("PUT /bkt/k").Header, "X-Amz-Grant-Full-Control"); got != "x-amz-grant-full-control: id=logger" {
		t.Errorf("grant: got %s", got)
	}
}
