// Package status shows the agent's state on the metrics listener: GET /
// as a small HTML page for a person (in the style of node_exporter's
// landing page; server-rendered with html/template, no scripts, no
// external assets) and GET /status as the same data in JSON for tools.
//
// The root package builds a Status from the Stats of each component at
// request time; this package owns only the Recorder, which keeps what no
// component's counters hold: the last upload, the last error of each
// cause and the last configuration reload.
package status

import (
	"strings"
	"time"
)

// Status is one snapshot of the agent's state. Times are UTC; a zero time
// means "never".
type Status struct {
	Time      time.Time  `json:"time"`
	Version   string     `json:"version"`
	Started   time.Time  `json:"started"`
	Healthy   bool       `json:"healthy"`
	Health    string     `json:"health"` // what /healthz says
	Identity  Identity   `json:"identity"`
	Listeners []Listener `json:"listeners"`
	Window    Window     `json:"window"`
	Sealed    Sealed     `json:"sealed"`
	Parked    int        `json:"parked_segments"`
	Spool     Spool      `json:"spool"`
	// LastUpload is the last acknowledged upload; nil before the first.
	LastUpload *Upload `json:"last_upload"`
	// Errors holds the last error of each cause, newest first.
	Errors []Error `json:"errors"`
	Reload Reload  `json:"reload"`
}

// Value is a setting and where it came from: "default", "file PATH:LINE",
// "servo.conf PATH:LINE" or "metadata".
type Value struct {
	Value  string `json:"value"`
	Origin string `json:"origin"`
}

// Identity is the node's identity as uploads use it.
type Identity struct {
	// Complete: every value the bucket and keys need is known; until then
	// sealed segments wait.
	Complete     bool  `json:"complete"`
	LoadBalancer Value `json:"load_balancer"`
	Node         Value `json:"node"` // the node's public IPv4
	InstanceID   Value `json:"instance_id"`
	Account      Value `json:"account"`
	Region       Value `json:"region"`
	Bucket       Value `json:"bucket"` // the template expanded, once complete
}

// Listener is one bound syslog listener and its counts.
type Listener struct {
	Name        string `json:"name"` // udp://HOST:PORT, unix:///PATH, tcp://HOST:PORT
	Messages    int64  `json:"messages"`
	Bytes       int64  `json:"bytes"`
	Oversize    int64  `json:"oversize"`
	KernelDrops int64  `json:"kernel_drops"`
	// tcp:// only: connections open now.
	Connections int64 `json:"connections_open"`
}

// Window is the open window.
type Window struct {
	// Since is when the window began: its scheduled start, or the agent's
	// start or an early seal when later. It holds what arrived since.
	Since time.Time `json:"since"`
	End   time.Time `json:"end"`
	Bytes int64     `json:"bytes"`
	Lines int64     `json:"lines"`
}

// Sealed are the sealed segments waiting for upload.
type Sealed struct {
	Segments int       `json:"segments"`
	Bytes    int64     `json:"bytes"`
	Oldest   time.Time `json:"oldest_window_end"` // zero when none
	// OldestAgeSeconds is how long ago the oldest one's window ended.
	OldestAgeSeconds float64 `json:"oldest_age_seconds"`
}

// Spool is the spool directory against its bound.
type Spool struct {
	Dir      string `json:"dir"`
	Bytes    int64  `json:"bytes"`
	MaxBytes int64  `json:"max_bytes"`
}

// Percent is Bytes as a percentage of MaxBytes (0 without a bound).
func (s Spool) Percent() float64 {
	if s.MaxBytes <= 0 {
		return 0
	}
	return 100 * float64(s.Bytes) / float64(s.MaxBytes)
}

// Upload is one acknowledged upload.
type Upload struct {
	Time   time.Time `json:"time"`
	Bucket string    `json:"bucket"`
	Object string    `json:"object"`
	Bytes  int64     `json:"bytes"`
}

// Error is the last error of one cause.
type Error struct {
	Cause   string    `json:"cause"` // upload/access_denied, spool, provisioning, config_reload, ...
	Time    time.Time `json:"time"`
	Message string    `json:"message"`
	Count   int64     `json:"count"` // errors of this cause since start
}

// Reload is the outcome of the last configuration load: the one at start,
// or the last reload since.
type Reload struct {
	Time       time.Time `json:"time"`
	Successful bool      `json:"successful"`
	Error      string    `json:"error,omitempty"`
	// LastSuccess is when a configuration was last loaded successfully.
	LastSuccess time.Time `json:"last_success"`
	Applied     int64     `json:"applied"`  // reloads applied since start
	Rejected    int64     `json:"rejected"` // reloads rejected since start
}

// Redact replaces every non-empty secret in the messages of s (errors,
// the reload error) with "<redacted>": a status page must never show a
// credential, even one an error message quoted.
func (s *Status) Redact(secrets ...string) {
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		for i := range s.Errors {
			s.Errors[i].Message = strings.ReplaceAll(s.Errors[i].Message, secret, "<redacted>")
		}
		s.Reload.Error = strings.ReplaceAll(s.Reload.Error, secret, "<redacted>")
	}
}
