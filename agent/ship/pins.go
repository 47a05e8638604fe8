package ship

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/elb-access-logger/elb-access-logger/agent/spool"
)

// PinsFile, in the spool directory, keeps where each segment sealed under
// earlier settings (elb-api mode) goes: segment file name -> Destination,
// as JSON, replaced atomically. The Shipper is its only owner.
const PinsFile = "pins.json"

// LegacyStateFile is the file in which versions before PinsFile kept the
// pins, under "pinned", beside the ELB API's last known attribute. New
// moves them to PinsFile once; the ELB API follower rewrites the legacy
// file without them.
const LegacyStateFile = "elb-api-state.json"

// loadPins reads the pins of the spool directory dir: PinsFile, or, when
// there is none yet, the pins of LegacyStateFile, which it then writes to
// PinsFile (a one-time migration). It never returns a nil map.
func loadPins(fsys spool.FS, dir string) (map[string]Destination, error) {
	pins := map[string]Destination{}
	data, err := spool.ReadFile(fsys, dir, PinsFile)
	if err == nil {
		if err := json.Unmarshal(data, &pins); err != nil {
			return map[string]Destination{}, fmt.Errorf("parse %s: %w", filepath.Join(dir, PinsFile), err)
		}
		return pins, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return pins, fmt.Errorf("read %s: %w", filepath.Join(dir, PinsFile), err)
	}
	data, err = spool.ReadFile(fsys, dir, LegacyStateFile)
	if errors.Is(err, os.ErrNotExist) {
		return pins, nil
	}
	if err != nil {
		return pins, fmt.Errorf("read %s: %w", filepath.Join(dir, LegacyStateFile), err)
	}
	var legacy struct {
		Pinned map[string]Destination `json:"pinned"`
	}
	if err := json.Unmarshal(data, &legacy); err != nil {
		return pins, fmt.Errorf("parse %s: %w", filepath.Join(dir, LegacyStateFile), err)
	}
	if len(legacy.Pinned) == 0 {
		return pins, nil
	}
	if err := savePins(fsys, dir, legacy.Pinned); err != nil {
		// Kept in memory; the legacy file still has them for the next start.
		return legacy.Pinned, err
	}
	return legacy.Pinned, nil
}

// savePins replaces PinsFile of dir atomically.
func savePins(fsys spool.FS, dir string, pins map[string]Destination) error {
	data, err := json.MarshalIndent(pins, "", "  ")
	if err == nil {
		err = spool.WriteFileAtomic(fsys, dir, PinsFile, data)
	}
	if err != nil {
		return fmt.Errorf("save %s: %w", filepath.Join(dir, PinsFile), err)
	}
	return nil
}

// pinSealedLocked pins every sealed segment not pinned yet to d, and
// forgets pins of segments that are gone. Call it with targetMu held.
func (s *Shipper) pinSealedLocked(d Destination) {
	segs, err := s.segs.Sealed()
	if err != nil {
		s.spoolErr(err)
		return
	}
	live := map[string]bool{}
	for _, seg := range segs {
		name := filepath.Base(seg.Path)
		live[name] = true
		if _, ok := s.pins[name]; !ok && d.Bucket != "" {
			s.pins[name] = d
		}
	}
	for name := range s.pins {
		if !live[name] {
			delete(s.pins, name)
		}
	}
	s.savePinsLocked()
}

// savePinsLocked writes the pins; a failure is logged (the pins in memory
// stay in force). Call it with targetMu held.
func (s *Shipper) savePinsLocked() {
	if err := savePins(s.fs, s.cfg.SpoolDir, s.pins); err != nil {
		s.log.Error("cannot save the pins of sealed segments in the spool directory", "err", err)
	}
}

// pinFor returns the Destination seg was pinned to, if any.
func (s *Shipper) pinFor(seg spool.Segment) (Destination, bool) {
	s.targetMu.Lock()
	defer s.targetMu.Unlock()
	d, ok := s.pins[filepath.Base(seg.Path)]
	return d, ok
}

// unpin forgets the pin of an uploaded segment.
func (s *Shipper) unpin(seg spool.Segment) {
	s.targetMu.Lock()
	defer s.targetMu.Unlock()
	name := filepath.Base(seg.Path)
	if _, ok := s.pins[name]; ok {
		delete(s.pins, name)
		s.savePinsLocked()
	}
}
