package ingest

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/elb-access-logger/elb-access-logger/parser"
)

// MaxFormats bounds the parser.Format values counted per format.
const MaxFormats = 16

// counters are what the pipeline counts: atomics on the hot path (no
// allocation, no lock), and the losses before the agent.
type counters struct {
	// mu guards listeners (the map; each entry has its own atomics).
	mu        sync.Mutex
	listeners map[string]*listenerCounters // by listener URL, every one ever served

	lines        [MaxFormats]atomic.Int64 // spooled lines per parser.Format
	truncated    atomic.Int64
	bytesSpooled atomic.Int64
	held         atomic.Int64 // lines a stream listener held while the sink refused them

	// loss guards the state of the "since the last window" counts.
	loss struct {
		sync.Mutex
		kernelBase int64 // kernel drops counted into windows so far
	}
	haproxyDropped atomic.Int64 // DroppedLogs as HAProxy last reported it
	haproxyRead    atomic.Bool  // DroppedLogs was read at least once
	haproxyErrors  atomic.Int64
}

// listenerCounters count what one listener address received.
type listenerCounters struct {
	datagrams, bytes atomic.Int64
	// oversize mirrors the socket's count of datagrams longer than
	// syslog.max_message_bytes, cut to it (and kept), read at Stats time.
	oversize           atomic.Int64
	received, kdropped atomic.Uint64 // the socket's own counts, read at Stats time
	// A tcp:// listener's counts, read at Stats time: connections closed
	// for a malformed frame, open now, accepted and refused (over
	// syslog.max_connections).
	malformed, connsOpen, connsAccepted, connsRefused atomic.Int64
	// mu guards drops.
	mu    sync.Mutex
	drops kernelDrops
}

// listener returns the counters of the listener at url.
func (c *counters) listener(url string) *listenerCounters {
	c.mu.Lock()
	defer c.mu.Unlock()
	lc, ok := c.listeners[url]
	if !ok {
		lc = &listenerCounters{}
		c.listeners[url] = lc
	}
	return lc
}

// spooled counts one line of n bytes written to the sink. It runs for
// every line: atomics only, no allocation.
func (c *counters) spooled(rec *parser.Record, n int) {
	c.lines[int(rec.Format)%MaxFormats].Add(1)
	c.bytesSpooled.Add(int64(n))
	if rec.Truncated {
		c.truncated.Add(1)
	}
}

// ListenerStats are the counts of one listener address.
type ListenerStats struct {
	Name             string // udp://HOST:PORT, unix:///PATH or tcp://HOST:PORT as bound
	Datagrams, Bytes int64  // messages received and handed to the pipeline
	Oversize         int64  // longer than syslog.max_message_bytes, kept cut
	// tcp:// only: connections closed for a malformed frame; open now,
	// accepted and refused (syslog.max_connections open).
	Malformed, ConnsOpen, ConnsAccepted, ConnsRefused int64
	KernelDrops                                       int64 // dropped by the kernel (/proc/net/udp), over every socket of the address
	// Received and Dropped are the bound socket's own counts (datagrams
	// read; the kernel's drops as the last datagram read reported them).
	Received, Dropped uint64
}

// Stats are the counts of what went through the pipeline.
type Stats struct {
	Listeners    []ListenerStats   // sorted by name
	Lines        [MaxFormats]int64 // lines written, per parser.Format
	Truncated    int64             // lines HAProxy cut short
	SpooledBytes int64             // bytes of encoded lines written
	// Held counts the lines the sink refused (a full spool buffer) that a
	// tcp:// connection held, reading nothing more until the sink took
	// them: back-pressure, not loss.
	Held    int64
	HAProxy struct {
		Dropped int64 // DroppedLogs as last read
		Read    bool  // DroppedLogs was read at least once
		Errors  int64 // failed reads of the stats socket
	}
}

// Stats returns the counts, reading the kernel's drop counts first.
func (in *Ingest) Stats() Stats {
	in.pollKernelDrops()
	var st Stats
	in.count.mu.Lock()
	for name, lc := range in.count.listeners {
		lc.mu.Lock()
		kd := int64(lc.drops.total)
		lc.mu.Unlock()
		st.Listeners = append(st.Listeners, ListenerStats{Name: name, Datagrams: lc.datagrams.Load(), Bytes: lc.bytes.Load(),
			Oversize: lc.oversize.Load(), KernelDrops: kd, Received: lc.received.Load(), Dropped: lc.kdropped.Load(),
			Malformed: lc.malformed.Load(), ConnsOpen: lc.connsOpen.Load(), ConnsAccepted: lc.connsAccepted.Load(), ConnsRefused: lc.connsRefused.Load()})
	}
	in.count.mu.Unlock()
	sort.Slice(st.Listeners, func(i, j int) bool { return st.Listeners[i].Name < st.Listeners[j].Name })
	for f := range MaxFormats {
		st.Lines[f] = in.count.lines[f].Load()
	}
	st.Truncated = in.count.truncated.Load()
	st.SpooledBytes = in.count.bytesSpooled.Load()
	st.Held = in.count.held.Load()
	st.HAProxy.Dropped = in.count.haproxyDropped.Load()
	st.HAProxy.Read = in.count.haproxyRead.Load()
	st.HAProxy.Errors = in.count.haproxyErrors.Load()
	return st
}

// pollKernelDrops reads the kernel's drop counts of the bound sockets and
// returns the total over every listener ever served.
func (in *Ingest) pollKernelDrops() int64 {
	for _, l := range in.bound() {
		lc := in.count.listener(l.name())
		if err := l.counts(lc, in.opts.ProcNet); err != nil {
			in.log.Debug("kernel drops not readable", "listener", l.name(), "err", err)
		}
	}
	var total int64
	in.count.mu.Lock()
	for _, lc := range in.count.listeners {
		lc.mu.Lock()
		total += int64(lc.drops.total)
		lc.mu.Unlock()
	}
	in.count.mu.Unlock()
	return total
}

// Losses returns the datagrams lost before they reached the agent since
// the last call: the kernel's receive drops of the listeners and, when
// haproxySocket (metrics.haproxy_stats_socket) is set, HAProxy's
// DroppedLogs. A window's accounting takes them just before its seal.
func (in *Ingest) Losses(ctx context.Context, haproxySocket string) (kernel, haproxy int64) {
	in.count.loss.Lock()
	defer in.count.loss.Unlock()
	total := in.pollKernelDrops()
	kernel = total - in.count.loss.kernelBase
	in.count.loss.kernelBase = total
	return kernel, in.pollHAProxy(ctx, haproxySocket)
}
