package agent

import (
	"context"
	"errors"
	"fmt"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/agent/identity"
	"github.com/elb-access-logger/elb-access-logger/agent/ship"
	"github.com/elb-access-logger/elb-access-logger/agent/spool"
	"github.com/elb-access-logger/elb-access-logger/agent/status"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

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

// uploadLoop runs upload rounds until ctx is done: at start, whenever a
// window is sealed, when the next sealed segment is due (ship.Due: the
// node's access_log.upload_spread offset after its window ended), and after
// a failed round with capped exponential backoff, or the store's
// Retry-After (a seal does not cut that pause short). Rounds never block listening or sealing: a store outage of
// any length only makes the backlog grow (up to spool.max_bytes).
func (a *Agent) uploadLoop(ctx context.Context) {
	failures := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		timer.Stop()
		wait, err := a.uploadRound(ctx, false)
		if ctx.Err() == nil {
			a.obs.roundDone(err, a.now())
		}
		switch {
		case err != nil:
			failures++
			timer.Reset(a.backoff.After(failures, err))
		case wait > 0:
			failures = 0
			timer.Reset(wait)
		default:
			failures = 0
		}
		kick := a.kick
		if err != nil {
			// The store gets its pause: a window sealed meanwhile waits
			// for the timer (the kick stays pending), so a fleet whose
			// store is throttling does not come back at the window end.
			kick = nil
		}
		select {
		case <-ctx.Done():
			return
		case <-kick:
		case <-timer.C:
		}
	}
}

