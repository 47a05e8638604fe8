package control

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/agent/identity"
	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

// fakeParts records what control pushes into the components.
type fakeParts struct {
	mu       sync.Mutex // guards the fields below
	lbNames  []string
	enabled  []bool
	formats  []string
	maxBytes []int64
	targets  []*config.Config
	ids      []identity.Identity
	reprov   int
	rebinds  [][]string
}

func (f *fakeParts) SetFormat(format string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.formats = append(f.formats, format)
	return nil
}
func (f *fakeParts) SetEnabled(e bool)  { f.mu.Lock(); f.enabled = append(f.enabled, e); f.mu.Unlock() }
func (f *fakeParts) SetLBName(n string) { f.mu.Lock(); f.lbNames = append(f.lbNames, n); f.mu.Unlock() }
func (f *fakeParts) Rebind(addrs []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rebinds = append(f.rebinds, addrs)
	return nil
}
func (f *fakeParts) SetMaxBytes(n int64) {
	f.mu.Lock()
	f.maxBytes = append(f.maxBytes, n)
	f.mu.Unlock()
}
func (f *fakeParts) SetObjectBytes(int64) {}
func (f *fakeParts) SetPartBytes(int64)   {}
func (f *fakeParts) SetTarget(c *config.Config) {
	f.mu.Lock()
	f.targets = append(f.targets, c)
	f.mu.Unlock()
}
func (f *fakeParts) SetIdentity(id identity.Identity, complete bool) {
	f.mu.Lock()
	f.ids = append(f.ids, id)
	f.mu.Unlock()
}
func (f *fakeParts) Reprovision() { f.mu.Lock(); f.reprov++; f.mu.Unlock() }

func (f *fakeParts) parts() Parts { return Parts{Ingest: f, Windows: f, Ship: f} }

var (
	_ Ingest   = (*fakeParts)(nil)
	_ Windows  = (*fakeParts)(nil)
	_ Shipping = (*fakeParts)(nil)
)

func testConfig(t *testing.T) *config.Config {
	c := config.DefaultConfig()
	c.SpoolDir = t.TempDir()
	c.MetadataEndpoint = ""
	c.Bucket = "logs-{lb_name}"
	c.LBName, c.OwnerAccount, c.NodeIP, c.InstanceID = "lb-a", "123456789012", "10.0.0.5", "i-1"
	return c
}

// start runs c until the test ends.
func start(t *testing.T, c *Controller, f *fakeParts) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx, f.parts())
	}()
	testbed.WaitFor(t, "Run running", c.running.Load)
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return within 10s of its context's end")
		}
	})
}

// TestIdentityReachesIngestAndShip: the identity the resolver delivers
// names the load balancer in the encoder and lets the Shipper upload, in
// Live too.
func TestIdentityReachesIngestAndShip(t *testing.T) {
	c, err := New(testConfig(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeParts{}
	start(t, c, f)
	testbed.WaitFor(t, "the identity delivered", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.ids) == 1 && len(f.lbNames) == 1
	})
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lbNames[0] != "lb-a" || f.ids[0].LBName != "lb-a" || f.ids[0].Account != "123456789012" {
		t.Errorf("got lb names %q and identity %+v, want lb-a and the file's identity", f.lbNames, f.ids[0])
	}
	if got := c.Live().LBName(); got != "lb-a" {
		t.Errorf("Live().LBName(): got %q, want lb-a", got)
	}
}

// TestReloadPushesChangesThroughSetters: a reload reaches every component
// through its setter, and one that changes nothing still publishes.
func TestReloadPushesChangesThroughSetters(t *testing.T) {
	dir := t.TempDir()
	props := func(extra string) *config.Config {
		t.Helper()
		path := testbed.WriteFile(t, dir, "access-log.properties", `
metadata.endpoint =
spool.dir = `+dir+`
access_log.lb_name = lb-a
access_log.owner_account = 123456789012
access_log.node_ip = 10.0.0.5
access_log.instance_id = i-1
`+extra)
		c, err := config.LoadConfig(path, true)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cfg := props("")
	c, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Reload(context.Background(), cfg); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Reload before Run: got %v, want ErrNotRunning", err)
	}
	f := &fakeParts{}
	start(t, c, f)
	next := props(`
access_log.enabled = false
access_log.format = json
access_log.lifecycle_days = 7
spool.max_bytes = 123456789
syslog.listen = udp://127.0.0.1:0, udp://127.0.0.1:0
`)
	if err := c.Reload(context.Background(), next); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.enabled) != 1 || f.enabled[0] || len(f.maxBytes) != 1 || f.maxBytes[0] != 123456789 ||
		len(f.formats) != 1 || f.formats[0] != "json" || len(f.targets) != 1 || f.targets[0].Enabled {
		t.Errorf("setters: enabled %v max bytes %v formats %q targets %d, want one call each with the new values",
			f.enabled, f.maxBytes, f.formats, len(f.targets))
	}
	if f.reprov != 1 {
		t.Errorf("Reprovision calls: got %d, want 1 (the lifecycle changed)", f.reprov)
	}
	if len(f.rebinds) != 1 {
		t.Errorf("Rebind calls: got %d, want 1 (syslog.listen changed)", len(f.rebinds))
	}
	if c.Config() == cfg || c.Config().Enabled {
		t.Error("Config() still the old configuration")
	}
	if st := c.Stats(); st.ReloadsOK != 0 {
		t.Errorf("Reload counts as a file reload: %+v", st)
	}
}

// TestDeliverNeverBlocks: the resolver's callback returns at once while
// Run's goroutine is busy, and the newest identity wins.
func TestDeliverNeverBlocks(t *testing.T) {
	c, err := New(testConfig(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 100 {
			c.deliver(identity.Identity{InstanceID: string(rune('a' + i%26))}, false)
		}
		c.deliver(identity.Identity{InstanceID: "last"}, true)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("deliver blocked with nobody receiving")
	}
	if r := <-c.ids; r.id.InstanceID != "last" || !r.complete {
		t.Errorf("got %+v, want the last identity", r)
	}
}
