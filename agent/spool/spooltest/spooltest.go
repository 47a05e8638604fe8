// Package spooltest has test helpers for code that writes through the
// spool's filesystem seam.
package spooltest

import (
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/elb-access-logger/elb-access-logger/agent/spool"
)

// FaultFS is the real filesystem with injectable write failures, such as
// ENOSPC: while a fault is set, creating a file fails and every write takes
// at most Partial bytes, then fails. OnRemove, when set, runs after each
// successful Remove (tests use it to interleave another operation).
type FaultFS struct {
	spool.OSFS
	mu       sync.Mutex // guards err, partial and OnRemove
	err      error      // returned by writes and creations while set
	partial  int        // bytes a failing write still takes
	onRemove func(name string)
}

var _ spool.FS = (*FaultFS)(nil)

// Set makes writes fail with err (nil: work again) after partial bytes.
func (f *FaultFS) Set(err error, partial int) {
	f.mu.Lock()
	f.err, f.partial = err, partial
	f.mu.Unlock()
}

// OnRemove sets a function run after each successful Remove.
func (f *FaultFS) OnRemove(fn func(name string)) {
	f.mu.Lock()
	f.onRemove = fn
	f.mu.Unlock()
}

func (f *FaultFS) fault() (error, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err, f.partial
}

// OpenFile opens name; while a fault is set, creating a file fails.
func (f *FaultFS) OpenFile(name string, flag int, perm fs.FileMode) (spool.File, error) {
	if err, _ := f.fault(); err != nil && flag&os.O_CREATE != 0 {
		if _, serr := os.Stat(name); serr != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
	}
	file, err := f.OSFS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f}, nil
}

// Remove removes name, then runs the OnRemove function.
func (f *FaultFS) Remove(name string) error {
	err := f.OSFS.Remove(name)
	f.mu.Lock()
	fn := f.onRemove
	f.mu.Unlock()
	if err == nil && fn != nil {
		fn(name)
	}
	return err
}

type faultFile struct {
	spool.File
	fs *FaultFS
}

func (f *faultFile) Write(p []byte) (int, error) {
	err, partial := f.fs.fault()
	if err == nil {
		return f.File.Write(p)
	}
	n, _ := f.File.Write(p[:min(partial, len(p))])
	return n, &fs.PathError{Op: "write", Path: f.Name(), Err: err}
}

// Listing names the files of dir with their sizes and modification times,
// one a line, sorted: two listings are equal only if nothing in dir was
// created, removed, renamed or written meanwhile.
func Listing(t testing.TB, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(e.Name(), " ", info.Size(), " ", info.ModTime()))
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}
