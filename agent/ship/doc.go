// Package ship carries sealed segments from the spool to the object store.
//
// It declares what it needs of both: Uploader (the store) and Segments (the
// spool -> ship hand-off, one narrow interface that *spool.Spool
// satisfies, designed so that parts of an open window can travel through
// it next). Retry, yielding to the listeners and the classification of
// permanent failures are wrappers and helpers around one Uploader
// (Retrying, Yielding, Permanent), not part of the upload rounds; segments
// that fail permanently are parked on a backoff of their own (Parking) so
// they never stall newer ones. Offset and Due spread a fleet's uploads.
// ProvisionState is the provisioned.json of the spool directory (the
// bucket settings last verified on the store, and when), read and written
// through the spool's filesystem seam.
//
// The upload rounds, pins and object keys still live in the root agent
// package (upload.go, elbapi.go) and are the next to move here.
package ship
