package uploader

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// LifecycleRuleID is the ID of the one lifecycle rule the agent owns on a
// bucket. Rules with other IDs are never changed.
const LifecycleRuleID = "elb-access-logger-expiration"

// Provision makes the bucket ready for uploads, reading before it writes
// (a fleet re-checks its buckets often, and a store shared by a whole
// cloud should see reads, not rewrites), in order: the name is
// checked against the naming rule; the bucket is created if missing
// (already owned by this account is success, owned by another is
// ErrBucketOwnedByOther); the bucket must be the uploading account's own
// (its ACL's Owner is the uploader's id, which comes from the configuration
// or ListBuckets, never from a bucket), else ErrBucketOwnedByOther and
// nothing is written; the bucket ACL is set to FULL_CONTROL for the
// uploading account and READ for b.OwnerAccount (nothing public) unless it
// is exactly that already; the agent's lifecycle rule, scoped to the
// prefix of the agent's keys (b.LifecyclePrefix), is set, updated or
// removed unless it matches; and the test file
// AWSLogs/{account}/ELBAccessLogTestFile is written and read back unless
// it is there already. On a bucket that matches, Provision makes four
// reads (HEAD bucket, GET acl, GET lifecycle, GET test file), plus one
// ListBuckets the first time in a process, and no write.
//
// A bucket the load balancer owner owns (b.UserOwned) is only checked:
// the test file is written with bucket-owner-full-control and read back,
// once per destination (b.TestFileWritten); the bucket is never created
// and its ACL and lifecycle are left alone.
//
// It is idempotent and safe to call again whenever the wanted settings
// change. Errors are *Error, classified by the sentinels.
func (c *Client) Provision(ctx context.Context, b Bucket) error {
	if err := ValidateBucketName(b.Name, c.naming); err != nil {
		return &Error{Op: "check bucket name", Bucket: b.Name, Kind: ErrInvalidBucketName, Err: err}
	}
	if b.UserOwned {
		if b.OwnerAccount == "" {
			return &Error{Op: "check bucket", Bucket: b.Name, Err: errors.New("the load balancer owner's account is needed for the test file of a user-owned bucket")}
		}
		if b.TestFileWritten {
			return nil
		}
		return c.preflight(ctx, b)
	}
	if b.LifecycleDays < 0 {
		return &Error{Op: "check lifecycle", Bucket: b.Name, Err: fmt.Errorf("lifecycle days %d is negative", b.LifecycleDays)}
	}
	if err := c.EnsureBucket(ctx, b.Name); err != nil {
		return err
	}
	if err := c.ensureBucketACL(ctx, b.Name, b.grantee()); err != nil {
		return err
	}
	if err := c.ensureLifecycle(ctx, b.Name, b.LifecycleDays, b.LifecyclePrefix()); err != nil {
		return err
	}
	if b.OwnerAccount == "" {
		return nil
	}
	return c.preflight(ctx, b)
}

// EnsureBucket creates bucket if it does not exist. It is idempotent: a
// bucket this account already owns is success. A bucket owned by another
// account is ErrBucketOwnedByOther.
func (c *Client) EnsureBucket(ctx context.Context, bucket string) error {
	_, err := c.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err == nil {
		return nil
	}
	// A HEAD answer has no body: 403 may be someone else's bucket or our
	// own bad credentials. CreateBucket tells them apart.
	if code := httpStatus(err); code != http.StatusNotFound && code != http.StatusForbidden {
		return wrap("head bucket", bucket, "", err)
	}
	in := &s3.CreateBucketInput{Bucket: aws.String(bucket)}
	if c.location != "" {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(c.location)}
	}
	if c.onAWS {
		// New AWS buckets default to BucketOwnerEnforced, which refuses
		// the ACL grants the owner's access depends on.
		in.ObjectOwnership = types.ObjectOwnershipObjectWriter
	}
	_, err = c.s3.CreateBucket(ctx, in)
	var owned *types.BucketAlreadyOwnedByYou
	var exists *types.BucketAlreadyExists
	switch {
	case err == nil, errors.As(err, &owned):
		return nil
	case errors.As(err, &exists):
		return &Error{Op: "create bucket", Bucket: bucket, Kind: ErrBucketOwnedByOther, Err: err}
	}
	return wrap("create bucket", bucket, "", err)
}

