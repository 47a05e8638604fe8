package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elb-access-logger/elb-access-logger/parser"
	"github.com/fsnotify/fsnotify"
	"github.com/robfig/cron/v3"
)

// liveConfig is the part of the agent a reload swaps at once.
type liveConfig struct {
	cfg   *config.Config
	sched cron.Schedule
}

// storeLive publishes next, pushes what ingest writes by (format,
// enabled) into it and applies log.level and log.format. Reloads, serialised by reloadMu, are its only callers
// once Run runs.
func (a *Agent) storeLive(next *liveConfig) {
	a.live.Store(next)
	a.applyLog(next.cfg)
	if a.clock != nil {
		a.clock.SetMaxBytes(next.cfg.SpoolMaxBytes)
		a.clock.SetObjectBytes(next.cfg.MaxObjectBytes)
	}
	if a.in == nil {
		return
	}
	if err := a.in.SetFormat(next.cfg.Format); err != nil {
		a.log.Error("format not applied", "err", err) // checked by reload before
	}
	a.in.SetEnabled(next.cfg.Enabled)
}

// logSettings is what the agent needs of its logger's handler to apply
// log.level and log.format (internal/logging's handler has it); a handler
// without it keeps its level and format.
type logSettings interface {
	SetLevelFormat(level, format string) error
}

// applyLog sets the logger's level and format to cfg's.
func (a *Agent) applyLog(cfg *config.Config) {
	if l, ok := a.log.Handler().(logSettings); ok {
		if err := l.SetLevelFormat(cfg.LogLevel, cfg.LogFormat); err != nil {
			a.log.Error("log settings not applied", "err", err) // checked by config before
		}
	}
}

// runState lets reloads start goroutines that Run waits for.
type runState struct {
	ctx context.Context
	wg  *sync.WaitGroup
}

// spawn runs f in a goroutine Run waits for before it shuts down.
func (a *Agent) spawn(f func()) {
	a.run.wg.Add(1)
	go func() {
		defer a.run.wg.Done()
		f()
	}()
}

// reloadCounters count configuration reloads.
type reloadCounters struct {
	ok, failed atomic.Int64
	// around, when set (OnReload), is told when a reload of the property
	// file starts (err nil) and when it is done (done, err why it was
	// rejected). Set before Run; only the watch goroutine calls it.
	around func(done bool, err error)
}

// OnReload sets a function told when a reload of the property file
// (SIGHUP, or the file changed) starts, and when it is done, with the
// error that rejected it: the command tells systemd RELOADING=1 and
// READY=1 with it. Call it before Run.
func (a *Agent) OnReload(f func(done bool, err error)) { a.reloads.around = f }

// ReloadStats returns how many reloads were applied and how many were
// rejected (a bad file, or a listener that could not be bound).
func (a *Agent) ReloadStats() (ok, failed int64) {
	return a.reloads.ok.Load(), a.reloads.failed.Load()
}

// Config returns the configuration in force.
func (a *Agent) Config() *config.Config { return a.live.Load().cfg }

// watchSpec says where Run finds the property file to reload.
type watchSpec struct {
	path     string
	explicit bool
	hup      <-chan os.Signal
	loaded   []byte // watchedContent when the running config was loaded
}

// reloadDebounce lets an editor finish writing before the file is read.
const reloadDebounce = 200 * time.Millisecond

// WatchConfig makes Run reload the property file at path (as config.LoadConfig
// reads it) whenever it or servo.conf changes, and whenever a value
// arrives on hup (SIGHUP). Call it right after loading the configuration
// from path, before Run: a change after that call is not missed.
func (a *Agent) WatchConfig(path string, explicit bool, hup <-chan os.Signal) {
	a.watch = &watchSpec{path: path, explicit: explicit, hup: hup}
	a.watch.loaded = a.watchedContent()
}

// startWatch sets up the file-system watch and returns the loop that
// reloads; Run calls it before spawning the loop, so the watch is in place
// when Run is running.
func (a *Agent) startWatch() func(ctx context.Context) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		a.log.Error("cannot watch the property file; SIGHUP still reloads", "err", err)
		w = nil
	}
	return func(ctx context.Context) { a.watchConfig(ctx, w) }
}

