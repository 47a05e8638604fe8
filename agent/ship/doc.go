// Package ship carries sealed segments from the spool to the object store.
//
// The Shipper runs the upload loop (Run) and the final round at shutdown
// (Final), and owns everything the rounds need: the provisioning state
// (provisioned.json of the spool directory: the bucket settings last
// verified on the store, and when), the pins of segments sealed under
// earlier destinations in elb-api mode (pins.json; versions before it kept
// them in elb-api-state.json, moved once), the in-flight set eviction
// spares, parked segments and the upload counters (Stats). Control pushes
// changes in through SetTarget, SetIdentity and Reprovision; the spool's
// clock calls Kick when a window is sealed.
//
// Locks: roundMu lets one round run at a time and guards the round state
// (identity in use, bucket, provisioning); targetMu guards the
// configuration and the pins, so that a change of destination (SetTarget:
// seal early, pin what was sealed) is atomic for rounds; idMu guards the
// identity handed over by SetIdentity. Order: roundMu -> targetMu -> the
// spool's locks, roundMu -> idMu. Parking and ErrOnce hold leaf locks.
//
// It declares what it needs: Uploader (the store), Segments (the spool ->
// ship hand-off, one narrow interface that *spool.Spool satisfies, designed
// so that parts of an open window can travel through it), Sealer, and
// Events and Observer for the status page and metrics. Retry, yielding to
// the listeners and the classification of permanent failures are wrappers
// and helpers around one Uploader (Retrying, Yielding, Permanent), not part
// of the rounds. Offset and Due spread a fleet's uploads. Destination and
// ObjectKey say where a segment goes and under which key.
package ship