// ensureBucketACL makes the bucket ACL FULL_CONTROL for the uploading
// account and READ (list) for owner, and nothing else. It reads the ACL
// first and writes only when it differs; writing replaces it whole, which
// drops any public grant. The read also says who owns the bucket: anyone
// but the uploading account is ErrBucketOwnedByOther, and nothing is
// written.
func (c *Client) ensureBucketACL(ctx context.Context, bucket, owner string) error {
	self, err := c.selfID(ctx)
	if err != nil {
		return wrap("find the uploader's own id", bucket, "", err)
	}
	out, err := c.s3.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String(bucket), ExpectedBucketOwner: c.expectedOwner(self)})
	if err != nil {
		if httpStatus(err) == http.StatusForbidden {
			// A bucket we may HEAD but whose ACL we may not read is
			// someone else's, or ours under a policy that forbids it:
			// ListBuckets, which names only our own, tells them apart.
			if mine, lerr := c.ownsBucket(ctx, bucket); lerr == nil && !mine {
				return &Error{Op: "get bucket acl", Bucket: bucket, Kind: ErrBucketOwnedByOther, Err: err}
			}
		}
		return wrap("get bucket acl", bucket, "", err)
	}
	if got := aws.ToString(ownerID(out.Owner)); got != self {
		return &Error{Op: "check bucket owner", Bucket: bucket, Kind: ErrBucketOwnedByOther,
			Err: fmt.Errorf("%w: owner %q, uploader %q", ErrBucketOwnedByOther, got, self)}
	}
	want := map[string]types.Permission{self: types.PermissionFullControl}
	in := &s3.PutBucketAclInput{Bucket: aws.String(bucket), GrantFullControl: aws.String("id=" + self), ExpectedBucketOwner: c.expectedOwner(self)}
	if owner != "" && owner != self {
		want[owner] = types.PermissionRead
		in.GrantRead = aws.String("id=" + owner)
	}
	if grantsAre(out.Grants, want) {
		return nil
	}
	_, err = c.s3.PutBucketAcl(ctx, in)
	return wrap("put bucket acl", bucket, "", err)
}

// ownerID is the canonical id of owner, nil when it names none.
func ownerID(owner *types.Owner) *string {
	if owner == nil {
		return nil
	}
	return owner.ID
}

// ownsBucket reports whether ListBuckets, which names only the caller's
// own buckets, names bucket.
func (c *Client) ownsBucket(ctx context.Context, bucket string) (bool, error) {
	p := s3.NewListBucketsPaginator(c.s3, &s3.ListBucketsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return false, err
		}
		for _, b := range out.Buckets {
			if aws.ToString(b.Name) == bucket {
				return true, nil
			}
		}
	}
	return false, nil
}

// grantsAre reports whether grants are exactly want: one grant per
// canonical user id with that permission, and no group (public) or email
// grantee.
func grantsAre(grants []types.Grant, want map[string]types.Permission) bool {
	if len(grants) != len(want) {
		return false
	}
	seen := map[string]bool{}
	for _, g := range grants {
		if g.Grantee == nil || g.Grantee.Type != types.TypeCanonicalUser {
			return false
		}
		id := aws.ToString(g.Grantee.ID)
		if p, ok := want[id]; !ok || p != g.Permission || seen[id] {
			return false
		}
		seen[id] = true
	}
	return true
}

// ensureLifecycle makes the agent's rule expire the objects under prefix
// (the keys the agent writes) after days, or removes it when days is 0.
// Other rules are kept as they are. Nothing is written when the bucket
// already matches; a rule of the agent's with another scope (an older
// agent's, on the whole bucket) is replaced.
func (c *Client) ensureLifecycle(ctx context.Context, bucket string, days int, prefix string) error {
	owner, err := c.bucketOwner(ctx)
	if err != nil {
		return wrap("find the uploader's own id", bucket, "", err)
	}
	var rules []types.LifecycleRule
	out, err := c.s3.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(bucket), ExpectedBucketOwner: owner})
	switch {
	case err == nil:
		rules = out.Rules
	case apiCode(err) == "NoSuchLifecycleConfiguration":
	default:
		return wrap("get bucket lifecycle", bucket, "", err)
	}
	var others []types.LifecycleRule
	var mine *types.LifecycleRule
	for i := range rules {
		if aws.ToString(rules[i].ID) == LifecycleRuleID {
			mine = &rules[i]
		} else {
			others = append(others, rules[i])
		}
	}
	if days == 0 {
		if mine == nil {
			return nil
		}
		if len(others) == 0 {
			_, err := c.s3.DeleteBucketLifecycle(ctx, &s3.DeleteBucketLifecycleInput{Bucket: aws.String(bucket), ExpectedBucketOwner: owner})
			return wrap("delete bucket lifecycle", bucket, "", err)
		}
		return c.putLifecycle(ctx, bucket, others, owner)
	}
	if mine != nil && isExpiryRule(*mine, days, prefix) {
		return nil
	}
	return c.putLifecycle(ctx, bucket, append(others, expiryRule(days, prefix)), owner)
}

