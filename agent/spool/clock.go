package spool

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Clock drives a Spool in time, from one goroutine (Run): every fsync
// interval it flushes the buffered lines into the kernel and fsyncs them in
// the background (a slow disk must not hold lines in memory, where a kill
// would lose them) and enforces spool.max_bytes; at each window end it
// seals the window. An early seal (Spool.SealEarly) re-arms its timer
// through Spool.Moved.
type Clock struct {
	s     *Spool
	log   *slog.Logger
	every time.Duration
	hooks ClockHooks

	maxBytes atomic.Int64   // spool.max_bytes (SetMaxBytes)
	objBytes atomic.Int64   // access_log.max_object_bytes (SetObjectBytes)
	steps    int64          // clock steps logged so far; Run's goroutine only
	fsyncing atomic.Bool    // a background fsync is running
	bg       sync.WaitGroup // background fsyncs
}

// ClockHooks are what the Clock calls out to; each may be nil.
type ClockHooks struct {
	// Now is the wall clock; nil is time.Now.
	Now func() time.Time
	// BeforeSeal runs just before a window is sealed (the agent adds the
	// datagrams lost meanwhile to its counts).
	BeforeSeal func()
	// Sealed runs after a window was sealed: its segment can be uploaded.
	Sealed func()
	// Busy reports segments being uploaded: eviction skips them.
	Busy func(Segment) bool
	// Result receives the outcome of every flush, fsync, seal and
	// eviction (nil: it worked), to be logged once per cause.
	Result func(error)
}

// NewClock returns a Clock for s: fsyncs every fsyncEvery, the bound
// maxBytes.
func NewClock(s *Spool, fsyncEvery time.Duration, maxBytes int64, log *slog.Logger, hooks ClockHooks) *Clock {
	if hooks.Now == nil {
		hooks.Now = time.Now
	}
	c := &Clock{s: s, log: log, every: fsyncEvery, hooks: hooks}
	c.maxBytes.Store(maxBytes)
	return c
}

// SetMaxBytes sets spool.max_bytes; the next tick enforces it.
func (c *Clock) SetMaxBytes(n int64) {
	c.maxBytes.Store(n)
	c.s.SetPieceBytes(PieceBytes(c.objBytes.Load(), n))
}

// SetObjectBytes sets access_log.max_object_bytes: a window growing past
// it (or past a quarter of spool.max_bytes, if less) is sealed in pieces.
// 0 never cuts a window.
func (c *Clock) SetObjectBytes(n int64) {
	c.objBytes.Store(n)
	c.s.SetPieceBytes(PieceBytes(n, c.maxBytes.Load()))
}

// SetPartBytes sets the part size the spool hashes the open window in
// (Spool.SetPartBytes): the uploader's part size, 0 when objects are
// compressed.
func (c *Clock) SetPartBytes(n int64) { c.s.SetPartBytes(n) }

// MinPieceBytes is the smallest piece a window is cut into, whatever the
// spool's bound.
const MinPieceBytes = 64 << 10

// PieceBytes is the size from which an open window is sealed as a piece:
// maxObject, but at most a quarter of the spool's bound maxSpool, so
// that the open window never holds more than the bound allows while
// older pieces wait for the store; never below MinPieceBytes. maxObject
// 0 means windows are never cut.
func PieceBytes(maxObject, maxSpool int64) int64 {
	if maxObject <= 0 {
		return 0
	}
	if maxSpool > 0 {
		maxObject = min(maxObject, maxSpool/4)
	}
	return max(maxObject, MinPieceBytes)
}

