package status

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func sample() Status {
	t0 := time.Date(2026, 12, 5, 4, 0, 0, 0, time.UTC)
	return Status{
		Time: t0, Version: "1.2.3", Started: t0.Add(-time.Hour), Healthy: true, Health: "ok; listening on udp://127.0.0.1:514",
		Identity:  Identity{Complete: true, LoadBalancer: Value{"lb1", "file /etc/a.properties:3"}, Bucket: Value{"logs-lb1", "template"}},
		Listeners: []Listener{{Name: "udp://127.0.0.1:514", Messages: 42, Bytes: 4096}},
		Window:    Window{Since: t0.Add(-time.Minute), End: t0.Add(time.Minute), Bytes: 100, Lines: 7},
		Sealed:    Sealed{Segments: 2, Bytes: 2048, Oldest: t0.Add(-2 * time.Hour), OldestAgeSeconds: 7200},
		Spool:     Spool{Dir: "/var/spool/elb-access-logger", Bytes: 512 << 20, MaxBytes: 1 << 30},
		Errors:    []Error{{Cause: "upload/access_denied", Time: t0, Message: `denied <script>alert("x")</script> key=SECRET`, Count: 3}},
		Reload:    Reload{Time: t0, Successful: false, Error: "line 3: bad <b>value</b>", LastSuccess: t0.Add(-time.Hour)},
	}
}

// The page escapes every value (an error message is text from the network)
// and shows the state.
func TestHTMLEscapesAndShowsState(t *testing.T) {
	s := sample()
	s.Redact("SECRET", "")
	rec := httptest.NewRecorder()
	HTML(func() Status { return s }).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	body := rec.Body.String()
	if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	for _, bad := range []string{"<script>", "<b>value", "SECRET", "http://", "https://"} {
		if strings.Contains(body, bad) {
			t.Errorf("page contains %q:\n%s", bad, body)
		}
	}
	for _, want := range []string{"&lt;script&gt;", "lb1", "file /etc/a.properties:3", "udp://127.0.0.1:514", ">42<",
		"2h0m0s ago", "512.0 MiB of 1.0 GiB (50.0 %)", "upload/access_denied", "(3 since start)", "rejected", "&lt;redacted&gt;"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestJSONRoundTrips(t *testing.T) {
	s := sample()
	rec := httptest.NewRecorder()
	JSON(func() Status { return s }).ServeHTTP(rec, httptest.NewRequest("GET", "/status", nil))
	var got Status
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Identity.LoadBalancer != s.Identity.LoadBalancer || got.Sealed != s.Sealed || got.Listeners[0] != s.Listeners[0] || got.Reload != s.Reload {
		t.Errorf("got %+v, want %+v", got, s)
	}
}

func TestRecorder(t *testing.T) {
	var r Recorder
	t0 := time.Date(2026, 12, 5, 4, 0, 0, 0, time.UTC)
	r.Loaded(t0, nil)
	if got := r.Reload(); !got.Successful || !got.LastSuccess.Equal(t0) {
		t.Errorf("after start: %+v", got)
	}
	r.Loaded(t0.Add(time.Minute), errors.New("bad file"))
	if got := r.Reload(); got.Successful || got.Error != "bad file" || !got.LastSuccess.Equal(t0) || !got.Time.Equal(t0.Add(time.Minute)) {
		t.Errorf("after a rejected reload: %+v", got)
	}
	r.Failed("spool", t0, errors.New("first"))
	r.Failed("upload/timeout", t0.Add(time.Second), errors.New(strings.Repeat("x", 1000)))
	r.Failed("spool", t0.Add(2*time.Second), errors.New("second"))
	up, errs := r.Last()
	if up != nil {
		t.Errorf("upload before any: %+v", up)
	}
	if len(errs) != 2 || errs[0].Cause != "spool" || errs[0].Message != "second" || errs[0].Count != 2 ||
		errs[1].Cause != "upload/timeout" || len(errs[1].Message) > maxMessage+3 {
		t.Errorf("errors: %+v", errs)
	}
}
