// Package identity names the node whose access logs these are: the
// Identity (owner account, load balancer name, public IPv4, instance id,
// region), the expansion of bucket templates with it, and whether an
// identity is complete enough for uploads. It imports nothing of the agent.
package identity
