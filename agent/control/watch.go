package control

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/fsnotify/fsnotify"
)

// watchSpec says where Run finds the property file to reload.
type watchSpec struct {
	path     string
	explicit bool
	hup      <-chan os.Signal
	loaded   []byte // watchedContent when the running config was loaded
}

// reloadDebounce lets an editor finish writing before the file is read.
const reloadDebounce = 200 * time.Millisecond

// Watch makes Run reload the property file at path (as config.LoadConfig
// reads it) whenever it or servo.conf changes, and whenever a value
// arrives on hup (SIGHUP). Call it right after loading the configuration
// from path, before Run: a change after that call is not missed.
func (c *Controller) Watch(path string, explicit bool, hup <-chan os.Signal) {
	c.watch = &watchSpec{path: path, explicit: explicit, hup: hup}
	c.watch.loaded = c.watchedContent()
}

// watcher follows the directories of the property file (and of its
// symlink target, and of servo.conf): file-system events, debounced,
// reload when the content changed. Watching the directory, not the file,
// survives editors that write a new file and rename it over the old one,
// and symlink swaps. It belongs to Run's goroutine. A nil *watcher has
// channels that are never ready.
type watcher struct {
	c        *Controller
	w        *fsnotify.Watcher // nil: SIGHUP only
	watched  map[string]bool
	last     []byte // the content last loaded
	debounce *time.Timer
}

// startWatch sets up the file-system watch; the first debounce fires at
// once, to compare: the file may have changed since it was loaded.
func (c *Controller) startWatch() *watcher {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		c.log.Error("cannot watch the property file; SIGHUP still reloads", "err", err)
		fw = nil
	}
	w := &watcher{c: c, w: fw, watched: map[string]bool{}, last: c.watch.loaded, debounce: time.NewTimer(0)}
	w.addWatches()
	return w
}

func (w *watcher) close() {
	w.debounce.Stop()
	if w.w != nil {
		w.w.Close()
	}
}

func (w *watcher) events() <-chan fsnotify.Event {
	if w == nil || w.w == nil {
		return nil
	}
	return w.w.Events
}

func (w *watcher) errors() <-chan error {
	if w == nil || w.w == nil {
		return nil
	}
	return w.w.Errors
}

func (w *watcher) debounced() <-chan time.Time {
	if w == nil {
		return nil
	}
	return w.debounce.C
}

// event debounces a file-system event.
func (w *watcher) event(ev fsnotify.Event) {
	if ev.Op != fsnotify.Chmod {
		w.debounce.Reset(reloadDebounce)
	}
}

// changed reports whether what a reload depends on changed since it was
// last loaded, and remembers it.
func (w *watcher) changed() bool {
	content := w.c.watchedContent()
	if bytes.Equal(content, w.last) {
		return false
	}
	w.last = content
	return true
}

// addWatches watches the directories not watched yet.
func (w *watcher) addWatches() {
	if w.w == nil {
		return
	}
	for _, d := range w.c.watchDirs() {
		if w.watched[d] {
			continue
		}
		if err := w.w.Add(d); err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				w.c.log.Warn("cannot watch directory", "dir", d, "err", err)
			}
			continue
		}
		w.watched[d] = true
	}
}

// watchDirs are the directories whose changes may change the configuration.
func (c *Controller) watchDirs() []string {
	dirs := []string{filepath.Dir(c.watch.path)}
	if p, err := filepath.EvalSymlinks(c.watch.path); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	if s := c.Config().ServoConf; s != "" {
		dirs = append(dirs, filepath.Dir(s))
	}
	return dirs
}

// watchedContent is what a reload depends on: the property file and
// servo.conf, each with whether it exists.
func (c *Controller) watchedContent() []byte {
	var b bytes.Buffer
	for _, p := range []string{c.watch.path, c.Config().ServoConf} {
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
func (c *Controller) reloadFile() {
	if c.onReload != nil {
		c.onReload(false, nil)
	}
	err := c.loadAndReload()
	if c.onReload != nil {
		c.onReload(true, err)
	}
}

// loadAndReload is reloadFile's work: load, apply or reject, count, log.
func (c *Controller) loadAndReload() error {
	explicit := c.watch.explicit || c.loadedFromFile()
	cfg, err := config.LoadConfig(c.watch.path, explicit)
	if err == nil {
		// What the file or servo.conf had that was skipped (a servo.conf
		// line without '='), as at start.
		for _, w := range cfg.Warnings() {
			c.log.Warn("configuration: " + w)
		}
		err = c.reload(cfg)
	}
	c.events.Loaded(c.now(), err)
	if err != nil {
		c.reloadsFailed.Add(1)
		c.log.Error("configuration rejected; the running configuration stays", "file", c.watch.path, "err", err)
		return err
	}
	c.reloadsOK.Add(1)
	return nil
}

// loadedFromFile reports whether the running configuration came from an
// existing file (some key has a file origin, or the file existed).
func (c *Controller) loadedFromFile() bool {
	if c.Config().FromFile() {
		return true
	}
	_, err := os.Stat(c.watch.path)
	return err == nil
}