// watchConfig reloads on file-system events in the directories of the
// property file (and of its symlink target, and of servo.conf), debounced,
// when the content changed; and on SIGHUP, always. Watching the directory,
// not the file, survives editors that write a new file and rename it over
// the old one, and symlink swaps.
func (a *Agent) watchConfig(ctx context.Context, w *fsnotify.Watcher) {
	var events <-chan fsnotify.Event
	var errs <-chan error
	if w != nil {
		defer w.Close()
		events, errs = w.Events, w.Errors
	}
	watched := map[string]bool{}
	addWatches := func() {
		if w == nil {
			return
		}
		for _, d := range a.watchDirs() {
			if watched[d] {
				continue
			}
			if err := w.Add(d); err != nil {
				if !errors.Is(err, os.ErrNotExist) {
					a.log.Warn("cannot watch directory", "dir", d, "err", err)
				}
				continue
			}
			watched[d] = true
		}
	}
	addWatches()
	last := a.watch.loaded
	debounce := time.NewTimer(0) // compare once: the file may have changed since it was loaded
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-events:
			if ev.Op != fsnotify.Chmod {
				debounce.Reset(reloadDebounce)
			}
		case err := <-errs:
			a.log.Warn("watching the property file", "err", err)
		case <-a.watch.hup:
			a.log.Info("SIGHUP: reloading the configuration", "file", a.watch.path)
			last = a.watchedContent()
			a.reloadFile()
			addWatches()
		case <-debounce.C:
			content := a.watchedContent()
			if bytes.Equal(content, last) {
				continue
			}
			last = content
			a.reloadFile()
			addWatches()
		}
	}
}

// watchDirs are the directories whose changes may change the configuration.
func (a *Agent) watchDirs() []string {
	dirs := []string{filepath.Dir(a.watch.path)}
	if p, err := filepath.EvalSymlinks(a.watch.path); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	if s := a.live.Load().cfg.ServoConf; s != "" {
		dirs = append(dirs, filepath.Dir(s))
	}
	return dirs
}

// watchedContent is what a reload depends on: the property file and
// servo.conf, each with whether it exists.
func (a *Agent) watchedContent() []byte {
	var b bytes.Buffer
	for _, p := range []string{a.watch.path, a.live.Load().cfg.ServoConf} {
		data, err := os.ReadFile(p)
		fmt.Fprintf(&b, "%s %v %d\n", p, err == nil, len(data))
		b.Write(data)
	}
	return b.Bytes()
}

// reloadFile loads the property file and applies it. A file that does not
// load is rejected: logged with its errors, counted, and the running
// configuration stays. Once a file was there, a missing one is an error
// too (an editor between delete and create must not reset the agent to
// the defaults).
func (a *Agent) reloadFile() {
	if a.reloads.around != nil {
		a.reloads.around(false, nil)
	}
	err := a.loadAndReload()
	if a.reloads.around != nil {
		a.reloads.around(true, err)
	}
}

// loadAndReload is reloadFile's work: load, apply or reject, count, log.
func (a *Agent) loadAndReload() error {
	explicit := a.watch.explicit || a.loadedFromFile()
	cfg, err := config.LoadConfig(a.watch.path, explicit)
	if err == nil {
		// What the file or servo.conf had that was skipped (a servo.conf
		// line without '='), as at start.
		for _, w := range cfg.Warnings() {
			a.log.Warn("configuration: " + w)
		}
		err = a.reload(cfg)
	}
	a.obs.events.Loaded(a.now(), err)
	if err != nil {
		a.reloads.failed.Add(1)
		a.log.Error("configuration rejected; the running configuration stays", "file", a.watch.path, "err", err)
		return err
	}
	a.reloads.ok.Add(1)
	return nil
}

// loadedFromFile reports whether the running configuration came from an
// existing file (some key has a file origin, or the file existed).
func (a *Agent) loadedFromFile() bool {
	if a.Config().FromFile() {
		return true
	}
	_, err := os.Stat(a.watch.path)
	return err == nil
}

// reload applies next to the running agent: listeners are rebound when
// syslog.listen changed (sockets of addresses kept stay open, so nothing
// spooled or queued there is lost), the bucket is provisioned again when
// its settings changed, the identity is resolved again when its overrides
// changed, and format, schedule (from the next window) and enabled take
// effect at once. Call it while Run runs. Keys read only at start (restartKeys) keep their running
// values, with a warning. On error nothing is changed.
func (a *Agent) reload(next *config.Config) error {
	if a.run.wg == nil {
		return errors.New("reload: the agent is not running")
	}
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	old := a.live.Load().cfg
	next = a.derive(next)
	diff := config.Diff(old, next)
	for _, k := range diff.Restart {
		a.log.Warn("changed key takes effect after a restart", "key", k)
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
		if err := a.in.Rebind(next.Listen); err != nil {
			return err
		}
	}
	a.switchLive(&liveConfig{cfg: next, sched: sched})
	if diff.Reprovision {
		a.resetProvisioning()
	}
	if diff.NewIdentity {
		a.resolveIdentity(a.run.ctx)
	}
	a.log.Info("configuration reloaded", "changed", strings.Join(diff.Changed, ","))
	return nil
}
