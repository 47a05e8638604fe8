package ship

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/agent/spool"
	"github.com/elb-access-logger/elb-access-logger/uploader"
)

// countingUploader counts Provision calls and takes every Put.
type countingUploader struct {
	provisions atomic.Int32
}

func (u *countingUploader) Provision(ctx context.Context, b uploader.Bucket) error {
	u.provisions.Add(1)
	return nil
}

func (u *countingUploader) Put(ctx context.Context, o uploader.Object) error { return nil }

// testConfig is a configuration with its own spool directory.
func testConfig(t *testing.T) *config.Config {
	c := config.DefaultConfig()
	c.SpoolDir = t.TempDir()
	c.Bucket = "logs-{lb_name}"
	c.LBName = "lb1"
	c.OwnerAccount = "lbowner"
	return c
}

// noSegments is an empty spool.
type noSegments struct{ Segments }

func (noSegments) Sealed() ([]spool.Segment, error) { return nil, nil }

// newPrepShipper is a Shipper with cfg and a clock, ready for
// prepareBucket (what an upload round calls before its first PUT).
func newPrepShipper(t *testing.T, cfg *config.Config, up Uploader, now time.Time) *Shipper {
	t.Helper()
	return New(Options{Segments: noSegments{}, Uploader: up, Config: cfg, Started: now,
		Now: func() time.Time { return now }, Backoff: Backoff{Base: time.Millisecond, Max: time.Millisecond}})
}

// TestProvisionStateAcrossRestarts: each step is a new process (a new
// Agent) on the same spool directory, after the steps before it.
func TestProvisionStateAcrossRestarts(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	up := &countingUploader{}
	tests := []struct {
		name  string
		edit  func(c *config.Config)
		now   time.Time
		setup func(t *testing.T)
		want  int32 // Provision calls
	}{
		{"first start provisions", nil, t0, nil, 1},
		{"restart with the same settings: no call", nil, t0.Add(time.Hour), nil, 0},
		{"restart again: still none", nil, t0.Add(2 * time.Hour), nil, 0},
		{"lifecycle changed", func(c *config.Config) { c.LifecycleDays = 7 }, t0.Add(3 * time.Hour), nil, 1},
		{"back to the old lifecycle", nil, t0.Add(3 * time.Hour), nil, 1},
		{"owner changed", func(c *config.Config) { c.OwnerAccount = "other" }, t0.Add(3 * time.Hour), nil, 1},
		{"bucket changed", func(c *config.Config) { c.Bucket = "logs2-{lb_name}" }, t0.Add(3 * time.Hour), nil, 1},
		{"same as before, within the interval", func(c *config.Config) { c.Bucket = "logs2-{lb_name}" }, t0.Add(4 * time.Hour), nil, 0},
		{"interval elapsed", func(c *config.Config) { c.Bucket = "logs2-{lb_name}" }, t0.Add(28 * time.Hour), nil, 1},
		{"shorter interval", func(c *config.Config) {
			c.Bucket = "logs2-{lb_name}"
			c.ProvisionCheckInterval = time.Hour
		}, t0.Add(29*time.Hour + time.Minute), nil, 1},
		{"clock far behind the state", func(c *config.Config) { c.Bucket = "logs2-{lb_name}" }, t0, nil, 1},
		{"corrupt state file", func(c *config.Config) { c.Bucket = "logs2-{lb_name}" }, t0.Add(time.Minute), func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(dir, ProvisionStateFile), []byte("{not json"), 0o640); err != nil {
				t.Fatal(err)
			}
		}, 1},
		{"rewritten after the corrupt one", func(c *config.Config) { c.Bucket = "logs2-{lb_name}" }, t0.Add(2 * time.Minute), nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConfig(t)
			c.SpoolDir = dir
			if tt.edit != nil {
				tt.edit(c)
			}
			if tt.setup != nil {
				tt.setup(t)
			}
			s := newPrepShipper(t, c, up, tt.now)
			before := up.provisions.Load()
			if err := s.prepareBucket(context.Background(), c); err != nil {
				t.Fatalf("prepareBucket: %v", err)
			}
			if got := up.provisions.Load() - before; got != tt.want {
				t.Errorf("Provision calls: got %d, want %d", got, tt.want)
			}
			if !s.bucketReady {
				t.Error("bucket not ready after prepareBucket")
			}
		})
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(tmps) > 0 {
		t.Errorf("temp state files left behind: %v", tmps)
	}
}

