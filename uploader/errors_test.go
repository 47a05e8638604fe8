package uploader

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPutErrors(t *testing.T) {
	tests := []struct {
		name      string
		answer    http.HandlerFunc
		akid      string
		timeout   time.Duration
		want      error
		cause     string
		retryable bool
	}{
		{"access denied", s3Error(403, "AccessDenied"), "", 0, ErrAccessDenied, "access_denied", false},
		{"unknown key", nil, "OTHER", 0, ErrAccessDenied, "access_denied", false},
		{"no such bucket", s3Error(404, "NoSuchBucket"), "", 0, ErrNoSuchBucket, "no_such_bucket", false},
		{"signature", s3Error(403, "SignatureDoesNotMatch"), "", 0, ErrSignature, "signature", false},
		{"clock skew", s3Error(403, "RequestTimeTooSkewed"), "", 0, ErrSignature, "signature", false},
		{"500", s3Error(500, "InternalError"), "", 0, ErrServer, "server_error", true},
		{"502 without body", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(502) }, "", 0, ErrServer, "server_error", true},
		{"slow down", s3Error(503, "SlowDown"), "", 0, ErrServer, "server_error", true},
		{"429 without body", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(429) }, "", 0, ErrServer, "server_error", true},
		{"429 TooManyRequests", s3Error(429, "TooManyRequests"), "", 0, ErrServer, "server_error", true},
		{"timeout", func(w http.ResponseWriter, r *http.Request) { time.Sleep(300 * time.Millisecond) }, "", 50 * time.Millisecond, ErrTimeout, "timeout", true},
		{"bad digest", s3Error(400, "BadDigest"), "", 0, nil, "other", false},
		{"entity too large", s3Error(400, "EntityTooLarge"), "", 0, ErrEntityTooLarge, "entity_too_large", false},
		{"connection cut mid-response", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(200)
			w.Write([]byte("<partial"))
		}, "", 0, ErrNetwork, "network", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeS3("AKID")
			f.buckets["bkt"] = true
			if tt.answer != nil {
				f.answers["PUT /bkt/a/key"] = tt.answer
			}
			c := newTestClient(t, f, func(o *Options) {
				o.UploaderID = "logger"
				if tt.akid != "" {
					o.AccessKeyID = tt.akid
				}
				if tt.timeout > 0 {
					o.HTTPClient = &http.Client{Timeout: tt.timeout}
				}
			})
			err := c.Put(context.Background(), Object{Bucket: "bkt", Key: "a/key", Body: strings.NewReader("x"), Size: 1})
			if err == nil {
				t.Fatal("Put: got nil error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Put: got %v, want %v", err, tt.want)
			}
			var ue *Error
			if !errors.As(err, &ue) || ue.Bucket != "bkt" || ue.Key != "a/key" {
				t.Errorf("Put: got %#v, want an *Error naming bkt and a/key", err)
			}
			if !strings.Contains(err.Error(), "bkt/a/key") || strings.Contains(err.Error(), "secret") {
				t.Errorf("message %q: want bkt/a/key and no secret", err)
			}
			if got := Cause(err); got != tt.cause {
				t.Errorf("Cause: got %q, want %q", got, tt.cause)
			}
			if got := Retryable(err); got != tt.retryable {
				t.Errorf("Retryable: got %v, want %v", got, tt.retryable)
			}
		})
	}
}

