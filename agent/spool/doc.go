// Package spool keeps what the agent accepted until the store acknowledged
// it: the active window file, sealed segments with their counts sidecars,
// the sealed-through marker and, through the same filesystem seam (FS),
// the small state files other components keep in the spool directory
// (WriteFileAtomic, ReadFile).
//
// Whole lines reach the kernel every spool.fsync_interval and the disk by
// fsync; windows are sealed under strictly increasing keys; a crash at any
// point neither loses sealed data nor seals a window under two keys; a full
// disk never splits a line. One agent holds the directory at a time (an
// flock taken by Open). docs/durability.md has the contract and the kill -9
// test that proves it.
//
// Locks, in the order they may be taken: Spool.fsyncMu (fsyncs and seals),
// Spool.mu (the active window), Spool.segs (the sealed segments' byte count
// and every change to the set of sealed files).
package spool