// TestProvisionRecheckWhileRunning: a running agent reads its bucket again
// once the interval has passed, and not before.
func TestProvisionRecheckWhileRunning(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
	up := &countingUploader{}
	c := testConfig(t)
	sh := newPrepShipper(t, c, up, t0)
	steps := []struct {
		at   time.Duration
		want int32 // total Provision calls
	}{{0, 1}, {time.Hour, 1}, {23 * time.Hour, 1}, {24 * time.Hour, 2}, {25 * time.Hour, 2}, {48 * time.Hour, 3}}
	for _, s := range steps {
		sh.now = func() time.Time { return t0.Add(s.at) }
		if err := sh.prepareBucket(context.Background(), c); err != nil {
			t.Fatalf("at +%v: %v", s.at, err)
		}
		if got := up.provisions.Load(); got != s.want {
			t.Errorf("at +%v: Provision calls got %d, want %d", s.at, got, s.want)
		}
	}
}

// TestProvisionForcedWhenTheBucketVanished: after a PUT found no bucket,
// the state file is not trusted, even by the same process.
func TestProvisionForcedWhenTheBucketVanished(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
	up := &countingUploader{}
	c := testConfig(t)
	s := newPrepShipper(t, c, up, t0)
	if err := s.prepareBucket(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	s.Reprovision() // what upload does on ErrNoSuchBucket
	s.SetIdentity(s.id, true)
	if !s.takeIdentity() {
		t.Fatal("takeIdentity: not ready")
	}
	if err := s.prepareBucket(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if got := up.provisions.Load(); got != 2 {
		t.Errorf("Provision calls: got %d, want 2 (the vanished bucket provisioned again)", got)
	}
}

// TestProvisionStateFailedWriteIsNotFatal: a spool that cannot take the
// state file costs a provisioning at the next start, nothing more.
func TestProvisionStateFailedWriteIsNotFatal(t *testing.T) {
	up := &countingUploader{}
	c := testConfig(t)
	c.SpoolDir = filepath.Join(t.TempDir(), "missing") // no directory: the write fails
	s := newPrepShipper(t, c, up, time.Now())
	if err := s.prepareBucket(context.Background(), c); err != nil {
		t.Fatalf("prepareBucket: %v", err)
	}
	if !s.bucketReady {
		t.Error("bucket not ready")
	}
}

// idUploader learns its own id at Provision, like uploader.Client.
type idUploader struct {
	countingUploader
	id string
}

func (u *idUploader) Provision(ctx context.Context, b uploader.Bucket) error {
	if u.id == "" {
		u.id = "logger"
	}
	return u.countingUploader.Provision(ctx, b)
}
func (u *idUploader) UploaderID() string      { return u.id }
func (u *idUploader) SetUploaderID(id string) { u.id = id }

// TestProvisionStateKeepsUploaderID: a restart that trusts the state file
// gives the uploader the id it learnt before, so its PUTs need no ACL read.
func TestProvisionStateKeepsUploaderID(t *testing.T) {
	now := time.Now()
	c := testConfig(t)
	first := &idUploader{}
	if err := newPrepShipper(t, c, first, now).prepareBucket(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	second := &idUploader{}
	if err := newPrepShipper(t, c, second, now.Add(time.Minute)).prepareBucket(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if got := second.provisions.Load(); got != 0 {
		t.Errorf("Provision calls after restart: got %d, want 0", got)
	}
	if second.id != "logger" {
		t.Errorf("uploader id after restart: got %q, want %q", second.id, "logger")
	}
}