// Run flushes, fsyncs, evicts and seals until ctx is done, then waits for
// a background fsync still running. It does not seal the active window at
// the end: the caller does (SealNow) once ingest has drained.
func (c *Clock) Run(ctx context.Context) {
	fsync := time.NewTicker(c.every)
	defer fsync.Stop()
	window := time.NewTimer(c.untilEnd())
	defer window.Stop()
	for {
		select {
		case <-ctx.Done():
			c.bg.Wait()
			return
		case <-fsync.C:
			c.result(c.s.Flush())
			if c.fsyncing.CompareAndSwap(false, true) {
				c.bg.Go(func() {
					defer c.fsyncing.Store(false)
					c.result(c.s.Sync())
				})
			}
			c.Evict()
			c.noteSteps()
		case <-window.C:
			// The timer runs on the monotonic clock. Firing before the
			// window's end by more than timer slop means the wall clock
			// stepped back while it waited: seal now rather than wait
			// for the step again (the segment keeps its key end, in
			// the future, and is uploaded at once).
			select {
			case <-c.s.Moved(): // an early seal moved the window meanwhile
				window.Reset(c.untilEnd())
				continue
			default:
			}
			if d := c.untilEnd(); d > 0 && d <= StepTolerance {
				window.Reset(d)
				continue
			}
			c.rotate()
			window.Reset(c.untilEnd())
		case <-c.s.Moved():
			window.Reset(c.untilEnd())
		case <-c.s.Full():
			c.sealPiece()
		}
	}
}

func (c *Clock) untilEnd() time.Duration { return time.Until(c.s.End()) }

// rotate seals the active window and starts the next one.
func (c *Clock) rotate() {
	end := c.s.End()
	if c.hooks.BeforeSeal != nil {
		c.hooks.BeforeSeal()
	}
	if err := c.s.Rotate(c.hooks.Now()); err != nil {
		c.result(err)
	} else {
		c.log.Info("window sealed", "end", end.Format(time.RFC3339), "next_end", c.s.End().Format(time.RFC3339))
	}
	c.Evict()
	c.noteSteps()
	if c.hooks.Sealed != nil {
		c.hooks.Sealed()
	}
}

// sealPiece seals the open window's file as a piece when it reached the
// piece size, then makes room for it and has it uploaded.
func (c *Clock) sealPiece() {
	if c.hooks.BeforeSeal != nil {
		c.hooks.BeforeSeal()
	}
	cut, err := c.s.SealPiece(c.hooks.Now())
	if err != nil {
		c.result(err)
	}
	if !cut {
		return
	}
	c.log.Info("window piece sealed: the open window outgrew the piece size", "window_end", c.s.End().Format(time.RFC3339),
		"piece_bytes", c.s.pieceBytes.Load())
	c.Evict()
	if c.hooks.Sealed != nil {
		c.hooks.Sealed()
	}
}

// noteSteps logs each clock step the spool counted since the last call.
func (c *Clock) noteSteps() {
	if n := c.s.Stats().ClockSteps; n > c.steps {
		c.steps = n
		c.log.Warn("wall clock behind the windows already sealed (a step back, or windows sealed while it was ahead): the window now ends on the schedule after now, segments named in the future are uploaded at once",
			"now", c.hooks.Now().UTC().Format(time.RFC3339), "window_end", c.s.End().Format(time.RFC3339), "clock_steps", n)
	}
}

// SealNow seals the active window early, as at shutdown.
func (c *Clock) SealNow() error {
	if c.hooks.BeforeSeal != nil {
		c.hooks.BeforeSeal()
	}
	return c.s.SealEarly(c.hooks.Now())
}

// Evict enforces spool.max_bytes, oldest sealed segments first, and logs
// each eviction.
func (c *Clock) Evict() {
	maxBytes := c.maxBytes.Load()
	evicted, err := c.s.Evict(maxBytes, c.hooks.Busy)
	for _, seg := range evicted {
		c.log.Warn("spool over spool.max_bytes: segment evicted, its lines are lost",
			"key_end", seg.End.Format(time.RFC3339), "bytes", seg.Size, "lines", seg.Lines, "max_bytes", maxBytes)
	}
	if err != nil {
		c.result(err)
	}
}

func (c *Clock) result(err error) {
	if c.hooks.Result != nil {
		c.hooks.Result(err)
	}
}
