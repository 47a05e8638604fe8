package packaging_test

import (
	"io"
	"log/slog"
	"os"
	"regexp"
	"sort"
	"testing"

	"github.com/elb-access-logger/elb-access-logger/agent"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/prometheus/client_golang/prometheus"
)

const rulesFile = "prometheus/elb-access-logger.rules.yml"

// TestAlertingRules checks the shipped rules with promtool (Debian's
// prometheus package): syntax and lint, then the unit tests of
// prometheus/elb-access-logger.rules_test.yml, which fire and clear
// every alert on recorded series.
func TestAlertingRules(t *testing.T) {
	promtool := requireTool(t, "promtool", "prometheus")
	run(t, "prometheus", promtool, "check", "rules", "--lint=all", "--lint-fatal", "elb-access-logger.rules.yml")
	run(t, "prometheus", promtool, "test", "rules", "elb-access-logger.rules_test.yml")
}

// TestAlertingRulesUseExistingMetrics: every elb_access_logger_ metric a
// rule names is one the agent exports, so a rename cannot silently turn
// an alert into one that never fires.
func TestAlertingRulesUseExistingMetrics(t *testing.T) {
	rules, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(config.DefaultConfig(), nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	descs := make(chan *prometheus.Desc)
	go func() {
		a.Registry().Describe(descs)
		close(descs)
	}()
	exported := map[string]bool{}
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range descs {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			exported[m[1]] = true
		}
	}
	var missing []string
	used := map[string]bool{}
	for _, name := range regexp.MustCompile(`elb_access_logger_[a-z0-9_]+`).FindAllString(string(rules), -1) {
		if !used[name] && !exported[name] {
			missing = append(missing, name)
		}
		used[name] = true
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%s names metrics the agent does not export: %v", rulesFile, missing)
	}
	if len(used) < 8 {
		t.Errorf("%s: found only %d metric names; is the pattern right?", rulesFile, len(used))
	}
}
