package agent

import (
	"fmt"
	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
	"sync/atomic"
	"testing"
)

func TestAgentExportsHAProxyDroppedLogs(t *testing.T) {
	var dropped atomic.Int64
	dropped.Store(100) // before the agent started: not this agent's windows
	c := testConfig(t)
	c.HAProxyStatsSocket = testbed.FakeHAProxy(t, func() string { return fmt.Sprintf("Name: HAProxy\nDroppedLogs: %d\n", dropped.Load()) })
	up := &metaUploader{memUploader: newMemUploader()}
	var a *Agent
	conn, cancel, done := startAgent(t, c, up, func(x *Agent) { a = x })
	defer func() { cancel(); <-done }()
	waitFor(t, "DroppedLogs read", func() bool { return scrape(t, a.MetricsAddr())["elb_access_logger_haproxy_dropped_logs_total"] == 100 })
	dropped.Store(107)
	fmt.Fprintf(conn, "<158>Nov 25 06:12:36 haproxy[1]: %s\n", httplogBody)
	waitFor(t, "the window's object carries HAProxy's 7 drops", func() bool {
		up.mu.Lock()
		defer up.mu.Unlock()
		for _, md := range up.meta {
			if md["haproxy-dropped"] == "7" && md["lines"] == "1" {
				return true
			}
		}
		return false
	})
	if got := scrape(t, a.MetricsAddr())["elb_access_logger_haproxy_dropped_logs_total"]; got != 107 {
		t.Errorf("haproxy_dropped_logs_total: got %v, want 107", got)
	}
}
