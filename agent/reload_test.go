package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/agent/identity/identitytest"

	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
	"github.com/elb-access-logger/elb-access-logger/uploader"
)

// replaceFile writes content the way editors do: a new file renamed over
// the old one.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp~"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func reloadProps(spool string, port int, extra string) string {
	return fmt.Sprintf(`access_log.schedule = * * * * * *
access_log.bucket = logs-{lb_name}-{instance_num}
access_log.lb_name = lb1
access_log.instance_id = i-315dd646
access_log.owner_account = lbowner
access_log.upload_spread = 0
syslog.listen = udp://127.0.0.1:%d
spool.dir = %s
spool.fsync_interval = 50ms
objectstorage.servo_conf =
metrics.listen = 127.0.0.1:0
%s`, port, spool, extra)
}

type runningAgent struct {
	a      *Agent
	up     *memUploader
	hup    chan os.Signal
	cancel context.CancelFunc
	done   chan error
}

// startFromFile runs an agent configured and watched from path, uploading
// to up, which stores in mem.
func startFromFile(t *testing.T, path string, up Uploader, mem *memUploader) *runningAgent {
	t.Helper()
	cfg, err := config.LoadConfig(path, true)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(cfg, up, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	r := &runningAgent{a: a, up: mem, hup: make(chan os.Signal, 1), done: make(chan error, 1)}
	a.WatchConfig(path, true, r.hup)
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

// startReloadable runs an agent from a fresh property file in its own
// directory, listening on port, spooling to spool.
func startReloadable(t *testing.T) (r *runningAgent, path, spool string, port int) {
	t.Helper()
	spool, port = t.TempDir(), testbed.FreeUDPPort(t)
	path = filepath.Join(t.TempDir(), "access-log.properties")
	replaceFile(t, path, reloadProps(spool, port, ""))
	mem := newMem()
	return startFromFile(t, path, mem, mem), path, spool, port
}

func send(t *testing.T, port int, body string) {
	t.Helper()
	c, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "<158>Nov 25 06:12:36 haproxy[1]: %s\n", body)
}

func (r *runningAgent) waitReloads(t *testing.T, ok, failed int64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d reloads, %d rejected", ok, failed), func() bool {
		gotOK, gotFailed := r.a.ReloadStats()
		return gotOK == ok && gotFailed == failed
	})
}

func (r *runningAgent) hasLine(bucket, body string) bool {
	r.up.mu.Lock()
	defer r.up.mu.Unlock()
	for k, v := range r.up.objects {
		if strings.HasPrefix(k, bucket+"/") && strings.Contains(v, body) {
			return true
		}
	}
	return false
}

func newMem() *memUploader {
	return &memUploader{objects: map[string]string{}, buckets: map[string]bool{}}
}

func TestReloadRebindsListener(t *testing.T) {
	dir, spool := t.TempDir(), t.TempDir()
	p1, p2 := testbed.FreeUDPPort(t), testbed.FreeUDPPort(t)
	path := filepath.Join(dir, "access-log.properties")
	replaceFile(t, path, reloadProps(spool, p1, ""))
	mem := newMem()
	r := startFromFile(t, path, mem, mem)
	send(t, p1, "before-rebind")

	replaceFile(t, path, reloadProps(spool, p2, ""))
	r.waitReloads(t, 1, 0)
	if got := r.a.Addrs(); len(got) != 1 || got[0].(*net.UDPAddr).Port != p2 {
		t.Fatalf("listeners after reload: got %v, want port %d", got, p2)
	}
	// The old port is released once its queue is drained.
	waitFor(t, fmt.Sprintf("old port %d released", p1), func() bool {
		c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p1))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	send(t, p2, "after-rebind")
	waitFor(t, "both lines uploaded", func() bool {
		return r.hasLine("logs-lb1-315dd646", "before-rebind") && r.hasLine("logs-lb1-315dd646", "after-rebind")
	})
}