func TestPutContextErrors(t *testing.T) {
	f := newFakeS3("AKID")
	f.answers["PUT /bkt/k"] = func(w http.ResponseWriter, r *http.Request) { time.Sleep(300 * time.Millisecond) }
	c := newTestClient(t, f, func(o *Options) { o.UploaderID = "logger" })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := c.Put(ctx, Object{Bucket: "bkt", Key: "k", Body: strings.NewReader("x"), Size: 1})
	if !errors.Is(err, ErrTimeout) || Cause(err) != "timeout" {
		t.Errorf("deadline: got %v (cause %s), want ErrTimeout", err, Cause(err))
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	err = c.Put(ctx, Object{Bucket: "bkt", Key: "k", Body: strings.NewReader("x"), Size: 1})
	if !errors.Is(err, context.Canceled) || Cause(err) != "canceled" || Retryable(err) {
		t.Errorf("canceled: got %v (cause %s)", err, Cause(err))
	}
}

func TestUnreachableStore(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, err := New(Options{Endpoint: url, Region: "us-east-1", AccessKeyID: "AKID", SecretAccessKey: "secret", PathStyle: true, UploaderID: "logger"})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Put(context.Background(), Object{Bucket: "bkt", Key: "k", Body: strings.NewReader("x"), Size: 1})
	if !errors.Is(err, ErrNetwork) || !Retryable(err) {
		t.Errorf("connection refused: got %v (cause %s), want ErrNetwork", err, Cause(err))
	}
}

// TLS is verified unless told otherwise; a CA bundle adds trust; a custom
// endpoint's path is kept in front of the bucket.
func TestEndpointTLS(t *testing.T) {
	f := newFakeS3("AKID")
	f.prefix = "/services/objectstorage"
	f.buckets["bkt"] = true
	srv := httptest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o644)
	tests := []struct {
		name     string
		caBundle string
		insecure bool
		wantErr  string
	}{
		{"unknown CA refused", "", false, "certificate"},
		{"CA bundle trusted", bundle, false, ""},
		{"verification off", "", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(Options{Endpoint: srv.URL + f.prefix, Region: "us-east-1", AccessKeyID: "AKID", SecretAccessKey: "secret",
				PathStyle: true, UploaderID: "logger", CABundle: tt.caBundle, InsecureSkipVerify: tt.insecure})
			if err != nil {
				t.Fatal(err)
			}
			err = c.Put(context.Background(), Object{Bucket: "bkt", Key: "k", Body: strings.NewReader("x"), Size: 1})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Put: got %v, want an error about %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			if r := f.last("PUT /bkt/k"); r == nil {
				t.Errorf("no PUT of /services/objectstorage/bkt/k; got %v", f.sent())
			}
		})
	}
	if _, err := New(Options{Region: "r", AccessKeyID: "a", SecretAccessKey: "s", CABundle: notPEM}); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("bundle without certificates: got %v", err)
	}
}

func TestNewRejects(t *testing.T) {
	base := Options{Region: "us-east-1", AccessKeyID: "a", SecretAccessKey: "s", PathStyle: true}
	tests := []struct {
		name string
		mod  func(*Options)
		want string
	}{
		{"no region", func(o *Options) { o.Region = "" }, "region is required"},
		{"half a key", func(o *Options) { o.SecretAccessKey = "" }, "must be set together"},
		{"bad signature", func(o *Options) { o.Signature = "v3" }, `signature "v3"`},
		{"v2 virtual host", func(o *Options) { o.Signature, o.PathStyle = SignatureV2, false }, "path-style"},
		{"bad naming", func(o *Options) { o.BucketNaming = "strict" }, `"strict"`},
		{"endpoint without scheme", func(o *Options) { o.Endpoint = "osg.example.com:8773" }, "want http:// or https://"},
		{"missing CA bundle", func(o *Options) { o.CABundle = "/nonexistent/ca.pem" }, "ca bundle"},
		{"missing credentials file", func(o *Options) { o.AccessKeyID, o.SecretAccessKey, o.CredentialsFile = "", "", "/nonexistent/creds" }, "credentials file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.mod(&o)
			if _, err := New(o); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestRetryAfter checks that the Retry-After header of a throttled answer
// reaches the caller, in both of its forms, capped, and ignored when bad.
func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header string
		want   time.Duration
		slack  time.Duration
	}{
		{"503 seconds", 503, "7", 7 * time.Second, 0},
		{"429 seconds", 429, "2", 2 * time.Second, 0},
		{"http date", 503, time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat), 30 * time.Second, 2 * time.Second},
		{"capped", 503, "86400", MaxRetryAfter, 0},
		{"date in the past", 503, "Mon, 02 Jan 2006 15:04:05 GMT", 0, 0},
		{"malformed", 503, "soon", 0, 0},
		{"negative", 503, "-5", 0, 0},
		{"none", 503, "", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeS3("AKID")
			f.buckets["bkt"] = true
			f.answers["PUT /bkt/k"] = func(w http.ResponseWriter, r *http.Request) {
				if tt.header != "" {
					w.Header().Set("Retry-After", tt.header)
				}
				s3Error(tt.status, "SlowDown")(w, r)
			}
			c := newTestClient(t, f, func(o *Options) { o.UploaderID = "logger" })
			err := c.Put(context.Background(), Object{Bucket: "bkt", Key: "k", Body: strings.NewReader("x"), Size: 1})
			if !errors.Is(err, ErrServer) {
				t.Fatalf("Put: got %v, want ErrServer", err)
			}
			got := RetryAfter(err)
			if got < tt.want-tt.slack || got > tt.want {
				t.Errorf("RetryAfter: got %v, want %v (-%v)", got, tt.want, tt.slack)
			}
		})
	}
	if got := RetryAfter(errors.New("plain")); got != 0 {
		t.Errorf("RetryAfter of a plain error: got %v, want 0", got)
	}
}

