// Package identity names the node whose access logs these are: the
// Identity (owner account, load balancer name, public IPv4, instance id,
// region), the expansion of bucket templates with it and whether an
// identity is complete enough for uploads (Complete); the instance
// metadata client (MetadataClient, IMDSv2 with the IMDSv1 fallback
// Eucalyptus needs); and the Resolver, which completes the property file's
// overrides from a Source in the background, retrying with backoff, and
// delivers each result through one callback.
//
// State: only the Resolver's generation and cancel function, guarded by
// Resolver.mu, which is held while the callback runs (so a superseded
// result is never delivered after a newer Resolve): whatever lock the
// callback takes comes after Resolver.mu. It imports nothing of the agent.
package identity
