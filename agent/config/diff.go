package config

import (
	"slices"
	"strconv"
)

// restartKeys are read once at start; a reload that changes them is
// applied except for them, with a warning.
var restartKeys = []string{
	"spool.dir", "spool.fsync_interval", "syslog.max_message_bytes", "syslog.receive_buffer_bytes",
	"syslog.unix_socket_mode", "syslog.unix_socket_group", "syslog.max_connections", "syslog.idle_timeout",
	"objectstorage.endpoint", "objectstorage.region", "objectstorage.access_key_id",
	"objectstorage.secret_access_key", "objectstorage.path_style", "objectstorage.signature",
	"objectstorage.ca_bundle", "objectstorage.insecure_skip_verify", "objectstorage.credentials_file",
	"objectstorage.max_concurrency", "objectstorage.part_size_bytes", "metrics.listen", "metadata.endpoint", "metadata.timeout", "elb.endpoint",
}

// provisionKeys describe the bucket; a change makes the next upload round
// provision it again (create, ACL, lifecycle).
var provisionKeys = []string{
	"access_log.bucket", "access_log.owner_account", "access_log.lifecycle_days", "access_log.key_layout",
	"access_log.prefix", "objectstorage.bucket_naming",
}

// Change says how a new configuration differs from the running one and
// what applying it takes.
type Change struct {
	// Changed lists the keys whose values differ, in documentation
	// order, without the keys read only at start.
	Changed []string
	// Restart lists the changed keys read only at start: a reload keeps
	// their running values (KeepRestartValues) and warns.
	Restart []string
	// Rebind: syslog.listen names other addresses.
	Rebind bool
	// Reprovision: the bucket's settings changed; the next upload round
	// provisions it again (create, ACL, lifecycle).
	Reprovision bool
	// NewIdentity: an identity override or the bucket template changed;
	// the identity is resolved again.
	NewIdentity bool
}

// Diff compares the running configuration old with next.
func Diff(old, next *Config) Change {
	var ch Change
	for _, k := range keys {
		if old.values[k.name] == next.values[k.name] {
			continue
		}
		if slices.Contains(restartKeys, k.name) {
			ch.Restart = append(ch.Restart, k.name)
			continue
		}
		ch.Changed = append(ch.Changed, k.name)
		if slices.Contains(provisionKeys, k.name) {
			ch.Reprovision = true
		}
		if slices.Contains(identityKeys, k.name) || k.name == "access_log.bucket" {
			ch.NewIdentity = true
		}
	}
	ch.Rebind = !slices.Equal(old.Listen, next.Listen)
	return ch
}

// KeepRestartValues returns a copy of next whose keys read only at start
// have old's values (and origins).
func KeepRestartValues(old, next *Config) *Config {
	n := next.clone()
	n.SpoolDir, n.FsyncInterval = old.SpoolDir, old.FsyncInterval
	n.MaxMessageBytes, n.ReceiveBufferBytes = old.MaxMessageBytes, old.ReceiveBufferBytes
	n.UnixSocketMode, n.UnixSocketGroup = old.UnixSocketMode, old.UnixSocketGroup
	n.MaxConnections, n.IdleTimeout = old.MaxConnections, old.IdleTimeout
	n.StoreEndpoint, n.StoreRegion, n.PathStyle = old.StoreEndpoint, old.StoreRegion, old.PathStyle
	n.AccessKeyID, n.SecretAccessKey = old.AccessKeyID, old.SecretAccessKey
	n.MetadataEndpoint, n.MetadataTimeout = old.MetadataEndpoint, old.MetadataTimeout
	for _, k := range restartKeys {
		if v, ok := old.values[k]; ok {
			n.values[k], n.origins[k] = v, old.origins[k]
		}
	}
	return n
}

// FromFile reports whether some key's value came from the property file.
func (c *Config) FromFile() bool {
	for _, o := range c.origins {
		if o.Source == SourceFile {
			return true
		}
	}
	return false
}

// WithAccessLog returns the effective configuration of elb-api mode: c
// with what the load balancer's AccessLog attribute decides: enabled, the
// owner's own bucket (a literal name, never created or changed by the
// agent: UserBucket), the key prefix, the aws key layout and the emit
// interval (0 keeps c's; a schedule set in the file still wins). The
// values are the ELB API's and were checked by the caller.
func (c *Config) WithAccessLog(enabled bool, bucket, prefix string, emitInterval int) *Config {
	n := c.clone()
	o := Origin{Source: SourceELBAPI}
	set := func(key, v string) { n.values[key], n.origins[key] = v, o }
	n.Enabled = enabled
	set("access_log.enabled", strconv.FormatBool(enabled))
	n.UserBucket = true
	n.Bucket, n.KeyPrefix, n.KeyLayout = bucket, prefix, "aws"
	set("access_log.bucket", bucket)
	set("access_log.prefix", prefix)
	set("access_log.key_layout", "aws")
	if c.Schedule == "" && emitInterval != 0 {
		n.EmitInterval = emitInterval
		set("access_log.emit_interval", strconv.Itoa(emitInterval))
	}
	return n
}
