package spool

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Buffer sizes of the active window.
const (
	flushAt          = 64 << 10 // write to the file once this much is buffered
	defaultMaxBuffer = 4 << 20  // refuse lines beyond this while the disk fails
)

// ErrBufferFull means a line was refused because the spool could not write
// to disk for so long that its memory buffer filled up.
var ErrBufferFull = errors.New("spool: buffer full while the disk refuses writes; line dropped")

// ErrLocked means another process (a second agent) holds the spool
// directory. Open returns it before it changes anything in the directory.
var ErrLocked = errors.New("in use by another elb-access-logger process (one agent per spool directory)")

// Stats counts what the spool did and what went wrong.
type Stats struct {
	WriteErrors  int64 // failed opens, writes, fsyncs and seals
	DroppedLines int64 // lines refused with ErrBufferFull by AppendCounted
	Sealed       int64 // segments sealed, pieces included
	Pieces       int64 // segments sealed as pieces of a window still open (SealPiece)
	Evicted      int64 // sealed segments evicted by spool.max_bytes
	EvictedBytes int64
	EvictedLines int64 // lines of evicted segments, from their counts
	TrimmedBytes int64 // torn tails cut from files left by a crash
	// ClockSteps counts the times the wall clock was found behind the
	// latest key end sealed (a step back, or windows sealed while it was
	// ahead): windows then end on the schedule after now again.
	ClockSteps int64
}

// StepTolerance is how far the latest key end sealed may be ahead of the
// wall clock before the clock is taken to have stepped back. Early seals
// (shutdowns, restarts within a second) put it at most a few seconds ahead.
const StepTolerance = 5 * time.Second

// Spool holds the active window file and the sealed segments in one
// directory, which it locks (flock) while it is open.
//
// Append buffers whole lines in memory; Flush and Sync (called every
// spool.fsync_interval, see Clock) write them to the active file and fsync
// it, so a crash loses at most the lines of one fsync interval (a power
// loss: plus the time an fsync takes). Rotate and SealEarly seal the active
// file: flush, fsync, rename to a sealed segment name, fsync the directory.
// A sealed segment is removed only by Remove, which the caller calls after
// the store acknowledged its upload, or by Evict.
//
// Only whole lines reach the active file: a write the disk cuts short
// (ENOSPC in the middle of a line) is truncated back to the last whole
// line and the rest stays buffered, so a line is never split between two
// windows. A window's counts are those of the lines in its file.
//
// A failing disk (ENOSPC, EIO) is never fatal: the error is returned and
// counted, lines stay buffered (up to a bound) and the next Sync retries.
type Spool struct {
	dir       string
	fs        FS // the filesystem seam: tests inject faults here
	maxBuffer int
	lock      *os.File // the directory, flocked while the spool is open
	// moved is signalled (never blocking) when the active window's end
	// changes other than by Rotate: the Clock re-arms its timer.
	moved chan struct{}
	// full is signalled (never blocking) when the active file reached
	// pieceBytes: the Clock seals it as a piece of its window (SealPiece).
	full       chan struct{}
	pieceBytes atomic.Int64 // the piece size (SetPieceBytes); 0: windows are never cut

	writeErrors atomic.Int64
	// evictedLines are the lines evicted since the last seal: the next
	// segment sealed carries them (WindowCounts.SpoolEvicted).
	evictedLines atomic.Int64

	// Lock order: fsyncMu, then mu, then segs.mu.
	//
	// fsyncMu serialises fsyncs and seals; mu guards the active window.
	// Sync holds only fsyncMu while the disk works, so Append (and with it
	// the UDP reader) never waits for an fsync.
	fsyncMu    sync.Mutex
	mu         sync.Mutex
	next       func(after time.Time) time.Time // window schedule, from Open; it may follow a reloaded configuration
	end        time.Time                       // scheduled end of the active window
	through    time.Time                       // every key end sealed so far is <= through
	marker     string                          // path of the sealed-through marker, "" if none
	behind     bool                            // the clock is behind through by more than StepTolerance (counted once)
	lastSeal   time.Time                       // when a window was last sealed (wall clock), zero if never
	f          File                            // nil until the window's first write
	torn       bool                            // f ends in part of a line that a truncate could not cut yet
	buf        []byte                          // whole lines not yet written to f
	bufFlags   []lineFlags                     // one per line in buf
	activeSize int64                           // bytes written to f
	stats      Stats                           // under mu, except WriteErrors and the eviction counts
	win        WindowCounts                    // accounting of the lines written to f
	hashPart   int64                           // part size new active files are hashed in (SetPartBytes)
	hash       partHasher                      // the digests of f's parts
	recoverErr error

	// segs is the one owner of the sealed segments' byte count: every
	// change to the set of sealed files (seal's rename, Remove, Evict)
	// happens with its lock held, together with the count's update, so a
	// listing can never see a file gone whose bytes are still counted.
	segs struct {
		sync.Mutex
		bytes                     int64 // bytes in sealed segments
		evicted, evBytes, evLines int64 // Stats' eviction counts
	}
}

