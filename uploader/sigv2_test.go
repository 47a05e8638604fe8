package uploader

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// The examples of the Amazon S3 developer guide, "Signing and
// authenticating REST requests" (RESTAuthentication), with their
// documented string to sign and signature.
func TestSigV2PublishedExamples(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	tests := []struct {
		name    string
		method  string
		url     string
		vhost   string // bucket addressed through the host name
		header  map[string][]string
		wantSTS string
		wantSig string
	}{
		{"object GET", "GET", "https://johnsmith.s3.amazonaws.com/photos/puppy.jpg", "johnsmith",
			map[string][]string{"Date": {"Tue, 27 Mar 2007 19:36:42 +0000"}},
			"GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg", "bWq2s1WEIj+Ydj0vQ697zp+IXMU="},
		{"object PUT", "PUT", "https://johnsmith.s3.amazonaws.com/photos/puppy.jpg", "johnsmith",
			map[string][]string{"Content-Type": {"image/jpeg"}, "Content-Length": {"94328"}, "Date": {"Tue, 27 Mar 2007 21:15:45 +0000"}},
			"PUT\n\nimage/jpeg\nTue, 27 Mar 2007 21:15:45 +0000\n/johnsmith/photos/puppy.jpg", "MyyxeRY7whkBe+bq8fHCL/2kKUg="},
		{"list", "GET", "https://johnsmith.s3.amazonaws.com/?prefix=photos&max-keys=50&marker=puppy", "johnsmith",
			map[string][]string{"User-Agent": {"Mozilla/5.0"}, "Date": {"Tue, 27 Mar 2007 19:42:41 +0000"}},
			"GET\n\n\nTue, 27 Mar 2007 19:42:41 +0000\n/johnsmith/", "htDYFYduRNen8P9ZfE/s9SuKy0U="},
		{"fetch ACL", "GET", "https://johnsmith.s3.amazonaws.com/?acl", "johnsmith",
			map[string][]string{"Date": {"Tue, 27 Mar 2007 19:44:46 +0000"}},
			"GET\n\n\nTue, 27 Mar 2007 19:44:46 +0000\n/johnsmith/?acl", "c2WLPFtWHVgbEmeEG93a4cG37dM="},
		{"upload with amz headers", "PUT", "http://static.johnsmith.net:8080/db-backup.dat.gz", "static.johnsmith.net",
			map[string][]string{
				"User-Agent": {"curl/7.15.5"}, "Date": {"Tue, 27 Mar 2007 21:06:08 +0000"},
				"X-Amz-Acl": {"public-read"}, "Content-Type": {"application/x-download"},
				"Content-Md5":                  {"4gJE4saaMU4BqNR0kLY+lw=="},
				"X-Amz-Meta-Reviewedby":        {"joe@johnsmith.net", "jane@johnsmith.net"},
				"X-Amz-Meta-Filechecksum":      {"0x02661779"},
				"X-Amz-Meta-Checksumalgorithm": {"crc32"},
				"Content-Disposition":          {"attachment; filename=database.dat"},
				"Content-Encoding":             {"gzip"}, "Content-Length": {"5913339"},
			},
			"PUT\n4gJE4saaMU4BqNR0kLY+lw==\napplication/x-download\nTue, 27 Mar 2007 21:06:08 +0000\n" +
				"x-amz-acl:public-read\nx-amz-meta-checksumalgorithm:crc32\nx-amz-meta-filechecksum:0x02661779\n" +
				"x-amz-meta-reviewedby:joe@johnsmith.net,jane@johnsmith.net\n/static.johnsmith.net/db-backup.dat.gz",
			"ilyl83RwaSoYIEdixDQcA4OnAnc="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			sts := stringToSignV2(tt.method, http.Header(tt.header), canonicalResourceV2(tt.vhost, u))
			if sts != tt.wantSTS {
				t.Errorf("string to sign:\n got %q\nwant %q", sts, tt.wantSTS)
			}
			if got := signatureV2(secret, sts); got != tt.wantSig {
				t.Errorf("signature: got %s, want %s", got, tt.wantSig)
			}
		})
	}
}

func TestSignV2PathStyle(t *testing.T) {
	tests := []struct {
		name, method, url string
		header            http.Header
		token             string
		wantSTS           string
	}{
		{"custom endpoint path, SDK's x-id left out", "PUT",
			"http://osg.example.com:8773/services/objectstorage/access_logs-lb_1.2.3.4_315dd646/elb-access-01122026-040500.log?x-id=PutObject",
			http.Header{"Content-Type": {"text/plain"}, "Content-Md5": {"abc="}, "X-Amz-Grant-Read": {"id=lbowner"}, "X-Amz-Grant-Full-Control": {"id=logger"}, "X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}},
			"",
			"PUT\nabc=\ntext/plain\nSun, 01 Feb 2026 03:04:05 GMT\nx-amz-grant-full-control:id=logger\nx-amz-grant-read:id=lbowner\n/services/objectstorage/access_logs-lb_1.2.3.4_315dd646/elb-access-01122026-040500.log"},
		{"sub-resources sorted, session token signed", "PUT", "http://127.0.0.1:7480/bkt?lifecycle=&versionId=3",
			http.Header{}, "TOKEN",
			"PUT\n\n\nSun, 01 Feb 2026 03:04:05 GMT\nx-amz-security-token:TOKEN\n/bkt?lifecycle&versionId=3"},
		{"escaped key", "GET", "http://127.0.0.1:7480/bkt/a%20b", http.Header{}, "",
			"GET\n\n\nSun, 01 Feb 2026 03:04:05 GMT\n/bkt/a%20b"},
	}
	now := time.Date(2026, 2, 1, 3, 4, 5, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := http.NewRequest(tt.method, tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			r.Header = tt.header
			creds := aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret", SessionToken: tt.token}
			signV2(r, creds, now)
			want := "AWS AKID:" + signatureV2("secret", tt.wantSTS)
			if got := r.Header.Get("Authorization"); got != want {
				t.Errorf("Authorization: got %q, want %q (string to sign %q)", got, want, tt.wantSTS)
			}
			if r.Header.Get("X-Amz-Content-Sha256") != "" {
				t.Errorf("x-amz-content-sha256 left in a v2 request")
			}
		})
	}
}
