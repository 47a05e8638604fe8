package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/elb-access-logger/elb-access-logger/agent/control"
	"github.com/elb-access-logger/elb-access-logger/agent/ingest"
	"github.com/elb-access-logger/elb-access-logger/agent/ship"
	"github.com/elb-access-logger/elb-access-logger/agent/status"
	"github.com/elb-access-logger/elb-access-logger/parser"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricPrefix starts every metric name of the agent.
const metricPrefix = "elb_access_logger_"

// obsCounters are what the root keeps for metrics beyond the components'
// Stats: the upload latency histogram the Shipper observes into.
type obsCounters struct {
	uploadLatency prometheus.Histogram
	// events keeps, for the status page, the last upload, the last error
	// of each cause and the last configuration load.
	events status.Recorder
}

func newObsCounters() *obsCounters {
	return &obsCounters{uploadLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    metricPrefix + "upload_duration_seconds",
		Help:    "Time of one acknowledged PutObject of a sealed segment, retries included.",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	})}
}

// Registry returns a registry holding the agent's metrics (and the Go
// runtime's, the process's and elb_access_logger_build_info, whose labels
// are what --version prints); every Agent has its own.
func (a *Agent) Registry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		versioncollector.NewCollector(strings.TrimSuffix(metricPrefix, "_")),
		a.obs.uploadLatency, agentCollector{a: a})
	return r
}

// MetricsHandler serves /metrics (Prometheus text), /healthz, and the
// status page: / (HTML) and /status (JSON).
func (a *Agent) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(a.Registry(), promhttp.HandlerOpts{ErrorLog: nil}))
	mux.HandleFunc("/healthz", a.serveHealth)
	mux.Handle("GET /{$}", status.HTML(a.Status))
	mux.Handle("GET /status", status.JSON(a.Status))
	return mux
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(metricPrefix+name, help, labels, nil)
}

