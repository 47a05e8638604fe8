package packaging_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHAProxySnippets: HAProxy accepts every configuration the RPM ships
// under /usr/share/elb-access-logger/ (the .cfg files of packaging/haproxy/).
func TestHAProxySnippets(t *testing.T) {
	cfgs, err := filepath.Glob(filepath.Join("haproxy", "*.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfgs) == 0 {
		t.Log("packaging/haproxy/ has no .cfg files yet: nothing to check")
		return
	}
	haproxy := os.Getenv("TESTBED_HAPROXY")
	if haproxy == "" {
		haproxy = requireTool(t, "haproxy", "haproxy")
	}
	for _, cfg := range cfgs {
		t.Run(filepath.Base(cfg), func(t *testing.T) {
			out, err := exec.Command(haproxy, "-c", "-f", cfg).CombinedOutput()
			if err != nil {
				t.Errorf("haproxy -c -f %s: %v\n%s", cfg, err, out)
			}
		})
	}
}

// TestHAProxySnippetTransports: each transport the snippet shows in
// comments, put in place of the UDP "log" line, is valid HAProxy.
func TestHAProxySnippetTransports(t *testing.T) {
	haproxy := os.Getenv("TESTBED_HAPROXY")
	if haproxy == "" {
		haproxy = requireTool(t, "haproxy", "haproxy")
	}
	data, err := os.ReadFile(filepath.Join("haproxy", "elb-access-logger.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	snippet := string(data)
	const udp = "    log 127.0.0.1:514 len 65535 local3 info\n"
	ring := snippet[strings.Index(snippet, "#ring elb-access-logger"):]
	uncommented := strings.ReplaceAll(ring, "\n#", "\n")[1:]
	for name, log := range map[string]string{
		"unix": "    log /run/elb-access-logger/haproxy.sock len 65535 local3 info\n",
		"ring": "    log ring@elb-access-logger len 65535 local3 info\n",
	} {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(snippet, "#  "+strings.TrimSpace(log)+"\n") && !strings.Contains(snippet, "#      "+strings.TrimSpace(log)+"\n") {
				t.Fatalf("the snippet does not show %q", strings.TrimSpace(log))
			}
			cfg := strings.Replace(snippet, udp, log, 1)
			if name == "ring" {
				cfg = strings.Replace(cfg, ring, uncommented, 1)
			}
			path := filepath.Join(t.TempDir(), name+".cfg")
			if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(haproxy, "-c", "-f", path).CombinedOutput(); err != nil {
				t.Errorf("haproxy -c: %v\n%s\n%s", err, out, cfg)
			}
		})
	}
}
