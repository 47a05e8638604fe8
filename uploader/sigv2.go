package uploader

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Signature versions, the values of objectstorage.signature.
const (
	SignatureV4 = "v4"
	SignatureV2 = "v2"
)

// sigV2 signs requests with AWS signature version 2 (the S3 developer
// guide's "Signing and authenticating REST requests"), for object storage
// that predates SigV4 such as Eucalyptus OSG before 4.4. It replaces the
// SDK's "Signing" finalize middleware, so it runs once per attempt, after
// the retryer, like the SigV4 signer it replaces.
type sigV2 struct {
	creds aws.CredentialsProvider
	now   func() time.Time
}

func (*sigV2) ID() string { return "Signing" }

func (s *sigV2) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
	middleware.FinalizeOutput, middleware.Metadata, error,
) {
	req, ok := in.Request.(*smithyhttp.Request)
	if !ok {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("sigv2: unexpected transport type %T", in.Request)
	}
	creds, err := s.creds.Retrieve(ctx)
	if err != nil {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("sigv2: retrieve credentials: %w", err)
	}
	signV2(req.Request, creds, s.now())
	return next.HandleFinalize(ctx, in)
}

// addSigV2 is an s3.Options.APIOptions entry that swaps the SDK's signer for
// sigV2.
func addSigV2(creds aws.CredentialsProvider) func(*middleware.Stack) error {
	return func(st *middleware.Stack) error {
		_, err := st.Finalize.Swap("Signing", &sigV2{creds: creds, now: time.Now})
		return err
	}
}

// signV2 sets the Date and Authorization headers of a path-style request.
func signV2(r *http.Request, creds aws.Credentials, now time.Time) {
	// SigV4 leftovers have no meaning under v2.
	r.Header.Del("X-Amz-Content-Sha256")
	r.Header.Del("X-Amz-Date")
	r.Header.Del("Authorization")
	r.Header.Set("Date", now.UTC().Format(http.TimeFormat))
	if creds.SessionToken != "" {
		r.Header.Set("X-Amz-Security-Token", creds.SessionToken)
	} else {
		r.Header.Del("X-Amz-Security-Token")
	}
	sts := stringToSignV2(r.Method, r.Header, canonicalResourceV2("", r.URL))
	r.Header.Set("Authorization", "AWS "+creds.AccessKeyID+":"+signatureV2(creds.SecretAccessKey, sts))
}

// signatureV2 is Base64(HMAC-SHA1(secret, stringToSign)).
func signatureV2(secret, stringToSign string) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// stringToSignV2 is
//
//	VERB \n Content-MD5 \n Content-Type \n Date \n CanonicalizedAmzHeaders CanonicalizedResource
//
// where Date is empty when x-amz-date is sent.
func stringToSignV2(method string, h http.Header, resource string) string {
	var b strings.Builder
	b.WriteString(method)
	b.WriteByte('\n')
	b.WriteString(h.Get("Content-Md5"))
	b.WriteByte('\n')
	b.WriteString(h.Get("Content-Type"))
	b.WriteByte('\n')
	if h.Get("X-Amz-Date") == "" {
		b.WriteString(h.Get("Date"))
	}
	b.WriteByte('\n')
	var names []string
	amz := map[string][]string{}
	for name, vs := range h {
		lower := strings.ToLower(name)
		if !strings.HasPrefix(lower, "x-amz-") {
			continue
		}
		if _, seen := amz[lower]; !seen {
			names = append(names, lower)
		}
		for _, v := range vs {
			amz[lower] = append(amz[lower], unfold(v))
		}
	}
	sort.Strings(names)
	for _, n := range names {
		b.WriteString(n)
		b.WriteByte(':')
		b.WriteString(strings.Join(amz[n], ","))
		b.WriteByte('\n')
	}
	b.WriteString(resource)
	return b.String()
}

// unfold trims a header value and replaces folding whitespace with one space.
func unfold(v string) string {
	return strings.Join(strings.Fields(v), " ")
}

// subresourcesV2 are the query parameters that belong to the string to
// sign; every other parameter (such as the SDK's x-id) is left out.
var subresourcesV2 = map[string]bool{
	"acl": true, "cors": true, "delete": true, "lifecycle": true, "location": true,
	"logging": true, "notification": true, "partNumber": true, "policy": true,
	"requestPayment": true, "restore": true, "tagging": true, "torrent": true,
	"uploadId": true, "uploads": true, "versionId": true, "versioning": true,
	"versions": true, "website": true,
	"response-cache-control": true, "response-content-disposition": true,
	"response-content-encoding": true, "response-content-language": true,
	"response-content-type": true, "response-expires": true,
}

// canonicalResourceV2 is "/" + vhostBucket (for virtual-hosted requests)
// + the request path as sent + the sorted sub-resources. For path-style
// requests vhostBucket is empty and the path already starts with the
// bucket; an endpoint path such as /services/objectstorage is part of it
// (Eucalyptus OSG checks that form first, then the form without it).
func canonicalResourceV2(vhostBucket string, u *url.URL) string {
	var b strings.Builder
	if vhostBucket != "" {
		b.WriteByte('/')
		b.WriteString(vhostBucket)
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	b.WriteString(path)
	q := u.Query()
	var names []string
	for name := range q {
		if subresourcesV2[name] {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for i, name := range names {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(name)
		if v := q.Get(name); v != "" {
			b.WriteByte('=')
			b.WriteString(v)
		}
	}
	return b.String()
}
