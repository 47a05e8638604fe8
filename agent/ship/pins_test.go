package ship

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/agent/spool"
)

// legacyState is an elb-api-state.json as versions before pins.json wrote
// it: the attribute and the pins together.
const legacyState = `{
  "access_log": {"enabled": true, "s3_bucket_name": "b-1", "s3_bucket_prefix": "p", "emit_interval": 5},
  "pinned": {"window-20261125T061000Z-abcdefgh.log": {"bucket": "b-0", "prefix": "old", "key_layout": "aws", "user_owned": true}}
}`

func segNamed(dir, name string) spool.Segment { return spool.Segment{Path: filepath.Join(dir, name)} }

// TestPinsMigrateFromTheELBStateFile: an upgrade finds the pins in
// elb-api-state.json, moves them to pins.json once, and keeps following
// them after the ELB follower rewrote its file without them.
func TestPinsMigrateFromTheELBStateFile(t *testing.T) {
	c := testConfig(t)
	if err := os.WriteFile(filepath.Join(c.SpoolDir, LegacyStateFile), []byte(legacyState), 0o640); err != nil {
		t.Fatal(err)
	}
	want := Destination{Bucket: "b-0", Prefix: "old", KeyLayout: "aws", UserOwned: true}
	seg := segNamed(c.SpoolDir, "window-20261125T061000Z-abcdefgh.log")

	s := newPrepShipper(t, c, &countingUploader{}, time.Now())
	if d, ok := s.pinFor(seg); !ok || d != want {
		t.Fatalf("after the upgrade: pin got %+v %v, want %+v", d, ok, want)
	}
	data, err := os.ReadFile(filepath.Join(c.SpoolDir, PinsFile))
	if err != nil {
		t.Fatalf("pins.json not written by the migration: %v", err)
	}
	var onDisk map[string]Destination
	if err := json.Unmarshal(data, &onDisk); err != nil || onDisk[filepath.Base(seg.Path)] != want {
		t.Fatalf("pins.json: got %s (%v), want the legacy pin", data, err)
	}

	// The ELB follower saves its file without pins; the next start reads
	// pins.json.
	if err := os.WriteFile(filepath.Join(c.SpoolDir, LegacyStateFile), []byte(`{"access_log": {"enabled": false}}`), 0o640); err != nil {
		t.Fatal(err)
	}
	s = newPrepShipper(t, c, &countingUploader{}, time.Now())
	if d, ok := s.pinFor(seg); !ok || d != want {
		t.Fatalf("restart after the migration: pin got %+v %v, want %+v", d, ok, want)
	}

	// pins.json wins over pins still in the legacy file: an unpinned
	// segment is not pinned again by the old file.
	s.unpin(seg)
	if err := os.WriteFile(filepath.Join(c.SpoolDir, LegacyStateFile), []byte(legacyState), 0o640); err != nil {
		t.Fatal(err)
	}
	s = newPrepShipper(t, c, &countingUploader{}, time.Now())
	if d, ok := s.pinFor(seg); ok {
		t.Errorf("unpinned segment pinned again from the legacy file: %+v", d)
	}
}

// TestPinsUnreadable: a corrupt pins.json is an error naming the file, and
// the Shipper goes on without pins.
func TestPinsUnreadable(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, PinsFile), []byte("{not json"), 0o640); err != nil {
		t.Fatal(err)
	}
	pins, err := loadPins(nil, dir)
	if err == nil || !strings.Contains(err.Error(), PinsFile) {
		t.Errorf("got %v, want an error naming %s", err, PinsFile)
	}
	if pins == nil || len(pins) != 0 {
		t.Errorf("pins: got %v, want an empty map", pins)
	}
}
