package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/agent/status"
	"github.com/elb-access-logger/elb-access-logger/uploader"
)

// getStatus reads GET /status of a running agent.
func getStatus(t *testing.T, a *Agent) status.Status {
	t.Helper()
	resp, err := http.Get("http://" + a.MetricsAddr().String() + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /status: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var st status.Status
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("GET /status: %v\n%s", err, body)
	}
	return st
}

// GET /status of a running agent says what it did: identity and where it
// came from, its listener with the messages received, the last upload
// (the object the store holds), the configuration load at start.
func TestStatusJSONOfRunningAgent(t *testing.T) {
	c := testConfig(t)
	up := newMemUploader()
	var a *Agent
	conn, cancel, done := startAgent(t, c, up, func(x *Agent) { a = x })
	defer func() { cancel(); <-done }()
	const n = 5
	for i := range n {
		sendLine(t, conn, fmt.Sprintf("status-%d", i))
	}
	waitFor(t, "the lines uploaded", func() bool { return len(up.lines()) >= n })
	waitFor(t, "the upload on the status page", func() bool { return getStatus(t, a).LastUpload != nil })
	st := getStatus(t, a)

	if id := st.Identity; !id.Complete || id.LoadBalancer.Value != "lb1" || id.LoadBalancer.Origin == "" ||
		id.Account.Value != "lbowner" || id.Bucket.Value != "logs-lb1" || !strings.Contains(id.Bucket.Origin, "logs-{lb_name}") {
		t.Errorf("identity: %+v", id)
	}
	if id := st.Identity; id.Node.Value != "" || !strings.Contains(id.Node.Origin, "unknown") {
		t.Errorf("node without property or metadata: %+v, want unknown", id.Node)
	}
	if len(st.Listeners) != 1 || st.Listeners[0].Name != a.Listeners()[0] || st.Listeners[0].Messages != n || st.Listeners[0].Bytes == 0 {
		t.Errorf("listeners: %+v, want %s with %d messages", st.Listeners, a.Listeners()[0], n)
	}
	u := st.LastUpload
	up.mu.Lock()
	_, stored := up.objects[u.Bucket+"/"+u.Object]
	up.mu.Unlock()
	if !stored || u.Bucket != "logs-lb1" || u.Bytes == 0 || u.Time.IsZero() {
		t.Errorf("last upload %+v: not an object the store holds", u)
	}
	if !st.Healthy || st.Reload.Time.IsZero() || !st.Reload.Successful || st.Reload.LastSuccess.IsZero() || st.Reload.Applied != 0 {
		t.Errorf("healthy %v %q, reload %+v", st.Healthy, st.Health, st.Reload)
	}
	if st.Spool.Dir != c.SpoolDir || st.Spool.MaxBytes != c.SpoolMaxBytes || !st.Window.End.After(st.Window.Since) {
		t.Errorf("spool %+v window %+v", st.Spool, st.Window)
	}
	if len(st.Errors) != 0 || st.Sealed.Segments != 0 || st.Parked != 0 {
		t.Errorf("errors %+v, sealed %+v, parked %d: want none", st.Errors, st.Sealed, st.Parked)
	}
	// Empty windows are not sealed; the open one still starts a window's
	// length (one second) before its end, not at the last seal.
	waitFor(t, "two empty windows", func() bool { return getStatus(t, a).Window.End.After(u.Time.Add(2500 * time.Millisecond)) })
	if w := getStatus(t, a).Window; w.End.Sub(w.Since) > time.Second || !w.End.After(w.Since) {
		t.Errorf("window %+v: want it to begin one second before its end", w)
	}
}

// While the store refuses, /status shows the sealed segments waiting, the
// oldest one's age and the last error of the cause, with no credential in
// it even when the error quotes one; the HTML page escapes it.
func TestStatusShowsFailuresWithoutSecrets(t *testing.T) {
	c := testConfig(t)
	c.SecretAccessKey = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"
	up := newMemUploader()
	up.setFail(&uploader.Error{Op: "put object", Kind: uploader.ErrAccessDenied,
		Err: errors.New("403 AccessDenied <b>signed with " + c.SecretAccessKey + "</b>")})
	var a *Agent
	conn, cancel, done := startAgent(t, c, up, func(x *Agent) { a = x })
	defer func() { cancel(); <-done }()
	sendLine(t, conn, "refused")
	waitFor(t, "a sealed segment and an error on /status", func() bool {
		st := getStatus(t, a)
		return st.Sealed.Segments > 0 && len(st.Errors) > 0
	})
	st := getStatus(t, a)
	e := st.Errors[0]
	if e.Cause != "provisioning" && !strings.HasPrefix(e.Cause, "upload/") || e.Count == 0 || e.Time.IsZero() ||
		!strings.Contains(e.Message, "AccessDenied") {
		t.Errorf("last error: %+v", e)
	}
	if st.Sealed.Bytes == 0 || st.Sealed.Oldest.IsZero() || st.Sealed.OldestAgeSeconds < 0 {
		t.Errorf("sealed: %+v", st.Sealed)
	}
	for _, path := range []string{"/status", "/"} {
		resp, err := http.Get("http://" + a.MetricsAddr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), c.SecretAccessKey) {
			t.Errorf("GET %s shows the secret access key", path)
		}
		if path == "/" && (strings.Contains(string(body), "<b>signed") || !strings.Contains(string(body), "&lt;b&gt;signed")) {
			t.Errorf("GET / does not escape the error message")
		}
	}
}