// lineFlags is how the window's accounting counts one buffered line.
type lineFlags uint8

const (
	flagUnparsed lineFlags = 1 << iota
	flagTruncated
)

// Open opens (creating it if needed) the spool directory dir and takes its
// lock: while the spool is open, a second Open of the directory, in this
// process or another, returns ErrLocked without changing anything. It
// fails only when the directory cannot be created, locked or read. next
// returns the first window end strictly after a time; the active window is
// the one containing now, or the one after the latest seal.
//
// Active files left behind by a crash are sealed under their own windows,
// except the one of the current window, which is continued: a crash never
// splits a window. Torn last lines are trimmed, temporary files of
// interrupted atomic writes removed. fsys nil means the real filesystem.
func Open(dir string, next func(time.Time) time.Time, now time.Time, fsys FS) (*Spool, error) {
	fsys = orOS(fsys)
	s := &Spool{dir: dir, fs: fsys, next: next, maxBuffer: defaultMaxBuffer, moved: make(chan struct{}, 1), full: make(chan struct{}, 1)}
	if err := fsys.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("spool: create %s: %w", dir, err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s.lock = lock
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		s.unlock()
		return nil, fmt.Errorf("spool: read %s: %w", dir, err)
	}
	type active struct {
		path string
		end  time.Time
	}
	var actives []active
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case isTemp(name),
			strings.HasSuffix(name, countsSuffix) && !names[strings.TrimSuffix(name, countsSuffix)]:
			fsys.Remove(filepath.Join(dir, name)) // left by a crash; best effort
		case strings.HasPrefix(name, throughPrefix):
			t, err := time.Parse(endLayout, strings.TrimPrefix(name, throughPrefix))
			if err != nil {
				continue
			}
			if s.marker == "" || t.After(s.through) {
				if s.marker != "" {
					fsys.Remove(s.marker) // a stale extra marker; best effort
				}
				s.marker, s.through = filepath.Join(dir, name), t.UTC()
			}
		case strings.HasSuffix(name, sealedSuffix):
			end, _, ok := parseSealed(name)
			if !ok {
				continue
			}
			s.through = maxTime(s.through, end)
			if info, err := e.Info(); err == nil {
				s.segs.bytes += info.Size()
			}
		case strings.HasSuffix(name, activeSuffix):
			if end, ok := parseActive(name); ok {
				actives = append(actives, active{filepath.Join(dir, name), end})
			}
		}
	}
	sort.Slice(actives, func(i, j int) bool { return actives[i].end.Before(actives[j].end) })
	s.end = s.currentEnd(now)
	var cont string
	var errs []error
	for _, a := range actives {
		if a.end.Equal(s.end) {
			cont = a.path
			continue
		}
		errs = append(errs, s.seal(a.path, s.keyEnd(a.end), nil))
	}
	if cont != "" {
		if !s.end.After(s.through) {
			// Only when the clock went backwards past a sealed window.
			errs = append(errs, s.seal(cont, s.keyEnd(s.end), nil))
		} else {
			errs = append(errs, s.continueActive(cont))
		}
	}
	s.end = s.currentEnd(now)
	if s.marker == "" {
		// Created now, so that sealing needs only renames, which work on
		// a full disk.
		errs = append(errs, s.advanceThrough(s.through))
	}
	s.recoverErr = errors.Join(errs...)
	return s, nil
}

