package ship

import (
	"context"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/agent/identity"
	"github.com/elb-access-logger/elb-access-logger/agent/spool"
	"github.com/elb-access-logger/elb-access-logger/agent/status"
	"github.com/elb-access-logger/elb-access-logger/uploader"
)

// Sealer seals the open window before its end. *spool.Spool is one. The
// Shipper calls it when the destination changes (elb-api mode), so that no
// window mixes two destinations.
type Sealer interface {
	SealEarly(now time.Time) error
}

// Observer takes one observation; prometheus.Histogram is one.
type Observer interface{ Observe(float64) }

// Events is told of acknowledged uploads and of failures by cause, for the
// status page; *status.Recorder is one.
type Events interface {
	Uploaded(u status.Upload)
	Failed(cause string, t time.Time, err error)
}

// noEvents is the Events of a Shipper built without.
type noEvents struct{}

func (noEvents) Uploaded(status.Upload)          {}
func (noEvents) Failed(string, time.Time, error) {}

// Options are what a Shipper is built from.
type Options struct {
	Segments Segments
	Sealer   Sealer // nil: the destination never changes under a window
	Uploader Uploader
	FS       spool.FS       // the spool directory's filesystem; nil: the real one
	Config   *config.Config // the configuration in force at start
	Started  time.Time      // segments found then are due the spread after it
	Now      func() time.Time
	Backoff  Backoff // zero: DefaultBackoff
	Log      *slog.Logger
	// Latency, when set, observes each acknowledged PUT's duration in
	// seconds, retries included.
	Latency Observer
	// Events, when set, is told of uploads and failures.
	Events Events
	// SpoolResult, when set, is told of a spool error (listing, sealing
	// early); else it is logged.
	SpoolResult func(error)
}

// Shipper carries sealed segments to the store: upload rounds at start,
// when kicked (a window was sealed, the identity became known), when the
// next segment is due, and after a failure with backoff; one final round
// at shutdown. It owns the provisioning state, the pins of segments
// sealed under earlier destinations, the in-flight set, parked segments
// and the upload counters.
//
// Lock order: roundMu -> targetMu -> the spool's locks; roundMu -> idMu.
// The in-flight set, Parking and ErrOnce are leaves.
type Shipper struct {
	segs        Segments
	sealer      Sealer
	up          Uploader
	fs          spool.FS
	now         func() time.Time
	backoff     Backoff
	started     time.Time
	log         *slog.Logger
	latency     Observer
	events      Events
	spoolResult func(error)
	kick        chan struct{} // a round is due

	// targetMu makes a change of destination atomic for rounds: the new
	// configuration and the pins of the segments sealed under the old one
	// appear together. It guards cfg, pins and the pins file.
	targetMu sync.Mutex
	cfg      *config.Config
	pins     map[string]Destination // segment file name -> where it goes

	// roundMu lets one round run at a time (the loop's, Final's); it
	// guards the round state below.
	roundMu        sync.Mutex
	id             identity.Identity // the identity rounds use (takeIdentity)
	bucket         string            // cfg's bucket template expanded for id
	bucketReady    bool
	bucketFor      Destination    // the settings bucket and bucketReady are for
	verified       ProvisionState // what the store was last seen to match
	forceProvision bool           // the store changed under us: do not trust provisioned.json

	// idMu guards the identity SetIdentity hands to rounds.
	idMu        sync.Mutex
	latest      identity.Identity
	ready       bool // latest is complete; uploads may go
	reprovision bool // the bucket's settings changed: provision again
	waitLogged  bool

	inflight  sync.Map // segment path -> struct{}: being uploaded
	parked    Parking  // segments that failed permanently, each with its own backoff
	uploadErr ErrOnce

	uploadsOK, uploadsFailed, provisions, provisionErrors atomic.Int64
	lastUpload                                            atomic.Int64 // unix nanos of the last acknowledged upload
	uploadBytes                                           atomic.Int64 // bytes of acknowledged uploads
	failingSince                                          atomic.Int64 // unix nanos the rounds started failing; 0 when the last one worked
	failures                                              sync.Map     // uploader.Cause -> *atomic.Int64
}