// uploadRound uploads the sealed segments that are due (all of them when
// all is set, as at shutdown), oldest first, with at most
// objectstorage.max_concurrency in flight, and removes each one the store
// acknowledged. A segment that fails stays sealed; the round goes on with
// younger segments unless the store looks down (roundFailures segments
// failed) or asked for a pause (Retry-After), so a node with a backlog
// never answers throttling with more requests. It returns how long until
// the next segment not yet due is (0: none), and the first error.
func (a *Agent) uploadRound(ctx context.Context, all bool) (time.Duration, error) {
	a.uploadMu.Lock()
	defer a.uploadMu.Unlock()
	a.elb.destMu.Lock() // cfg and the segments it names, taken together (switchLive)
	cfg := a.live.Load().cfg
	if !cfg.Enabled {
		a.elb.destMu.Unlock()
		return 0, nil
	}
	segs, err := a.spool.Sealed()
	a.elb.destMu.Unlock()
	if err != nil {
		a.reportUploadErr("spool", err)
		return 0, err
	}
	// Parked segments (permanent failures) wait for their own backoff;
	// the others go on without them.
	segs, wait := a.unparked(segs)
	// A user's bucket (elb-api mode) is checked, and its test file
	// written, as soon as logging is enabled, even before the first window.
	if len(segs) == 0 && !cfg.UserBucket {
		return wait, nil
	}
	if !a.takeIdentity() {
		return 0, nil // without an identity, uploads wait for it (resolveIdentity kicks a round)
	}
	if !all {
		var due time.Duration
		segs, due = a.dueSegments(cfg, segs)
		wait = minWait(wait, due)
		if len(segs) == 0 && !cfg.UserBucket {
			return wait, nil
		}
	}
	// Segments pinned to an earlier ship.Destination (elb-api mode) still go
	// out when the current bucket cannot be provisioned.
	bucketErr := a.prepareBucket(ctx, cfg)
	if bucketErr != nil {
		a.reportUploadErr("bucket", bucketErr)
		var pinned []spool.Segment
		for _, seg := range segs {
			if _, ok := a.pinFor(seg); ok {
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
				if err := a.upload(ctx, cfg, seg); err != nil {
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
	if firstErr == nil && a.uploadErr.OK() {
		a.log.Info("uploads work again", "bucket", a.bucket)
	}
	return wait, firstErr
}

// unparked drops the parked segments whose backoff is not over from segs
// (and forgets parked segments no longer in the spool); it returns how
// long until the first of them is due again (0: none).
func (a *Agent) unparked(segs []spool.Segment) ([]spool.Segment, time.Duration) {
	a.parked.Keep(segs)
	now := a.now()
	var next time.Duration
	out := segs[:0:0]
	for _, seg := range segs {
		if d := a.parked.Wait(seg, now); d > 0 {
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
func (a *Agent) dueSegments(cfg *config.Config, segs []spool.Segment) ([]spool.Segment, time.Duration) {
	offset := ship.Offset(a.id, cfg.UploadSpread)
	now := a.now()
	var due []spool.Segment
	var next time.Duration
	for _, seg := range segs {
		d := ship.Due(seg.End, a.started, now, offset).Sub(now)
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
// ship.Destination the bucket was prepared for.
func (a *Agent) prepareBucket(ctx context.Context, cfg *config.Config) error {
	if d := ship.DestOf(cfg, cfg.Bucket); d != a.bucketFor {
		a.bucket, a.bucketReady, a.bucketFor = "", false, d
	}
	if a.bucket == "" {
		b, err := identity.ExpandTemplate(cfg.Bucket, a.id)
		if err != nil {
			return fmt.Errorf("access_log.bucket: %w", err)
		}
		a.bucket = b
	}
	spec := a.bucketSpec(cfg)
	settings := ship.ProvisionSettings(spec, cfg)
	now := a.now()
	if a.bucketReady && a.verified.Fresh(settings, now, cfg.ProvisionCheckInterval) {
		return nil
	}
	if !a.bucketReady && !a.forceProvision {
		st, err := ship.ReadProvisionState(a.filesys(), cfg.SpoolDir)
		if err != nil {
			a.log.Warn("provisioning the bucket again", "err", err)
		} else if st.Fresh(settings, now, cfg.ProvisionCheckInterval) {
			a.bucketReady, a.verified = true, st
			if ui, ok := a.uploader.(ship.UploaderIdentity); ok {
				ui.SetUploaderID(st.Uploader)
			}
			return nil
		}
	}
	// The test files written so far are kept whatever is verified now.
	prev, err := ship.ReadProvisionState(a.filesys(), cfg.SpoolDir)
	if err != nil {
		prev = a.verified
	}
	spec.TestFileWritten = spec.UserOwned && prev.WroteTestFile(spec)
	if err := a.store().Provision(ctx, spec); err != nil {
		if !errors.Is(err, context.Canceled) {
			a.obs.provisionErrors.Add(1)
			a.obs.events.Failed("provisioning", a.now(), err)
		}
		return err
	}
	a.provisions.Add(1)
	a.parked.ReleaseAll() // the store took a write: parked segments are worth a try now
	a.bucketReady, a.forceProvision = true, false
	a.verified = ship.ProvisionState{Settings: settings, Bucket: spec.Name, Verified: a.now().UTC(), TestFiles: prev.TestFiles}
	if spec.UserOwned && !spec.TestFileWritten {
		a.verified.TestFiles = append(slices.Clone(prev.TestFiles), ship.TestFileDest(spec))
	}
	if ui, ok := a.uploader.(ship.UploaderIdentity); ok {
		a.verified.Uploader = ui.UploaderID()
	}
	if err := ship.WriteProvisionState(a.filesys(), cfg.SpoolDir, a.verified); err != nil {
		a.log.Warn("bucket verified, but the spool cannot remember it; the next start verifies it again", "err", err)
	}
	return nil
}

// filesys is the spool's filesystem seam.
func (a *Agent) filesys() spool.FS {
	if a.fs == nil {
		return spool.OSFS{}
	}
	return a.fs
}

// upload puts one segment under its key and removes it once acknowledged.
func (a *Agent) upload(ctx context.Context, cfg *config.Config, seg spool.Segment) error {
	dest, pinned := a.pinFor(seg)
	if !pinned {
		dest = ship.DestOf(cfg, a.bucket)
	}
	key, err := ship.ObjectKey(dest, a.id, seg)
	if err != nil {
		a.reportUploadErr(seg.Path, err)
		return err
	}
	a.inflight.Store(seg.Path, struct{}{})
	defer a.inflight.Delete(seg.Path)
	counts, known, cerr := a.spool.Counts(seg)
	if cerr != nil {
		a.log.Warn("segment counts unreadable; uploaded without them", "err", cerr)
	}
	start := time.Now()
	err = a.put(ctx, seg, dest, key, cfg.OwnerCanonicalID, counts, known)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil // evicted meanwhile
		}
		if errors.Is(err, uploader.ErrNoSuchBucket) {
			a.resetProvisioning() // deleted under us: provision again
		}
		a.uploadsFailed.Add(1)
		if !errors.Is(err, context.Canceled) {
			a.obs.uploadFailed(err)
		}
		a.reportUploadErr(key, err)
		// A failure retrying will not fix parks the segment, so newer ones
		// go on. A bucket gone from under an unpinned segment is not one:
		// the next round provisions it again.
		if ship.Permanent(err) && (pinned || !errors.Is(err, uploader.ErrNoSuchBucket)) {
			d := a.parked.Park(seg, a.now())
			a.log.Warn("upload failed permanently; segment parked, newer segments go on", "object", key,
				"window_end", seg.End.Format(time.RFC3339), "retry_in", d.Round(time.Second).String(), "err", err)
		}
		return err
	}
	a.parked.Release(seg)
	a.obs.uploadLatency.Observe(time.Since(start).Seconds())
	a.obs.lastUploadNanos.Store(time.Now().UnixNano())
	a.obs.events.Uploaded(status.Upload{Time: time.Now(), Bucket: dest.Bucket, Object: key, Bytes: seg.Size})
	a.uploadsOK.Add(1)
	if err := a.spool.Remove(seg); err != nil {
		// Uploaded but not removed: the next round uploads the same
		// bytes under the same key again, which is harmless.
		a.log.Error("remove uploaded segment", "err", err)
	} else if pinned {
		a.unpin(seg)
	}
	if known {
		a.log.Info("uploaded", "bucket", dest.Bucket, "key", key, "bytes", seg.Size, "lines", counts.Lines,
			"unparsed", counts.Unparsed, "truncated", counts.Truncated, "kernel_drops", counts.KernelDrops,
			"haproxy_dropped", counts.HAProxyDropped, "counts", counts.Status())
	} else {
		a.log.Info("uploaded", "bucket", dest.Bucket, "key", key, "bytes", seg.Size, "counts", "unknown")
	}
	return nil
}

// put sends one segment to dest with its counts as object metadata; a
// segment without counts (sealed from a file an earlier run left) says so.
// READ goes to grantee (access_log.owner_canonical_id, AWS) when set, else
// to the owner's account. A user-owned bucket (elb-api) gets
// bucket-owner-full-control instead of the grants.
func (a *Agent) put(ctx context.Context, seg spool.Segment, dest ship.Destination, key, grantee string, counts spool.WindowCounts, known bool) error {
	f, err := a.spool.Open(seg)
	if err != nil {
		return err
	}
	defer f.Close()
	o := uploader.Object{
		Bucket:       dest.Bucket,
		Key:          key,
		Body:         f,
		Size:         seg.Size, // a sealed segment never changes
		OwnerAccount: a.id.Account,
		OwnerGrantee: grantee,
		Metadata:     objectMetadata(counts, known),
	}
	if dest.UserOwned {
		o.CannedACL = uploader.CannedACLBucketOwnerFullControl
	}
	return a.store().Put(ctx, o)
}

// store is the uploader as upload rounds call it: retried (putAttempts
// tries, the agent's backoff, Retry-After honoured) and yielding to the
// listeners while it reads a body.
func (a *Agent) store() ship.Uploader {
	return ship.Retrying{Uploader: ship.Yielding{Uploader: a.uploader}, Backoff: a.backoff, Attempts: putAttempts}
}

// bucketSpec is what the agent wants of its bucket.
func (a *Agent) bucketSpec(cfg *config.Config) uploader.Bucket {
	b := uploader.Bucket{Name: a.bucket, OwnerAccount: a.id.Account, OwnerGrantee: cfg.OwnerCanonicalID,
		LifecycleDays: cfg.LifecycleDays, LBName: a.id.LBName, KeyLayout: cfg.KeyLayout}
	if cfg.UserBucket || cfg.KeyLayout == uploader.KeyLayoutAWS {
		b.Prefix = cfg.KeyPrefix // the aws layout's keys, and the lifecycle rule, are under it
	}
	b.UserOwned = cfg.UserBucket
	return b
}

// reportUploadErr logs an upload failure once per distinct cause.
func (a *Agent) reportUploadErr(what string, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	if a.uploadErr.Failed(err) {
		a.log.Error("upload failed; segment kept for the next round", "bucket", a.bucket, "object", what, "err", err)
	}
}

// UploadStats returns how many segment uploads the store acknowledged and
// how many failed (after their retries), for metrics.
func (a *Agent) UploadStats() (ok, failed int64) {
	return a.uploadsOK.Load(), a.uploadsFailed.Load()
}

// ProvisionStats returns how often this process provisioned its bucket
// (each time a Provision call succeeded), for metrics.
func (a *Agent) ProvisionStats() int64 { return a.provisions.Load() }

// SpoolStats returns the spool's counters (write errors, dropped lines,
// windows sealed, segments evicted), for metrics. Zero before Start.
func (a *Agent) SpoolStats() spool.Stats {
	if a.spool == nil {
		return spool.Stats{}
	}
	return a.spool.Stats()
}

// objectMetadata is what an object's x-amz-meta-* headers say about its
// completeness.
func objectMetadata(c spool.WindowCounts, known bool) map[string]string {
	if !known {
		return map[string]string{"counts": "unknown"}
	}
	return c.Metadata()
}
