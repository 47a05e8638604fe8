package config

import (
	"github.com/elb-access-logger/elb-access-logger/internal/testbed"

	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	return testbed.WriteFile(t, t.TempDir(), "access-log.properties", content)
}

func TestDefaults(t *testing.T) {
	c, err := LoadConfig(filepath.Join(t.TempDir(), "missing.properties"), false)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Enabled || c.EmitInterval != 60 || c.Format != "elb" || c.SpoolDir != "/var/spool/elb-access-logger" ||
		len(c.Listen) != 1 || c.Listen[0] != "udp://127.0.0.1:514" || c.FsyncInterval != time.Second || !c.PathStyle {
		t.Errorf("defaults: %+v", c)
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "missing.properties"), true); err == nil {
		t.Error("explicit missing file: want error")
	}
}

func TestLoadConfig(t *testing.T) {
	p := writeConfig(t, `# comment
access_log.schedule = */10 * * * * *
access_log.bucket = logs-{lb_name}-{account}-{instance_num}
syslog.listen = udp://127.0.0.1:1514, udp://127.0.0.1:1515
spool.dir = /tmp/x
objectstorage.endpoint = http://osg.example.com:8773/services/objectstorage
access_log.lb_name = my-lb
`)
	c, err := LoadConfig(p, true)
	if err != nil {
		t.Fatal(err)
	}
	if c.Schedule != "*/10 * * * * *" || c.Bucket != "logs-{lb_name}-{account}-{instance_num}" || len(c.Listen) != 2 ||
		c.StoreEndpoint != "http://osg.example.com:8773/services/objectstorage" || c.LBName != "my-lb" {
		t.Errorf("got %+v", c)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct{ content, want string }{
		{"access_log.emit_intervall = 5\n", "access_log.emit_intervall: unknown key"},
		{"access_log.emit_interval = 7\n", "access_log.emit_interval: must be 5 or 60"},
		{"access_log.schedule = every minute\n", "access_log.schedule: bad cron spec"},
		{"access_log.format = xml\n", "access_log.format: \"xml\" is not one of"},
		{"access_log.bucket = logs-{nope}\n", "unknown placeholder {nope}"},
		{"access_log.enabled = yes please\n", "access_log.enabled: \"yes please\" is not true or false"},
		{"syslog.listen = tcps://127.0.0.1:6514\n", "want udp://HOST:PORT, unix:///PATH or tcp://HOST:PORT"},
		{"syslog.unix_socket_mode = 0444\n", "let the owner write"},
		{"spool.fsync_interval = 0s\n", "spool.fsync_interval: \"0s\" is not a positive duration"},
	}
	for _, tt := range tests {
		p := writeConfig(t, tt.content)
		_, err := LoadConfig(p, true)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%q: got %v, want an error naming %s and containing %q", tt.content, err, p, tt.want)
		}
	}
}

func TestWindowSchedule(t *testing.T) {
	at := time.Date(2026, 11, 25, 6, 12, 36, 0, time.UTC)
	tests := []struct {
		cfg  Config
		want time.Time
	}{
		{Config{EmitInterval: 5}, time.Date(2026, 11, 25, 6, 15, 0, 0, time.UTC)},
		{Config{EmitInterval: 60}, time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC)},
		{Config{Schedule: "*/10 * * * * *"}, time.Date(2026, 11, 25, 6, 12, 40, 0, time.UTC)},
		{Config{Schedule: "*/20 * * * *"}, time.Date(2026, 11, 25, 6, 20, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		s, err := WindowSchedule(&tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		// The machine's zone must not matter.
		local := at.In(time.FixedZone("UTC+5:30", 5*3600+1800))
		if got := NextWindowEnd(s, local); !got.Equal(tt.want) {
			t.Errorf("%+v: next end got %v, want %v", tt.cfg, got, tt.want)
		}
	}
}

// TestBadConfigCorpus loads every file of testdata/config/bad; each names
// the exact errors it must produce in "# want:" lines, {file} standing for
// its path.
func TestBadConfigCorpus(t *testing.T) {
	files, err := filepath.Glob("../../testdata/config/bad/*.properties")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("corpus has %d files, want at least 20", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, line := range strings.Split(string(data), "\n") {
				if w, ok := strings.CutPrefix(line, "# want: "); ok {
					want = append(want, strings.ReplaceAll(w, "{file}", f))
				}
			}
			if len(want) == 0 {
				t.Fatal("no # want: line")
			}
			_, err = LoadConfig(f, true)
			if err == nil {
				t.Fatalf("got no error, want %q", want)
			}
			if got := err.Error(); got != strings.Join(want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", got, strings.Join(want, "\n"))
			}
		})
	}
}

// TestConfigurationDocMatchesKeys keeps docs/configuration.md's table of
// keys in step with the key table of the code.
func TestConfigurationDocMatchesKeys(t *testing.T) {
	data, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]string{} // key -> default
	for i, line := range strings.Split(string(data), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`")
		if !strings.Contains(name, ".") {
			continue // another table (servo.conf)
		}
		def := strings.TrimSpace(cells[2])
		if def == "empty" {
			def = ""
		}
		if _, dup := documented[name]; dup {
			t.Errorf("docs/configuration.md:%d: %s documented twice", i+1, name)
		}
		documented[name] = strings.Trim(def, "`")
	}
	for _, k := range Keys() {
		def, ok := documented[k.Name]
		shown := "`" + k.Default + "`"
		if k.Default == "" {
			shown = "empty"
		}
		switch {
		case !ok:
			t.Errorf("%s is not in docs/configuration.md; add the row | `%s` | %s | %s |", k.Name, k.Name, shown, k.Help)
		case def != k.Default:
			t.Errorf("%s: docs/configuration.md says default %q, code says %q", k.Name, def, k.Default)
		}
		delete(documented, k.Name)
	}
	for name := range documented {
		t.Errorf("docs/configuration.md documents %s, which the code does not know", name)
	}
}
