package ship

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestProvisionStateRoundTripAndFresh(t *testing.T) {
	dir := t.TempDir()
	if st, err := ReadProvisionState(nil, dir); err != nil || !reflect.DeepEqual(st, ProvisionState{}) {
		t.Fatalf("missing file: got %+v, %v; want the zero state and no error", st, err)
	}
	at := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
	want := ProvisionState{Settings: "abc", Bucket: "b", Verified: at, Uploader: "id", TestFiles: []string{"owners/p"}}
	if err := WriteProvisionState(nil, dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadProvisionState(nil, dir)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip: got %+v, %v; want %+v", got, err, want)
	}
	for _, tt := range []struct {
		name     string
		settings string
		now      time.Time
		fresh    bool
	}{
		{"within the interval", "abc", at.Add(time.Hour), true},
		{"other settings", "abd", at.Add(time.Hour), false},
		{"interval over", "abc", at.Add(25 * time.Hour), false},
		{"clock far behind", "abc", at.Add(-time.Hour), false},
	} {
		if f := got.Fresh(tt.settings, tt.now, 24*time.Hour); f != tt.fresh {
			t.Errorf("%s: Fresh got %v, want %v", tt.name, f, tt.fresh)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, ProvisionStateFile), []byte("{not json"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadProvisionState(nil, dir); err == nil {
		t.Error("corrupt state: got nil error")
	}
}
