// Package uploader owns everything that speaks S3: the client for an
// S3-compatible object store (AWS, Ceph radosgw, Eucalyptus OSG), bucket
// provisioning, object keys and PutObject. It never knows about UDP or
// files being written.
//
// The contract the agent relies on:
//
//   - Provision(ctx, Bucket) creates the bucket if missing, sets its ACL
//     (FULL_CONTROL for the uploading account, READ for the load balancer
//     owner), sets or removes the agent's lifecycle rule
//     (LifecycleRuleID) leaving other rules alone, and writes and reads
//     back the ELBAccessLogTestFile. It is idempotent.
//   - Put(ctx, Object) returns nil only when the store acknowledged the
//     object; it sends x-amz-grant-read for the owner,
//     x-amz-grant-full-control for the uploader, Content-Type text/plain
//     and Content-MD5. Repeating it with the same key and bytes is safe.
//   - CreateUpload, UploadPart, CompleteUpload, ListParts, ListUploads and
//     AbortUpload are the steps of a multipart upload (multipart.go), for
//     bodies larger than one request takes; PutParts runs them over an
//     io.ReaderAt, part by part, and aborts what it could not finish.
//   - Every error of both is an *Error matching one sentinel (ErrAccessDenied,
//     ErrNoSuchBucket, ErrSignature, ErrTimeout, ErrServer, ...). Cause
//     gives a short label for counting; Retryable says whether the same
//     request can succeed later unchanged. Callers never import the SDK.
//
// Requests are signed with SigV4, or with SigV2 (sigv2.go) for object
// storage that predates SigV4. Credentials come from static keys, an AWS
// shared-credentials file (mode 0600 or stricter) or the instance profile.
// See docs/object-store.md.
package uploader
