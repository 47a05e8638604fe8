package control

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/agent/identity"
	"github.com/elb-access-logger/elb-access-logger/agent/ship"
	"github.com/elb-access-logger/elb-access-logger/agent/spool"
	"github.com/elb-access-logger/elb-access-logger/parser"
	"github.com/robfig/cron/v3"
)

// Ingest is what control changes in the listeners and the pipeline.
// *ingest.Ingest is one.
type Ingest interface {
	SetFormat(format string) error
	SetEnabled(enabled bool)
	SetLBName(name string)
	Rebind(addrs []string) error
}

// Windows is what control changes in the spool's windows: the bounds of
// spool.max_bytes and access_log.max_object_bytes, and the part size its
// digests are computed in. (The schedule is read
// through Live by the spool's next-window function.) *spool.Clock is one.
type Windows interface {
	SetMaxBytes(n int64)
	SetObjectBytes(n int64)
	SetPartBytes(n int64)
}

// Events is told of configuration loads and of failed ELB API polls, for
// the status page; *status.Recorder is one.
type Events interface {
	Loaded(t time.Time, err error)
	Failed(cause string, t time.Time, err error)
}

type noEvents struct{}

func (noEvents) Loaded(time.Time, error)         {}
func (noEvents) Failed(string, time.Time, error) {}

// Shipping is what control changes in the uploads. *ship.Shipper is one.
type Shipping interface {
	SetTarget(cfg *config.Config)
	SetIdentity(id identity.Identity, complete bool)
	Reprovision()
}

// Parts are the components control pushes changes into.
type Parts struct {
	Ingest  Ingest
	Windows Windows
	Ship    Shipping
}

// Live is what control publishes: the configuration in force and its
// window schedule, and the load balancer name of the latest identity.
// A Live is never changed once published.
type Live struct {
	Config *config.Config // effective: the property file with the ELB attribute applied
	Sched  cron.Schedule
	idLB   string // the load balancer name of the latest identity; "" before one
}

// LBName is the load balancer name of the latest identity (metadata or
// property file), else the property file's.
func (l *Live) LBName() string {
	if l.idLB != "" {
		return l.idLB
	}
	return l.Config.LBName
}

// Options are what a Controller is built from.
type Options struct {
	Config  *config.Config // the property file's configuration at start
	Log     *slog.Logger   // the agent's: control logs as component=control, the resolver as component=identity
	FS      spool.FS       // the spool directory's filesystem; nil: the real one
	Backoff ship.Backoff   // between failed ELB API polls; zero: ship.DefaultBackoff
	Events  Events         // nil: none
	Now     func() time.Time
}

// Controller owns hot reload, SIGHUP, the watch of the property file, the
// ELB API follower and identity results. Its state is confined to the
// goroutine of Run (no lock); what others read is published in Live, an
// atomic pointer only that goroutine stores (and New, before it starts).
type Controller struct {
	log     *slog.Logger
	fs      spool.FS
	backoff ship.Backoff
	events  Events
	now     func() time.Time

	// Set before Run, read-only after.
	src        AccessLogSource
	watch      *watchSpec
	onIdentity func(identity.Identity)
	onReload   func(done bool, err error) // around each reload of the property file; nil: none
	resolver   *identity.Resolver
	root       *slog.Logger // the agent's logger: a reload applies log.level and log.format to its handler

	live atomic.Pointer[Live]

	// Confined to Run's goroutine once it runs.
	parts Parts
	ctx   context.Context
	base  *config.Config // the property file's configuration
	attr  *AccessLog     // the ELB attribute in force; nil: not known yet
	ids   chan idResult  // holds the latest identity the resolver delivered
	polls chan pollRequest
	reqs  chan reloadRequest

	running atomic.Bool   // Run runs: Reload may send
	stopped chan struct{} // closed when Run returns

	reloadsOK, reloadsFailed                     atomic.Int64
	elbPolls, elbErrors, elbRejected, elbChanges atomic.Int64
}

