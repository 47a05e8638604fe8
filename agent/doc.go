// Package agent wires the access-log agent's components and reports on
// them. The components live under agent/, each owning its state, none
// importing this package:
//
//   - agent/config: Config, the key table, the property file and
//     servo.conf, window schedules, and Diff (what applying a new
//     configuration takes). Immutable values, no lock.
//   - agent/identity: the node's Identity, bucket templates, the instance
//     metadata client and the Resolver that completes the identity in the
//     background and delivers it through a callback.
//   - agent/ingest: the UDP listeners (bind, serve, rebind) and the one
//     datagram -> line pipeline (parse, encode, append to a Sink, count)
//     that the listeners, Agent.Ingest, Replay and the fleet simulator
//     share; the kernel's and HAProxy's loss counts.
//   - agent/spool: the active window, sealed segments and their counts,
//     eviction, and every durable file of the spool directory through one
//     filesystem seam (FS, WriteFileAtomic); the directory's flock; the
//     Clock that flushes and fsyncs every spool.fsync_interval, seals at
//     each window end and enforces spool.max_bytes.
//   - agent/ship: the spool -> ship hand-off (Segments, which *spool.Spool
//     satisfies), the Uploader it needs and its wrappers (Retrying,
//     Yielding), the classification of permanent failures and the Parking
//     of segments that fail permanently, the fleet's upload spread.
//   - the upload rounds, provisioning state, pins and object keys
//     (upload.go, provstate.go, elbapi.go) and hot reload and the ELB API
//     follower (reload.go, elbapi.go) are still in this package and move
//     into agent/ship and agent/control.
//   - agent/status: the status page (/ and /status), rendered from a
//     snapshot this package builds (statuspage.go); its Recorder keeps the
//     last upload, the last error of each cause and the last reload.
//
// This package keeps New, Start and Run (the shutdown order), the live
// configuration a reload swaps, metrics (from each component's Stats),
// /healthz and the status snapshot, and Replay, which runs a capture
// through ingest's pipeline.
//
// Shutdown order (Run, then shutdown): the listeners stop reading and drain
// what the kernel queued (ingest.Wait); the identity resolver and the other
// goroutines stop; the upload loop stops; the spool's Clock stops (its
// background fsync finished); the active window is sealed (Clock.SealNow); one upload round runs
// within ShutdownTimeout; the metrics server stops (scrapes see the final
// round; /healthz says 503 once no listener is bound); the spool closes.
// /metrics and /healthz read each component under that component's own
// lock, so a scrape during the teardown reads consistent values
// (TestScrapesDuringShutdown).
//
// Lock order, where locks are ever held together (each lock has a comment
// beside the data it guards):
//
//	reloadMu -> elb.destMu -> ingest's set lock (storeLive)
//	identity.Resolver.mu -> ids.mu -> ingest's set lock (setIdentity)
//	uploadMu -> ids.mu (takeIdentity)
//	uploadMu -> elb.destMu (uploadRound: the configuration and the segments it names)
//	elb.destMu -> the spool's locks (switchLive seals early)
//
// The spool's own locks (fsyncMu -> mu -> segs, package agent/spool) come
// after all of these; ship.Parking's, ship.ErrOnce's and
// status.Recorder's locks are leaves.
//
// Locks inside a component never call out while held, except
// identity.Resolver.mu, held while its callback runs, and ingest's direct
// lock, held while Ingest appends to the Sink (the spool's lock).
//
// The spool keeps what the agent accepted until the store acknowledged it:
// whole lines reach the kernel every spool.fsync_interval and the disk by
// fsync, windows are sealed under strictly increasing keys, and a crash at
// any point neither loses sealed data nor uploads a window under two keys.
// The upload loop drains sealed segments oldest first with bounded
// concurrency, calling the store through ship's retrying wrapper and
// parking segments that fail permanently. docs/durability.md
// has the contract and the kill -9 test that proves it.
package agent