func TestReloadRejectsBadFile(t *testing.T) {
	r, path, spool, port := startReloadable(t)

	// A typo is rejected.
	replaceFile(t, path, reloadProps(spool, port, "access_log.formatt = raw\n"))
	r.waitReloads(t, 0, 1)
	// A listener that cannot be bound rejects the reload too.
	busy, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.LocalAddr().(*net.UDPAddr).Port
	replaceFile(t, path, strings.Replace(reloadProps(spool, port, ""), fmt.Sprintf("udp://127.0.0.1:%d", port),
		fmt.Sprintf("udp://127.0.0.1:%d, udp://127.0.0.1:%d", port, busyPort), 1))
	r.waitReloads(t, 0, 2)
	if got := r.a.Config().Listen; len(got) != 1 || got[0] != fmt.Sprintf("udp://127.0.0.1:%d", port) {
		t.Errorf("running listen after rejected reloads: got %v", got)
	}
	send(t, port, "still-running")
	waitFor(t, "line uploaded with the old config", func() bool { return r.hasLine("logs-lb1-315dd646", "still-running") })
}

func TestReloadBucketChangeProvisionsAgain(t *testing.T) {
	r, path, spool, port := startReloadable(t)
	send(t, port, "to-first")
	waitFor(t, "first bucket", func() bool { return r.hasLine("logs-lb1-315dd646", "to-first") })

	replaceFile(t, path, strings.Replace(reloadProps(spool, port, ""), "logs-{lb_name}", "moved-{lb_name}", 1))
	r.waitReloads(t, 1, 0)
	send(t, port, "to-second")
	waitFor(t, "second bucket provisioned and used", func() bool { return r.hasLine("moved-lb1-315dd646", "to-second") })
	r.up.mu.Lock()
	defer r.up.mu.Unlock()
	if !r.up.buckets["moved-lb1-315dd646"] {
		t.Error("moved-lb1-315dd646 was not provisioned")
	}
}

