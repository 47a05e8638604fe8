package uploader

import (
	"context"
	"crypto/md5"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Options configures a Client.
type Options struct {
	// Endpoint is the store's base URL, e.g.
	// http://osg.example.com:8773/services/objectstorage. Empty means AWS S3
	// of Region.
	Endpoint string
	// Region is the signing region.
	Region string
	// Signature is SignatureV4 (the default when empty) or SignatureV2.
	Signature string
	// PathStyle addresses buckets as endpoint/bucket rather than
	// bucket.endpoint. SignatureV2 needs it.
	PathStyle bool
	// BucketNaming is the rule bucket names are checked against:
	// NamingRelaxed (the default when empty) or NamingDNS.
	BucketNaming string

	// AccessKeyID and SecretAccessKey are static credentials. When empty,
	// CredentialsFile is read; when that is empty too, the instance
	// profile is fetched from MetadataEndpoint.
	AccessKeyID     string
	SecretAccessKey string
	// CredentialsFile is an AWS shared-credentials file; it is refused
	// unless its mode is 0600 or stricter. CredentialsProfile names the
	// profile, "default" when empty.
	CredentialsFile    string
	CredentialsProfile string
	// MetadataEndpoint is the instance metadata service for instance
	// profile credentials, e.g. http://169.254.169.254.
	MetadataEndpoint string

	// UploaderID is the canonical id of the uploading account, granted
	// FULL_CONTROL on the bucket and every object; only a bucket it owns
	// is used. Empty means the credentials' own account as the store
	// names it (the Owner of ListBuckets), asked once and cached; never a
	// bucket's owner.
	UploaderID string
	// ExpectedBucketOwner is sent as x-amz-expected-bucket-owner on every
	// request to the agent's own bucket, so a store that supports it
	// refuses a bucket someone else owns: "" or ExpectedOwnerOff sends
	// nothing, ExpectedOwnerAuto sends the uploader's own id on stores
	// other than AWS S3 (AWS wants the 12-digit account id, which S3 does
	// not tell: give it), anything else is sent as it is. Stores that
	// ignore the header (the test bed's radosgw) are covered by the
	// ownership check of Provision.
	ExpectedBucketOwner string

	// Storage is the server-side encryption and storage class of every
	// object written.
	Storage Storage

	// TempDir holds the compressed body of a Gzip object while it is sent
	// (the spool directory, on the agent's own disk); empty means
	// os.TempDir.
	TempDir string

	// PartSize is the size above which Put sends an object as a
	// multipart upload, in parts of this size (see PartSize); 0 means
	// DefaultPartSize. A store that refuses a body as too large lowers it.
	PartSize int64

	// CABundle is a PEM file of CA certificates trusted for the endpoint,
	// in addition to the system's.
	CABundle string
	// InsecureSkipVerify disables TLS certificate verification.
	InsecureSkipVerify bool
	// HTTPClient is used for every request; nil means a client with sane
	// timeouts built from CABundle and InsecureSkipVerify.
	HTTPClient *http.Client
}

// LogValue prints the options without secrets, so they can be logged.
func (o Options) LogValue() slog.Value {
	redacted := func(s string) string {
		if s == "" {
			return ""
		}
		return "REDACTED"
	}
	return slog.GroupValue(
		slog.String("endpoint", o.Endpoint),
		slog.String("region", o.Region),
		slog.String("signature", o.signature()),
		slog.Bool("path_style", o.PathStyle),
		slog.String("access_key_id", o.AccessKeyID),
		slog.String("secret_access_key", redacted(o.SecretAccessKey)),
		slog.String("credentials_file", o.CredentialsFile),
		slog.String("ca_bundle", o.CABundle),
		slog.String("storage", o.Storage.String()),
		slog.Bool("insecure_skip_verify", o.InsecureSkipVerify),
	)
}

// String is LogValue as text: never a secret.
func (o Options) String() string { return o.LogValue().String() }

func (o Options) signature() string {
	if o.Signature == "" {
		return SignatureV4
	}
	return o.Signature
}

func (o Options) naming() string {
	if o.BucketNaming == "" {
		return NamingRelaxed
	}
	return o.BucketNaming
}

// Client uploads objects to one S3-compatible store. It is safe for
// concurrent use.
type Client struct {
	s3       *s3.Client
	naming   string
	onAWS    bool   // no custom endpoint: AWS S3 itself
	sigV4    bool   // requests are signed with SigV4 (not SigV2)
	location string // LocationConstraint of CreateBucket; AWS S3 outside us-east-1 only

	expectOwner string  // ExpectedBucketOwner: "", ExpectedOwnerAuto or an id
	storage     Storage // sent with every object
	// partSize is Options.PartSize, lowered when the store refuses a body
	// as too large (EntityTooLarge).
	partSize atomic.Int64
	tempDir  string // Options.TempDir

	mu         sync.Mutex
	uploaderID string // canonical id of the uploading account, once known
}

// Values of Options.ExpectedBucketOwner besides an id.
const (
	ExpectedOwnerAuto = "auto"
	ExpectedOwnerOff  = "off"
)

// New returns a Client for opts. It checks the options and reads the
// credentials file and CA bundle, but makes no request. Every call makes
// one request: the client never retries (the caller does, see
// RetryAfter).
func New(opts Options) (*Client, error) {
	if opts.Region == "" {
		return nil, errors.New("uploader: region is required")
	}
	if (opts.AccessKeyID == "") != (opts.SecretAccessKey == "") {
		return nil, errors.New("uploader: access key id and secret access key must be set together")
	}
	if err := ValidateBucketName("abc", opts.naming()); err != nil {
		return nil, fmt.Errorf("uploader: %w", err)
	}
	if err := opts.Storage.Check(); err != nil {
		return nil, fmt.Errorf("uploader: %w", err)
	}
	if opts.Endpoint != "" {
		u, err := url.Parse(opts.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("uploader: endpoint %q: want http:// or https:// with a host, such as http://osg.example.com:8773/services/objectstorage", opts.Endpoint)
		}
	}
	hc := opts.HTTPClient
	if hc == nil {
		var err error
		if hc, err = newHTTPClient(opts.CABundle, opts.InsecureSkipVerify); err != nil {
			return nil, err
		}
	}
	creds, err := credentialsProvider(opts)
	if err != nil {
		return nil, err
	}
	o := s3.Options{
		Region:                     opts.Region,
		UsePathStyle:               opts.PathStyle,
		HTTPClient:                 hc,
		Credentials:                creds,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		// One attempt per call: the caller is the one retry layer (the
		// agent's backoff, which honours Retry-After). The SDK's retryer
		// inside it made up to 3 attempts per call, a 503 SlowDown with
		// Retry-After: 60 three PUTs within a second.
		Retryer: aws.NopRetryer{},
	}
	if opts.Endpoint != "" {
		o.BaseEndpoint = aws.String(opts.Endpoint)
	}
	switch opts.signature() {
	case SignatureV4:
	case SignatureV2:
		if !opts.PathStyle {
			return nil, errors.New("uploader: signature v2 needs path-style addressing")
		}
		o.APIOptions = append(o.APIOptions, addSigV2(creds))
	default:
		return nil, fmt.Errorf("uploader: signature %q is not %s or %s", opts.Signature, SignatureV4, SignatureV2)
	}
	c := &Client{s3: s3.New(o), naming: opts.naming(), uploaderID: opts.UploaderID, expectOwner: opts.ExpectedBucketOwner, storage: opts.Storage}
	c.sigV4 = opts.signature() == SignatureV4
	c.tempDir = opts.TempDir
	switch {
	case opts.PartSize == 0:
		c.partSize.Store(DefaultPartSize)
	case opts.PartSize < MinPartSize || opts.PartSize > MaxPartSize:
		return nil, fmt.Errorf("uploader: part size %d is not from %d to %d bytes", opts.PartSize, MinPartSize, MaxPartSize)
	default:
		c.partSize.Store(opts.PartSize)
	}
	if c.expectOwner == ExpectedOwnerOff {
		c.expectOwner = ""
	}
	if opts.Endpoint == "" {
		c.onAWS = true
		if c.expectOwner == ExpectedOwnerAuto {
			c.expectOwner = "" // S3 names no account id: only a given one is sent
		}
		if opts.Region != "us-east-1" {
			// AWS S3 creates buckets outside us-east-1 only when told where.
			c.location = opts.Region
		}
	}
	return c, nil
}

// newHTTPClient returns a client that verifies TLS against the system's
// roots plus the PEM certificates of caBundle, unless insecure.
func newHTTPClient(caBundle string, insecure bool) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = 2 * time.Minute
	tr.Proxy = http.ProxyFromEnvironment
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure}
	if caBundle != "" {
		pem, err := os.ReadFile(caBundle)
		if err != nil {
			return nil, fmt.Errorf("uploader: ca bundle: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("uploader: ca bundle %s: no PEM certificate found", caBundle)
		}
		tc.RootCAs = pool
	}
	tr.TLSClientConfig = tc
	return &http.Client{Transport: tr, Timeout: 5 * time.Minute}, nil
}

