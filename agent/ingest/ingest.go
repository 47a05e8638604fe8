package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elb-access-logger/elb-access-logger/parser"
)

// Sink is where the pipeline writes lines: the spool's open window.
// AppendCounted appends one encoded line (newline included) and counts it
// in the window's accounting, as unparsed (kept verbatim) or truncated
// (cut short by HAProxy) when so. An error is the sink's to count and
// report; the line may still be kept (Options.Lost says when it was not).
// It is called from several goroutines at once.
type Sink interface {
	AppendCounted(line []byte, unparsed, truncated bool) error
}

// holdingSink is a Sink that can refuse a line without counting it lost
// (spool.Spool.TryAppendCounted: an error Options.Lost takes as lost means
// refused and not counted). A stream listener holds a refused line and
// reads nothing more from its connection until the sink takes it, so the
// sender keeps what follows (HAProxy: in its ring).
type holdingSink interface {
	TryAppendCounted(line []byte, unparsed, truncated bool) error
}

// How long a held line waits before it is offered again: from holdFirst,
// doubling to holdMax. The spool takes lines again once a Sync (every
// spool.fsync_interval) has written its buffer.
const (
	holdFirst = 10 * time.Millisecond
	holdMax   = 250 * time.Millisecond
)

// Options configure an Ingest. The zero value of each field is usable.
type Options struct {
	// MaxMessageBytes is the largest datagram taken whole (syslog.max_message_bytes);
	// ReceiveBufferBytes the socket buffer asked for (0: the system's).
	MaxMessageBytes, ReceiveBufferBytes int
	// Format is access_log.format, LBName the load balancer name ELB
	// lines carry, Enabled access_log.enabled: the initial values of the
	// setters.
	Format, LBName string
	Enabled        bool
	// Lost reports whether an error of the sink means the line was not
	// kept; such lines are not counted as spooled. nil: every line is kept.
	Lost func(error) bool
	// Result, when set, is told the outcome of every append (nil on
	// success), so the sink's owner can log its errors once per cause.
	Result func(error)
	// OnBehind, when set, is called from a listener's goroutines when
	// parsing and spooling fall behind what arrives. It must be quick.
	OnBehind func()
	// Hold, when set, runs before each datagram a listener handles:
	// tests pause the reader with it to make the kernel drop datagrams.
	Hold func()
	// MaxGather caps how long a reader lets datagrams gather in the
	// kernel's buffer when the rate is low; 0 is DefaultMaxGather. Lines
	// reach the sink that much later at most: keep it well under
	// spool.fsync_interval.
	MaxGather time.Duration
	// ProcNet is where the kernel lists its UDP sockets; "" is /proc/net.
	ProcNet string
	// UnixSocket says how unix:// socket files are made.
	UnixSocket UnixSocket
	// MaxConnections bounds the open connections of each tcp://
	// listener (syslog.max_connections; 0 is 64); IdleTimeout closes a
	// connection that sent nothing for that long (0 is 10 minutes).
	MaxConnections int
	IdleTimeout    time.Duration
	Log            *slog.Logger
}

// output is what the pipeline writes: published whole, read per datagram.
type output struct {
	enabled bool
	enc     parser.Encoder
}

// Ingest owns the syslog listeners and the one datagram -> line pipeline
// (parse, encode, append to the Sink) that the listeners, Ingest and
// replay share, with the counts of what went through it.
type Ingest struct {
	sink Sink
	opts Options
	log  *slog.Logger

	// out is the encoder and the enabled switch the hot path reads: one
	// atomic load per datagram.
	out atomic.Pointer[output]
	// set guards the setters' inputs and serialises publishing out.
	set struct {
		sync.Mutex
		format, lbName string
		enabled        bool
	}

	// mu guards addrs, listeners, stop and ctx: the bound listeners, each
	// with the syslog.listen entry it was bound for.
	mu        sync.Mutex
	addrs     []string
	listeners []listener
	stop      map[listener]context.CancelFunc // stops serving one listener
	ctx       context.Context                 // Serve's; nil before Serve
	wg        sync.WaitGroup                  // listeners being served

	// direct is Ingest's own pipeline; mu makes Ingest safe for
	// concurrent use.
	direct struct {
		sync.Mutex
		p pipeline
	}

	count counters
}

// New returns an Ingest writing into sink. It binds nothing until Bind.
func New(sink Sink, o Options) (*Ingest, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.ProcNet == "" {
		o.ProcNet = defaultProcNet
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = 65536
	}
	in := &Ingest{sink: sink, opts: o, log: o.Log, stop: map[listener]context.CancelFunc{}}
	in.count.listeners = map[string]*listenerCounters{}
	in.set.format, in.set.lbName, in.set.enabled = o.Format, o.LBName, o.Enabled
	if err := in.publish(); err != nil {
		return nil, err
	}
	return in, nil
}