// New returns a Shipper; it uploads nothing until Run or Final. Pins kept
// by an earlier run are loaded (and migrated from elb-api-state.json, where
// versions before pins.json kept them).
func New(o Options) *Shipper {
	s := &Shipper{segs: o.Segments, sealer: o.Sealer, up: o.Uploader, fs: o.FS, now: o.Now, backoff: o.Backoff,
		started: o.Started, log: o.Log, latency: o.Latency, events: o.Events, spoolResult: o.SpoolResult,
		kick: make(chan struct{}, 1), cfg: o.Config, id: o.Config.Identity()}
	if s.now == nil {
		s.now = time.Now
	}
	if s.backoff == (Backoff{}) {
		s.backoff = DefaultBackoff
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.fs == nil {
		s.fs = spool.OSFS{}
	}
	if s.events == nil {
		s.events = noEvents{}
	}
	pins, err := loadPins(s.fs, o.Config.SpoolDir)
	if err != nil {
		s.log.Error("pins of segments sealed under earlier settings not readable; they go to the current bucket", "err", err)
	}
	s.pins = pins
	return s
}

// Run runs upload rounds until ctx is done: at start, whenever kicked, when
// the next sealed segment is due (Due: the node's
// access_log.upload_spread offset after its window ended), and after a
// failed round with capped exponential backoff, or the store's Retry-After
// (a kick does not cut that pause short). Rounds never block listening or
// sealing: a store outage of any length only makes the backlog grow (up to
// spool.max_bytes).
func (s *Shipper) Run(ctx context.Context) {
	failures := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		timer.Stop()
		wait, err := s.round(ctx, false)
		if ctx.Err() == nil {
			s.roundDone(err)
		}
		switch {
		case err != nil:
			failures++
			timer.Reset(s.backoff.After(failures, err))
		case wait > 0:
			failures = 0
			timer.Reset(wait)
		default:
			failures = 0
		}
		kick := s.kick
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

// Final makes one round of every sealed segment, due or not (the spread
// is for a fleet in step; a stopping node does not wait), bounded by ctx.
// Call it after Run returned.
func (s *Shipper) Final(ctx context.Context) error {
	_, err := s.round(ctx, true)
	return err
}

// Kick asks for a round (a window was sealed). It never blocks.
func (s *Shipper) Kick() {
	select {
	case s.kick <- struct{}{}:
	default: // a round is already due
	}
}

// Busy reports whether seg is being uploaded (eviction spares it).
func (s *Shipper) Busy(seg spool.Segment) bool {
	_, busy := s.inflight.Load(seg.Path)
	return busy
}

// SetTarget makes cfg the configuration rounds upload by. In elb-api mode,
// when the destination, the schedule or enabled changes, the open window
// is sealed first and every segment sealed so far is pinned to the old
// destination, so no window mixes two destinations and none goes where the
// owner no longer wants it. Publish the new schedule to the spool before.
func (s *Shipper) SetTarget(cfg *config.Config) {
	s.targetMu.Lock()
	old := s.cfg
	oldDest, newDest := DestOf(old, old.Bucket), DestOf(cfg, cfg.Bucket)
	change := (old.UserBucket || cfg.UserBucket) &&
		(oldDest != newDest || old.Enabled != cfg.Enabled || windowSpec(old) != windowSpec(cfg))
	s.cfg = cfg
	if change && s.sealer != nil {
		// The new schedule names the next window's end.
		if err := s.sealer.SealEarly(s.now()); err != nil {
			s.spoolErr(err)
		}
		s.pinSealedLocked(oldDest)
	}
	s.targetMu.Unlock()
	if !change {
		return
	}
	s.Kick()
	if cfg.Enabled && (!old.Enabled || oldDest != newDest) {
		s.Reprovision() // the test file is written on enable and on a bucket change
	}
}

// windowSpec is the cron spec of cfg's windows.
func windowSpec(c *config.Config) string {
	if c.Schedule != "" {
		return c.Schedule
	}
	return strconv.Itoa(c.EmitInterval)
}

// target returns the configuration in force.
func (s *Shipper) target() *config.Config {
	s.targetMu.Lock()
	defer s.targetMu.Unlock()
	return s.cfg
}

// SetIdentity hands rounds the identity the resolver delivered; complete
// says uploads may go (and a round is kicked).
func (s *Shipper) SetIdentity(id identity.Identity, complete bool) {
	s.idMu.Lock()
	s.latest, s.ready, s.waitLogged = id, complete, false
	s.idMu.Unlock()
	if complete {
		s.Kick()
	}
}

// Reprovision makes the next round provision the bucket again: its
// settings changed, or the store lost it.
func (s *Shipper) Reprovision() {
	s.idMu.Lock()
	s.reprovision = true
	s.idMu.Unlock()
}

// takeIdentity moves the latest complete identity into the round state,
// forgetting the bucket when the identity or the bucket settings changed.
// It reports false while the identity is not known yet. Call it with
// roundMu held.
func (s *Shipper) takeIdentity() bool {
	s.idMu.Lock()
	defer s.idMu.Unlock()
	if !s.ready {
		if !s.waitLogged {
			s.waitLogged = true
			s.log.Info("sealed segments wait for the node's identity")
		}
		return false
	}
	if s.latest != s.id || s.reprovision {
		s.id = s.latest
		s.bucket = ""
		s.bucketReady = false
		s.forceProvision = s.forceProvision || s.reprovision
		s.reprovision = false
	}
	return true
}

// spoolErr reports a spool error.
func (s *Shipper) spoolErr(err error) {
	if s.spoolResult != nil {
		s.spoolResult(err)
		return
	}
	s.log.Error("spool", "err", err)
}

// Stats are the Shipper's counters, for metrics and /healthz.
type Stats struct {
	Uploads         int64             // segments the store acknowledged
	UploadBytes     int64             // their bytes
	UploadFailures  int64             // segment uploads that failed after their retries
	FailuresByCause map[string]int64  // the same by uploader.Cause (cancelled rounds not counted)
	Provisions      int64             // Provision calls that succeeded
	ProvisionErrors int64             // Provision calls that failed
	LastUpload      time.Time         // zero before the first
	FailingSince    time.Time         // zero while the last round worked
	Parked          int               // segments parked after a permanent failure
	IdentityReady   bool              // the identity is complete: uploads may go
	Identity        identity.Identity // the latest delivered (SetIdentity); zero before
}

// Stats returns the counters. It takes no lock a round holds for long.
func (s *Shipper) Stats() Stats {
	st := Stats{Uploads: s.uploadsOK.Load(), UploadBytes: s.uploadBytes.Load(), UploadFailures: s.uploadsFailed.Load(), Provisions: s.provisions.Load(),
		ProvisionErrors: s.provisionErrors.Load(), Parked: s.parked.Len(), FailuresByCause: map[string]int64{}}
	if n := s.lastUpload.Load(); n > 0 {
		st.LastUpload = time.Unix(0, n)
	}
	if n := s.failingSince.Load(); n > 0 {
		st.FailingSince = time.Unix(0, n)
	}
	s.failures.Range(func(k, v any) bool {
		st.FailuresByCause[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	s.idMu.Lock()
	st.IdentityReady, st.Identity = s.ready, s.latest
	s.idMu.Unlock()
	return st
}

// Causes returns every cause the uploader names (uploader.Causes: the
// metric has each from the start, at 0) and any other of
// FailuresByCause, sorted.
func (st Stats) Causes() []string {
	out := uploader.Causes()
	for c := range st.FailuresByCause {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

// countFailure counts a failed upload by its cause.
func (s *Shipper) countFailure(err error) {
	cause := uploader.Cause(err)
	s.events.Failed("upload/"+cause, time.Now(), err)
	c, ok := s.failures.Load(cause)
	if !ok {
		c, _ = s.failures.LoadOrStore(cause, new(atomic.Int64))
	}
	c.(*atomic.Int64).Add(1)
}

// roundDone records the outcome of a round for /healthz.
func (s *Shipper) roundDone(err error) {
	if err == nil {
		s.failingSince.Store(0)
		return
	}
	s.failingSince.CompareAndSwap(0, s.now().UnixNano())
}
