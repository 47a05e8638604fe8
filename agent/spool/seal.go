package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Sealing: an active file becomes a sealed segment under a key end that
// only grows (the sealed-through marker). Rotate, SealEarly and Open call
// these with the spool's locks held (or before it is shared).

// closeWindow seals the active file under key and moves to the window that
// takes lines at now. If the disk refuses the final write, the lines still
// buffered go to the next window, whole and counted there, rather than
// being lost; a seal that fails leaves the active file behind, and the next
// rotation seals it.
func (s *Spool) closeWindow(key, now time.Time) error {
	if s.f == nil && len(s.buf) == 0 {
		s.end = s.currentEnd(now)
		return s.sealLeftovers()
	}
	// Older windows whose seal failed go first: key ends stay in order.
	errs := []error{s.sealLeftovers()}
	if err := s.sync(); err != nil {
		errs = append(errs, err)
	}
	if s.f != nil {
		path := s.f.Name()
		if err := s.f.Close(); err != nil {
			errs = append(errs, s.count(fmt.Errorf("spool: close %s: %w", path, err)))
		}
		counts := s.win
		counts.Parts = s.hash.finish(s.activeSize)
		s.f, s.activeSize, s.torn = nil, 0, false // seal trims a torn tail
		counts.SpoolEvicted += s.evictedLines.Swap(0)
		if err := s.seal(path, key, &counts); err != nil {
			s.evictedLines.Add(counts.SpoolEvicted) // the next seal reports them
			errs = append(errs, err)
		}
		s.win = WindowCounts{}
	}
	s.end = s.currentEnd(now)
	return errors.Join(errs...)
}

// sealLeftovers seals active files of earlier windows whose seal failed.
func (s *Spool) sealLeftovers() error {
	entries, err := s.fs.ReadDir(s.dir)
	if err != nil {
		return s.count(fmt.Errorf("spool: read %s: %w", s.dir, err))
	}
	var errs []error
	for _, e := range entries {
		end, ok := parseActive(e.Name())
		if !ok || end.Equal(s.end) {
			continue
		}
		if err := s.seal(filepath.Join(s.dir, e.Name()), s.keyEnd(end), nil); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// trimTorn cuts a partial last line (left by a crash mid-write) from the
// file at path and fsyncs it. It returns the file's size afterwards.
func (s *Spool) trimTorn(path string) (int64, error) {
	f, err := s.fs.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return 0, s.count(fmt.Errorf("spool: open %s: %w", path, err))
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, s.count(fmt.Errorf("spool: stat %s: %w", path, err))
	}
	size := info.Size()
	keep, err := lastNewline(f, size)
	if err != nil {
		return 0, s.count(fmt.Errorf("spool: read %s: %w", path, err))
	}
	if keep < size {
		if err := s.fs.Truncate(path, keep); err != nil {
			return 0, s.count(fmt.Errorf("spool: trim torn line of %s: %w", path, err))
		}
		s.stats.TrimmedBytes += size - keep
	}
	if err := f.Sync(); err != nil {
		return 0, s.count(fmt.Errorf("spool: fsync %s: %w", path, err))
	}
	return keep, nil
}

// seal turns the active file at path into a sealed segment named by key:
// trim a torn tail, write the counts sidecar (when counts is not nil),
// fsync, rename, advance the sealed-through marker, fsync the directory. An
// empty file is removed instead.
func (s *Spool) seal(path string, key time.Time, counts *WindowCounts) error {
	size, err := s.trimTorn(path)
	if err != nil {
		return err
	}
	if size == 0 {
		if err := s.fs.Remove(path); err != nil {
			return s.count(fmt.Errorf("spool: remove empty %s: %w", path, err))
		}
		return SyncDir(s.fs, s.dir)
	}
	if counts != nil && !counts.Parts.Known(size) {
		counts.Parts = PartSums{} // the trim changed the bytes hashed
	}
	key = key.UTC()
	sealed := filepath.Join(s.dir, namePrefix+key.Format(endLayout)+"-"+randomSuffix()+sealedSuffix)
	if counts != nil {
		if err := writeCounts(s.fs, sealed, *counts); err != nil {
			// The segment goes out without its counts rather than not at all.
			s.count(err)
			counts = nil
		}
	}
	s.segs.Lock()
	err = s.fs.Rename(path, sealed)
	if err == nil {
		s.segs.bytes += size
	}
	s.segs.Unlock()
	if err != nil {
		if counts != nil {
			s.fs.Remove(sealed + countsSuffix)
		}
		return s.count(fmt.Errorf("spool: seal %s: %w", path, err))
	}
	// The segment is sealed: from here on its own name holds key up as the
	// latest key end (Open reads both), so a crash before the marker
	// moves changes nothing. The marker takes over once the segment is
	// uploaded and removed.
	s.stats.Sealed++
	s.lastSeal = time.Now()
	err = s.advanceThrough(key)
	if serr := SyncDir(s.fs, s.dir); err == nil && serr != nil {
		err = s.count(serr)
	}
	return err
}

// advanceThrough records key as the latest key end sealed. Renaming the
// marker needs no free space, so this keeps working on a full disk once
// the marker exists.
func (s *Spool) advanceThrough(key time.Time) error {
	if !key.After(s.through) && s.marker != "" {
		return nil
	}
	name := filepath.Join(s.dir, throughPrefix+key.UTC().Format(endLayout))
	if s.marker == "" {
		f, err := s.fs.OpenFile(name, os.O_WRONLY|os.O_CREATE, 0o640)
		if err != nil {
			return s.count(fmt.Errorf("spool: create %s: %w", name, err))
		}
		f.Close()
	} else if err := s.fs.Rename(s.marker, name); err != nil {
		s.through = maxTime(s.through, key) // the sealed segment holds it meanwhile
		return s.count(fmt.Errorf("spool: rename %s: %w", s.marker, err))
	}
	s.marker = name
	s.through = maxTime(s.through, key)
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