// publish builds out from the setters' inputs. Call it with set held (or
// before in is shared).
func (in *Ingest) publish() error {
	enc, err := parser.NewEncoder(in.set.format, parser.EncoderOptions{LBName: in.set.lbName})
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	in.out.Store(&output{enabled: in.set.enabled, enc: enc})
	return nil
}

// SetFormat makes lines from now on be written in format
// (access_log.format). An unknown format is an error and changes nothing.
func (in *Ingest) SetFormat(format string) error {
	in.set.Lock()
	defer in.set.Unlock()
	old := in.set.format
	in.set.format = format
	if err := in.publish(); err != nil {
		in.set.format = old
		return err
	}
	return nil
}

// SetLBName sets the load balancer name ELB lines carry (the identity's).
func (in *Ingest) SetLBName(name string) {
	in.set.Lock()
	defer in.set.Unlock()
	in.set.lbName = name
	in.publish() // the format was accepted before
}

// SetEnabled switches writing lines on or off (access_log.enabled);
// datagrams are still received and counted while off.
func (in *Ingest) SetEnabled(enabled bool) {
	in.set.Lock()
	defer in.set.Unlock()
	in.set.enabled = enabled
	in.publish()
}

// Encoder returns the encoder lines are written with now.
func (in *Ingest) Encoder() parser.Encoder { return in.out.Load().enc }

// pipeline is the state of one datagram -> line path: a parser and a line
// buffer, used by one goroutine at a time.
type pipeline struct {
	p    *parser.Parser
	rec  parser.Record
	line []byte
}

// handle is the one datagram -> line path: parse, encode, append to the
// sink, count. The listeners, Ingest (and so replay and the fleet
// simulator) all come through here.
func (in *Ingest) handle(pl *pipeline, dgram []byte) error {
	if !in.encode(pl, dgram) {
		return nil
	}
	err := in.sink.AppendCounted(pl.line, pl.rec.Format == parser.FormatUnknown, pl.rec.Truncated)
	in.appended(pl, err)
	return err
}

// encode parses and encodes dgram into pl.line; false: nothing to write
// (writing is off, or the datagram is empty).
func (in *Ingest) encode(pl *pipeline, dgram []byte) bool {
	out := in.out.Load()
	if !out.enabled {
		return false
	}
	if pl.p == nil {
		pl.p = parser.NewParser()
	}
	if err := pl.p.Parse(dgram, &pl.rec); err != nil {
		return false // an empty datagram
	}
	pl.line = out.enc.Encode(pl.line[:0], &pl.rec)
	return true
}

// appended counts pl.line once the sink answered err, and reports err.
func (in *Ingest) appended(pl *pipeline, err error) {
	if err == nil || in.opts.Lost == nil || !in.opts.Lost(err) {
		in.count.spooled(&pl.rec, len(pl.line))
	}
	if in.opts.Result != nil {
		in.opts.Result(err)
	}
}

// handleHeld is handle for a stream listener, whose sender can wait:
// while the sink refuses the line (see holdingSink) it holds it and
// offers it again, so the caller reads nothing more meanwhile. When ctx
// is done it offers it once more through AppendCounted, which counts it
// dropped if still refused. A line is counted once, when the sink's
// answer is final.
func (in *Ingest) handleHeld(ctx context.Context, pl *pipeline, msg []byte, hold *time.Timer) error {
	hs, ok := in.sink.(holdingSink)
	if !ok || in.opts.Lost == nil {
		return in.handle(pl, msg)
	}
	if !in.encode(pl, msg) {
		return nil
	}
	unparsed, truncated := pl.rec.Format == parser.FormatUnknown, pl.rec.Truncated
	for wait := holdFirst; ; wait = min(2*wait, holdMax) {
		err := hs.TryAppendCounted(pl.line, unparsed, truncated)
		if err == nil || !in.opts.Lost(err) {
			in.appended(pl, err)
			return err
		}
		if wait == holdFirst {
			in.count.held.Add(1)
			if in.opts.Result != nil {
				in.opts.Result(err)
			}
		}
		hold.Reset(wait)
		select {
		case <-hold.C:
		case <-ctx.Done():
			hold.Stop()
			err = in.sink.AppendCounted(pl.line, unparsed, truncated)
			in.appended(pl, err)
			return err
		}
	}
}

// Ingest writes one syslog datagram exactly as a listener would: parsed,
// encoded in the configured format and appended to the sink, and counted.
// It lets a program run without sockets (syslog.listen empty): the fleet
// simulation (scripts/fleetsim) runs a thousand agents in one process this
// way, and replay feeds a captured log through it. It returns the sink's
// error. It is safe for concurrent use.
func (in *Ingest) Ingest(dgram []byte) error {
	in.direct.Lock()
	defer in.direct.Unlock()
	return in.handle(&in.direct.p, dgram)
}

