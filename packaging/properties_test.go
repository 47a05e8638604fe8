package packaging_test

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"os"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite access-log.properties from config.Keys()")

const propertiesFile = "access-log.properties"

// propertiesHeader opens the packaged property file; the key section
// below it is generated from config.Keys() by `go test ./packaging -update`.
const propertiesHeader = `# /etc/elb-access-logger/access-log.properties
#
# Configuration of elb-access-logger, the agent that uploads this load
# balancer's HAProxy access logs to its bucket. Java properties syntax:
# "key = value", "#" starts a comment. Unknown keys, bad values and missing
# required values are errors naming this file, the line and the key; check
# a change with
#
#     elb-access-logger --check-config --config /etc/elb-access-logger/access-log.properties
#
# The agent reloads this file when it changes (and on SIGHUP, systemctl
# reload or service elb-access-logger reload); a bad new file is rejected
# and the running configuration stays.
#
# Every key is listed below, commented out, with its default. Identity
# keys left empty come from the instance metadata. This file may hold
# credentials: it is mode 0640, owner root, group elb-access-logger.
`

// keyLine is a commented-out key with its default: "#key = default".
var keyLine = regexp.MustCompile(`^#([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+) = ?(.*)$`)

// renderProperties writes the packaged property file for keys.
func renderProperties(keys []config.KeyInfo) []byte {
	var b bytes.Buffer
	b.WriteString(propertiesHeader)
	section := ""
	for _, k := range keys {
		if s, _, _ := strings.Cut(k.Name, "."); s != section {
			section = s
			fmt.Fprintf(&b, "\n# ---- %s ----\n", section)
		}
		fmt.Fprintf(&b, "\n# %s\n", k.Help)
		if k.Default == "" {
			fmt.Fprintf(&b, "#%s =\n", k.Name)
		} else {
			fmt.Fprintf(&b, "#%s = %s\n", k.Name, k.Default)
		}
	}
	return b.Bytes()
}

// parseProperties returns the commented-out keys of a property file with
// their defaults and line numbers, and the keys set without a comment.
func parseProperties(data []byte) (commented map[string]string, lines map[string]int, active []string) {
	commented, lines = map[string]string{}, map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if m := keyLine.FindStringSubmatch(line); m != nil {
			commented[m[1]], lines[m[1]] = m[2], n
			continue
		}
		if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "!") {
			active = append(active, fmt.Sprintf("line %d: %s", n, line))
		}
	}
	return commented, lines, active
}

// TestPropertiesFileMatchesKeys keeps packaging/access-log.properties in
// step with the agent's key table: every key, with its default, commented
// out, and nothing else.
func TestPropertiesFileMatchesKeys(t *testing.T) {
	keys := config.Keys()
	if *update {
		if err := os.WriteFile(propertiesFile, renderProperties(keys), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(propertiesFile)
	if err != nil {
		t.Fatal(err)
	}
	commented, lines, active := parseProperties(data)
	const fix = "(regenerate it with: go test ./packaging -run TestPropertiesFileMatchesKeys -update)"
	for _, a := range active {
		t.Errorf("%s: %s: the packaged file must only hold commented-out defaults %s", propertiesFile, a, fix)
	}
	want := map[string]bool{}
	for _, k := range keys {
		want[k.Name] = true
		got, ok := commented[k.Name]
		switch {
		case !ok:
			t.Errorf("%s: key %s (default %q) is missing %s", propertiesFile, k.Name, k.Default, fix)
		case got != k.Default:
			t.Errorf("%s:%d: key %s: default got %q, want %q %s", propertiesFile, lines[k.Name], k.Name, got, k.Default, fix)
		}
	}
	for name, n := range lines {
		if !want[name] {
			t.Errorf("%s:%d: key %s is not in config.Keys() (extra or renamed) %s", propertiesFile, n, name, fix)
		}
	}
	if !t.Failed() && !bytes.Equal(data, renderProperties(keys)) {
		t.Errorf("%s: keys agree but the text differs from config.Keys() help or order %s", propertiesFile, fix)
	}
}

// TestParseProperties checks the checker: it must see missing, extra and
// changed keys and lines that are not comments.
func TestParseProperties(t *testing.T) {
	tests := []struct {
		name, in   string
		wantKeys   map[string]string
		wantActive int
	}{
		{"commented key with default", "# help = text\n#a.b = 1\n", map[string]string{"a.b": "1"}, 0},
		{"empty default", "#a.b =\n", map[string]string{"a.b": ""}, 0},
		{"prose is not a key", "# the a.b = thing\n", map[string]string{}, 0},
		{"active setting", "a.b = 2\n", map[string]string{}, 1},
		{"value with spaces", "#access_log.bucket = x {a} y\n", map[string]string{"access_log.bucket": "x {a} y"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, active := parseProperties([]byte(tt.in))
			if fmt.Sprint(got) != fmt.Sprint(tt.wantKeys) {
				t.Errorf("keys: got %v, want %v", got, tt.wantKeys)
			}
			if len(active) != tt.wantActive {
				t.Errorf("active lines: got %v, want %d", active, tt.wantActive)
			}
		})
	}
}