// Dir returns the spool directory.
func (s *Spool) Dir() string { return s.dir }

// FS returns the filesystem the spool writes through, for the other state
// files of its directory.
func (s *Spool) FS() FS { return s.fs }

// RecoverErr reports what Open could not recover (a file it could not
// seal stays in place and the next rotation tries again). It is nil when
// every file left by an earlier run was sealed or continued.
func (s *Spool) RecoverErr() error { return s.recoverErr }

// currentEnd is the end of the window that takes lines at now: the one
// containing now, but never one at or before the latest seal (late lines
// after a seal go to the next window) — unless the latest seal is more
// than StepTolerance ahead of now: then the clock stepped back (or windows
// were sealed while it was ahead), and waiting for the window after that
// seal would stall delivery for the whole step. The window ends on the
// schedule after now instead; its key still goes past the latest one
// (keyEnd), so keys stay strictly increasing, and such a future-named
// segment is uploaded at once. The step is counted once.
func (s *Spool) currentEnd(now time.Time) time.Time {
	t := now.UTC()
	if s.through.After(t) {
		if s.through.Sub(t) > StepTolerance {
			if !s.behind {
				s.behind = true
				s.stats.ClockSteps++
			}
			return s.next(t).UTC()
		}
		t = s.through
	}
	s.behind = false
	return s.next(t).UTC()
}

// keyEnd is the key end for a segment of the window ending at end: end
// itself unless an earlier seal used it or a later time already.
func (s *Spool) keyEnd(end time.Time) time.Time {
	if end.After(s.through) {
		return end
	}
	return s.through.Add(time.Second)
}

// End returns the scheduled end of the active window.
func (s *Spool) End() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.end
}

// Moved returns a channel that receives when the active window's end moved
// other than by Rotate (an early seal): a timer waiting for End must be
// re-armed. One receiver (the Clock).
func (s *Spool) Moved() <-chan struct{} { return s.moved }

// Stats returns the spool's counters.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	st := s.stats
	s.mu.Unlock()
	st.WriteErrors = s.writeErrors.Load()
	s.segs.Lock()
	st.Evicted, st.EvictedBytes, st.EvictedLines = s.segs.evicted, s.segs.evBytes, s.segs.evLines
	s.segs.Unlock()
	return st
}

// Append adds one encoded line (newline included) to the active window. It
// returns an error, and counts it, when the disk refuses the write; the line
// is still kept in memory unless the buffer is full (ErrBufferFull).
func (s *Spool) Append(line []byte) error { return s.AppendCounted(line, false, false) }

// AppendCounted is Append for a line the window's accounting counts as
// unparsed (kept verbatim) or truncated (cut short by HAProxy).
func (s *Spool) AppendCounted(line []byte, unparsed, truncated bool) error {
	err := s.TryAppendCounted(line, unparsed, truncated)
	if errors.Is(err, ErrBufferFull) {
		s.mu.Lock()
		s.stats.DroppedLines++
		s.mu.Unlock()
	}
	return err
}

// TryAppendCounted is AppendCounted for a sender that can wait: a line the
// full buffer refuses (ErrBufferFull) is not counted dropped, so the
// caller may hold it, stop reading its source and try again after the
// next Sync; a line it gives up on goes through AppendCounted, which
// counts it.
func (s *Spool) TryAppendCounted(line []byte, unparsed, truncated bool) error {
	var fl lineFlags
	if unparsed {
		fl |= flagUnparsed
	}
	if truncated {
		fl |= flagTruncated
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.buf)+len(line) > s.maxBuffer {
		return ErrBufferFull
	}
	s.buf = append(s.buf, line...)
	s.bufFlags = append(s.bufFlags, fl)
	if len(s.buf) >= flushAt {
		return s.flush()
	}
	return nil
}

