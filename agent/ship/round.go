package ship

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/agent/identity"
	"github.com/elb-access-logger/elb-access-logger/agent/spool"
	"github.com/elb-access-logger/elb-access-logger/agent/status"
	"github.com/elb-access-logger/elb-access-logger/uploader"
)

const (
	// putAttempts is how often one round tries a store call before it
	// leaves the segment for a later round.
	putAttempts = 3
	// roundFailures ends a round early: after this many segments failed,
	// the store is taken to be down and the round waits for the backoff.
	roundFailures = 2
)

// round uploads the sealed segments that are due (all of them when
// all is set, as at shutdown), oldest first, with at most
// objectstorage.max_concurrency in flight, and removes each one the store
// acknowledged. A segment that fails stays sealed; the round goes on with
// younger segments unless the store looks down (roundFailures segments
// failed) or asked for a pause (Retry-After), so a node with a backlog
// never answers throttling with more requests. It returns how long until
// the next segment not yet due is (0: none), and the first error.
func (s *Shipper) round(ctx context.Context, all bool) (time.Duration, error) {
	s.roundMu.Lock()
	defer s.roundMu.Unlock()
	s.targetMu.Lock() // cfg and the segments it names, taken together (SetTarget)
	cfg := s.cfg
	if !cfg.Enabled {
		s.targetMu.Unlock()
		return 0, nil
	}
	segs, err := s.segs.Sealed()
	s.targetMu.Unlock()
	if err != nil {
		s.reportUploadErr("spool", err)
		return 0, err
	}
	// Parked segments (permanent failures) wait for their own backoff;
	// the others go on without them.
	segs, wait := s.unparked(segs)
	// A user's bucket (elb-api mode) is checked, and its test file
	// written, as soon as logging is enabled, even before the first window.
	if len(segs) == 0 && !cfg.UserBucket {
		return wait, nil
	}
	if !s.takeIdentity() {
		return 0, nil // without an identity, uploads wait for it (SetIdentity kicks a round)
	}
	if !all {
		var due time.Duration
		segs, due = s.dueSegments(cfg, segs)
		wait = minWait(wait, due)
		if len(segs) == 0 && !cfg.UserBucket {
			return wait, nil
		}
	}
	// Segments pinned to an earlier Destination (elb-api mode) still go
	// out when the current bucket cannot be provisioned.
	bucketErr := s.prepareBucket(ctx, cfg)
	if bucketErr != nil {
		s.reportUploadErr("bucket", bucketErr)
		var pinned []spool.Segment
		for _, seg := range segs {
			if _, ok := s.pinFor(seg); ok {
				pinned = append(pinned, seg)
			}
		}
		if segs = pinned; len(segs) == 0 {
			return wait, bucketErr
		}
	}

	var (
		failed   atomic.Int32
		errMu    sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		work     = make(chan spool.Segment)
	)
	for range max(cfg.MaxConcurrency, 1) {
		wg.Go(func() {
			for seg := range work {
				if failed.Load() >= roundFailures {
					continue // handed over before the round ended: leave it for the next
				}
				if err := s.upload(ctx, cfg, seg); err != nil {
					if uploader.RetryAfter(err) > 0 {
						// The store asked for a pause (503 SlowDown, 429): no
						// other segment goes out before it is over.
						failed.Store(roundFailures)
					} else {
						failed.Add(1)
					}
					errMu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					errMu.Unlock()
				}
			}
		})
	}
feed:
	for _, seg := range segs {
		if failed.Load() >= roundFailures {
			break
		}
		select {
		case work <- seg:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if bucketErr != nil {
		return wait, bucketErr
	}
	if firstErr == nil && s.uploadErr.OK() {
		s.log.Info("uploads work again", "bucket", s.bucket)
	}
	return wait, firstErr
}

// unparked drops the parked segments whose backoff is not over from segs
// (and forgets parked segments no longer in the spool); it returns how
// long until the first of them is due again (0: none).
func (s *Shipper) unparked(segs []spool.Segment) ([]spool.Segment, time.Duration) {
	s.parked.Keep(segs)
	now := s.now()
	var next time.Duration
	out := segs[:0:0]
	for _, seg := range segs {
		if d := s.parked.Wait(seg, now); d > 0 {
			next = minWait(next, d)
			continue
		}
		out = append(out, seg)
	}
	return out, next
}

// minWait is the shorter of two waits, 0 meaning none.
func minWait(a, b time.Duration) time.Duration {
	if a == 0 || (b > 0 && b < a) {
		return b
	}
	return a
}

// dueSegments keeps the segments whose upload is due now (segs is oldest
// first, and so is the result) and returns how long until the first of
// the others is due.
func (s *Shipper) dueSegments(cfg *config.Config, segs []spool.Segment) ([]spool.Segment, time.Duration) {
	offset := Offset(s.id, cfg.UploadSpread)
	now := s.now()
	var due []spool.Segment
	var next time.Duration
	for _, seg := range segs {
		d := Due(seg.End, s.started, now, offset).Sub(now)
		if d <= 0 {
			due = append(due, seg)
		} else if next == 0 || d < next {
			next = d
		}
	}
	return due, next
}

// prepareBucket names the bucket and makes sure it was provisioned with
// the current settings less than access_log.provision_check_interval ago:
// by this process, or by an earlier one as the spool directory's
// provisioned.json remembers. Only then does it call the store. A round
// that took its configuration before a change (elb-api) prepares that
// configuration's bucket; the next round notices the change by the
// Destination the bucket was prepared for.
func (s *Shipper) prepareBucket(ctx context.Context, cfg *config.Config) error {
	if d := DestOf(cfg, cfg.Bucket); d != s.bucketFor {
		s.bucket, s.bucketReady, s.bucketFor = "", false, d
	}
	if s.bucket == "" {
		b, err := identity.ExpandTemplate(cfg.Bucket, s.id)
		if err != nil {
			return fmt.Errorf("access_log.bucket: %w", err)
		}
		s.bucket = b
	}
	spec := s.bucketSpec(cfg)
	settings := ProvisionSettings(spec, cfg)
	now := s.now()
	if s.bucketReady && s.verified.Fresh(settings, now, cfg.ProvisionCheckInterval) {
		return nil
	}
	if !s.bucketReady && !s.forceProvision {
		st, err := ReadProvisionState(s.fs, cfg.SpoolDir)
		if err != nil {
			s.log.Warn("provisioning the bucket again", "err", err)
		} else if st.Fresh(settings, now, cfg.ProvisionCheckInterval) {
			s.bucketReady, s.verified = true, st
			if ui, ok := s.up.(UploaderIdentity); ok {
				ui.SetUploaderID(st.Uploader)
			}
			return nil
		}
	}
	// The test files written so far are kept whatever is verified now.
	prev, err := ReadProvisionState(s.fs, cfg.SpoolDir)
	if err != nil {
		prev = s.verified
	}
	spec.TestFileWritten = spec.UserOwned && prev.WroteTestFile(spec)
	if err := s.store().Provision(ctx, spec); err != nil {
		if !errors.Is(err, context.Canceled) {
			s.provisionErrors.Add(1)
			s.events.Failed("provisioning", s.now(), err)
		}
		return err
	}
	s.provisions.Add(1)
	s.parked.ReleaseAll() // the store took a write: parked segments are worth a try now
	s.bucketReady, s.forceProvision = true, false
	s.verified = ProvisionState{Settings: settings, Bucket: spec.Name, Verified: s.now().UTC(), TestFiles: prev.TestFiles}
	if spec.UserOwned && !spec.TestFileWritten {
		s.verified.TestFiles = append(slices.Clone(prev.TestFiles), TestFileDest(spec))
	}
	if ui, ok := s.up.(UploaderIdentity); ok {
		s.verified.Uploader = ui.UploaderID()
	}
	if err := WriteProvisionState(s.fs, cfg.SpoolDir, s.verified); err != nil {
		s.log.Warn("bucket verified, but the spool cannot remember it; the next start verifies it again", "err", err)
	}
	return nil
}

// upload puts one segment under its key and removes it once acknowledged.
func (s *Shipper) upload(ctx context.Context, cfg *config.Config, seg spool.Segment) error {
	dest, pinned := s.pinFor(seg)
	if !pinned {
		dest = DestOf(cfg, s.bucket)
	}
	key, err := ObjectKey(dest, s.id, seg)
	if err != nil {
		s.reportUploadErr(seg.Path, err)
		return err
	}
	s.inflight.Store(seg.Path, struct{}{})
	defer s.inflight.Delete(seg.Path)
	counts, known, cerr := s.segs.Counts(seg)
	if cerr != nil {
		s.log.Warn("segment counts unreadable; uploaded without them", "err", cerr)
	}
	start := time.Now()
	err = s.put(ctx, seg, dest, key, cfg.OwnerCanonicalID, counts, known)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil // evicted meanwhile
		}
		if errors.Is(err, uploader.ErrNoSuchBucket) {
			s.Reprovision() // deleted under us: provision again
		}
		s.uploadsFailed.Add(1)
		if !errors.Is(err, context.Canceled) {
			s.countFailure(err)
		}
		s.reportUploadErr(key, err)
		// A failure retrying will not fix parks the segment, so newer ones
		// go on. A bucket gone from under an unpinned segment is not one:
		// the next round provisions it again.
		if Permanent(err) && (pinned || !errors.Is(err, uploader.ErrNoSuchBucket)) {
			d := s.parked.Park(seg, s.now())
			s.log.Warn("upload failed permanently; segment parked, newer segments go on", "object", key,
				"window_end", seg.End.Format(time.RFC3339), "retry_in", d.Round(time.Second).String(), "err", err)
		}
		return err
	}
	s.parked.Release(seg)
	if s.latency != nil {
		s.latency.Observe(time.Since(start).Seconds())
	}
	s.lastUpload.Store(time.Now().UnixNano())
	s.uploadBytes.Add(seg.Size)
	s.events.Uploaded(status.Upload{Time: time.Now(), Bucket: dest.Bucket, Object: key, Bytes: seg.Size})
	s.uploadsOK.Add(1)
	if err := s.segs.Remove(seg); err != nil {
		// Uploaded but not removed: the next round uploads the same
		// bytes under the same key again, which is harmless.
		s.log.Error("remove uploaded segment", "err", err)
	} else if pinned {
		s.unpin(seg)
	}
	if known {
		s.log.Info("uploaded", "bucket", dest.Bucket, "key", key, "bytes", seg.Size, "lines", counts.Lines,
			"unparsed", counts.Unparsed, "truncated", counts.Truncated, "kernel_drops", counts.KernelDrops,
			"haproxy_dropped", counts.HAProxyDropped, "counts", counts.Status())
	} else {
		s.log.Info("uploaded", "bucket", dest.Bucket, "key", key, "bytes", seg.Size, "counts", "unknown")
	}
	return nil
}

