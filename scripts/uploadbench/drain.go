package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// drainTotals is what a drain read: the log objects (keys ending in
// .log), their lines and bytes, the largest one; other objects
// (e.g. a test file) are deleted and counted apart.
type drainTotals struct {
	objects, lines, bytes, largest, other int64
}

func (t drainTotals) String() string {
	return fmt.Sprintf("objects=%d lines=%d bytes=%d largest=%d other=%d", t.objects, t.lines, t.bytes, t.largest, t.other)
}

// store is what drain needs of an S3 client.
type store interface {
	ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	DeleteObject(context.Context, *s3.DeleteObjectInput, ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

func drainCmd(args []string) error {
	fs := flag.NewFlagSet("drain", flag.ExitOnError)
	endpoint := fs.String("endpoint", "", "store endpoint, e.g. http://127.0.0.1:7480")
	region := fs.String("region", "us-east-1", "signing region")
	bucket := fs.String("bucket", "", "bucket to drain (may not exist yet)")
	stop := fs.String("stop", "", "file whose existence says the writer has stopped")
	poll := fs.Duration("poll", 250*time.Millisecond, "pause between listings of an empty bucket")
	settle := fs.Duration("settle", 2*time.Second, "after -stop appears, how long the bucket must stay empty")
	maxWait := fs.Duration("max-wait", 5*time.Minute, "after -stop appears, give up draining after this long")
	remove := fs.Bool("remove", false, "delete the bucket when done")
	_ = fs.Parse(args)
	if *endpoint == "" || *bucket == "" || *stop == "" {
		return errors.New("drain: -endpoint, -bucket and -stop are required")
	}
	c := s3.New(s3.Options{
		Region:                     *region,
		BaseEndpoint:               aws.String(*endpoint),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	ctx := context.Background()
	stopped := func() bool { _, err := os.Stat(*stop); return err == nil }
	t, err := drain(ctx, c, *bucket, stopped, *poll, *settle, *maxWait)
	fmt.Println(t)
	if err != nil {
		return err
	}
	if *remove {
		// Uploads the writer abandoned (e.g. a CreateMultipartUpload it
		// timed out on) would keep the bucket from being deleted.
		if ups, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: bucket}); err == nil {
			for _, u := range ups.Uploads {
				_, _ = c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: bucket, Key: u.Key, UploadId: u.UploadId})
			}
		}
		if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: bucket}); err != nil && !noSuchBucket(err) {
			return fmt.Errorf("drain: delete bucket %s: %w", *bucket, err)
		}
	}
	return nil
}

// drain downloads, counts and deletes the objects of bucket as they appear,
// until stopped() is true and the bucket has stayed empty for settle, or
// maxWait has passed since stopped() first was true (an error: objects
// were still appearing or could not be read).
func drain(ctx context.Context, c store, bucket string, stopped func() bool, poll, settle, maxWait time.Duration) (drainTotals, error) {
	var t drainTotals
	var stopAt, emptySince time.Time
	buf := make([]byte, 1<<20)
	for {
		if stopAt.IsZero() && stopped() {
			stopAt = time.Now()
		}
		if !stopAt.IsZero() && time.Since(stopAt) >= maxWait {
			return t, fmt.Errorf("drain: %s not empty %s after the stop", bucket, maxWait)
		}
		out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
		if err != nil && !noSuchBucket(err) {
			return t, fmt.Errorf("drain: list %s: %w", bucket, err)
		}
		var keys []string
		if err == nil {
			for _, o := range out.Contents {
				keys = append(keys, aws.ToString(o.Key))
			}
		}
		for _, k := range keys {
			if err := readDelete(ctx, c, bucket, k, buf, &t); err != nil {
				return t, err
			}
		}
		if len(keys) > 0 {
			emptySince = time.Time{}
			continue
		}
		now := time.Now()
		if !stopAt.IsZero() {
			if emptySince.IsZero() {
				emptySince = now
			}
			if now.Sub(emptySince) >= settle {
				return t, nil
			}
		}
		time.Sleep(poll)
	}
}

// readDelete downloads key, counts its lines into t and deletes it.
func readDelete(ctx context.Context, c store, bucket, key string, buf []byte, t *drainTotals) error {
	obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("drain: get %s/%s: %w", bucket, key, err)
	}
	lines, n, err := countLines(obj.Body, buf)
	obj.Body.Close()
	if err != nil {
		return fmt.Errorf("drain: read %s/%s: %w", bucket, key, err)
	}
	if strings.HasSuffix(key, ".log") {
		t.objects++
		t.lines += lines
		t.bytes += n
		t.largest = max(t.largest, n)
	} else {
		t.other++
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		return fmt.Errorf("drain: delete %s/%s: %w", bucket, key, err)
	}
	return nil
}

// countLines reads r to its end: newlines and bytes.
func countLines(r io.Reader, buf []byte) (lines, n int64, err error) {
	for {
		m, err := r.Read(buf)
		lines += int64(bytes.Count(buf[:m], []byte{'\n'}))
		n += int64(m)
		if err == io.EOF {
			return lines, n, nil
		}
		if err != nil {
			return lines, n, err
		}
	}
}

func noSuchBucket(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "NoSuchBucket"
}
