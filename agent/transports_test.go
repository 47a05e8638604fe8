package agent

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestMetricsAndHealthOfEveryTransport: an agent listening on UDP, a unix
// socket and TCP at once spools what each receives, and /metrics and
// /healthz show each listener.
func TestMetricsAndHealthOfEveryTransport(t *testing.T) {
	up := &metaUploader{memUploader: newMemUploader()}
	c := testConfig(t)
	sock := filepath.Join(t.TempDir(), "haproxy.sock")
	c.Listen = []string{"udp://127.0.0.1:0", "unix://" + sock, "tcp://127.0.0.1:0"}
	c.MaxConnections = 1
	var a *Agent
	udp, cancel, done := startAgent(t, c, up, func(x *Agent) { a = x })
	defer func() { cancel(); <-done }()
	tcpName := "tcp://" + a.Addrs()[2].String()
	msg := "<158>Nov 25 06:12:36 haproxy[1]: " + httplogBody
	fmt.Fprintf(udp, "%s\n", msg)
	ux, err := net.Dial("unixgram", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ux.Close()
	fmt.Fprintf(ux, "%s\n", msg)
	tc, err := net.Dial("tcp", a.Addrs()[2].String())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	fmt.Fprintf(tc, "%d %s%s\n", len(msg), msg, msg)
	refused, err := net.Dial("tcp", a.Addrs()[2].String()) // over syslog.max_connections
	if err == nil {
		defer refused.Close()
	}
	waitFor(t, "every line uploaded", func() bool { return len(up.lines()) >= 4 })
	var m map[string]float64
	waitFor(t, "the refused connection counted", func() bool {
		m = scrape(t, a.MetricsAddr())
		return m[`elb_access_logger_tcp_connections_refused_total{listener="`+tcpName+`"}`] == 1
	})
	for name, want := range map[string]float64{
		`elb_access_logger_datagrams_received_total{listener="udp://` + a.Addrs()[0].String() + `"}`: 1,
		`elb_access_logger_datagrams_received_total{listener="unix://` + sock + `"}`:                 1,
		`elb_access_logger_datagrams_received_total{listener="` + tcpName + `"}`:                     2,
		`elb_access_logger_tcp_connections_open{listener="` + tcpName + `"}`:                         1,
		`elb_access_logger_tcp_connections_accepted_total{listener="` + tcpName + `"}`:               1,
		`elb_access_logger_tcp_malformed_frames_total{listener="` + tcpName + `"}`:                   0,
		`elb_access_logger_lines_total{format="httplog"}`:                                            4,
	} {
		if got, ok := m[name]; !ok || got != want {
			t.Errorf("%s: got %v (present %v), want %v", name, got, ok, want)
		}
	}
	resp, err := http.Get("http://" + a.MetricsAddr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, l := range []string{"udp://", "unix://" + sock, tcpName} {
		if !strings.Contains(string(body), l) {
			t.Errorf("/healthz %q does not name %s", body, l)
		}
	}
}
