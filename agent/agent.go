package agent

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/agent/control"
	"github.com/elb-access-logger/elb-access-logger/agent/identity"
	"github.com/elb-access-logger/elb-access-logger/agent/ingest"
	"github.com/elb-access-logger/elb-access-logger/agent/ship"
	"github.com/elb-access-logger/elb-access-logger/agent/spool"
)

// Uploader is what the agent needs of the object store: ship's (its
// contract is there).
type Uploader = ship.Uploader

// ShutdownTimeout bounds the final upload round after a stop signal.
const ShutdownTimeout = 10 * time.Second

// Agent is one running access-log agent: it wires the components, runs
// them and stops them in order, and reports on them.
type Agent struct {
	log      *slog.Logger
	opts     options             // set before Start
	ctl      *control.Controller // reload, SIGHUP, file watch, ELB API, identity
	obs      *obsCounters        // what metrics keep beyond the components' Stats
	http     metricsServer       // /metrics and /healthz; set by Start
	spoolErr ship.ErrOnce        // logs spool errors once per cause

	// Set by Start, never changed after.
	started time.Time      // segments found then are due the spread after it
	spool   *spool.Spool   // windows and sealed segments
	clock   *spool.Clock   // fsyncs, seals and evicts
	in      *ingest.Ingest // listeners and the datagram -> line pipeline
	ship    *ship.Shipper  // upload rounds
}

// options are what Start builds the components with beyond the
// configuration; tests change them between New and Start.
type options struct {
	uploader Uploader
	fs       spool.FS // the spool's filesystem; nil is the real one
	now      func() time.Time
	backoff  ship.Backoff
	// ingest are the options Start gives ingest beyond the configuration:
	// OnBehind, and Hold for tests.
	ingest ingest.Options
}

// New checks cfg and prepares an agent. It binds nothing until Start.
func New(cfg *config.Config, up Uploader, log *slog.Logger) (*Agent, error) {
	a := &Agent{log: log, obs: newObsCounters(), opts: options{uploader: up, now: time.Now, backoff: ship.DefaultBackoff}}
	ctl, err := control.New(cfg, control.Options{Log: log, Events: &a.obs.events})
	if err != nil {
		return nil, err
	}
	a.ctl = ctl
	a.obs.events.Loaded(a.opts.now(), nil)
	return a, nil
}

// Start opens the spool and binds the listeners. Addrs then reports the
// bound addresses.
func (a *Agent) Start() error {
	// A reloaded schedule takes effect from the next window.
	next := func(t time.Time) time.Time { return config.NextWindowEnd(a.ctl.Live().Sched, t) }
	a.started = a.opts.now()
	cfg := a.Config() // keys read only at start never change (config.KeepRestartValues)
	sp, err := spool.Open(cfg.SpoolDir, next, a.started, a.opts.fs)
	if err != nil {
		return err
	}
	if err := sp.RecoverErr(); err != nil {
		a.log.Error("spool: files of an earlier run not sealed yet; retrying at the next window end", "err", err)
	}
	a.spool = sp
	a.ship = ship.New(ship.Options{Segments: sp, Sealer: sp, Uploader: a.opts.uploader, FS: a.opts.fs, Config: cfg,
		Started: a.started, Now: a.opts.now, Backoff: a.opts.backoff, Log: a.log.With("component", "ship"),
		Latency: a.obs.uploadLatency, Events: &a.obs.events, SpoolResult: a.spoolResult})
	a.clock = spool.NewClock(sp, cfg.FsyncInterval, cfg.SpoolMaxBytes, a.log.With("component", "spool"), spool.ClockHooks{
		Now:        a.opts.now,
		BeforeSeal: a.noteDrops,
		Sealed:     a.kickUploads,
		Busy:       func(s spool.Segment) bool { return a.ship.Busy(s) },
		Result:     a.spoolResult,
	})
	a.clock.SetObjectBytes(cfg.MaxObjectBytes)
	a.clock.SetPartBytes(cfg.HashPartBytes())
	o := a.opts.ingest
	o.MaxMessageBytes, o.ReceiveBufferBytes = cfg.MaxMessageBytes, cfg.ReceiveBufferBytes
	o.UnixSocket = ingest.UnixSocket{Mode: cfg.UnixSocketMode, Group: cfg.UnixSocketGroup,
		GroupRequired: cfg.Explicit("syslog.unix_socket_group")}
	o.MaxConnections, o.IdleTimeout = cfg.MaxConnections, cfg.IdleTimeout
	o.Format, o.LBName, o.Enabled = cfg.Format, a.ctl.Live().LBName(), cfg.Enabled
	o.Lost = func(err error) bool { return errors.Is(err, spool.ErrBufferFull) }
	o.Result = a.spoolResult
	o.MaxGather = min(ingest.DefaultMaxGather, cfg.FsyncInterval/4)
	o.Log = a.log.With("component", "ingest")
	in, err := ingest.New(sp, o)
	if err != nil {
		return err
	}
	if err := in.Bind(cfg.Listen); err != nil {
		return err
	}
	a.in = in
	if err := a.startMetrics(); err != nil {
		in.Close()
		return err
	}
	return nil
}

