package uploader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Sentinels for the conditions callers branch on. Every error returned by
// Provision and Put is an *Error that matches exactly one of them with
// errors.Is (or none, for causes not listed).
var (
	// ErrBucketOwnedByOther means the bucket exists and belongs to another
	// account: the agent cannot write there and must keep its spool.
	ErrBucketOwnedByOther = errors.New("bucket exists and is owned by another account")
	// ErrAccessDenied: the store refused the credentials' rights (403).
	ErrAccessDenied = errors.New("access denied")
	// ErrNoSuchBucket: the bucket is gone; provision it again.
	ErrNoSuchBucket = errors.New("no such bucket")
	// ErrSignature: the store rejected the signature (wrong secret,
	// signature version or clock).
	ErrSignature = errors.New("signature does not match")
	// ErrInvalidBucketName: the name breaks the store's naming rule.
	ErrInvalidBucketName = errors.New("invalid bucket name")
	// ErrTimeout: the request did not finish in time.
	ErrTimeout = errors.New("timeout")
	// ErrServer: the store answered 5xx or throttled (503 SlowDown, 429).
	ErrServer = errors.New("server error")
	// ErrNetwork: the store could not be reached.
	ErrNetwork = errors.New("network error")
	// ErrCredentials: no usable credentials (file, instance profile).
	ErrCredentials = errors.New("no usable credentials")
	// ErrPreflight: the test file read back differs from what was written.
	ErrPreflight = errors.New("preflight test file mismatch")
	// ErrNoSuchUpload: the store no longer knows the multipart upload
	// (completed, aborted or expired): start the object again.
	ErrNoSuchUpload = errors.New("no such multipart upload")
	// ErrInvalidPart: the store refused to assemble the parts named (a part
	// missing, or an ETag that does not match): start the object again.
	ErrInvalidPart = errors.New("invalid part")
	// ErrEntityTooLarge: the body is larger than the store takes in one
	// request: send it in smaller parts.
	ErrEntityTooLarge = errors.New("entity too large")
)

// causes maps each sentinel to its short label and whether retrying the
// same request later can succeed without an operator's help.
var causes = []struct {
	err       error
	label     string
	retryable bool
}{
	{ErrBucketOwnedByOther, "bucket_owned_by_other", false},
	{ErrAccessDenied, "access_denied", false},
	{ErrNoSuchBucket, "no_such_bucket", false},
	{ErrSignature, "signature", false},
	{ErrInvalidBucketName, "invalid_bucket_name", false},
	{ErrCredentials, "credentials", true},
	{ErrPreflight, "preflight", false},
	{ErrNoSuchUpload, "no_such_upload", false},
	{ErrInvalidPart, "invalid_part", false},
	{ErrEntityTooLarge, "entity_too_large", false},
	{ErrTimeout, "timeout", true},
	{ErrServer, "server_error", true},
	{ErrNetwork, "network", true},
}

// Error is what Provision and Put return: the operation, where, and the
// classified cause. It unwraps to both the sentinel of its class and the
// underlying error.
type Error struct {
	Op     string // "create bucket", "put object", ...
	Bucket string
	Key    string // empty for bucket operations
	Kind   error  // one of the sentinels, or nil when unclassified
	Err    error
	// RetryAfter is how long the store asked the client to wait (the
	// Retry-After header of a 503 or 429), 0 when it did not say.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	where := e.Bucket
	if e.Key != "" {
		where += "/" + e.Key
	}
	if e.Kind != nil && !errors.Is(e.Err, e.Kind) {
		return fmt.Sprintf("uploader: %s %s: %v: %v", e.Op, where, e.Kind, e.Err)
	}
	return fmt.Sprintf("uploader: %s %s: %v", e.Op, where, e.Err)
}

// Unwrap returns the sentinel and the underlying error.
func (e *Error) Unwrap() []error {
	if e.Kind == nil {
		return []error{e.Err}
	}
	return []error{e.Kind, e.Err}
}

// Cause returns a short label for err, for counting and for logging once
// per distinct cause: one of bucket_owned_by_other, access_denied,
// no_such_bucket, signature, invalid_bucket_name, credentials, preflight,
// no_such_upload, invalid_part, entity_too_large,
// timeout, server_error, network, canceled or other.
func Cause(err error) string {
	if errors.Is(err, context.Canceled) {
		return "canceled"
	}
	for _, c := range causes {
		if errors.Is(err, c.err) {
			return c.label
		}
	}
	return "other"
}