// Bucket is what the agent wants of one bucket. Provision makes the store
// match it.
type Bucket struct {
	Name string
	// OwnerAccount is the load balancer owner's account: it is granted READ
	// on the bucket and on every object (unless OwnerGrantee is set), and
	// names the test file's directory ({account} of the aws layout). Empty
	// grants nothing and skips the test file.
	OwnerAccount string
	// OwnerGrantee is the canonical id granted READ in place of
	// OwnerAccount, where the two differ (AWS S3: a 12-digit account id is
	// no grantee id).
	OwnerGrantee string
	// LifecycleDays > 0 sets the agent's rule expiring, after that many
	// days, the objects under the prefix of the keys the agent writes
	// (LifecyclePrefix), never the rest of the bucket; 0 removes the
	// agent's rule and keeps any other.
	LifecycleDays int
	// KeyLayout is the layout of the keys the agent writes into the bucket,
	// KeyLayoutSeed (the default when empty) or KeyLayoutAWS.
	KeyLayout string
	// Prefix is the aws key layout's prefix; the test file is written
	// under it.
	Prefix string
	// LBName goes into the test file's text.
	LBName string
	// UserOwned marks a bucket the load balancer owner chose and owns (the
	// ELB API's AccessLog attribute): Provision never creates it and never
	// changes its ACL or lifecycle; it only writes the test file, with
	// CannedACLBucketOwnerFullControl. False is the agent's own bucket.
	UserOwned bool
	// TestFileWritten says the agent wrote the test file of this
	// user-owned destination before: as AWS writes it when logging is
	// enabled, not at every start, Provision then makes no request at all
	// (a versioned bucket would get a version per restart, and an owner
	// who enforces bucket ownership lets the writer neither read nor
	// overwrite it). Not used for the agent's own bucket.
	TestFileWritten bool
}

