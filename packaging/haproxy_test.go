package packaging_test

import (
	"os"
	"os/exec"
	"path/filepath"
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
