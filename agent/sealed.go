package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
)

// Sealed segments: listing, removal after upload, eviction beyond
// spool.max_bytes. Sealing itself is in spool.go.

// Sealed lists the sealed segments, oldest first.
func (s *Spool) Sealed() ([]Segment, error) {
	entries, err := s.filesys().ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("spool: read %s: %w", s.dir, err)
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
		segs = append(segs, Segment{Path: filepath.Join(s.dir, e.Name()), End: end, Rand: rnd, Size: info.Size()})
	}
	sort.Slice(segs, func(i, j int) bool {
		if !segs[i].End.Equal(segs[j].End) {
			return segs[i].End.Before(segs[j].End)
		}
		return segs[i].Path < segs[j].Path
	})
	return segs, nil
}

// Remove deletes an uploaded segment. A segment already gone is not an
// error.
func (s *Spool) Remove(seg Segment) error {
	err := s.filesys().Remove(seg.Path)
	s.removeCounts(seg)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // evicted meanwhile
	}
	if err != nil {
		return fmt.Errorf("spool: remove %s: %w", seg.Path, err)
	}
	s.mu.Lock()
	s.sealedBytes -= seg.Size
	s.mu.Unlock()
	return syncDir(s.filesys(), s.dir)
}

// Evict removes the oldest sealed segments, skipping those busy reports as
// being uploaded, until the spool (sealed segments plus the active file)
// holds at most maxBytes. It returns what it evicted.
func (s *Spool) Evict(maxBytes int64, busy func(Segment) bool) ([]Segment, error) {
	s.mu.Lock()
	under := s.sealedBytes+s.activeSize+int64(len(s.buf)) <= maxBytes
	s.mu.Unlock()
	if under {
		return nil, nil // the common case, without listing the directory
	}
	segs, err := s.Sealed()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var sealedBytes int64
	for _, seg := range segs {
		sealedBytes += seg.Size
	}
	s.sealedBytes = sealedBytes // the directory is the truth
	total := sealedBytes + s.activeSize + int64(len(s.buf))
	var evicted []Segment
	for _, seg := range segs {
		if total <= maxBytes {
			break
		}
		if busy != nil && busy(seg) {
			continue
		}
		counts, known, _ := ReadCounts(seg)
		if err := s.filesys().Remove(seg.Path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // uploaded meanwhile
			}
			return evicted, s.count(fmt.Errorf("spool: evict %s: %w", seg.Path, err))
		}
		s.removeCounts(seg)
		if known {
			s.stats.EvictedLines += counts.Lines
		}
		total -= seg.Size
		s.sealedBytes -= seg.Size
		s.stats.Evicted++
		s.stats.EvictedBytes += seg.Size
		evicted = append(evicted, seg)
	}
	if len(evicted) > 0 {
		return evicted, syncDir(s.filesys(), s.dir)
	}
	return nil, nil
}

// removeCounts removes the sidecar of a removed segment; one left behind
// is removed by the next OpenSpool.
func (s *Spool) removeCounts(seg Segment) {
	s.filesys().Remove(seg.Path + countsSuffix)
}
