// Package agent runs the access-log agent: it loads the property file,
// receives HAProxy syslog datagrams, appends the encoded lines to the active
// window file of the spool, seals the window at each scheduled tick and hands
// sealed segments to an Uploader.
//
// The agent knows nothing of S3 or of HAProxy's text: the parser package
// turns datagrams into lines and the Uploader interface, declared here, is
// satisfied by the uploader package.
//
// The spool (package agent/spool) keeps what the agent accepted until the
// store acknowledged it: whole lines reach the kernel every
// spool.fsync_interval and the disk by fsync, windows are sealed under
// strictly increasing keys, and a crash at any point neither loses sealed
// data nor uploads a window under two keys. The upload loop (upload.go)
// drains sealed segments oldest first with bounded concurrency, retrying
// through one helper (retry.go). docs/durability.md has the contract and
// the kill -9 test that proves it.
package agent