// New checks cfg and prepares a controller: in elb-api mode it reads the
// last known attribute from the spool directory. Live is set when it
// returns.
func New(cfg *config.Config, o Options) (*Controller, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	c := &Controller{log: o.Log.With("component", "control"), root: o.Log, fs: o.FS, backoff: o.Backoff, events: o.Events, now: o.Now, base: cfg,
		ids: make(chan idResult, 1), stopped: make(chan struct{}), polls: make(chan pollRequest), reqs: make(chan reloadRequest)}
	if c.fs == nil {
		c.fs = spool.OSFS{}
	}
	if c.backoff == (ship.Backoff{}) {
		c.backoff = ship.DefaultBackoff
	}
	if c.events == nil {
		c.events = noEvents{}
	}
	if c.now == nil {
		c.now = time.Now
	}
	eff := c.initELB(cfg)
	sched, err := config.WindowSchedule(eff)
	if err != nil {
		return nil, err
	}
	if _, err := parser.NewEncoder(eff.Format, parser.EncoderOptions{}); err != nil {
		return nil, err
	}
	c.live.Store(&Live{Config: eff, Sched: sched})
	var src identity.Source
	if cfg.MetadataEndpoint != "" {
		src = identity.NewMetadataClient(cfg.MetadataEndpoint, cfg.MetadataTimeout)
	}
	c.resolver = identity.NewResolver(src, cfg.MetadataTimeout, o.Log.With("component", "identity"), c.deliver)
	return c, nil
}

// Live returns what is in force. It never blocks.
func (c *Controller) Live() *Live { return c.live.Load() }

// Config returns the configuration in force.
func (c *Controller) Config() *config.Config { return c.live.Load().Config }

// SetAccessLogSource sets where elb-api mode reads the AccessLog
// attribute. Call it before Run.
func (c *Controller) SetAccessLogSource(src AccessLogSource) { c.src = src }

// OnIdentity sets a function told each identity resolved, before the
// upload round it allows. Call it before Run.
func (c *Controller) OnIdentity(f func(identity.Identity)) { c.onIdentity = f }

// OnReload sets a function told when a reload of the property file
// (SIGHUP, or the file changed) starts (done false), and when it is done,
// with the error that rejected it: the command tells systemd RELOADING=1
// and READY=1 with it. Call it before Run; Run's goroutine calls it.
func (c *Controller) OnReload(f func(done bool, err error)) { c.onReload = f }

// Stats counts reloads and ELB API polls.
type Stats struct {
	ReloadsOK, ReloadsFailed int64 // applied; rejected (a bad file, a listener not bound)
	// ELB API polls answered, failed (the last known attribute stays in
	// force), attributes refused as invalid, and changes applied.
	ELBPolls, ELBPollErrors, ELBRejected, ELBChanges int64
}

// Stats returns the counters.
func (c *Controller) Stats() Stats {
	return Stats{c.reloadsOK.Load(), c.reloadsFailed.Load(),
		c.elbPolls.Load(), c.elbErrors.Load(), c.elbRejected.Load(), c.elbChanges.Load()}
}

// reloadRequest is a configuration to apply, from Reload.
type reloadRequest struct {
	cfg  *config.Config
	done chan error
}

// Reload applies next (a newly loaded property file) like a reload and
// returns its result. It fails unless Run runs.
func (c *Controller) Reload(ctx context.Context, next *config.Config) error {
	if !c.running.Load() {
		return ErrNotRunning
	}
	r := reloadRequest{cfg: next, done: make(chan error, 1)}
	select {
	case c.reqs <- r:
	case <-c.stopped:
		return ErrNotRunning
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-r.done // answered at once by Run's goroutine
}

// ErrNotRunning is Reload's error when Run does not run.
var ErrNotRunning = errors.New("reload: the agent is not running")

// Run pushes changes into parts until ctx is done: it resolves the
// identity, follows the property file (when Watch was called) and the ELB
// API (in elb-api mode with a source), and applies Reload requests. It
// returns once every goroutine it started has ended.
func (c *Controller) Run(ctx context.Context, parts Parts) {
	c.parts, c.ctx = parts, ctx
	c.running.Store(true)
	defer close(c.stopped)
	c.resolveIdentity()
	var w *watcher
	if c.watch != nil {
		w = c.startWatch()
		defer w.close()
	}
	pollDone := make(chan struct{})
	if c.src != nil {
		go func() {
			defer close(pollDone)
			c.pollLoop(ctx)
		}()
	} else {
		close(pollDone)
		if c.base.Source == config.SourceELBAPI {
			c.log.Error("access_log.source = elb-api but no ELB API client is set; logging stays as last known")
		}
	}
	defer func() {
		<-pollDone
		c.resolver.Wait()
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-c.reqs:
			r.done <- c.reload(r.cfg)
		case p := <-c.polls:
			p.done <- c.applyPoll(p)
		case r := <-c.ids:
			c.applyIdentity(r)
		case ev := <-w.events():
			w.event(ev)
		case err := <-w.errors():
			c.log.Warn("watching the property file", "err", err)
		case <-c.hup():
			c.log.Info("SIGHUP: reloading the configuration", "file", c.watch.path)
			w.last = c.watchedContent()
			c.reloadFile()
			w.addWatches()
		case <-w.debounced():
			if w.changed() {
				c.reloadFile()
				w.addWatches()
			}
		}
	}
}