// The spool is ingest's Sink and ship's Segments.
var (
	_ ingest.Sink   = (*spool.Spool)(nil)
	_ ship.Segments = (*spool.Spool)(nil)
)

// Addrs returns the addresses the listeners are bound to.
func (a *Agent) Addrs() []net.Addr {
	if a.in == nil {
		return nil
	}
	return a.in.Addrs()
}

// Listeners returns the bound listeners as scheme://address
// (udp://127.0.0.1:514, unix:///run/..., tcp://127.0.0.1:6514).
func (a *Agent) Listeners() []string {
	if a.in == nil {
		return nil
	}
	return a.in.Names()
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
	cfg := a.Config()
	a.log.Info("agent running", "window_end", a.spool.End().Format(time.RFC3339), "spool", cfg.SpoolDir)

	a.in.Serve(ctx)
	ctlDone := make(chan struct{})
	go func() {
		defer close(ctlDone)
		a.ctl.Run(ctx, control.Parts{Ingest: a.in, Windows: a.clock, Ship: a.ship})
	}()

	// Segments left sealed by an earlier run go out first.
	upCtx, upCancel := context.WithCancel(ctx)
	upDone := make(chan struct{})
	go func() {
		defer close(upDone)
		a.ship.Run(upCtx)
	}()

	clockCtx, clockCancel := context.WithCancel(context.Background())
	clockDone := make(chan struct{})
	go func() {
		defer close(clockDone)
		a.clock.Run(clockCtx)
	}()
	<-ctx.Done()
	a.in.Wait() // the listeners drain the socket queues
	<-ctlDone   // reloads, polls and identity resolutions have ended
	upCancel()
	<-upDone
	clockCancel()
	<-clockDone
	return a.shutdown()
}

// OnBehind sets a function a listener calls, from its own goroutines, when
// parsing and spooling fall behind what arrives: full chunks of datagrams
// queue for the handler, or the kernel reports drops. It may be called
// often while the agent is behind; it must be quick. The command uses it to
// give the runtime more threads. Call it before Start.
func (a *Agent) OnBehind(f func()) { a.opts.ingest.OnBehind = f }

// OnIdentity sets a function told each identity the agent resolves (from
// the property file and instance metadata), before the upload round it
// allows: the command re-points the store and ELB API clients at the
// identity's region with it. Call it before Run.
func (a *Agent) OnIdentity(f func(identity.Identity)) { a.ctl.OnIdentity(f) }

// WatchConfig makes Run reload the property file at path (as
// config.LoadConfig reads it) whenever it or servo.conf changes, and
// whenever a value arrives on hup (SIGHUP). Call it right after loading
// the configuration from path, before Run: a change after that call is not
// missed.
func (a *Agent) WatchConfig(path string, explicit bool, hup <-chan os.Signal) {
	a.ctl.Watch(path, explicit, hup)
}

