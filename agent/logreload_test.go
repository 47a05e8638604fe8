package agent

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/internal/logging"
	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

// log.level and log.format are applied by a reload, to the loggers the
// components were given at start too; a rejected reload keeps them.
func TestReloadAppliesLogLevelAndFormat(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access-log.properties")
	props := reloadProps(filepath.Join(dir, "spool"), testbed.FreeUDPPort(t), "")
	replaceFile(t, path, props)
	cfg, err := config.LoadConfig(path, true)
	if err != nil {
		t.Fatal(err)
	}
	var out testbed.Buffer
	logs, err := logging.New(&out, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(cfg, newMemUploader(), logs.Logger())
	if err != nil {
		t.Fatal(err)
	}
	runWatching(t, a, path, nil)
	component := a.log.With("component", "probe") // as a component's logger, made before the reload

	component.Debug("probe before")
	if strings.Contains(out.String(), "probe before") {
		t.Fatal("a debug record written at the default level info")
	}
	replaceFile(t, path, props+"log.level = debug\nlog.format = json\n")
	waitFor(t, "the reload, logged in JSON", func() bool { return strings.Contains(out.String(), `"msg":"configuration reloaded"`) })
	start := len(out.String())
	component.Debug("probe after")
	var rec map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(out.String()[start:])), &rec); err != nil {
		t.Fatalf("after the reload: %v: %q", err, out.String()[start:])
	}
	if rec["level"] != "DEBUG" || rec["msg"] != "probe after" || rec["component"] != "probe" {
		t.Errorf("after the reload: %v", rec)
	}

	replaceFile(t, path, props+"log.level = loud\nlog.format = json\n")
	waitFor(t, "the rejection", func() bool { _, failed := a.ReloadStats(); return failed == 1 })
	if !strings.Contains(out.String(), `"msg":"configuration rejected; the running configuration stays"`) || logs.Level().String() != "DEBUG" {
		t.Errorf("a rejected reload changed the log settings (level %s):\n%s", logs.Level(), out.String())
	}
}