// NoteDrops adds datagrams lost before they reached the agent (kernel
// receive drops, HAProxy's DroppedLogs) to the active window's accounting.
func (s *Spool) NoteDrops(kernel, haproxy int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.win.KernelDrops += kernel
	s.win.HAProxyDropped += haproxy
}

// Pending reports the sealed segments waiting for upload and the bytes
// the spool holds (sealed segments, active file and buffer).
func (s *Spool) Pending() (segments int, bytes int64, err error) {
	segs, err := s.Sealed()
	return len(segs), s.Bytes(), err
}

// Bytes returns the bytes the spool holds: sealed segments, active file
// and buffer.
func (s *Spool) Bytes() int64 {
	s.mu.Lock()
	active := s.activeSize + int64(len(s.buf))
	s.mu.Unlock()
	s.segs.Lock()
	defer s.segs.Unlock()
	return s.segs.bytes + active
}

// Activity reports when a window was last sealed by this process (zero if
// never) and the bytes of the open window (file and buffer): lines are
// arriving while it grows.
func (s *Spool) Activity() (lastSeal time.Time, open int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastSeal, s.activeSize + int64(len(s.buf))
}

// Window reports the open window: its scheduled end, its bytes (file and
// buffer) and its lines (written and buffered), for the status page.
func (s *Spool) Window() (end time.Time, bytes, lines int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.end, s.activeSize + int64(len(s.buf)), s.win.Lines + int64(len(s.bufFlags))
}

// Flush writes buffered lines to the active file (the kernel's page cache:
// from then on they survive the process being killed, not a power loss).
func (s *Spool) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flush()
}

// Sync flushes and fsyncs the active file (from then on its lines survive
// a power loss). Appends and Flushes go on while the fsync runs.
func (s *Spool) Sync() error {
	if err := s.Flush(); err != nil {
		return err
	}
	s.fsyncMu.Lock()
	defer s.fsyncMu.Unlock()
	s.mu.Lock()
	f := s.f
	s.mu.Unlock()
	if f == nil {
		return nil
	}
	if err := f.Sync(); err != nil {
		return s.count(fmt.Errorf("spool: fsync %s: %w", f.Name(), err))
	}
	return nil
}

// Rotate seals the active window, if it holds any line, under its scheduled
// end, and starts the window that contains now (or the next one).
func (s *Spool) Rotate(now time.Time) error {
	s.fsyncMu.Lock()
	defer s.fsyncMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeWindow(s.keyEnd(s.end), now)
}

// SealEarly seals the active window before its scheduled end, as on
// shutdown. The segment is named by the second the window was closed at
// (never at or before an earlier seal, never after the scheduled end), so a
// restart within the same window starts a new segment under a later key
// and no object is ever overwritten with different bytes.
func (s *Spool) SealEarly(now time.Time) error {
	s.fsyncMu.Lock()
	defer s.fsyncMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	key := now.UTC().Truncate(time.Second)
	if !key.After(s.through) {
		key = s.through.Add(time.Second)
	}
	if key.After(s.end) {
		key = s.end
	}
	err := s.closeWindow(key, now)
	select {
	case s.moved <- struct{}{}:
	default: // already signalled
	}
	return err
}

// Close writes and fsyncs buffered lines, closes the active file without
// sealing it and releases the directory's lock.
func (s *Spool) Close() error {
	s.fsyncMu.Lock()
	defer s.fsyncMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.sync()
	if s.f != nil {
		if cerr := s.f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("spool: close %s: %w", s.f.Name(), cerr)
		}
		s.f = nil
	}
	s.unlock()
	return err
}

