package uploader

import (
	"crypto/md5"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
)

// fakeS3 is a small in-memory S3 endpoint for unit tests. It records every
// request as sent, checks the access key of the Authorization header (v4
// or v2) and Content-MD5, and keeps buckets, objects, ACL headers and
// lifecycle XML. answers overrides the reply to "METHOD path[?sub]".
type fakeS3 struct {
	akid   string
	prefix string // endpoint path, e.g. /services/objectstorage

	mu        sync.Mutex
	requests  []*recorded
	buckets   map[string]bool
	objects   map[string][]byte
	lifecycle map[string]string
	acls      map[string]string // bucket -> <Grant> elements of its ACL
	answers   map[string]http.HandlerFunc
}

type recorded struct {
	Method, Path, Sub string // Sub is the sub-resource (acl, lifecycle) or ""
	Query             url.Values
	Header            http.Header
	Body              string
}

func (r *recorded) String() string {
	if r.Sub != "" {
		return r.Method + " " + r.Path + "?" + r.Sub
	}
	return r.Method + " " + r.Path
}

func newFakeS3(akid string) *fakeS3 {
	return &fakeS3{akid: akid, buckets: map[string]bool{}, objects: map[string][]byte{}, lifecycle: map[string]string{}, acls: map[string]string{}, answers: map[string]http.HandlerFunc{}}
}

// start serves f over plain HTTP and returns its URL (with f.prefix).
func (f *fakeS3) start(t *testing.T) string {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv.URL + f.prefix
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := &recorded{Method: r.Method, Path: strings.TrimPrefix(r.URL.Path, f.prefix), Query: r.URL.Query(), Header: r.Header.Clone(), Body: string(body)}
	for _, s := range []string{"acl", "lifecycle"} {
		if r.URL.Query().Has(s) {
			rec.Sub = s
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, rec)
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential="+f.akid+"/") && !strings.HasPrefix(auth, "AWS "+f.akid+":") {
		s3Error(http.StatusForbidden, "InvalidAccessKeyId")(w, r)
		return
	}
	if h := f.answers[rec.String()]; h != nil {
		h(w, r)
		return
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(rec.Path, "/"), "/")
	switch {
	case bucket == "" && r.Method == http.MethodGet: // ListBuckets: all are logger's
		w.Header().Set("Content-Type", "application/xml")
		names := make([]string, 0, len(f.buckets))
		for b := range f.buckets {
			names = append(names, b)
		}
		sort.Strings(names)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>logger</ID><DisplayName>logger</DisplayName></Owner><Buckets>`)
		for _, b := range names {
			io.WriteString(w, `<Bucket><Name>`+b+`</Name><CreationDate>2026-01-01T00:00:00.000Z</CreationDate></Bucket>`)
		}
		io.WriteString(w, `</Buckets></ListAllMyBucketsResult>`)
	case bucket != "" && !f.buckets[bucket] && rec.String() != "PUT /"+bucket:
		s3Error(http.StatusNotFound, "NoSuchBucket")(w, r)
	case key == "" && rec.Sub == "acl" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "application/xml")
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>logger</ID><DisplayName>logger</DisplayName></Owner><AccessControlList>`+f.acls[bucket]+`</AccessControlList></AccessControlPolicy>`)
	case key == "" && rec.Sub == "" && r.Method == http.MethodHead:
	case key == "" && rec.Sub == "" && r.Method == http.MethodPut:
		if f.buckets[bucket] {
			s3Error(http.StatusConflict, "BucketAlreadyOwnedByYou")(w, r)
			return
		}
		f.buckets[bucket] = true
	case key == "" && rec.Sub == "acl" && r.Method == http.MethodPut:
		f.acls[bucket] = ""
		for h, perm := range map[string]string{"X-Amz-Grant-Full-Control": "FULL_CONTROL", "X-Amz-Grant-Read": "READ"} {
			if id, ok := strings.CutPrefix(r.Header.Get(h), "id="); ok {
				f.acls[bucket] += `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>` + id + `</ID></Grantee><Permission>` + perm + `</Permission></Grant>`
			}
		}
	case key == "" && rec.Sub == "lifecycle":
		switch r.Method {
		case http.MethodGet:
			if f.lifecycle[bucket] == "" {
				s3Error(http.StatusNotFound, "NoSuchLifecycleConfiguration")(w, r)
				return
			}
			io.WriteString(w, f.lifecycle[bucket])
		case http.MethodPut:
			f.lifecycle[bucket] = string(body)
		case http.MethodDelete:
			delete(f.lifecycle, bucket)
			w.WriteHeader(http.StatusNoContent)
		}
	case key != "" && r.Method == http.MethodPut:
		sum := md5.Sum(body)
		if r.Header.Get("Content-MD5") != base64.StdEncoding.EncodeToString(sum[:]) {
			s3Error(http.StatusBadRequest, "BadDigest")(w, r)
			return
		}
		f.objects[bucket+"/"+key] = body
	case key != "" && r.Method == http.MethodGet:
		b, ok := f.objects[bucket+"/"+key]
		if !ok {
			s3Error(http.StatusNotFound, "NoSuchKey")(w, r)
			return
		}
		w.Write(b)
	default:
		http.Error(w, "fakeS3: unexpected "+rec.String(), http.StatusNotImplemented)
	}
}

// sent returns the requests as "METHOD path[?sub]".
func (f *fakeS3) sent() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.requests {
		out = append(out, r.String())
	}
	return out
}

// last returns the last request matching "METHOD path[?sub]", or nil.
func (f *fakeS3) last(what string) *recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.requests) - 1; i >= 0; i-- {
		if f.requests[i].String() == what {
			return f.requests[i]
		}
	}
	return nil
}

func s3Error(status int, code string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>`+code+`</Code><Message>m</Message></Error>`)
		}
	}
}

// headerSubset returns the named headers of h as "name: value" lines.
func headerSubset(h http.Header, names ...string) string {
	var out []string
	for _, n := range names {
		if v := h.Values(n); len(v) > 0 {
			out = append(out, strings.ToLower(n)+": "+strings.Join(v, ","))
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}
