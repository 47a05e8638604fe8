package agent

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Spool file names. The window end, in UTC, is part of every name, so a
// segment's object key is fixed by its name alone.
const (
	activeSuffix = ".active"
	sealedSuffix = ".log"
	namePrefix   = "window-"
	endLayout    = "20060102T150405Z"
)

// Segment is a sealed window waiting for upload.
type Segment struct {
	Path string
	End  time.Time // end of the window, UTC
	Size int64
}

// Spool holds the active window file and the sealed segments in one
// directory.
//
// Lines are appended to the active file through a buffer that Sync flushes
// and fsyncs; Rotate seals the active file (fsync, rename, directory fsync)
// and starts the next window. A sealed segment is removed only by Remove,
// which the caller calls after the store acknowledged the upload.
type Spool struct {
	dir string

	mu  sync.Mutex
	end time.Time // end of the active window
	f   *os.File  // nil until the window's first line
	w   *bufio.Writer
}

// OpenSpool opens (creating it if needed) the spool directory. Active files
// left behind by a crash are sealed under their own windows, except the one
// of the window ending at end, which is reopened and continued.
func OpenSpool(dir string, end time.Time) (*Spool, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{dir: dir, end: end.UTC()}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, activeSuffix) {
			continue
		}
		wend, ok := parseEnd(name, activeSuffix)
		if !ok {
			continue
		}
		if wend.Equal(s.end) {
			if err := s.open(); err != nil {
				return nil, err
			}
			continue
		}
		if err := s.sealFile(filepath.Join(dir, name), wend); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// End returns the end of the active window.
func (s *Spool) End() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.end
}

// Append adds one encoded line (newline included) to the active window.
func (s *Spool) Append(line []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		if err := s.open(); err != nil {
			return err
		}
	}
	_, err := s.w.Write(line)
	if err != nil {
		return fmt.Errorf("spool: append to %s: %w", s.f.Name(), err)
	}
	return nil
}

// Sync flushes buffered lines to the active file and fsyncs it.
func (s *Spool) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sync()
}

// Rotate seals the active window, if it holds any line, and starts the
// window ending at next.
func (s *Spool) Rotate(next time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if s.f != nil {
		err = s.sync()
		if cerr := s.f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("spool: close %s: %w", s.f.Name(), cerr)
		}
		if err == nil {
			err = s.sealFile(s.f.Name(), s.end)
		}
		s.f, s.w = nil, nil
	}
	s.end = next.UTC()
	return err
}

// Close flushes and closes the active file without sealing it.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.sync()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.f, s.w = nil, nil
	return err
}

// Sealed lists the sealed segments, oldest window first.
func (s *Spool) Sealed() ([]Segment, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	var segs []Segment
	for _, e := range entries {
		end, ok := parseEnd(e.Name(), sealedSuffix)
		if !ok {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		segs = append(segs, Segment{Path: filepath.Join(s.dir, e.Name()), End: end, Size: info.Size()})
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].End.Before(segs[j].End) })
	return segs, nil
}

// Remove deletes an uploaded segment.
func (s *Spool) Remove(seg Segment) error {
	if err := os.Remove(seg.Path); err != nil {
		return fmt.Errorf("spool: remove %s: %w", seg.Path, err)
	}
	return syncDir(s.dir)
}

func (s *Spool) open() error {
	path := filepath.Join(s.dir, namePrefix+s.end.Format(endLayout)+activeSuffix)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return err
	}
	s.f, s.w = f, bufio.NewWriterSize(f, 64<<10)
	return nil
}

func (s *Spool) sync() error {
	if s.f == nil {
		return nil
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("spool: flush %s: %w", s.f.Name(), err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("spool: fsync %s: %w", s.f.Name(), err)
	}
	return nil
}

// sealFile renames an active file, already synced, to its sealed name and
// fsyncs the directory. An empty active file is removed instead.
func (s *Spool) sealFile(path string, end time.Time) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if info.Size() == 0 {
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		return syncDir(s.dir)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	err = f.Sync()
	f.Close()
	if err != nil {
		return fmt.Errorf("spool: fsync %s: %w", path, err)
	}
	sealed := filepath.Join(s.dir, namePrefix+end.Format(endLayout)+sealedSuffix)
	if _, err := os.Stat(sealed); err == nil {
		// The window was sealed before (shutdown, then a restart within
		// the same window) and is not uploaded yet: keep one segment.
		return s.appendSegment(sealed, path)
	}
	if err := os.Rename(path, sealed); err != nil {
		return fmt.Errorf("spool: seal %s: %w", path, err)
	}
	return syncDir(s.dir)
}

// appendSegment appends the file at path to the sealed segment dst and
// removes path.
func (s *Spool) appendSegment(dst, path string) error {
	src, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer src.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	_, err = io.Copy(out, src)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("spool: append %s to %s: %w", path, dst, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return syncDir(s.dir)
}

func parseEnd(name, suffix string) (time.Time, bool) {
	if !strings.HasPrefix(name, namePrefix) || !strings.HasSuffix(name, suffix) {
		return time.Time{}, false
	}
	t, err := time.Parse(endLayout, strings.TrimSuffix(strings.TrimPrefix(name, namePrefix), suffix))
	return t.UTC(), err == nil
}

// syncDir fsyncs a directory so that renames and removals in it are durable.
// Filesystems that cannot fsync a directory are tolerated.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("spool: fsync dir %s: %w", dir, err)
	}
	return nil
}