// TestNoSDKRetries: the client makes one request per call, whatever the
// store answers; a 503 SlowDown's Retry-After reaches the caller, the one
// retry layer. With the SDK's retryer a PUT answered so was sent three
// times within a second.
func TestNoSDKRetries(t *testing.T) {
	for _, tt := range []struct {
		name, what string
		answer     http.HandlerFunc
		call       func(*Client) error
	}{
		{"put 503 SlowDown", "PUT /bkt/k", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "60")
			s3Error(503, "SlowDown")(w, r)
		}, func(c *Client) error {
			return c.Put(context.Background(), Object{Bucket: "bkt", Key: "k", Body: strings.NewReader("x"), Size: 1})
		}},
		{"put 500", "PUT /bkt/k", s3Error(500, "InternalError"), func(c *Client) error {
			return c.Put(context.Background(), Object{Bucket: "bkt", Key: "k", Body: strings.NewReader("x"), Size: 1})
		}},
		{"head bucket 503", "HEAD /bkt", s3Error(503, "SlowDown"), func(c *Client) error {
			return c.EnsureBucket(context.Background(), "bkt")
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeS3("AKID")
			f.buckets["bkt"] = true
			f.answers[tt.what] = tt.answer
			c, err := New(Options{Endpoint: f.start(t), Region: "us-east-1", AccessKeyID: "AKID", SecretAccessKey: "secret", PathStyle: true, UploaderID: "logger"})
			if err != nil {
				t.Fatal(err)
			}
			err = tt.call(c)
			if !errors.Is(err, ErrServer) {
				t.Fatalf("got %v, want ErrServer", err)
			}
			if got := f.sent(); len(got) != 1 {
				t.Errorf("requests: got %v, want one %s", got, tt.what)
			}
			if tt.name == "put 503 SlowDown" && RetryAfter(err) != 60*time.Second {
				t.Errorf("RetryAfter: got %v, want 1m0s", RetryAfter(err))
			}
		})
	}
}

// TestNotFoundWithoutBody: a PUT answered 404 whose error body never
// arrives (the store closed the connection) is still a missing bucket,
// not a network error.
func TestNotFoundWithoutBody(t *testing.T) {
	f := newFakeS3("AKID")
	f.buckets["bkt"] = true
	f.answers["PUT /bkt/k"] = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.Header().Set("Content-Length", "500")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`<?xml version="1.0"`)) // then the connection ends
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
			}
		}
	}
	c := newTestClient(t, f, func(o *Options) { o.UploaderID = "logger" })
	err := c.Put(context.Background(), Object{Bucket: "bkt", Key: "k", Body: strings.NewReader("x"), Size: 1})
	if !errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("got %v (cause %s), want ErrNoSuchBucket", err, Cause(err))
	}
}

// answerWithoutBody answers status with the start of an error body, then
// ends the connection: the client has the status and no code.
func answerWithoutBody(status int) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.Header().Set("Content-Length", "500")
		w.WriteHeader(status)
		w.Write([]byte(`<?xml version="1.0"`))
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
			}
		}
	}
}

// A 400 whose body was lost is a refusal of the request as it stands:
// permanent, not a network error retried unchanged; a 404 whose body was
// lost on a multipart request means the upload is gone (start the object
// again), not the bucket.
func TestStatusWithoutBody(t *testing.T) {
	f := newFakeS3("AKID")
	f.buckets["bkt"] = true
	f.answers["PUT /bkt/k"] = answerWithoutBody(http.StatusBadRequest)
	f.answers["PUT /bkt/u"] = answerWithoutBody(http.StatusNotFound)
	c := newTestClient(t, f, func(o *Options) { o.UploaderID = "logger" })
	err := c.Put(context.Background(), Object{Bucket: "bkt", Key: "k", Body: strings.NewReader("x"), Size: 1})
	if err == nil || Retryable(err) || errors.Is(err, ErrNetwork) {
		t.Errorf("400 without body: got %v (cause %s), want a permanent error", err, Cause(err))
	}
	_, err = c.UploadPart(context.Background(), Upload{Bucket: "bkt", Key: "u", ID: "id"}, 1, strings.NewReader("x"), 1, nil)
	if !errors.Is(err, ErrNoSuchUpload) || errors.Is(err, ErrNoSuchBucket) {
		t.Errorf("UploadPart answered 404 without body: got %v (cause %s), want ErrNoSuchUpload", err, Cause(err))
	}
}