var (
	descDatagrams = desc("datagrams_received_total", "Syslog messages received (datagrams, or frames of a tcp:// listener), per listener.", "listener")
	descRecvBytes = desc("received_bytes_total", "Bytes of syslog messages received, per listener.", "listener")
	descOversize  = desc("datagrams_oversize_total", "Messages (datagrams or TCP frames) longer than syslog.max_message_bytes, kept cut to that length, per listener.", "listener")
	descMalformed = desc("tcp_malformed_frames_total", "TCP connections closed because a frame's octet count was malformed, per listener.", "listener")
	descConnsOpen = desc("tcp_connections_open", "TCP connections open, per listener.", "listener")
	descConnsAcc  = desc("tcp_connections_accepted_total", "TCP connections accepted, per listener.", "listener")
	descConnsRef  = desc("tcp_connections_refused_total", "TCP connections closed at once because syslog.max_connections were open, per listener.", "listener")
	descKernel    = desc("kernel_receive_drops_total", "Datagrams the kernel dropped on the listener's socket because its receive buffer was full (drops column of /proc/net/udp).", "listener")
	descLines     = desc("lines_total", "Lines written to the spool, per recognised HAProxy format; format=\"unknown\" counts unparsed lines kept verbatim.", "format")
	descTrunc     = desc("lines_truncated_total", "Lines HAProxy cut short before sending them (raise log ... len).")
	descDropped   = desc("lines_dropped_total", "Lines refused because the spool's memory buffer was full while the disk refused writes.")
	descHeld      = desc("lines_held_total", "Lines a tcp:// connection held because the spool's memory buffer was full, reading nothing more until the spool took them: back-pressure, not loss.")
	descSpooled   = desc("spooled_bytes_total", "Bytes of encoded lines written to the spool.")
	descSealed    = desc("windows_sealed_total", "Windows sealed into segments, pieces included.")
	descPieces    = desc("window_pieces_total", "Segments sealed as pieces of a window still open, which outgrew access_log.max_object_bytes or a quarter of spool.max_bytes.")
	descSteps     = desc("clock_steps_total", "Times the wall clock was found behind the windows already sealed (a step back): windows then end on the schedule after now and future-named segments are uploaded at once.")
	descEvicted   = desc("segments_evicted_total", "Sealed segments evicted by spool.max_bytes before upload.")
	descEvBytes   = desc("segments_evicted_bytes_total", "Bytes of sealed segments evicted by spool.max_bytes.")
	descEvLines   = desc("segments_evicted_lines_total", "Lines of sealed segments evicted by spool.max_bytes (from their counts).")
	descWriteErr  = desc("spool_write_errors_total", "Failed spool opens, writes, fsyncs and seals.")
	descUpOK      = desc("uploads_total", "Segments the store acknowledged.")
	descUpFail    = desc("upload_failures_total", "Segment uploads that failed after their retries, by cause.", "cause")
	descLastUp    = desc("last_upload_timestamp_seconds", "Unix time of the last acknowledged upload; 0 before the first.")
	descProv      = desc("provisionings_total", "Bucket provisionings that succeeded; none after a restart with unchanged bucket settings (provisioned.json).")
	descProvErr   = desc("provisioning_errors_total", "Bucket provisioning attempts (create, ACL, lifecycle, test file) that failed after their retries.")
	descReloadOK  = desc("config_reloads_total", "Configuration reloads applied.")
	descReloadErr = desc("config_reload_failures_total", "Configuration reloads rejected (bad file, listener not bound).")
	// Named as Prometheus names its own.
	descReloadLast = desc("config_last_reload_successful", "1 when the last configuration load (at start, or the last reload) succeeded, 0 when it was rejected.")
	descReloadWhen = desc("config_last_reload_success_timestamp_seconds", "Unix time of the last successful configuration load (at start, or a reload).")
	descUpBytes    = desc("upload_bytes_total", "Bytes of segments the store acknowledged.")
	descPendSegs   = desc("spool_segments", "Sealed segments waiting for upload.")
	descPendBytes  = desc("spool_bytes", "Bytes in the spool: sealed segments, the active window and its buffer.")
	descParked     = desc("segments_parked", "Sealed segments whose upload failed permanently, each waiting for its own backoff while newer segments go on.")
	descHAProxy    = desc("haproxy_dropped_logs_total", "Logs HAProxy could not send (DroppedLogs of its stats socket, read each window; resets when HAProxy restarts).")
	descHAErr      = desc("haproxy_stats_errors_total", "Failed reads of HAProxy's stats socket.")
	descUp         = desc("healthy", "1 while /healthz answers 200.")
	// For alerting rules (packaging/prometheus/): the bound, the window and
	// the identity the rules compare against.
	descMaxBytes  = desc("spool_max_bytes", "spool.max_bytes in force: past it the oldest sealed segments are evicted.")
	descWindowLen = desc("window_seconds", "Length of the next window, from access_log.emit_interval or access_log.schedule.")
	descWindowEnd = desc("window_end_timestamp_seconds", "Unix time the open window ends and is sealed.")
	descIdentity  = desc("identity_complete", "1 once the node's identity is complete and uploads may go, 0 while it is still unknown.")
	descELBPolls  = desc("elb_api_polls_total", "AccessLog attributes read from the ELB API (access_log.source = elb-api).")
	descELBErrs   = desc("elb_api_poll_errors_total", "ELB API polls that failed; the last known AccessLog attribute stayed in force.")
	descELBRej    = desc("elb_api_rejected_total", "AccessLog attributes refused as invalid (bad bucket, prefix with AWSLogs, interval outside 5..60).")
	descELBChg    = desc("elb_api_changes_total", "AccessLog attribute changes applied.")
)

// agentCollector reads the agent's counters at scrape time.
type agentCollector struct {
	a    *Agent
	ship func() ship.Stats    // nil: the agent's Shipper's
	ctl  func() control.Stats // nil: the agent's Controller's
}

func (c agentCollector) ctlStats() control.Stats {
	if c.ctl != nil {
		return c.ctl()
	}
	return c.a.ctl.Stats()
}

func (c agentCollector) shipStats() ship.Stats {
	if c.ship != nil {
		return c.ship()
	}
	return c.a.shipStats()
}

func (c agentCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDatagrams, descRecvBytes, descOversize, descKernel, descMalformed, descConnsOpen,
		descConnsAcc, descConnsRef, descLines,
		descTrunc, descDropped, descHeld, descSpooled, descSealed, descPieces, descSteps, descEvicted, descEvBytes, descEvLines, descWriteErr,
		descUpOK, descUpFail, descLastUp, descProv, descProvErr, descReloadOK, descReloadErr, descReloadLast, descReloadWhen, descUpBytes, descPendSegs,
		descPendBytes, descParked, descHAProxy, descHAErr, descUp, descELBPolls, descELBErrs, descELBRej, descELBChg,
		descMaxBytes, descWindowLen, descWindowEnd, descIdentity} {
		ch <- d
	}
}

