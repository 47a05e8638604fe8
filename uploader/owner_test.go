package uploader

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestProvisionRefusesOthersBucket: a bucket someone else created first,
// even one that lets the uploader read its ACL, is refused with
// ErrBucketOwnedByOther before anything is written; the uploader's own id
// comes from ListBuckets, never from the bucket.
func TestProvisionRefusesOthersBucket(t *testing.T) {
	strangerACL := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>stranger</ID></Owner><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>logger</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>`))
	}
	for _, tt := range []struct {
		name string
		acl  http.HandlerFunc
	}{
		{"acl readable, owner stranger", strangerACL},
		{"acl denied, not in ListBuckets", s3Error(403, "AccessDenied")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeS3("AKID")
			f.answers["HEAD /theirs"] = func(w http.ResponseWriter, r *http.Request) {}
			f.answers["GET /theirs?acl"] = tt.acl
			c := newTestClient(t, f, nil)
			err := c.Provision(context.Background(), Bucket{Name: "theirs", OwnerAccount: "lbowner", LifecycleDays: 30})
			if !errors.Is(err, ErrBucketOwnedByOther) || Cause(err) != "bucket_owned_by_other" || Retryable(err) {
				t.Fatalf("Provision: got %v (cause %s), want ErrBucketOwnedByOther", err, Cause(err))
			}
			for _, r := range f.sent() {
				if r != "HEAD /theirs" && !strings.HasPrefix(r, "GET ") {
					t.Errorf("wrote to someone else's bucket: %s (all: %v)", r, f.sent())
				}
			}
			if got := c.UploaderID(); got != "logger" {
				t.Errorf("uploader id: got %q, want logger (ListBuckets' owner)", got)
			}
		})
	}
}

// TestExpectedBucketOwner: x-amz-expected-bucket-owner on the agent's own
// bucket's ACL and lifecycle, read and written, and on object PUTs: the uploader's id with auto on a
// custom endpoint, nothing with auto on AWS S3 (it wants an account id),
// a given value as it is, nothing when off; never on a user-owned bucket.
func TestExpectedBucketOwner(t *testing.T) {
	for _, tt := range []struct {
		name, opt string
		aws       bool
		want      string
	}{
		{"auto on a custom endpoint", ExpectedOwnerAuto, false, "logger"},
		{"auto on aws", ExpectedOwnerAuto, true, ""},
		{"given on aws", "111122223333", true, "111122223333"},
		{"off", ExpectedOwnerOff, false, ""},
		{"empty", "", false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeS3("AKID")
			u, _ := url.Parse(f.start(t))
			opts := Options{Region: "us-east-1", AccessKeyID: "AKID", SecretAccessKey: "s", PathStyle: true,
				HTTPClient: &http.Client{Transport: redirect{u}}, ExpectedBucketOwner: tt.opt}
			if !tt.aws {
				opts.Endpoint = u.String()
			}
			c, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if err := c.Provision(ctx, Bucket{Name: "bkt", OwnerAccount: "lbowner", LifecycleDays: 3}); err != nil {
				t.Fatalf("Provision: %v", err)
			}
			if err := c.Put(ctx, Object{Bucket: "bkt", Key: "k", Body: strings.NewReader("x"), Size: 1}); err != nil {
				t.Fatalf("Put: %v", err)
			}
			for _, what := range []string{"GET /bkt?acl", "PUT /bkt?acl", "GET /bkt?lifecycle", "PUT /bkt?lifecycle", "PUT /bkt/k"} {
				if got := f.last(what).Header.Get("X-Amz-Expected-Bucket-Owner"); got != tt.want {
					t.Errorf("%s: x-amz-expected-bucket-owner %q, want %q", what, got, tt.want)
				}
			}
			if err := c.Put(ctx, Object{Bucket: "bkt", Key: "u", Body: strings.NewReader("x"), Size: 1, CannedACL: CannedACLBucketOwnerFullControl}); err != nil {
				t.Fatalf("Put: %v", err)
			}
			if got := f.last("PUT /bkt/u").Header.Get("X-Amz-Expected-Bucket-Owner"); got != "" {
				t.Errorf("user-owned bucket: x-amz-expected-bucket-owner %q, want none", got)
			}
		})
	}
}

// TestOwnerGrantee: on AWS the owner's account id names keys, and its
// canonical id is the grantee.
func TestOwnerGrantee(t *testing.T) {
	f := newFakeS3("AKID")
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	const canonical = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
	b := Bucket{Name: "bkt", OwnerAccount: "111122223333", OwnerGrantee: canonical}
	if err := c.Provision(ctx, b); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	if err := c.Put(ctx, Object{Bucket: "bkt", Key: "k", Body: strings.NewReader("x"), Size: 1, OwnerAccount: "111122223333", OwnerGrantee: canonical}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	for _, what := range []string{"PUT /bkt?acl", "PUT /bkt/AWSLogs/111122223333/ELBAccessLogTestFile", "PUT /bkt/k"} {
		if got := f.last(what).Header.Get("X-Amz-Grant-Read"); got != "id="+canonical {
			t.Errorf("%s: x-amz-grant-read %q, want id=%s", what, got, canonical)
		}
	}
	if got := strings.Join(b.Plan(), "\n"); !strings.Contains(got, "READ id="+canonical) || !strings.Contains(got, "AWSLogs/111122223333/") {
		t.Errorf("plan: %s", got)
	}
}
