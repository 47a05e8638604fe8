package uploader

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Limits of a multipart upload, the same on AWS S3, radosgw and OSG.
const (
	// MinPartSize is the smallest part but the last one that S3 accepts.
	MinPartSize = 5 << 20
	// MaxPartSize is the largest part, and the largest single PUT.
	MaxPartSize = 5 << 30
	// MaxParts is the most parts one upload may have.
	MaxParts = 10000
)

// DefaultPartSize is the part size when Options.PartSize is 0.
const DefaultPartSize = 16 << 20

// readerAt returns o's body as an io.ReaderAt of o.Size bytes from where
// the body stands, or nil when it is none.
func readerAt(o Object) (io.ReaderAt, error) {
	ra, ok := o.Body.(io.ReaderAt)
	if !ok {
		return nil, nil
	}
	start, err := o.Body.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	return io.NewSectionReader(ra, start, o.Size), nil
}

// putParts sends o in parts of the client's part size. A part the store
// refuses as too large lowers the part size and starts the object again,
// down to MinPartSize; an upload the store lost (NoSuchUpload: expired or
// aborted by someone else) or whose parts it will not assemble
// (InvalidPart) starts the object again once.
func (c *Client) putParts(ctx context.Context, o Object, r io.ReaderAt) error {
	if err := c.abortAbandoned(ctx, o); err != nil {
		return err
	}
	for again := true; ; {
		size := PartSize(o.Size, c.partSize.Load())
		err := c.PutParts(ctx, o, r, o.Size, size, o.SendPart)
		switch {
		case errors.Is(err, ErrEntityTooLarge) && size > MinPartSize && c.lowerPartSize(size):
		case (errors.Is(err, ErrNoSuchUpload) || errors.Is(err, ErrInvalidPart)) && again:
			again = false
		default:
			return err
		}
	}
}

// abortAbandoned aborts the multipart uploads of o.Key still in progress:
// those of an agent killed in the middle of the object, which now starts
// again. (The bucket's lifecycle rule would abort them after a day; a
// bucket the agent does not manage has none.)
func (c *Client) abortAbandoned(ctx context.Context, o Object) error {
	ups, err := c.ListUploads(ctx, o.Bucket, o.Key)
	if err != nil {
		return err
	}
	for _, u := range ups {
		if u.Key != o.Key {
			continue
		}
		if err := c.AbortUpload(ctx, u); err != nil {
			return err
		}
	}
	return nil
}

// lowerPartSize lowers the part size below a body of size bytes the store
// refused as too large: half of it, in whole MiB, at least MinPartSize. It
// reports whether the part size changed.
func (c *Client) lowerPartSize(size int64) bool {
	next := max((size/2)&^(1<<20-1), MinPartSize)
	for {
		cur := c.partSize.Load()
		if next >= cur {
			return false
		}
		if c.partSize.CompareAndSwap(cur, next) {
			return true
		}
	}
}

// PartSize returns the part size for an object of total bytes: configured,
// grown to the next MiB when total would need more than MaxParts parts,
// and never above MaxPartSize. configured <= 0 means MinPartSize.
func PartSize(total, configured int64) int64 {
	size := max(configured, 1)
	if configured <= 0 {
		size = MinPartSize
	}
	if need := (total + MaxParts - 1) / MaxParts; need > size {
		size = (need + 1<<20 - 1) &^ (1<<20 - 1)
	}
	return min(size, MaxPartSize)
}

// Upload names one multipart upload in progress.
type Upload struct {
	Bucket string
	Key    string
	ID     string // the store's UploadId
}

// Part is one part the store acknowledged.
type Part struct {
	Number int32  // 1..MaxParts
	Size   int64  // bytes
	ETag   string // as the store returned it, quotes included
}

// CreateUpload starts a multipart upload of o.Key with everything a Put of
// o would send but the body: the grants (or canned ACL), Content-Type and
// metadata. o.Body and o.Size are not used. The object appears only once
// CompleteUpload succeeds.
func (c *Client) CreateUpload(ctx context.Context, o Object) (Upload, error) {
	in := &s3.CreateMultipartUploadInput{
		Bucket:      aws.String(o.Bucket),
		Key:         aws.String(o.Key),
		ContentType: aws.String(o.typ()),
		Metadata:    o.Metadata,
	}
	acl, err := c.objectACL(ctx, o)
	if err != nil {
		return Upload{}, wrap("create multipart upload", o.Bucket, o.Key, err)
	}
	in.ACL, in.GrantFullControl, in.GrantRead, in.ExpectedBucketOwner = acl.canned, acl.full, acl.read, acl.owner
	in.ServerSideEncryption, in.SSEKMSKeyId, in.StorageClass = c.storage.headers()
	out, err := c.s3.CreateMultipartUpload(ctx, in)
	if err != nil {
		return Upload{}, wrap("create multipart upload", o.Bucket, o.Key, err)
	}
	if aws.ToString(out.UploadId) == "" {
		return Upload{}, &Error{Op: "create multipart upload", Bucket: o.Bucket, Key: o.Key, Err: errors.New("the store returned no upload id")}
	}
	return Upload{Bucket: o.Bucket, Key: o.Key, ID: aws.ToString(out.UploadId)}, nil
}