// put sends one segment to dest with its counts as object metadata; a
// segment without counts (sealed from a file an earlier run left) says so.
// READ goes to grantee (access_log.owner_canonical_id, AWS) when set, else
// to the owner's account. A user-owned bucket (elb-api) gets
// bucket-owner-full-control instead of the grants.
func (s *Shipper) put(ctx context.Context, seg spool.Segment, dest Destination, key, grantee string, counts spool.WindowCounts, known bool) error {
	f, err := s.segs.Open(seg)
	if err != nil {
		return err
	}
	defer f.Close()
	o := uploader.Object{
		Bucket:       dest.Bucket,
		Key:          key,
		Body:         f,
		Size:         seg.Size, // a sealed segment never changes
		OwnerAccount: s.id.Account,
		OwnerGrantee: grantee,
		Metadata:     objectMetadata(counts, known),
		Gzip:         dest.Gzip,
		Sums:         uploader.Sums{PartSize: counts.Parts.PartBytes, Size: counts.Parts.Bytes, MD5: counts.Parts.MD5},
	}
	if dest.UserOwned {
		o.CannedACL = uploader.CannedACLBucketOwnerFullControl
	}
	return s.store().Put(ctx, o)
}

// store is the uploader as upload rounds call it: retried (putAttempts
// tries, the agent's backoff, Retry-After honoured) and yielding to the
// listeners while it reads a body.
func (s *Shipper) store() Uploader {
	return Retrying{Uploader: Yielding{Uploader: s.up}, Backoff: s.backoff, Attempts: putAttempts}
}

// bucketSpec is what the agent wants of its bucket.
func (s *Shipper) bucketSpec(cfg *config.Config) uploader.Bucket {
	b := uploader.Bucket{Name: s.bucket, OwnerAccount: s.id.Account, OwnerGrantee: cfg.OwnerCanonicalID,
		LifecycleDays: cfg.LifecycleDays, LBName: s.id.LBName, KeyLayout: cfg.KeyLayout}
	if cfg.UserBucket || cfg.KeyLayout == uploader.KeyLayoutAWS {
		b.Prefix = cfg.KeyPrefix // the aws layout's keys, and the lifecycle rule, are under it
	}
	b.UserOwned = cfg.UserBucket
	return b
}

// reportUploadErr logs an upload failure once per distinct cause.
func (s *Shipper) reportUploadErr(what string, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	if s.uploadErr.Failed(err) {
		s.log.Error("upload failed; segment kept for the next round", "bucket", s.bucket, "object", what, "err", err)
	}
}

// objectMetadata is what an object's x-amz-meta-* headers say about its
// completeness.
func objectMetadata(c spool.WindowCounts, known bool) map[string]string {
	if !known {
		return map[string]string{"counts": "unknown"}
	}
	return c.Metadata()
}
