package agent

import (
	"fmt"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"net/http"
	"strings"
	"time"
)

// health reports whether the agent is healthy at now: a listener is bound
// and the upload rounds have not been failing for longer than two windows.
// why says what is wrong (or what is right).
func (a *Agent) health(now time.Time) (ok bool, why string) {
	if a.in == nil || a.in.Bound() == 0 {
		return false, "no syslog listener is bound"
	}
	listening := "listening on " + strings.Join(a.in.Names(), ", ")
	since := a.obs.failingSince.Load()
	if since == 0 {
		return true, "ok; " + listening
	}
	window := a.windowLength(now)
	failing := now.Sub(time.Unix(0, since))
	if failing > 2*window {
		return false, fmt.Sprintf("uploads failing for %s, longer than two windows (%s)", failing.Round(time.Second), 2*window)
	}
	return true, fmt.Sprintf("ok; %s; uploads failing for %s", listening, failing.Round(time.Second))
}

// windowLength is the length of the window after the one open at now.
func (a *Agent) windowLength(now time.Time) time.Duration {
	sched := a.live.Load().sched
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
