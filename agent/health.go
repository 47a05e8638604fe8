package agent

import (
	"fmt"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"net/http"
	"strings"
	"time"
)

// health reports whether the agent is healthy at now: a listener is bound,
// the upload rounds have not been failing for longer than two windows, and
// while lines arrive a window was sealed or uploaded within two windows.
// why says what is wrong (or what is right).
func (a *Agent) health(now time.Time) (ok bool, why string) {
	if a.in == nil || a.in.Bound() == 0 {
		return false, "no syslog listener is bound"
	}
	listening := "listening on " + strings.Join(a.in.Names(), ", ")
	window := a.windowLength(now)
	if stalled, ok := a.stalled(now); ok && stalled > 2*window {
		return false, fmt.Sprintf("lines arrive but no window was sealed or uploaded for %s, longer than two windows (%s)", stalled.Round(time.Second), 2*window)
	}
	since := a.shipStats().FailingSince
	if since.IsZero() {
		return true, "ok; " + listening
	}
	failing := now.Sub(since)
	if failing > 2*window {
		return false, fmt.Sprintf("uploads failing for %s, longer than two windows (%s)", failing.Round(time.Second), 2*window)
	}
	return true, fmt.Sprintf("ok; %s; uploads failing for %s", listening, failing.Round(time.Second))
}

// stalled reports, while lines are arriving (the open window holds some),
// how long ago a window was last sealed or uploaded (or the agent
// started, if neither happened yet).
func (a *Agent) stalled(now time.Time) (time.Duration, bool) {
	if a.spool == nil {
		return 0, false
	}
	lastSeal, open := a.spool.Activity()
	if open == 0 {
		return 0, false // idle: nothing to seal
	}
	last := a.started
	if lastSeal.After(last) {
		last = lastSeal
	}
	if up := a.shipStats().LastUpload; up.After(last) {
		last = up
	}
	return now.Sub(last), true
}

// windowLength is the length of the window after the one open at now.
func (a *Agent) windowLength(now time.Time) time.Duration {
	sched := a.ctl.Live().Sched
	end := config.NextWindowEnd(sched, now)
	return config.NextWindowEnd(sched, end).Sub(end)
}

// serveHealth answers /healthz: 200 while healthy, else 503, with the
// reason as text.
func (a *Agent) serveHealth(w http.ResponseWriter, r *http.Request) {
	ok, why := a.health(time.Now())
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	fmt.Fprintln(w, why)
}
