package agent

import (
	"strings"
	"testing"
	"time"
)

// /healthz turns unhealthy when lines arrive but no window was sealed or
// uploaded for two window lengths (issue 16, item 1: a stalled clock or
// seal must not look healthy); an idle agent stays healthy.
func TestHealthStalledWhileLinesArrive(t *testing.T) {
	c := testConfig(t)
	c.Schedule = "0 0 * * * *" // hourly: no window ends during the test
	var a *Agent
	conn, cancel, done := startAgent(t, c, newMemUploader(), func(x *Agent) { a = x })
	defer func() { cancel(); <-done }()
	later := time.Now().Add(3 * time.Hour)
	if ok, why := a.health(later); !ok {
		t.Fatalf("idle for three windows: got unhealthy (%s), want healthy", why)
	}
	sendLine(t, conn, "arrives")
	waitFor(t, "the line in the open window", func() bool { _, open := a.spool.Activity(); return open > 0 })
	if ok, why := a.health(time.Now()); !ok {
		t.Fatalf("lines arriving within the window: got unhealthy (%s)", why)
	}
	if ok, why := a.health(later); ok || !strings.Contains(why, "no window was sealed or uploaded") {
		t.Errorf("lines arriving, nothing sealed for three windows: got %v %q, want unhealthy saying why", ok, why)
	}
}