// SetAccessLogSource sets where elb-api mode reads the AccessLog
// attribute. Call it before Run.
func (a *Agent) SetAccessLogSource(src control.AccessLogSource) { a.ctl.SetAccessLogSource(src) }

// OnReload sets a function told when a reload of the property file
// (SIGHUP, or the file changed) starts (done false), and when it is done,
// with the error that rejected it: the command tells systemd RELOADING=1
// and READY=1 with it. Call it before Run.
func (a *Agent) OnReload(f func(done bool, err error)) { a.ctl.OnReload(f) }

// Config returns the configuration in force.
func (a *Agent) Config() *config.Config { return a.ctl.Config() }

// ReloadStats returns how many reloads were applied and how many were
// rejected (a bad file, or a listener that could not be bound).
func (a *Agent) ReloadStats() (ok, failed int64) {
	st := a.ctl.Stats()
	return st.ReloadsOK, st.ReloadsFailed
}

// ELBStats counts ELB API polls: answered, failed (the last known
// attribute stays in force), attributes refused as invalid, and changes
// applied.
type ELBStats struct {
	Polls, PollErrors, Rejected, Changes int64
}

// ELBStats returns the counters of elb-api mode, for metrics.
func (a *Agent) ELBStats() ELBStats {
	st := a.ctl.Stats()
	return ELBStats{st.ELBPolls, st.ELBPollErrors, st.ELBRejected, st.ELBChanges}
}

// kickUploads asks the upload loop for a round.
func (a *Agent) kickUploads() {
	if a.ship != nil {
		a.ship.Kick()
	}
}

// shutdown seals the active window early, makes one upload round bounded
// by ShutdownTimeout, and closes the spool. What is not uploaded stays
// sealed for the next start.
func (a *Agent) shutdown() error {
	a.closeListeners()
	if err := a.clock.SealNow(); err != nil {
		a.log.Error("seal window at shutdown", "err", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	a.ship.Final(ctx) // the spread is for a fleet in step; a stopping node does not wait
	a.closeMetrics()  // scrapes see the final round; /healthz says 503 meanwhile
	if segs, err := a.spool.Sealed(); err == nil && len(segs) > 0 {
		a.log.Warn("segments kept in the spool for the next start", "segments", len(segs))
	}
	return a.spool.Close()
}

func (a *Agent) closeListeners() { a.in.Close() }

// spoolResult logs a spool error once per cause (the spool counts every
// one) and logs when the spool works again.
func (a *Agent) spoolResult(err error) {
	if err == nil {
		if a.spoolErr.OK() {
			a.log.Info("spool writable again")
		}
		return
	}
	if a.spoolErr.Failed(err) {
		// Once per episode, as logged: a full disk fails every line.
		a.obs.events.Failed("spool", a.opts.now(), err)
		a.log.Error("spool write failed; lines kept in memory and retried", "err", err, "write_errors", a.spool.Stats().WriteErrors)
	}
}

// shipStats returns the Shipper's counters; zero before Start.
func (a *Agent) shipStats() ship.Stats {
	if a.ship == nil {
		return ship.Stats{}
	}
	return a.ship.Stats()
}

// UploadStats returns how many segment uploads the store acknowledged and
// how many failed (after their retries), for metrics.
func (a *Agent) UploadStats() (ok, failed int64) {
	st := a.shipStats()
	return st.Uploads, st.UploadFailures
}

// ProvisionStats returns how often this process provisioned its bucket
// (each time a Provision call succeeded), for metrics.
func (a *Agent) ProvisionStats() int64 { return a.shipStats().Provisions }

// SpoolStats returns the spool's counters (write errors, dropped lines,
// windows sealed, segments evicted), for metrics. Zero before Start.
func (a *Agent) SpoolStats() spool.Stats {
	if a.spool == nil {
		return spool.Stats{}
	}
	return a.spool.Stats()
}