// CannedACLBucketOwnerFullControl is the canned ACL of objects written to a
// bucket the load balancer owner owns, as AWS's ELB writes them.
const CannedACLBucketOwnerFullControl = "bucket-owner-full-control"

// Object is one upload.
type Object struct {
	Bucket string
	Key    string
	Body   io.ReadSeeker
	Size   int64
	// OwnerAccount is granted READ on the object, or OwnerGrantee when set.
	OwnerAccount string
	OwnerGrantee string
	// Metadata is sent as x-amz-meta-* headers.
	Metadata map[string]string
	// CannedACL, when set (CannedACLBucketOwnerFullControl), is sent as
	// x-amz-acl instead of the grants: OwnerAccount is then not used.
	CannedACL string
	// Gzip, when set, makes Put send the body gzip-compressed (BestSpeed,
	// one member), as Content-Type application/gzip and without
	// Content-Encoding, so the object downloads as the .gz file it is.
	// The compressed body is written to a file in Options.TempDir first,
	// so that its length and MD5 are known and memory holds none of it.
	Gzip bool
	// Sums, when known, are the body's MD5s, so that Put need not read the
	// body to hash it (see Sums).
	Sums Sums
	// SendPart, when set, sends each part of an object Put sends in parts
	// (a retrying wrapper retries a part alone with it); nil sends once.
	SendPart func(ctx context.Context, part func(context.Context) error) error

	contentType string // set by Put: contentTypeGzip for a Gzip body
}