// Causes lists every label Cause returns for a failed request (all but
// canceled), so a counter by cause can start every series at 0.
func Causes() []string {
	out := make([]string, 0, len(causes)+1)
	for _, c := range causes {
		out = append(out, c.label)
	}
	return append(out, "other")
}

// Retryable reports whether err is transient (timeouts, 5xx, throttling,
// network): the same request may succeed later unchanged. Permanent errors
// (access denied, no such bucket, bad signature, invalid name, bucket of
// someone else) need the configuration or the store to change; the agent
// keeps the segment spooled either way and retries with a longer backoff.
func Retryable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	for _, c := range causes {
		if errors.Is(err, c.err) {
			return c.retryable
		}
	}
	return false
}

// wrap classifies an SDK error as an *Error. It returns nil for nil.
func wrap(op, bucket, key string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Op: op, Bucket: bucket, Key: key, Kind: classify(err), Err: err, RetryAfter: retryAfterOf(err, time.Now())}
}

// MaxRetryAfter caps what a Retry-After header can make a client wait.
const MaxRetryAfter = 10 * time.Minute

// RetryAfter returns how long the store asked to wait before the next
// request (its Retry-After header, capped at MaxRetryAfter), or 0.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// retryAfterOf reads the Retry-After header of the response behind an SDK
// error: delay-seconds or an HTTP date. Anything else is ignored.
func retryAfterOf(err error, now time.Time) time.Duration {
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) || re.Response == nil || re.Response.Response == nil {
		return 0
	}
	return parseRetryAfter(re.Response.Header.Get("Retry-After"), now)
}

// parseRetryAfter reads a Retry-After value (RFC 9110 10.2.3), capped at
// MaxRetryAfter; 0 for empty, past or malformed values.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), MaxRetryAfter)
}

// classify returns the sentinel for an SDK, network or context error.
func classify(err error) error {
	for _, c := range causes {
		if errors.Is(err, c.err) {
			return c.err
		}
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "AccountProblem":
			return ErrAccessDenied
		case "NoSuchBucket":
			return ErrNoSuchBucket
		case "SignatureDoesNotMatch", "RequestTimeTooSkewed", "AuthorizationHeaderMalformed":
			return ErrSignature
		case "InvalidBucketName":
			return ErrInvalidBucketName
		case "NoSuchUpload":
			return ErrNoSuchUpload
		case "InvalidPart", "InvalidPartOrder", "EntityTooSmall":
			return ErrInvalidPart
		case "EntityTooLarge":
			return ErrEntityTooLarge
		case "BucketAlreadyExists":
			return ErrBucketOwnedByOther
		case "RequestTimeout":
			return ErrTimeout
		case "SlowDown", "ServiceUnavailable", "InternalError", "Throttling", "TooManyRequests", "RequestLimitExceeded":
			return ErrServer
		}
	}
	var nsb *types.NoSuchBucket
	if errors.As(err, &nsb) {
		return ErrNoSuchBucket
	}
	var nsu *types.NoSuchUpload
	if errors.As(err, &nsu) {
		return ErrNoSuchUpload
	}
	switch code := httpStatus(err); {
	case code >= 500, code == http.StatusTooManyRequests:
		return ErrServer
	case code == http.StatusForbidden:
		return ErrAccessDenied
	case code == http.StatusBadRequest && apiCode(err) == "":
		// A 400 whose body was lost, the same way: the store refused
		// the request as it stood (a storage class it does not know, a
		// body too large for one request) and sending it again as it is
		// cannot help.
		return nil
	case code == http.StatusNotFound && apiCode(err) == "":
		// A 404 whose body was lost (the store closed the connection
		// while the request was still being sent), so no code says what
		// is missing: every call that can meet a missing key or upload
		// checks for it by its code, so what is left is the bucket.
		return ErrNoSuchBucket
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ErrTimeout
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		// The connection closed in the middle of a request or response.
		return ErrNetwork
	}
	var ne net.Error
	if errors.As(err, &ne) {
		if ne.Timeout() {
			return ErrTimeout
		}
		return ErrNetwork
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return ErrNetwork
	}
	return nil
}

// httpStatus returns the HTTP status code of an SDK error, or 0.
func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}
