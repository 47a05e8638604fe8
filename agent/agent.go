package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elb-access-logger/elb-access-logger/parser"
	"github.com/elb-access-logger/elb-access-logger/uploader"
	"github.com/robfig/cron/v3"
)

// Uploader is what the agent needs of the object store. Provision is
// idempotent; Put must return nil only once the store acknowledged the
// object.
type Uploader interface {
	Provision(ctx context.Context, b uploader.Bucket) error
	Put(ctx context.Context, o uploader.Object) error
}

// ShutdownTimeout bounds the final upload round after a stop signal.
const ShutdownTimeout = 10 * time.Second

// Agent is one running access-log agent.
type Agent struct {
	cfg      *Config
	id       Identity
	bucket   string
	sched    cron.Schedule
	enc      parser.Encoder
	uploader Uploader
	log      *slog.Logger
	now      func() time.Time

	spool     *Spool
	listeners []*udpListener

	uploadMu      sync.Mutex // one upload round at a time
	bucketReady   bool
	lastUploadErr string

	// Hot reload and identity (reload.go, identity.go).
	live     atomic.Pointer[liveConfig] // what reloads may change
	run      runState                   // set by Run before its goroutines start
	watch    *watchSpec
	metadata IdentitySource
	ids      identityState
	reloads  reloadCounters
	listenMu sync.Mutex // guards listeners and stopListen against a rebind
	// stopListen stops one listener: it drains its queue, then closes.
	stopListen map[*udpListener]context.CancelFunc
}

// New checks cfg and prepares an agent. It binds nothing until Start.
func New(cfg *Config, up Uploader, log *slog.Logger) (*Agent, error) {
	sched, err := windowSchedule(cfg)
	if err != nil {
		return nil, err
	}
	enc, err := parser.NewEncoder(cfg.Format)
	if err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, id: identityFromConfig(cfg), sched: sched, enc: enc, uploader: up, log: log, now: time.Now}
	a.live.Store(&liveConfig{cfg: cfg, sched: sched, enc: enc})
	if cfg.MetadataEndpoint != "" {
		a.metadata = NewMetadataClient(cfg.MetadataEndpoint, cfg.MetadataTimeout)
	}
	return a, nil
}

// Start opens the spool and binds the listeners. Addrs then reports the
// bound addresses.
func (a *Agent) Start() error {
	sp, err := OpenSpool(a.cfg.SpoolDir, nextWindowEnd(a.sched, a.now()))
	if err != nil {
		return err
	}
	a.spool = sp
	for _, l := range a.cfg.Listen {
		_, addr, err := listenAddr(l)
		if err != nil {
			a.closeListeners()
			return err
		}
		ul, err := listenUDP(addr, a.cfg.MaxMessageBytes, a.cfg.ReceiveBufferBytes, a.log)
		if err != nil {
			a.closeListeners()
			return err
		}
		a.log.Info("listening", "addr", "udp://"+ul.Addr().String())
		a.listeners = append(a.listeners, ul)
	}
	return nil
}

// Addrs returns the addresses the listeners are bound to.
func (a *Agent) Addrs() []net.Addr {
	a.listenMu.Lock()
	defer a.listenMu.Unlock()
	var out []net.Addr
	for _, l := range a.listeners {
		out = append(out, l.Addr())
	}
	return out
}

// Run receives, spools, seals and uploads until ctx is done. Then it seals
// the active window early, makes one upload round bounded by
// ShutdownTimeout and returns nil; what could not be uploaded stays sealed
// for the next start.
func (a *Agent) Run(ctx context.Context) error {
	if a.spool == nil {
		if err := a.Start(); err != nil {
			return err
		}
	}
	a.log.Info("agent running", "window_end", a.spool.End().Format(time.RFC3339), "spool", a.cfg.SpoolDir)

	var wg sync.WaitGroup
	a.run = runState{ctx: ctx, wg: &wg}
	for _, l := range a.listeners {
		a.startServing(l)
	}
	a.spawn(func() { a.resolveIdentity(ctx) })
	if a.watch != nil {
		watch := a.startWatch()
		a.spawn(func() { watch(ctx) })
	}

	// Segments left sealed by an earlier run go out first.
	go a.uploadRound(ctx)

	fsync := time.NewTicker(a.cfg.FsyncInterval)
	defer fsync.Stop()
	window := time.NewTimer(time.Until(a.spool.End()))
	defer window.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return a.shutdown()
		case <-fsync.C:
			if err := a.spool.Sync(); err != nil {
				a.log.Error("spool sync", "err", err)
			}
		case <-window.C:
			a.rotate()
			window.Reset(time.Until(a.spool.End()))
			go a.uploadRound(ctx)
		}
	}
}