// Content types of objects.
const (
	contentTypeText = "text/plain"
	contentTypeGzip = "application/gzip"
)

// typ is the Content-Type o is written with.
func (o Object) typ() string {
	if o.contentType != "" {
		return o.contentType
	}
	return contentTypeText
}

// Put uploads one object with READ for its owner and FULL_CONTROL for the
// uploading account, Content-Type text/plain and a Content-MD5 the store
// checks. It returns nil only when the store acknowledged the object;
// re-running Put with the same key and bytes overwrites the object with
// identical content. Errors are *Error, classified by the sentinels.
//
// An object larger than the part size whose body is an io.ReaderAt (a
// file) is sent as a multipart upload (PutParts), each part through
// o.SendPart, with the same key, grants and metadata; so is one the store
// refused in one PUT as too large (EntityTooLarge), and the part size is
// then lowered for the objects after it.
func (c *Client) Put(ctx context.Context, o Object) error {
	if o.Gzip {
		gz, err := c.gzipBody(o)
		if err != nil {
			return &Error{Op: "put object", Bucket: o.Bucket, Key: o.Key, Err: err}
		}
		defer gz.remove()
		o.Body, o.Size, o.Gzip, o.Sums = gz.f, gz.size, false, Sums{}
		o.contentType = contentTypeGzip
	}
	o.Sums = o.Sums.usable(o)
	err := c.put(ctx, o)
	if o.Sums.PartSize > 0 && badDigest(err) {
		// The digests computed as the body was written are not those
		// of what was read now: send the body as it is, hashed as read.
		if _, serr := o.Body.Seek(0, io.SeekStart); serr == nil {
			o.Sums = Sums{}
			err = c.put(ctx, o)
		}
	}
	return err
}

// put is Put of a plain body: in one PUT or in parts.
func (c *Client) put(ctx context.Context, o Object) error {
	ra, err := readerAt(o)
	if err != nil {
		return &Error{Op: "put object", Bucket: o.Bucket, Key: o.Key, Err: err}
	}
	if ra != nil && o.Size > c.partSize.Load() {
		return c.putParts(ctx, o, ra)
	}
	err = c.putOne(ctx, o)
	if ra != nil && errors.Is(err, ErrEntityTooLarge) && o.Size > MinPartSize {
		c.lowerPartSize(o.Size)
		return c.putParts(ctx, o, ra)
	}
	return err
}

// putOne uploads o in one PUT.
func (c *Client) putOne(ctx context.Context, o Object) error {
	sum := base64.StdEncoding.EncodeToString(o.Sums.of(0, o.Size, o.Size))
	if sum == "" {
		var err error
		if sum, err = md5Of(o.Body); err != nil {
			return &Error{Op: "put object", Bucket: o.Bucket, Key: o.Key, Err: fmt.Errorf("read body: %w", err)}
		}
	}
	in := &s3.PutObjectInput{
		Bucket:        aws.String(o.Bucket),
		Key:           aws.String(o.Key),
		Body:          o.Body,
		ContentLength: aws.Int64(o.Size),
		ContentType:   aws.String(o.typ()),
		ContentMD5:    aws.String(sum),
		Metadata:      o.Metadata,
	}
	acl, err := c.objectACL(ctx, o)
	if err != nil {
		return wrap("put object", o.Bucket, o.Key, err)
	}
	in.ACL, in.GrantFullControl, in.GrantRead, in.ExpectedBucketOwner = acl.canned, acl.full, acl.read, acl.owner
	in.ServerSideEncryption, in.SSEKMSKeyId, in.StorageClass = c.storage.headers()
	_, err = c.s3.PutObject(ctx, in, c.bodyOptions()...)
	return wrap("put object", o.Bucket, o.Key, err)
}

// bodyOptions are the options of a request that sends an object's bytes
// (PutObject, UploadPart). Under SigV4 the body is not hashed into the
// signature (x-amz-content-sha256: UNSIGNED-PAYLOAD): its Content-MD5,
// which the signature covers and the store checks, already protects it,
// and hashing it would be one more pass over every byte uploaded.
func (c *Client) bodyOptions() []func(*s3.Options) {
	if !c.sigV4 {
		return nil
	}
	return []func(*s3.Options){func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
	}}
}