// unlock releases the directory's lock.
func (s *Spool) unlock() {
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
}

// count counts err as a write error and returns it.
func (s *Spool) count(err error) error {
	s.writeErrors.Add(1)
	return err
}

func (s *Spool) activePath(end time.Time) string {
	return filepath.Join(s.dir, namePrefix+end.UTC().Format(endLayout)+activeSuffix)
}

func (s *Spool) openActive() error {
	path := s.activePath(s.end)
	f, err := s.fs.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return s.count(fmt.Errorf("spool: open %s: %w", path, err))
	}
	if err := SyncDir(s.fs, s.dir); err != nil {
		f.Close()
		return s.count(err)
	}
	s.f = f
	s.hash.reset(s.hashPart)
	return nil
}

// continueActive reopens the current window's active file left by a crash.
func (s *Spool) continueActive(path string) error {
	size, err := s.trimTorn(path)
	if err != nil {
		return err
	}
	f, err := s.fs.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return s.count(fmt.Errorf("spool: reopen %s: %w", path, err))
	}
	s.f, s.activeSize = f, size
	s.win.Partial = size > 0 // the lines before the restart are not counted
	s.hash.reset(0)          // nor hashed: the uploader hashes this file
	return nil
}

// flush writes the buffer to the active file. Only whole lines stay in the
// file: when the disk takes part of a line (ENOSPC mid-write), the file is
// truncated back to the last whole line and the line stays buffered, so
// nothing is lost, split or written twice. Lines are counted into the
// window as they reach its file.
func (s *Spool) flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	if s.f == nil {
		if err := s.openActive(); err != nil {
			return err
		}
	}
	if s.torn {
		if err := s.fs.Truncate(s.f.Name(), s.activeSize); err != nil {
			return s.count(fmt.Errorf("spool: cut a partly written line from %s: %w", s.f.Name(), err))
		}
		s.torn = false
	}
	n, err := s.f.Write(s.buf)
	if err == nil && n == len(s.buf) {
		s.hash.write(s.buf)
		s.activeSize += int64(n)
		s.countWritten(len(s.bufFlags))
		s.buf, s.bufFlags = s.buf[:0], s.bufFlags[:0]
		s.noteFull()
		return nil
	}
	if err == nil {
		err = errors.New("short write")
	}
	whole := bytes.LastIndexByte(s.buf[:n], '\n') + 1 // 0: not one whole line
	lines := bytes.Count(s.buf[:whole], []byte{'\n'})
	if whole < n {
		// Part of a line reached the file: cut it, so the line goes
		// whole into this window or the next, never split.
		if terr := s.fs.Truncate(s.f.Name(), s.activeSize+int64(whole)); terr != nil {
			s.torn = true // retried before the next write; a seal trims it
		}
	}
	s.hash.write(s.buf[:whole])
	s.activeSize += int64(whole)
	s.countWritten(lines)
	s.noteFull()
	s.buf = s.buf[:copy(s.buf, s.buf[whole:])]
	s.bufFlags = s.bufFlags[:copy(s.bufFlags, s.bufFlags[lines:])]
	return s.count(fmt.Errorf("spool: write %s: %w", s.f.Name(), err))
}

// countWritten moves the first n buffered lines into the window's counts.
func (s *Spool) countWritten(n int) {
	s.win.Lines += int64(n)
	for _, fl := range s.bufFlags[:n] {
		if fl == 0 {
			continue
		}
		if fl&flagUnparsed != 0 {
			s.win.Unparsed++
		}
		if fl&flagTruncated != 0 {
			s.win.Truncated++
		}
	}
}

func (s *Spool) sync() error {
	if err := s.flush(); err != nil {
		return err
	}
	if s.f == nil {
		return nil
	}
	if err := s.f.Sync(); err != nil {
		return s.count(fmt.Errorf("spool: fsync %s: %w", s.f.Name(), err))
	}
	return nil
}
