package spool

import "time"

// Pieces: a window that outgrows the piece size is sealed in pieces while
// it is open, each piece a sealed segment of its own (an object of its own
// in the bucket), so the disk never holds a whole busy window and no object
// outgrows what one PUT may carry. docs/decisions.md says why pieces rather
// than one streamed multipart object.

// SetPieceBytes sets the size from which the active file is sealed as a
// piece of its window (see SealPiece); 0 never cuts a window.
func (s *Spool) SetPieceBytes(n int64) {
	s.pieceBytes.Store(max(n, 0))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noteFull()
}

// Full returns a channel that receives when the active file reached the
// piece size. One receiver (the Clock), which calls SealPiece.
func (s *Spool) Full() <-chan struct{} { return s.full }

// noteFull signals Full when the active file holds the piece size. Call it
// with mu held.
func (s *Spool) noteFull() {
	if p := s.pieceBytes.Load(); p > 0 && s.activeSize >= p {
		select {
		case s.full <- struct{}{}:
		default: // already signalled
		}
	}
}

// SealPiece seals the active file as a piece of its window when it holds
// at least the piece size; the window goes on in a new file under the same
// scheduled end. Like an early seal, the piece is named by the second it
// was cut, so its key is after every key sealed before and before the
// window's own. A piece is not cut when that second is not after the latest
// key end (at most one piece a second: keys never run ahead of the clock),
// nor when it is not before the window's end (the window's seal takes the
// lines). It reports whether a piece was sealed.
func (s *Spool) SealPiece(now time.Time) (bool, error) {
	s.fsyncMu.Lock()
	defer s.fsyncMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pieceBytes.Load()
	if p <= 0 || s.activeSize+int64(len(s.buf)) < p {
		return false, nil
	}
	key := now.UTC().Truncate(time.Second)
	if !key.After(s.through) || !key.Before(s.end) {
		return false, nil
	}
	sealed := s.stats.Sealed
	err := s.closeWindow(key, now)
	if s.stats.Sealed == sealed {
		return false, err
	}
	s.stats.Pieces++
	return true, err
}