// UploadPart sends part n of u: size bytes of body, whose MD5 is sum (nil
// means it is computed here, one more read of the body). The part carries
// its Content-MD5, which the store checks (and Object Lock buckets
// require). Sending the same part again replaces it.
func (c *Client) UploadPart(ctx context.Context, u Upload, n int32, body io.ReadSeeker, size int64, sum []byte) (Part, error) {
	if n < 1 || n > MaxParts {
		return Part{}, &Error{Op: "upload part", Bucket: u.Bucket, Key: u.Key, Err: fmt.Errorf("part number %d is outside 1..%d", n, MaxParts)}
	}
	var b64 string
	if sum == nil {
		var err error
		if b64, err = md5Of(body); err != nil {
			return Part{}, &Error{Op: "upload part", Bucket: u.Bucket, Key: u.Key, Err: fmt.Errorf("read part %d: %w", n, err)}
		}
	} else {
		b64 = base64.StdEncoding.EncodeToString(sum)
	}
	out, err := c.s3.UploadPart(ctx, &s3.UploadPartInput{
		Bucket:        aws.String(u.Bucket),
		Key:           aws.String(u.Key),
		UploadId:      aws.String(u.ID),
		PartNumber:    aws.Int32(n),
		Body:          body,
		ContentLength: aws.Int64(size),
		ContentMD5:    aws.String(b64),
	}, c.bodyOptions()...)
	if err != nil {
		return Part{}, wrapUpload(fmt.Sprintf("upload part %d", n), u, err)
	}
	if aws.ToString(out.ETag) == "" {
		return Part{}, &Error{Op: fmt.Sprintf("upload part %d", n), Bucket: u.Bucket, Key: u.Key, Kind: ErrServer, Err: errors.New("the store returned no ETag")}
	}
	return Part{Number: n, Size: size, ETag: aws.ToString(out.ETag)}, nil
}

// CompleteUpload assembles u from parts (any order; sorted here) under its
// key. The object appears only now, whole.
func (c *Client) CompleteUpload(ctx context.Context, u Upload, parts []Part) error {
	if len(parts) == 0 {
		return &Error{Op: "complete multipart upload", Bucket: u.Bucket, Key: u.Key, Err: errors.New("no parts")}
	}
	sorted := append([]Part(nil), parts...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Number < sorted[j].Number })
	done := make([]types.CompletedPart, len(sorted))
	for i, p := range sorted {
		done[i] = types.CompletedPart{PartNumber: aws.Int32(p.Number), ETag: aws.String(p.ETag)}
	}
	_, err := c.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket:          aws.String(u.Bucket),
		Key:             aws.String(u.Key),
		UploadId:        aws.String(u.ID),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done},
	})
	err = wrapUpload("complete multipart upload", u, err)
	if errors.Is(err, ErrNoSuchUpload) && c.completed(ctx, u, sorted) {
		// An earlier call completed it and its answer was lost (the
		// connection closed while the store assembled the parts): the
		// object is there, made of these parts.
		return nil
	}
	return err
}

// completed reports whether u.Key holds the object that completing u with
// parts makes: its ETag is the multipart ETag of the parts (the MD5 of
// their MD5s, "-" and their count; stores that encrypt with KMS answer
// another ETag, and then it says no, so the object is sent again).
func (c *Client) completed(ctx context.Context, u Upload, parts []Part) bool {
	h := md5.New()
	for _, p := range parts {
		sum, err := hex.DecodeString(strings.Trim(p.ETag, `"`))
		if err != nil || len(sum) != md5.Size {
			return false
		}
		h.Write(sum)
	}
	want := fmt.Sprintf("%x-%d", h.Sum(nil), len(parts))
	out, err := c.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(u.Bucket), Key: aws.String(u.Key)})
	return err == nil && strings.Trim(aws.ToString(out.ETag), `"`) == want
}

// AbortUpload discards u and the parts it holds. Aborting an upload the
// store no longer knows is not an error.
func (c *Client) AbortUpload(ctx context.Context, u Upload) error {
	_, err := c.s3.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket:   aws.String(u.Bucket),
		Key:      aws.String(u.Key),
		UploadId: aws.String(u.ID),
	})
	err = wrapUpload("abort multipart upload", u, err)
	if errors.Is(err, ErrNoSuchUpload) {
		return nil
	}
	return err
}

