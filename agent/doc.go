// Package agent wires the access-log agent's components and reports on
// them. The components live under agent/, each owning its state; none
// imports this package or agent/control:
//
//   - agent/config: Config, the key table, the property file and
//     servo.conf, window schedules, and Diff (what applying a new
//     configuration takes). Immutable values, no lock.
//   - agent/identity: the node's Identity, bucket templates, the instance
//     metadata client and the Resolver that completes the identity in the
//     background and delivers it through a callback.
//   - agent/ingest: the listeners (bind, serve, rebind) and the one
//     datagram -> line pipeline (parse, encode, append to a Sink, count)
//     that the listeners, Agent.Ingest, Replay and the fleet simulator
//     share; the kernel's and HAProxy's loss counts.
//   - agent/spool: the active window, sealed segments and their counts,
//     eviction, and every durable file of the spool directory through one
//     filesystem seam (FS, WriteFileAtomic); the directory's flock; the
//     Clock that flushes and fsyncs every spool.fsync_interval, seals at
//     each window end and enforces spool.max_bytes.
//   - agent/ship: the Shipper (upload loop and rounds, provisioning state,
//     pins, the in-flight set, parking, upload counters) and what it is
//     built from: the spool -> ship hand-off (Segments, which *spool.Spool
//     satisfies), the Uploader it needs and its wrappers (Retrying,
//     Yielding), object keys, the fleet's upload spread.
//   - agent/control: the Controller, one goroutine that owns hot reload,
//     SIGHUP, the file watch, the ELB API follower and identity results,
//     and pushes changes into ingest, the spool's Clock and ship through
//     setters (interfaces it declares). It publishes the configuration in
//     force (Live) for the others to read.
//   - agent/status: the status page (/ and /status), rendered from a
//     snapshot this package builds (statuspage.go); its Recorder keeps the
//     last upload, the last error of each cause and the last reload.
//
// This package keeps New, Start (which builds the components) and Run (the
// shutdown order), metrics (from each component's Stats), /healthz and the
// status snapshot, and Replay, which runs a capture through ingest's
// pipeline.
//
// Shutdown order (Run, then shutdown): the listeners stop reading and drain
// what the kernel queued (ingest.Wait); the Controller's goroutine, its
// ELB poller and the identity resolutions end; the upload loop stops; the
// spool's Clock stops (its background fsync finished); the listeners close;
// the active window is sealed (Clock.SealNow); one final upload round runs
// within ShutdownTimeout (Shipper.Final); the metrics server stops (scrapes
// see the final round; /healthz says 503 once no listener is bound); the
// spool closes. /metrics, /healthz and /status read each component under
// that component's own lock, so a scrape during the teardown reads
// consistent values (TestScrapesDuringShutdown).
//
// Lock order, where locks are ever held together (each lock has a comment
// beside the data it guards):
//
//	ship.Shipper.roundMu -> ship.Shipper.targetMu -> the spool's locks
//	    (a round takes the configuration and the sealed segments together;
//	    SetTarget seals early and pins under targetMu)
//	ship.Shipper.roundMu -> ship.Shipper.idMu (takeIdentity)
//	ingest's direct lock -> the spool's locks (Ingest appends to the Sink)
//	spool: fsyncMu -> mu -> segs
//
// ship.Parking's, ship.ErrOnce's and status.Recorder's locks are leaves.
// identity.Resolver.mu is held while its callback runs; the Controller's
// callback only hands the result over on a channel, without blocking, so
// it takes no lock. The Controller itself has no lock: its state is
// confined to its goroutine.
//
// The spool keeps what the agent accepted until the store acknowledged it:
// whole lines reach the kernel every spool.fsync_interval and the disk by
// fsync, windows are sealed under strictly increasing keys, and a crash at
// any point neither loses sealed data nor uploads a window under two keys.
// The Shipper drains sealed segments oldest first with bounded
// concurrency, calling the store through ship's retrying wrapper and
// parking segments that fail permanently. docs/durability.md
// has the contract and the kill -9 test that proves it.
package agent
