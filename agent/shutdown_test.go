package agent

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestScrapesDuringShutdown scrapes /metrics, /healthz and the status page
// (/status) in a loop while the agent shuts down (listeners drained and
// closed, the last window sealed and uploaded, the spool closed): under
// -race no read of a
// scrape may race with the teardown (issue 17: closeListeners wrote the
// listeners /healthz read), and scrapes answer until the server stops.
func TestScrapesDuringShutdown(t *testing.T) {
	for round := range 3 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			up := newMemUploader()
			var a *Agent
			conn, cancel, done := startAgent(t, testConfig(t), up, func(x *Agent) { a = x })
			base := "http://" + a.MetricsAddr().String()
			client := &http.Client{Timeout: 2 * time.Second}
			stop := make(chan struct{})
			var scrapes atomic.Int64
			var wg sync.WaitGroup
			for _, path := range []string{"/metrics", "/healthz", "/status", "/metrics"} {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						resp, err := client.Get(base + path)
						if err != nil {
							time.Sleep(time.Millisecond) // stopped serving
							continue
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable {
							t.Errorf("%s: status %d", path, resp.StatusCode)
						}
						scrapes.Add(1)
					}
				})
			}
			for i := range 50 {
				fmt.Fprintf(conn, "<158>Nov 25 06:12:36 haproxy[1]: %s seq=%d\n", httplogBody, i)
			}
			waitFor(t, "scrapes before the shutdown", func() bool { return scrapes.Load() > 10 })
			stopAgent(t, cancel, done)
			close(stop)
			wg.Wait()
			if n := len(up.lines()); n != 50 {
				t.Errorf("lines uploaded: got %d, want 50", n)
			}
		})
	}
}