// putLifecycle writes rules, with owner as x-amz-expected-bucket-owner
// (nil: none). A store that predates the <Filter> element
// (the 2016 schema) and refuses it as malformed gets the agent's rule again
// in the older form, with <Prefix> directly in the rule.
func (c *Client) putLifecycle(ctx context.Context, bucket string, rules []types.LifecycleRule, owner *string) error {
	put := func(rules []types.LifecycleRule) error {
		_, err := c.s3.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{
			Bucket:                 aws.String(bucket),
			ExpectedBucketOwner:    owner,
			LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: rules},
		})
		return err
	}
	err := put(rules)
	if code := apiCode(err); code == "MalformedXML" || code == "InvalidArgument" {
		legacy := make([]types.LifecycleRule, len(rules))
		copy(legacy, rules)
		changed := false
		for i, r := range legacy {
			if aws.ToString(r.ID) == LifecycleRuleID && r.Filter != nil {
				legacy[i].Prefix, legacy[i].Filter, changed = r.Filter.Prefix, nil, true
			}
		}
		if changed {
			err = put(legacy)
		}
	}
	return wrap("put bucket lifecycle", bucket, "", err)
}

// AbortIncompleteDays is how long the agent's lifecycle rule lets a
// multipart upload under its prefix stay incomplete before the store
// aborts it and drops its parts: an upload a crashed agent left and never
// resumed costs storage for a day at most.
const AbortIncompleteDays = 1

// expiryRule is the agent's rule: the objects under prefix expire after
// days, and its incomplete multipart uploads after AbortIncompleteDays.
func expiryRule(days int, prefix string) types.LifecycleRule {
	return types.LifecycleRule{
		ID:         aws.String(LifecycleRuleID),
		Status:     types.ExpirationStatusEnabled,
		Filter:     &types.LifecycleRuleFilter{Prefix: aws.String(prefix)},
		Expiration: &types.LifecycleExpiration{Days: aws.Int32(int32(days))},
		AbortIncompleteMultipartUpload: &types.AbortIncompleteMultipartUpload{
			DaysAfterInitiation: aws.Int32(AbortIncompleteDays),
		},
	}
}

// isExpiryRule reports whether r is already expiryRule(days, want).
func isExpiryRule(r types.LifecycleRule, days int, want string) bool {
	prefix := aws.ToString(r.Prefix)
	if r.Filter != nil {
		if r.Filter.And != nil || r.Filter.Tag != nil || r.Filter.ObjectSizeGreaterThan != nil || r.Filter.ObjectSizeLessThan != nil {
			return false
		}
		prefix += aws.ToString(r.Filter.Prefix)
	}
	return r.Status == types.ExpirationStatusEnabled && prefix == want &&
		r.Expiration != nil && aws.ToInt32(r.Expiration.Days) == int32(days) &&
		r.AbortIncompleteMultipartUpload != nil && aws.ToInt32(r.AbortIncompleteMultipartUpload.DaysAfterInitiation) == AbortIncompleteDays
}

// preflight writes the test file with the same grants as every object and
// reads it back.
func (c *Client) preflight(ctx context.Context, b Bucket) error {
	key := TestFileKey(b.Prefix, b.OwnerAccount)
	head := fmt.Sprintf("Enable AccessLog for ELB: %s at ", b.LBName)
	if ok, err := c.hasTestFile(ctx, b.Name, key, head); err != nil || ok {
		return err
	}
	body := head + time.Now().UTC().Format(time.RFC3339) + "\n"
	o := Object{Bucket: b.Name, Key: key, Body: strings.NewReader(body), Size: int64(len(body)), OwnerAccount: b.OwnerAccount, OwnerGrantee: b.OwnerGrantee}
	if b.UserOwned {
		o.CannedACL = CannedACLBucketOwnerFullControl
	}
	if err := c.Put(ctx, o); err != nil {
		return err
	}
	out, err := c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.Name), Key: aws.String(key)})
	if err != nil {
		return wrap("read back test file", b.Name, key, err)
	}
	defer out.Body.Close()
	got, err := io.ReadAll(io.LimitReader(out.Body, int64(len(body))+1))
	if err != nil {
		return wrap("read back test file", b.Name, key, err)
	}
	if !bytes.Equal(got, []byte(body)) {
		return &Error{Op: "read back test file", Bucket: b.Name, Key: key, Kind: ErrPreflight,
			Err: fmt.Errorf("%w: got %d bytes, want %d", ErrPreflight, len(got), len(body))}
	}
	return nil
}

// hasTestFile reports whether the test file at key exists and begins with
// head (the agent wrote it for this load balancer).
func (c *Client) hasTestFile(ctx context.Context, bucket, key, head string) (bool, error) {
	out, err := c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		// A missing key is 404, or 403 where the writer may not list the
		// bucket (a user-owned one): either way, write it and read it back.
		var nsk *types.NoSuchKey
		if code := httpStatus(err); errors.As(err, &nsk) || code == http.StatusNotFound || code == http.StatusForbidden {
			return false, nil
		}
		return false, wrap("read test file", bucket, key, err)
	}
	defer out.Body.Close()
	got, err := io.ReadAll(io.LimitReader(out.Body, 4096))
	if err != nil {
		return false, wrap("read test file", bucket, key, err)
	}
	return bytes.HasPrefix(got, []byte(head)), nil
}

// apiCode returns the S3 error code of err, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