// Bind binds a listener for each syslog.listen entry (udp://HOST:PORT,
// unix:///PATH, tcp://HOST:PORT; see ParseListen).
// If one cannot be bound, those bound are closed and nothing changes.
func (in *Ingest) Bind(addrs []string) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.listeners) > 0 {
		return errors.New("ingest: already bound")
	}
	var bound []listener
	for _, s := range addrs {
		l, err := in.listen(s)
		if err != nil {
			for _, b := range bound {
				b.close()
			}
			return err
		}
		bound = append(bound, l)
	}
	in.addrs, in.listeners = append([]string(nil), addrs...), bound
	return nil
}

// listen binds one syslog.listen entry.
func (in *Ingest) listen(s string) (listener, error) {
	scheme, addr, err := ParseListen(s)
	if err != nil {
		return nil, err
	}
	var l listener
	switch scheme {
	case SchemeUDP:
		var u *udpListener
		if u, err = listenUDP(addr, in.opts.MaxMessageBytes, in.opts.ReceiveBufferBytes, in.log); err == nil {
			u.maxGather, l = in.opts.MaxGather, u
		}
	case SchemeUnix:
		var u *unixgramListener
		if u, err = listenUnixgram(addr, in.opts.UnixSocket, in.opts.MaxMessageBytes, in.opts.ReceiveBufferBytes, in.log); err == nil {
			u.maxGather, l = in.opts.MaxGather, u
		}
	case SchemeTCP:
		l, err = listenTCP(addr, in.tcpOptions(), in.log)
	}
	if err != nil {
		return nil, err
	}
	in.log.Info("listening", "addr", l.name())
	return l, nil
}

// Serve serves the bound listeners, and those a later Rebind binds, until
// ctx is done. Each then drains what the kernel already queued and is
// closed; Wait waits for that.
func (in *Ingest) Serve(ctx context.Context) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.ctx = ctx
	for _, l := range in.listeners {
		in.serveLocked(l)
	}
}

// Wait waits until every listener stopped serving and drained its queue.
func (in *Ingest) Wait() { in.wg.Wait() }

// Close closes every listener's socket. Call it after Wait.
func (in *Ingest) Close() {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, l := range in.listeners {
		l.close()
	}
	in.listeners, in.addrs = nil, nil
}

// Rebind makes the listeners match addrs: sockets of addresses still
// wanted stay open (nothing queued there is lost), new ones are bound
// before any is closed, and if one cannot be bound nothing changes.
func (in *Ingest) Rebind(addrs []string) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	byAddr := map[string]listener{}
	for i, l := range in.listeners {
		byAddr[in.addrs[i]] = l
	}
	var kept, fresh []listener
	for _, s := range addrs {
		if l, ok := byAddr[s]; ok {
			kept = append(kept, l)
			delete(byAddr, s)
			continue
		}
		l, err := in.listen(s)
		if err != nil {
			for _, f := range fresh {
				f.close()
			}
			return fmt.Errorf("syslog.listen: %w", err)
		}
		fresh = append(fresh, l)
		kept = append(kept, l)
	}
	if in.ctx != nil {
		for _, l := range fresh {
			in.serveLocked(l)
		}
	}
	for s, l := range byAddr {
		in.log.Info("listener stopped", "addr", s)
		if stop, ok := in.stop[l]; ok {
			stop()
			delete(in.stop, l)
		} else {
			l.close()
		}
	}
	in.addrs, in.listeners = append([]string(nil), addrs...), kept
	return nil
}

// serveLocked serves l until Serve's context is done or a rebind stops
// it; either way l drains what the kernel already queued, then is closed.
// Call it with mu held.
func (in *Ingest) serveLocked(l listener) {
	ctx, cancel := context.WithCancel(in.ctx)
	in.stop[l] = cancel
	lc := in.count.listener(l.name())
	if u, ok := l.(interface{ setBehind(func()) }); ok {
		u.setBehind(in.opts.OnBehind)
	}
	hold := in.opts.Hold
	_, stream := l.(*tcpListener) // its senders can wait: see handleHeld
	in.wg.Add(1)
	go func() {
		defer in.wg.Done()
		defer cancel()
		l.serveMessages(ctx, func() func([]byte) {
			var pl pipeline
			var held *time.Timer
			if stream {
				held = time.NewTimer(time.Hour)
				held.Stop()
			}
			return func(msg []byte) {
				if hold != nil {
					hold()
				}
				lc.datagrams.Add(1)
				lc.bytes.Add(int64(len(msg)))
				if stream {
					in.handleHeld(ctx, &pl, msg, held)
					return
				}
				in.handle(&pl, msg)
			}
		})
		l.counts(lc, in.opts.ProcNet) // the final counts, open connections 0
		l.close()
		in.log.Info("listener drained and closed", "addr", l.name(), "messages_total", lc.datagrams.Load())
	}()
}

// Addrs returns the addresses the listeners are bound to.
func (in *Ingest) Addrs() []net.Addr {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []net.Addr
	for _, l := range in.listeners {
		out = append(out, l.Addr())
	}
	return out
}

// Bound returns how many listeners are bound.
func (in *Ingest) Bound() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.listeners)
}

// bound returns the listeners bound now.
func (in *Ingest) bound() []listener {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]listener(nil), in.listeners...)
}