// hup is the SIGHUP channel; nil (never ready) without a watch.
func (c *Controller) hup() <-chan os.Signal {
	if c.watch == nil {
		return nil
	}
	return c.watch.hup
}

// reload applies next to the running components: listeners are rebound
// when syslog.listen changed (sockets of addresses kept stay open, so
// nothing spooled or queued there is lost), the bucket is provisioned again
// when its settings changed, the identity is resolved again when its
// overrides changed, and format, schedule (from the next window) and
// enabled take effect at once. Keys read only at start keep their running
// values, with a warning. On error nothing is changed.
func (c *Controller) reload(file *config.Config) error {
	old := c.Config()
	next := c.derive(file)
	diff := config.Diff(old, next)
	for _, k := range diff.Restart {
		c.log.Warn("changed key takes effect after a restart", "key", k)
	}
	next = config.KeepRestartValues(old, next)
	sched, err := config.WindowSchedule(next)
	if err != nil {
		return err
	}
	if _, err := parser.NewEncoder(next.Format, parser.EncoderOptions{}); err != nil {
		return err
	}
	if diff.Rebind {
		if err := c.parts.Ingest.Rebind(next.Listen); err != nil {
			return err
		}
	}
	c.publish(next, sched)
	if diff.Reprovision {
		c.parts.Ship.Reprovision()
	}
	if diff.NewIdentity {
		c.resolveIdentity()
	}
	c.log.Info("configuration reloaded", "changed", strings.Join(diff.Changed, ","))
	return nil
}

// publish makes next the configuration in force: Live first (the spool's
// next window end reads its schedule), then ingest (format, enabled), the
// spool's bound, and shipping, which seals the open window and pins the
// sealed segments when the destination changed (ship.Shipper.SetTarget).
func (c *Controller) publish(next *config.Config, sched cron.Schedule) {
	l := *c.live.Load()
	l.Config, l.Sched = next, sched
	c.live.Store(&l)
	c.applyLog(next)
	c.parts.Windows.SetMaxBytes(next.SpoolMaxBytes)
	c.parts.Windows.SetObjectBytes(next.MaxObjectBytes)
	c.parts.Windows.SetPartBytes(next.HashPartBytes())
	if err := c.parts.Ingest.SetFormat(next.Format); err != nil {
		c.log.Error("format not applied", "err", err) // checked by reload before
	}
	c.parts.Ingest.SetEnabled(next.Enabled)
	c.parts.Ship.SetTarget(next)
}

// backoffDelay is the wait after the n-th consecutive failed poll, capped.
func (c *Controller) backoffDelay(n int, limit time.Duration) time.Duration {
	return min(c.backoff.Delay(n), limit)
}

// logSettings is what control needs of the agent's log handler to apply
// log.level and log.format (internal/logging's handler has it); a handler
// without it keeps its level and format.
type logSettings interface {
	SetLevelFormat(level, format string) error
}

// applyLog sets the agent's log level and format to cfg's.
func (c *Controller) applyLog(cfg *config.Config) {
	if l, ok := c.root.Handler().(logSettings); ok {
		if err := l.SetLevelFormat(cfg.LogLevel, cfg.LogFormat); err != nil {
			c.log.Error("log settings not applied", "err", err) // checked by config before
		}
	}
}