// objectACL is what an object is written with: a canned ACL, or the grants.
type objectACL struct {
	canned     types.ObjectCannedACL
	full, read *string // x-amz-grant-full-control, x-amz-grant-read
	owner      *string // x-amz-expected-bucket-owner, nil for none
}

// objectACL returns o's canned ACL, or FULL_CONTROL for the uploading
// account, READ for o's owner and the expected bucket owner.
func (c *Client) objectACL(ctx context.Context, o Object) (objectACL, error) {
	if o.CannedACL != "" {
		return objectACL{canned: types.ObjectCannedACL(o.CannedACL)}, nil
	}
	self, err := c.selfID(ctx)
	if err != nil {
		return objectACL{}, err
	}
	acl := objectACL{full: aws.String("id=" + self), owner: c.expectedOwner(self)}
	if g := o.grantee(); g != "" && g != self {
		acl.read = aws.String("id=" + g)
	}
	return acl, nil
}

// grantee is the canonical id granted READ on the object, or "".
func (o Object) grantee() string {
	if o.OwnerGrantee != "" {
		return o.OwnerGrantee
	}
	return o.OwnerAccount
}

// grantee is the canonical id granted READ on the bucket, or "".
func (b Bucket) grantee() string {
	if b.OwnerGrantee != "" {
		return b.OwnerGrantee
	}
	return b.OwnerAccount
}

// md5Of returns the base64 MD5 of what is left of r and seeks back.
func md5Of(r io.ReadSeeker) (string, error) {
	start, err := r.Seek(0, io.SeekCurrent)
	if err != nil {
		return "", err
	}
	h := md5.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	if _, err := r.Seek(start, io.SeekStart); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}

// selfID returns the canonical id of the uploading account: configured, or
// the Owner the store names for the credentials' own account in
// ListBuckets (s3:ListAllMyBuckets), asked once. Never a bucket's owner:
// a bucket someone else created first would make their account "us".
func (c *Client) selfID(ctx context.Context) (string, error) {
	c.mu.Lock()
	if id := c.uploaderID; id != "" {
		c.mu.Unlock()
		return id, nil
	}
	c.mu.Unlock()
	out, err := c.s3.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		return "", fmt.Errorf("list buckets for the uploader's own id: %w", err)
	}
	return c.rememberSelf(out.Owner)
}

// expectedOwner is the x-amz-expected-bucket-owner of a request to the
// agent's own bucket, given the uploader's own id; nil for none.
func (c *Client) expectedOwner(self string) *string {
	switch c.expectOwner {
	case "":
		return nil
	case ExpectedOwnerAuto:
		return aws.String(self)
	}
	return aws.String(c.expectOwner)
}

// bucketOwner is expectedOwner for a request made where the uploader's id
// is not at hand: it is asked for (once, cached) only when the header
// needs it.
func (c *Client) bucketOwner(ctx context.Context) (*string, error) {
	if c.expectOwner != ExpectedOwnerAuto {
		return c.expectedOwner(""), nil
	}
	self, err := c.selfID(ctx)
	if err != nil {
		return nil, err
	}
	return c.expectedOwner(self), nil
}

// UploaderID returns the canonical id of the uploading account once it is
// known (configured, or learnt from the store by Provision or Put), else "".
func (c *Client) UploaderID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.uploaderID
}

// SetUploaderID tells the client the uploading account's id, learnt by an
// earlier process, so that Put need not ask the store for it. An empty id
// is ignored; a configured or learnt id is not replaced.
func (c *Client) SetUploaderID(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.uploaderID == "" {
		c.uploaderID = id
	}
}

// rememberSelf caches the uploader's own id from the Owner of its
// ListBuckets answer, unless it is known already, and returns it.
func (c *Client) rememberSelf(owner *types.Owner) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.uploaderID != "" {
		return c.uploaderID, nil
	}
	if owner == nil || aws.ToString(owner.ID) == "" {
		return "", errors.New("list buckets for the uploader's own id: the store named no owner (set the uploader's canonical id in the configuration)")
	}
	c.uploaderID = aws.ToString(owner.ID)
	return c.uploaderID, nil
}