func (c agentCollector) Collect(ch chan<- prometheus.Metric) {
	a := c.a
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	if a.in != nil {
		is := a.in.Stats()
		for _, l := range is.Listeners {
			counter(descDatagrams, l.Datagrams, l.Name)
			counter(descRecvBytes, l.Bytes, l.Name)
			counter(descOversize, l.Oversize, l.Name)
			if strings.HasPrefix(l.Name, ingest.SchemeTCP+"://") {
				counter(descMalformed, l.Malformed, l.Name)
				ch <- prometheus.MustNewConstMetric(descConnsOpen, prometheus.GaugeValue, float64(l.ConnsOpen), l.Name)
				counter(descConnsAcc, l.ConnsAccepted, l.Name)
				counter(descConnsRef, l.ConnsRefused, l.Name)
			}
			counter(descKernel, l.KernelDrops, l.Name)
		}
		for f, n := range is.Lines {
			// Every format from the start, at 0 until it is seen.
			if name := parser.Format(f).String(); name != "invalid" {
				counter(descLines, n, name)
			}
		}
		counter(descTrunc, is.Truncated)
		counter(descHeld, is.Held)
		counter(descSpooled, is.SpooledBytes)
		if is.HAProxy.Read {
			counter(descHAProxy, is.HAProxy.Dropped)
		}
		counter(descHAErr, is.HAProxy.Errors)
	}
	st := a.SpoolStats()
	counter(descDropped, st.DroppedLines)
	counter(descSealed, st.Sealed)
	counter(descPieces, st.Pieces)
	counter(descSteps, st.ClockSteps)
	counter(descEvicted, st.Evicted)
	counter(descEvBytes, st.EvictedBytes)
	counter(descEvLines, st.EvictedLines)
	counter(descWriteErr, st.WriteErrors)
	sh := c.shipStats()
	counter(descUpOK, sh.Uploads)
	for _, cause := range sh.Causes() {
		counter(descUpFail, sh.FailuresByCause[cause], cause)
	}
	counter(descUpBytes, sh.UploadBytes)
	var last float64
	if !sh.LastUpload.IsZero() {
		last = float64(sh.LastUpload.UnixNano()) / 1e9
	}
	gauge(descLastUp, last)
	counter(descProv, sh.Provisions)
	counter(descProvErr, sh.ProvisionErrors)
	cs := c.ctlStats()
	counter(descReloadOK, cs.ReloadsOK)
	counter(descReloadErr, cs.ReloadsFailed)
	rl := a.obs.events.Reload()
	gauge(descReloadLast, b2f(rl.Successful))
	gauge(descReloadWhen, float64(rl.LastSuccess.UnixNano())/1e9)
	if a.spool != nil {
		segs, bytes, _ := a.spool.Pending()
		gauge(descPendSegs, float64(segs))
		gauge(descPendBytes, float64(bytes))
		gauge(descParked, float64(sh.Parked))
		gauge(descWindowEnd, float64(a.spool.End().UnixNano())/1e9)
	}
	gauge(descMaxBytes, float64(a.Config().SpoolMaxBytes))
	gauge(descWindowLen, a.windowLength(time.Now()).Seconds())
	gauge(descIdentity, b2f(sh.IdentityReady))
	counter(descELBPolls, cs.ELBPolls)
	counter(descELBErrs, cs.ELBPollErrors)
	counter(descELBRej, cs.ELBRejected)
	counter(descELBChg, cs.ELBChanges)
	healthy, _ := a.health(time.Now())
	gauge(descUp, b2f(healthy))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// noteDrops adds the datagrams lost before they reached the agent since
// the last call (kernel receive drops, HAProxy's DroppedLogs) to the
// active window's accounting. The window loop calls it just before a seal.
func (a *Agent) noteDrops() {
	// Not Run's context: the seal at shutdown counts HAProxy's drops too
	// (the read has its own timeout).
	a.spool.NoteDrops(a.in.Losses(context.Background(), a.Config().HAProxyStatsSocket))
}

// metricsServer serves /metrics and /healthz on metrics.listen. Start sets
// it before Run; it is not changed after.
type metricsServer struct {
	srv *http.Server
	ln  net.Listener
}

// startMetrics binds metrics.listen and serves /metrics and /healthz on it.
func (a *Agent) startMetrics() error {
	addr := a.Config().MetricsListen
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics.listen: %w", err)
	}
	srv := &http.Server{Handler: a.MetricsHandler(), ReadHeaderTimeout: 10 * time.Second}
	a.http = metricsServer{srv: srv, ln: ln}
	a.log.Info("metrics listening", "addr", "http://"+ln.Addr().String()+"/metrics")
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("metrics server stopped", "err", err)
		}
	}()
	return nil
}

// MetricsAddr is the address /metrics is served on; nil when disabled.
func (a *Agent) MetricsAddr() net.Addr {
	if a.http.ln == nil {
		return nil
	}
	return a.http.ln.Addr()
}

// closeMetrics stops the metrics server.
func (a *Agent) closeMetrics() {
	if a.http.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		a.http.srv.Shutdown(ctx)
	}
}
