package ship

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"

	"github.com/elb-access-logger/elb-access-logger/agent/spool"
	"github.com/elb-access-logger/elb-access-logger/uploader"
)

// Uploader is what shipping needs of the object store. Provision is
// idempotent; Put must return nil only once the store acknowledged the
// object. Errors the store classifies (uploader.Error) say whether they
// are retryable (uploader.Retryable) and how long the store asked to wait
// (uploader.RetryAfter). uploader.Client is one.
type Uploader interface {
	Provision(ctx context.Context, b uploader.Bucket) error
	Put(ctx context.Context, o uploader.Object) error
}

// Segments is the spool -> ship hand-off: the one thing ship needs of the
// spool. *spool.Spool is one.
//
// Contract:
//   - Sealed lists the sealed segments, oldest (smallest End) first. A
//     sealed segment never changes: its name fixes its object key (End,
//     Rand) and its bytes (Size) until Remove.
//   - Open reads one; an error satisfying errors.Is(err, fs.ErrNotExist)
//     means it was evicted meanwhile (not a store failure: skip it).
//   - Counts returns its accounting; ok false means none was kept (the
//     object then says counts=unknown).
//   - Remove is called only once the store acknowledged the object; a
//     segment already gone is no error.
//
// Parts of an open window (a streamed multipart upload, issue 20) are to
// travel through the same hand-off: a Segment then names a part of a
// window rather than a whole one, and Remove is called once the part's
// acknowledgement is durable.
type Segments interface {
	Sealed() ([]spool.Segment, error)
	Open(spool.Segment) (io.ReadSeekCloser, error)
	Counts(spool.Segment) (c spool.WindowCounts, ok bool, err error)
	Remove(spool.Segment) error
}

// Retrying is an Uploader that retries each call of the one it wraps
// (restic's backend wrappers): up to Attempts tries, waiting
// Backoff.After between them (the store's Retry-After wins), stopping at
// once on an error that is not Retryable or when ctx is done. Upload
// rounds call the store only through it.
type Retrying struct {
	Uploader
	Backoff  Backoff
	Attempts int
}

// Provision provisions b, retrying.
func (r Retrying) Provision(ctx context.Context, b uploader.Bucket) error {
	return Retry(ctx, r.Backoff, r.Attempts, func(ctx context.Context) error { return r.Uploader.Provision(ctx, b) })
}

// Put puts o, retrying; each try sends the body from where it stood at
// the first. An object sent in parts has each part retried alone, the
// same way, before the whole object is tried again.
func (r Retrying) Put(ctx context.Context, o uploader.Object) error {
	o.SendPart = func(ctx context.Context, part func(context.Context) error) error {
		return Retry(ctx, r.Backoff, r.Attempts, part)
	}
	var start int64
	if o.Body != nil {
		var err error
		if start, err = o.Body.Seek(0, io.SeekCurrent); err != nil {
			return fmt.Errorf("ship: body of %s: %w", o.Key, err)
		}
	}
	first := true
	return Retry(ctx, r.Backoff, r.Attempts, func(ctx context.Context) error {
		if !first && o.Body != nil {
			if _, err := o.Body.Seek(start, io.SeekStart); err != nil {
				return fmt.Errorf("ship: rewind body of %s: %w", o.Key, err)
			}
		}
		first = false
		return r.Uploader.Put(ctx, o)
	})
}

// Yielding is an Uploader whose Puts let other goroutines run every
// YieldBytes of body they read. An upload reads a window once to send it,
// and once more to hash it (Content-MD5, about a millisecond per MiB) when
// the spool did not hash it as it was written; on one thread (as the agent
// runs while it keeps up) the listener would otherwise wait for the
// runtime to preempt the upload (10 ms) while the kernel's receive buffer
// fills.
type Yielding struct{ Uploader }

// YieldBytes is how much of a body a Put reads between two calls to
// runtime.Gosched.
const YieldBytes = 256 << 10

// Put puts o with a body that yields, read in sequence or, when the body
// is an io.ReaderAt (a file, sent in parts), at offsets.
func (y Yielding) Put(ctx context.Context, o uploader.Object) error {
	switch b := o.Body.(type) {
	case nil:
	case readSeekerAt:
		o.Body = &yieldingReaderAt{yieldingReader: yieldingReader{ReadSeeker: b}, at: b}
	default:
		o.Body = &yieldingReader{ReadSeeker: b}
	}
	return y.Uploader.Put(ctx, o)
}

type readSeekerAt interface {
	io.ReadSeeker
	io.ReaderAt
}

type yieldingReader struct {
	io.ReadSeeker
	n atomic.Int64 // bytes read since the last yield; parts are read concurrently
}

func (r *yieldingReader) Read(p []byte) (int, error) {
	n, err := r.ReadSeeker.Read(p)
	r.yield(n)
	return n, err
}

func (r *yieldingReader) yield(n int) {
	if r.n.Add(int64(n)) >= YieldBytes {
		r.n.Store(0)
		runtime.Gosched()
	}
}

type yieldingReaderAt struct {
	yieldingReader
	at io.ReaderAt
}

func (r *yieldingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.at.ReadAt(p, off)
	r.yield(n)
	return n, err
}