// serveListener spools the lines one listener receives until it is
// closed or ctx is done.
func (a *Agent) serveListener(ctx context.Context, l *udpListener) {
	p := parser.NewParser()
	var rec parser.Record
	var line []byte
	l.serve(ctx, func(dgram []byte) {
		live := a.live.Load()
		if !live.cfg.Enabled {
			return
		}
		if err := p.Parse(dgram, &rec); err != nil {
			return // empty datagram
		}
		line = live.enc.Encode(line[:0], &rec)
		if err := a.spool.Append(line); err != nil {
			a.log.Error("spool append", "err", err)
		}
	})
}

// rotate seals the active window and starts the next one.
func (a *Agent) rotate() {
	end := a.spool.End()
	next := nextWindowEnd(a.live.Load().sched, end)
	if now := a.now(); !next.After(now) {
		// The clock jumped or we were suspended: skip to the window
		// that contains now.
		next = nextWindowEnd(a.live.Load().sched, now)
	}
	if err := a.spool.Rotate(next); err != nil {
		a.log.Error("seal window", "end", end.Format(time.RFC3339), "err", err)
		return
	}
	a.log.Info("window sealed", "end", end.Format(time.RFC3339), "next_end", next.Format(time.RFC3339))
}

func (a *Agent) shutdown() error {
	for _, l := range a.listeners {
		l.close()
	}
	a.rotate()
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	a.uploadRound(ctx)
	return a.spool.Close()
}

func (a *Agent) closeListeners() {
	for _, l := range a.listeners {
		l.close()
	}
	a.listeners = nil
}

// uploadRound uploads every sealed segment, oldest first, and removes each
// one the store acknowledged. A failure keeps the segment for the next
// round and stops this one.
func (a *Agent) uploadRound(ctx context.Context) {
	a.uploadMu.Lock()
	defer a.uploadMu.Unlock()
	cfg := a.live.Load().cfg
	if !cfg.Enabled {
		return
	}
	segs, err := a.spool.Sealed()
	if err != nil {
		a.log.Error("list sealed segments", "err", err)
		return
	}
	if len(segs) == 0 || !a.takeIdentity() {
		return
	}
	if a.bucket == "" {
		// Lines are spooled while the identity is incomplete; uploads
		// wait for it.
		b, err := expandTemplate(cfg.Bucket, a.id)
		if err != nil {
			a.reportUploadErr("bucket", fmt.Errorf("access_log.bucket: %w", err))
			return
		}
		a.bucket = b
	}
	if !a.bucketReady {
		if err := a.uploader.Provision(ctx, a.bucketSpec()); err != nil {
			a.reportUploadErr("bucket", err)
			return
		}
		a.bucketReady = true
	}
	for _, seg := range segs {
		key := a.objectKey(seg)
		if err := a.put(ctx, seg, key); err != nil {
			a.reportUploadErr(key, err)
			return
		}
		if err := a.spool.Remove(seg); err != nil {
			a.log.Error("remove uploaded segment", "err", err)
		}
		a.lastUploadErr = ""
		a.log.Info("uploaded", "bucket", a.bucket, "key", key, "bytes", seg.Size)
	}
}

func (a *Agent) put(ctx context.Context, seg Segment, key string) error {
	f, err := os.Open(seg.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	return a.uploader.Put(ctx, uploader.Object{
		Bucket:       a.bucket,
		Key:          key,
		Body:         f,
		Size:         info.Size(),
		OwnerAccount: a.id.Account,
	})
}

// bucketSpec is what the agent wants of its bucket.
func (a *Agent) bucketSpec() uploader.Bucket {
	return uploader.Bucket{Name: a.bucket, OwnerAccount: a.id.Account, LifecycleDays: a.live.Load().cfg.LifecycleDays, LBName: a.id.LBName}
}

// objectKey is the key a sealed segment is uploaded under.
func (a *Agent) objectKey(seg Segment) string {
	return uploader.SeedKey(seg.End)
}

// reportUploadErr logs an upload failure once per distinct cause.
func (a *Agent) reportUploadErr(what string, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	msg := err.Error()
	if msg == a.lastUploadErr {
		return
	}
	a.lastUploadErr = msg
	a.log.Error("upload failed; segment kept for the next round", "bucket", a.bucket, "object", what, "err", err)
}