func TestReloadSymlinkSwapAndSIGHUP(t *testing.T) {
	dir, spool := t.TempDir(), t.TempDir()
	port := testbed.FreeUDPPort(t)
	for _, d := range []string{"v1", "v2"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	testbed.WriteFile(t, filepath.Join(dir, "v1"), "a.properties", reloadProps(spool, port, ""))
	testbed.WriteFile(t, filepath.Join(dir, "v2"), "a.properties", reloadProps(spool, port, "access_log.enabled = false\n"))
	path := filepath.Join(dir, "access-log.properties")
	if err := os.Symlink("v1/a.properties", path); err != nil {
		t.Fatal(err)
	}
	mem := newMem()
	r := startFromFile(t, path, mem, mem)
	if !r.a.Config().Enabled {
		t.Fatal("v1 should be enabled")
	}
	// Swap the link atomically, as configuration managers do.
	if err := os.Symlink("v2/a.properties", path+".new"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	r.waitReloads(t, 1, 0)
	if r.a.Config().Enabled {
		t.Error("after the swap to v2: still enabled")
	}
	// SIGHUP reloads even when nothing changed.
	r.hup <- os.Interrupt
	r.waitReloads(t, 2, 0)
}

func TestUploadsWaitForIdentity(t *testing.T) {
	f := &identitytest.FakeIMDS{Values: identitytest.EucaValues(), TokenStatus: http.StatusOK}
	f.SetDown(true)
	srv := httptest.NewServer(f)
	defer srv.Close()
	c := testConfig(t)
	c.LBName, c.OwnerAccount = "", ""
	c.MetadataEndpoint, c.MetadataTimeout = srv.URL, time.Second
	up := newMem()
	conn, cancel, done := startAgent(t, c, up)
	defer func() { cancel(); <-done }()
	fmt.Fprintf(conn, "<158>Nov 25 06:12:36 haproxy[1]: while-metadata-down\n")
	waitFor(t, "a sealed segment", func() bool { return len(sealedIn(c.SpoolDir)) > 0 })
	time.Sleep(1500 * time.Millisecond)
	if n := len(up.lines()); n != 0 {
		t.Fatalf("%d lines uploaded before the identity was known", n)
	}
	f.SetDown(false)
	waitFor(t, "upload once metadata answers", func() bool { return len(up.lines()) == 1 })
	up.mu.Lock()
	defer up.mu.Unlock()
	for k := range up.objects {
		if !strings.HasPrefix(k, "logs-my-web-lb/") {
			t.Errorf("object %s: want bucket logs-my-web-lb from the security group", k)
		}
	}
}

// lifecycleUploader records the lifecycle of each Provision.
type lifecycleUploader struct {
	*memUploader
	lifecycles []int
}

func (u *lifecycleUploader) Provision(ctx context.Context, b uploader.Bucket) error {
	u.mu.Lock()
	u.lifecycles = append(u.lifecycles, b.LifecycleDays)
	u.mu.Unlock()
	return u.memUploader.Provision(ctx, b)
}

func TestReloadLifecycleProvisionsAgain(t *testing.T) {
	spool, port := t.TempDir(), testbed.FreeUDPPort(t)
	path := filepath.Join(t.TempDir(), "access-log.properties")
	replaceFile(t, path, reloadProps(spool, port, "access_log.lifecycle_days = 7\n"))
	up := &lifecycleUploader{memUploader: newMem()}
	r := startFromFile(t, path, up, up.memUploader)

	send(t, port, "first")
	waitFor(t, "first upload", func() bool { return r.hasLine("logs-lb1-315dd646", "first") })
	replaceFile(t, path, reloadProps(spool, port, "access_log.lifecycle_days = 0\n"))
	r.waitReloads(t, 1, 0)
	send(t, port, "second")
	waitFor(t, "second upload", func() bool { return r.hasLine("logs-lb1-315dd646", "second") })
	up.mu.Lock()
	defer up.mu.Unlock()
	if len(up.lifecycles) != 2 || up.lifecycles[0] != 7 || up.lifecycles[1] != 0 {
		t.Errorf("provisioned with lifecycle days %v, want [7 0]", up.lifecycles)
	}
}

func TestServoConfReload(t *testing.T) {
	r, path, spool, port := startReloadable(t)
	servo := filepath.Join(filepath.Dir(path), "servo.conf")
	replaceFile(t, servo, "loadbalancer_owner_account=999999999999\n")
	replaceFile(t, path, strings.Replace(reloadProps(spool, port, ""), "objectstorage.servo_conf =", "objectstorage.servo_conf = "+servo, 1))
	r.waitReloads(t, 1, 0)
	// A change of servo.conf alone reloads too.
	replaceFile(t, servo, "loadbalancer_owner_account=123456789012\n")
	r.waitReloads(t, 2, 0)
	// The property file sets owner_account, so servo.conf does not win...
	if got := r.a.Config().OwnerAccount; got != "lbowner" {
		t.Errorf("owner: got %q, want the property file's lbowner", got)
	}
	// ...until the property file leaves it out.
	replaceFile(t, path, strings.Replace(strings.Replace(reloadProps(spool, port, ""), "objectstorage.servo_conf =", "objectstorage.servo_conf = "+servo, 1),
		"access_log.owner_account = lbowner\n", "", 1))
	r.waitReloads(t, 3, 0)
	c := r.a.Config()
	if c.OwnerAccount != "123456789012" || c.Origin("access_log.owner_account") != (config.Origin{Source: config.SourceServo, File: servo, Line: 1}) {
		t.Errorf("owner: got %q from %v, want 123456789012 from servo.conf", c.OwnerAccount, c.Origin("access_log.owner_account"))
	}
}

// A reload logs what it skipped, as a start does: a servo.conf line the
// cloud wrote without '=' is named by file and line.
func TestReloadLogsWarnings(t *testing.T) {
	dir, spool := t.TempDir(), t.TempDir()
	port := testbed.FreeUDPPort(t)
	path := filepath.Join(dir, "access-log.properties")
	replaceFile(t, path, reloadProps(spool, port, ""))
	cfg, err := config.LoadConfig(path, true)
	if err != nil {
		t.Fatal(err)
	}
	var logs testbed.Buffer
	a, err := New(cfg, newMem(), slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	hup := make(chan os.Signal, 1)
	runWatching(t, a, path, hup)

	servo := filepath.Join(dir, "servo.conf")
	replaceFile(t, servo, "loadbalancer_owner_account=123456789012\nwords the cloud wrote\n")
	replaceFile(t, path, strings.Replace(reloadProps(spool, port, ""), "objectstorage.servo_conf =", "objectstorage.servo_conf = "+servo, 1))
	waitFor(t, "the reload", func() bool { ok, _ := a.ReloadStats(); return ok == 1 })
	if want := servo + ":2: not a k=v line"; !strings.Contains(logs.String(), want) {
		t.Errorf("log after the reload does not name %q:\n%s", want, logs.String())
	}
}

// runWatching starts a, watching the configuration file at path (and
// reloading on hup; nil: no signal), and runs it until the test ends.
func runWatching(t *testing.T, a *Agent, path string, hup chan os.Signal) {
	t.Helper()
	a.WatchConfig(path, true, hup)
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}