// ListParts returns the parts of u that the store holds, in part order. An
// upload the store does not know gives an error matching ErrNoSuchUpload:
// start that object again from the spool.
func (c *Client) ListParts(ctx context.Context, u Upload) ([]Part, error) {
	var parts []Part
	p := s3.NewListPartsPaginator(c.s3, &s3.ListPartsInput{
		Bucket:   aws.String(u.Bucket),
		Key:      aws.String(u.Key),
		UploadId: aws.String(u.ID),
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrapUpload("list parts", u, err)
		}
		for _, x := range out.Parts {
			parts = append(parts, Part{Number: aws.ToInt32(x.PartNumber), Size: aws.ToInt64(x.Size), ETag: aws.ToString(x.ETag)})
		}
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].Number < parts[j].Number })
	return parts, nil
}

// ListUploads returns the multipart uploads in progress in bucket whose
// keys start with prefix, so that uploads a crashed agent abandoned can be
// resumed or aborted.
func (c *Client) ListUploads(ctx context.Context, bucket, prefix string) ([]Upload, error) {
	var ups []Upload
	in := &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	for {
		out, err := c.s3.ListMultipartUploads(ctx, in)
		if err != nil {
			return nil, wrap("list multipart uploads", bucket, prefix, err)
		}
		for _, x := range out.Uploads {
			ups = append(ups, Upload{Bucket: bucket, Key: aws.ToString(x.Key), ID: aws.ToString(x.UploadId)})
		}
		if !aws.ToBool(out.IsTruncated) || (aws.ToString(out.NextKeyMarker) == "" && aws.ToString(out.NextUploadIdMarker) == "") {
			return ups, nil
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}

// PutParts uploads size bytes of r as o.Key in parts of partSize (see
// PartSize), reading each part from r when it is sent, so memory holds no
// more than the SDK's buffers whatever the size. Each part is sent by
// send, which may retry it alone (nil sends it once). An upload that fails
// is aborted, so the store keeps no orphaned parts; the caller starts the
// object again. Use Put for objects of one part.
func (c *Client) PutParts(ctx context.Context, o Object, r io.ReaderAt, size, partSize int64, send func(ctx context.Context, part func(context.Context) error) error) (err error) {
	if partSize <= 0 {
		return &Error{Op: "put object in parts", Bucket: o.Bucket, Key: o.Key, Err: fmt.Errorf("part size %d", partSize)}
	}
	if (size+partSize-1)/partSize > MaxParts {
		return &Error{Op: "put object in parts", Bucket: o.Bucket, Key: o.Key, Err: fmt.Errorf("%d bytes in parts of %d make more than %d parts", size, partSize, MaxParts)}
	}
	if send == nil {
		send = func(ctx context.Context, part func(context.Context) error) error { return part(ctx) }
	}
	u, err := c.CreateUpload(ctx, o)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			// A fresh context: the caller's may be what ended the upload.
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
			defer cancel()
			if aerr := c.AbortUpload(actx, u); aerr != nil {
				err = errors.Join(err, aerr)
			}
		}
	}()
	var parts []Part
	for n, off := int32(1), int64(0); off < size || n == 1; n, off = n+1, off+partSize {
		sec := io.NewSectionReader(r, off, min(partSize, size-off))
		sum := o.Sums.of(off, sec.Size(), size)
		if sum == nil {
			if sum, err = md5Section(sec); err != nil {
				return &Error{Op: fmt.Sprintf("upload part %d", n), Bucket: o.Bucket, Key: o.Key, Err: fmt.Errorf("read: %w", err)}
			}
		}
		var p Part
		if err := send(ctx, func(ctx context.Context) error {
			if _, err := sec.Seek(0, io.SeekStart); err != nil {
				return err
			}
			var perr error
			p, perr = c.UploadPart(ctx, u, n, sec, sec.Size(), sum)
			return perr
		}); err != nil {
			return err
		}
		parts = append(parts, p)
	}
	return c.CompleteUpload(ctx, u, parts)
}

// wrapUpload is wrap for a request about upload u: radosgw answers a
// request about an upload it no longer knows with 404 NoSuchKey (it looks
// for the upload's own record), which means the same as NoSuchUpload there.
// A 404 whose body was lost (radosgw may close the connection as it
// answers) is taken as NoSuchUpload too: the caller starts the object
// again, and a bucket that is really gone then says so at CreateUpload.
func wrapUpload(op string, u Upload, err error) error {
	err = wrap(op, u.Bucket, u.Key, err)
	var e *Error
	if errors.As(err, &e) && httpStatus(e.Err) == http.StatusNotFound {
		switch code := apiCode(e.Err); {
		case code == "NoSuchKey" && e.Kind == nil, code == "":
			e.Kind = ErrNoSuchUpload
		}
	}
	return err
}

// abortTimeout bounds the abort of a failed upload.
const abortTimeout = 30 * time.Second

// md5Section returns the MD5 of sec and leaves it at its start.
func md5Section(sec *io.SectionReader) ([]byte, error) {
	h := md5.New()
	if _, err := io.Copy(h, io.NewSectionReader(sec, 0, sec.Size())); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}
