// Package ingest receives syslog messages and turns them into lines: the
// listeners by address (udp://, unix:// datagrams, tcp:// streams; Bind,
// Serve, Rebind), the one datagram -> line pipeline (parse, encode, append
// to a Sink, count) that the listeners, Ingest, the agent's replay and the
// fleet simulator all go through, and
// the losses before the agent: the kernel's receive drops of each socket
// (/proc/net/udp) and HAProxy's DroppedLogs (its stats socket).
//
// State and locks, each beside its data:
//
//   - Ingest.out: the encoder and the enabled switch, an atomic pointer the
//     hot path loads once per datagram; Ingest.set guards the setters'
//     inputs (SetFormat, SetLBName, SetEnabled) and serialises publishing.
//
//   - Ingest.mu guards the bound listeners, their addresses and stop
//     functions, and Serve's context.
//
//   - Ingest.direct serialises Ingest's own pipeline.
//
//   - tcpListener: atomics only; each connection's frame buffer and framer
//     belong to its goroutine.
//
//   - counters: atomics on the hot path; counters.mu guards the map of
//     per-listener counters, each listener's mu its kernel-drop state, and
//     loss the base of the per-window loss counts.
//
//   - inside one listener: a socket's mu (its fd's users) and a UDP
//     listener's hand-off mu (the chunk being filled); neither is held
//     with any other lock.
//
// Lock order: counters.loss, then Ingest.mu or counters.mu, then a
// listener's mu (Losses holds loss throughout; Stats holds counters.mu
// while it reads each listener). The Sink is called with no lock of this
// package held except Ingest.direct. It imports nothing of the agent.
package ingest
