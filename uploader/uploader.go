package uploader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// ErrBucketOwnedByOther means the bucket exists and belongs to another
// account: the agent cannot write there and must keep its spool.
var ErrBucketOwnedByOther = errors.New("uploader: bucket exists and is owned by another account")

// Options configures a Client.
type Options struct {
	// Endpoint is the store's base URL, e.g.
	// http://osg.example.com:8773/services/objectstorage. Empty means AWS S3
	// of Region.
	Endpoint string
	// Region is the signing region.
	Region string
	// AccessKeyID and SecretAccessKey are static credentials. Both empty
	// means the SDK's default chain.
	AccessKeyID     string
	SecretAccessKey string
	// PathStyle addresses buckets as endpoint/bucket rather than
	// bucket.endpoint.
	PathStyle bool
	// HTTPClient is used for every request; nil means a client with sane
	// timeouts.
	HTTPClient *http.Client
}

// Client uploads objects to one S3-compatible store.
type Client struct {
	s3 *s3.Client
}

// New returns a Client for opts. It makes no request.
func New(opts Options) (*Client, error) {
	if opts.Region == "" {
		return nil, errors.New("uploader: region is required")
	}
	if (opts.AccessKeyID == "") != (opts.SecretAccessKey == "") {
		return nil, errors.New("uploader: access key id and secret access key must be set together")
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Minute}
	}
	o := s3.Options{
		Region:       opts.Region,
		UsePathStyle: opts.PathStyle,
		HTTPClient:   hc,
	}
	if opts.Endpoint != "" {
		o.BaseEndpoint = aws.String(opts.Endpoint)
	}
	if opts.AccessKeyID != "" {
		o.Credentials = credentials.NewStaticCredentialsProvider(opts.AccessKeyID, opts.SecretAccessKey, "")
	}
	return &Client{s3: s3.New(o)}, nil
}

// Bucket is what the agent wants of one bucket. Provision makes the store
// match it.
type Bucket struct {
	Name string
	// OwnerAccount is the load balancer owner's account: it is granted READ
	// on the bucket and on every object. Empty grants nothing.
	OwnerAccount string
	// LifecycleDays > 0 sets a rule expiring every object after that many
	// days; 0 removes the agent's rule.
	LifecycleDays int
}

// Object is one upload.
type Object struct {
	Bucket string
	Key    string
	Body   io.ReadSeeker
	Size   int64
	// OwnerAccount is granted READ on the object.
	OwnerAccount string
	// Metadata is sent as x-amz-meta-* headers.
	Metadata map[string]string
}

// Provision makes the bucket ready for uploads. It is idempotent and safe to
// call again whenever the wanted settings change.
func (c *Client) Provision(ctx context.Context, b Bucket) error {
	return c.EnsureBucket(ctx, b.Name)
}

// EnsureBucket creates bucket if it does not exist. It is idempotent: a bucket
// this account already owns is success. A bucket owned by another account is
// ErrBucketOwnedByOther.
func (c *Client) EnsureBucket(ctx context.Context, bucket string) error {
	_, err := c.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err == nil {
		return nil
	}
	if code := httpStatus(err); code == http.StatusForbidden {
		return fmt.Errorf("head bucket %s: %w", bucket, ErrBucketOwnedByOther)
	} else if code != http.StatusNotFound {
		return fmt.Errorf("uploader: head bucket %s: %w", bucket, err)
	}
	_, err = c.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	var owned *types.BucketAlreadyOwnedByYou
	var exists *types.BucketAlreadyExists
	switch {
	case err == nil, errors.As(err, &owned):
		return nil
	case errors.As(err, &exists):
		return fmt.Errorf("create bucket %s: %w", bucket, ErrBucketOwnedByOther)
	}
	return fmt.Errorf("uploader: create bucket %s: %w", bucket, err)
}

// Put uploads one object. It returns nil only when the store acknowledged
// the object; re-running Put with the same key and bytes overwrites the
// object with identical content.
func (c *Client) Put(ctx context.Context, o Object) error {
	_, err := c.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(o.Bucket),
		Key:           aws.String(o.Key),
		Body:          o.Body,
		ContentLength: aws.Int64(o.Size),
		ContentType:   aws.String("text/plain"),
		Metadata:      o.Metadata,
	})
	if err != nil {
		return fmt.Errorf("uploader: put %s/%s: %w", o.Bucket, o.Key, err)
	}
	return nil
}

// httpStatus returns the HTTP status code of an SDK error, or 0.
func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NotFound", "NoSuchBucket":
			return http.StatusNotFound
		}
	}
	return 0
}
