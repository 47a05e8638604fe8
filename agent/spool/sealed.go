package spool

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// Sealed segments: listing, reading, removal after upload, eviction beyond
// spool.max_bytes. Sealing itself is in spool.go.

// Sealed lists the sealed segments, oldest first.
func (s *Spool) Sealed() ([]Segment, error) { return list(s.fs, s.dir) }

// List lists the sealed segments of the spool directory dir, oldest first,
// without opening (or locking) it: for tools and tests.
func List(dir string) ([]Segment, error) { return list(OSFS{}, dir) }

func list(fsys FS, dir string) ([]Segment, error) {
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spool: read %s: %w", dir, err)
	}
	var segs []Segment
	for _, e := range entries {
		end, rnd, ok := parseSealed(e.Name())
		if !ok {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		segs = append(segs, Segment{Path: filepath.Join(dir, e.Name()), End: end, Rand: rnd, Size: info.Size()})
	}
	sort.Slice(segs, func(i, j int) bool {
		if !segs[i].End.Equal(segs[j].End) {
			return segs[i].End.Before(segs[j].End)
		}
		return segs[i].Path < segs[j].Path
	})
	return segs, nil
}

// Open opens a sealed segment for reading. A segment removed meanwhile
// (evicted) gives an error satisfying errors.Is(err, fs.ErrNotExist).
func (s *Spool) Open(seg Segment) (io.ReadSeekCloser, error) {
	f, err := s.fs.OpenFile(seg.Path, os.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("spool: open segment: %w", err)
	}
	return f, nil
}

// Counts reads the accounting of a sealed segment (ReadCounts).
func (s *Spool) Counts(seg Segment) (WindowCounts, bool, error) { return readCounts(s.fs, seg) }

// Remove deletes an uploaded segment. A segment already gone is not an
// error.
func (s *Spool) Remove(seg Segment) error {
	s.segs.Lock()
	err := s.fs.Remove(seg.Path)
	if err == nil {
		s.segs.bytes -= seg.Size
	}
	s.segs.Unlock()
	s.removeCounts(seg)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // evicted meanwhile
	}
	if err != nil {
		return fmt.Errorf("spool: remove %s: %w", seg.Path, err)
	}
	return SyncDir(s.fs, s.dir)
}

// Evicted is a segment Evict removed.
type Evicted struct {
	Segment
	Lines int64 // its lines, from its counts; -1 when they were not known
}

// Evict removes the oldest sealed segments, skipping those busy reports as
// being uploaded, until the spool (sealed segments plus the active file)
// holds at most maxBytes. It returns what it evicted.
func (s *Spool) Evict(maxBytes int64, busy func(Segment) bool) ([]Evicted, error) {
	s.mu.Lock()
	active := s.activeSize + int64(len(s.buf))
	s.mu.Unlock()
	s.segs.Lock()
	defer s.segs.Unlock()
	if s.segs.bytes+active <= maxBytes {
		return nil, nil // the common case, without listing the directory
	}
	segs, err := s.Sealed()
	if err != nil {
		return nil, err
	}
	var sealedBytes int64
	for _, seg := range segs {
		sealedBytes += seg.Size
	}
	s.segs.bytes = sealedBytes // the directory is the truth: no removal runs meanwhile
	total := sealedBytes + active
	var evicted []Evicted
	for _, seg := range segs {
		if total <= maxBytes {
			break
		}
		if busy != nil && busy(seg) {
			continue
		}
		counts, known, _ := readCounts(s.fs, seg)
		if err := s.fs.Remove(seg.Path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed by hand
			}
			return evicted, s.count(fmt.Errorf("spool: evict %s: %w", seg.Path, err))
		}
		s.removeCounts(seg)
		ev := Evicted{Segment: seg, Lines: -1}
		if known {
			s.segs.evLines += counts.Lines
			ev.Lines = counts.Lines
		}
		total -= seg.Size
		s.segs.bytes -= seg.Size
		s.segs.evicted++
		s.segs.evBytes += seg.Size
		evicted = append(evicted, ev)
	}
	if len(evicted) > 0 {
		s.noteEvicted(evicted)
		return evicted, SyncDir(s.fs, s.dir)
	}
	return nil, nil
}

// noteEvicted adds the lines of evicted segments to what the next segment
// sealed reports (spool-evicted in its object's metadata).
func (s *Spool) noteEvicted(evicted []Evicted) {
	var lines int64
	for _, e := range evicted {
		lines += max(e.Lines, 0)
	}
	if lines == 0 {
		return
	}
	s.evictedLines.Add(lines)
}

// removeCounts removes the sidecar of a removed segment; one left behind
// is removed by the next Open.
func (s *Spool) removeCounts(seg Segment) {
	s.fs.Remove(seg.Path + countsSuffix)
}
