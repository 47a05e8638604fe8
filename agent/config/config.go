package config

import (
	"errors"
	"fmt"
	"github.com/elb-access-logger/elb-access-logger/agent/identity"
	"github.com/elb-access-logger/elb-access-logger/agent/ingest"
	"io/fs"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/elb-access-logger/elb-access-logger/internal/logging"
	"github.com/elb-access-logger/elb-access-logger/uploader"
)

// Values of access_log.source.
const (
	SourceProperties = "properties"
	SourceELBAPI     = "elb-api"
)

// DefaultConfigPath is where the agent looks for its property file.
const DefaultConfigPath = "/etc/elb-access-logger/access-log.properties"

// Config is the agent's effective configuration.
type Config struct {
	Enabled      bool
	EmitInterval int    // minutes
	Schedule     string // robfig/cron spec; overrides EmitInterval when set
	Format       string
	Bucket       string // template
	KeyLayout    string
	Compression  string // none or gzip (CompressionGzip)
	KeyPrefix    string // aws layout prefix

	LifecycleDays int // 0 removes the agent's rule

	UploadSpread           time.Duration // 0: upload as soon as a window is sealed
	ProvisionCheckInterval time.Duration // how long a verified bucket is trusted

	OwnerAccount string
	// OwnerCanonicalID is the grantee of READ in place of OwnerAccount
	// (AWS S3, where an account id is no grantee id); empty: OwnerAccount.
	OwnerCanonicalID string
	LBName           string
	NodeIP           string
	InstanceID       string
	Region           string

	Listen             []string
	MaxMessageBytes    int
	ReceiveBufferBytes int
	UnixSocketMode     fs.FileMode   // of unix:// socket files
	UnixSocketGroup    string        // group of unix:// socket files; empty: the agent's
	MaxConnections     int           // per tcp:// listener
	IdleTimeout        time.Duration // a tcp:// connection silent this long is closed

	SpoolDir      string
	SpoolMaxBytes int64
	FsyncInterval time.Duration
	// MaxObjectBytes bounds an object: a window growing past it (or past a
	// quarter of SpoolMaxBytes) is sealed and uploaded in pieces.
	MaxObjectBytes int64

	StoreEndpoint   string
	StoreRegion     string
	AccessKeyID     string
	SecretAccessKey string
	PathStyle       bool
	MaxConcurrency  int
	PartSizeBytes   int64  // an object larger than this is sent in parts of this size
	Signature       string // v4 or v2
	BucketNaming    string // relaxed or dns
	CABundle        string
	InsecureSkipTLS bool
	CredentialsFile string
	// UploaderID is the uploading account's canonical id; empty: asked
	// from the store (ListBuckets' owner).
	UploaderID string
	// ExpectedBucketOwner is auto, off or a value for
	// x-amz-expected-bucket-owner (uploader.Options.ExpectedBucketOwner).
	ExpectedBucketOwner string
	// SSE, SSEKMSKeyID and StorageClass are how the store keeps every
	// object (uploader.Storage).
	SSE, SSEKMSKeyID, StorageClass string

	ServoConf string

	// Source is SourceProperties or SourceELBAPI (access_log.source).
	Source          string
	ELBEndpoint     string
	ELBPollInterval time.Duration
	// UserBucket is set on the effective configuration of elb-api mode:
	// Bucket is the load balancer owner's own bucket, never created or
	// changed by the agent (see elbapi.go).
	UserBucket bool

	MetadataEndpoint string
	MetadataTimeout  time.Duration

	MetricsListen      string // host:port of /metrics and /healthz; empty disables
	HAProxyStatsSocket string // HAProxy's stats socket, for DroppedLogs; empty: not read

	LogLevel  string // debug, info, warn or error
	LogFormat string // logfmt or json

	// origins records where each key's value came from, values the
	// value as written; see Settings.
	origins map[string]Origin
	values  map[string]string
	// warnings are problems that did not stop the load; see Warnings.
	warnings []string
}

// Warnings returns what loading ignored, each "FILE:LINE: what": lines of
// servo.conf that are no k=v line. The caller logs them.
func (c *Config) Warnings() []string { return append([]string(nil), c.warnings...) }

// key is one property: its name, default, help line and how it is applied.
type key struct {
	name, def, help string
	set             func(c *Config, v string) error
}

// keys is the table of every property the agent knows, in documentation
// order. Each default is applied through set, so defaults are validated
// exactly like file values.
var keys = []key{
	{"access_log.enabled", "true", "write and upload access logs; false keeps the spool", boolKey(func(c *Config) *bool { return &c.Enabled })},
	{"access_log.emit_interval", "60", "window length in minutes, 5 or 60, aligned to UTC", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || (n != 5 && n != 60) {
			return errors.New("must be 5 or 60")
		}
		c.EmitInterval = n
		return nil
	}},
	{"access_log.schedule", "", "robfig/cron spec in UTC, optional seconds field; overrides emit_interval", func(c *Config, v string) error {
		if v != "" {
			if _, err := ParseSchedule(v); err != nil {
				return err
			}
		}
		c.Schedule = v
		return nil
	}},
	{"access_log.format", "elb", "output format: elb (AWS Classic ELB lines), raw (syslog lines as stored by a file writer) or json", oneOf(func(c *Config) *string { return &c.Format }, "elb", "raw", "json")},
	{"access_log.bucket", "access_logs-{lb_name}_{public_ipv4}_{instance_num}", "bucket name template", func(c *Config, v string) error {
		if _, err := identity.ExpandTemplate(v, identity.Identity{Account: "x", LBName: "x", PublicIPv4: "x", InstanceID: "i-x", Region: "x"}); err != nil {
			return err
		}
		c.Bucket = v
		return nil
	}},
	{"access_log.compression", "none", "none (plain text, as Classic ELB writes) or gzip: objects are gzip files, keys end in .log.gz, no Content-Encoding (downloads stay .gz, as AWS ALB logs are)", oneOf(func(c *Config) *string { return &c.Compression }, "none", CompressionGzip)},
	{"access_log.key_layout", "seed", "object key layout: seed (elb-access-DDMMYYYY-HHMMSS.log) or aws (AWSLogs/...)", oneOf(func(c *Config) *string { return &c.KeyLayout }, "seed", "aws")},
	{"access_log.prefix", "", "aws layout: prefix before AWSLogs/; must not contain AWSLogs", func(c *Config, v string) error {
		if err := CheckKeyPrefix(v); err != nil {
			return err
		}
		c.KeyPrefix = strings.Trim(v, "/")
		return nil
	}},
	{"access_log.lifecycle_days", "30", "expire the agent's objects (keys under elb-access-, or {prefix/}AWSLogs/ in the aws layout) after this many days; 0 removes the agent's rule", intKey(func(c *Config) *int { return &c.LifecycleDays }, 0, 36500)},
	{"access_log.upload_spread", "60s", "each node delays its uploads by a fixed offset in [0, spread) derived from its identity, so a fleet's PUTs are spread out; 0 disables", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > 24*time.Hour {
			return fmt.Errorf("%q is not a duration from 0 to 24h such as 60s", v)
		}
		c.UploadSpread = d
		return nil
	}},
	{"access_log.provision_check_interval", "24h", "how often verified bucket settings are read again; a restart with unchanged settings makes no provisioning calls", durationKey(func(c *Config) *time.Duration { return &c.ProvisionCheckInterval })},
	{"access_log.owner_account", "", "load balancer owner's account, grantee of READ (metadata when empty)", matching(func(c *Config) *string { return &c.OwnerAccount }, identity.AccountRE, "an account id such as 123456789012")},
	{"access_log.owner_canonical_id", "", "canonical user id granted READ in place of owner_account (AWS S3: the owner's 64-hex canonical id; owner_account stays the {account} of keys); empty grants owner_account", matching(func(c *Config) *string { return &c.OwnerCanonicalID }, canonicalIDRE, "a canonical user id: letters, digits and . _ - @ + = :")},
	{"access_log.lb_name", "", "load balancer name (metadata when empty)", matching(func(c *Config) *string { return &c.LBName }, identity.LBNameRE, "a load balancer name: letters, digits and '-'")},
	{"access_log.node_ip", "", "public IPv4 of this node (metadata when empty)", ipv4Key(func(c *Config) *string { return &c.NodeIP })},
	{"access_log.instance_id", "", "instance id, i-xxxxxxxx (metadata when empty)", matching(func(c *Config) *string { return &c.InstanceID }, identity.InstanceIDRE, "an instance id such as i-315dd646")},
	{"access_log.region", "", "region (metadata when empty)", matching(func(c *Config) *string { return &c.Region }, identity.RegionRE, "a region such as us-east-1")},
	{"access_log.source", "properties", "where enabled, bucket, prefix and interval come from: properties (this file) or elb-api (the load balancer's AccessLog attribute, polled from the ELB API)", oneOf(func(c *Config) *string { return &c.Source }, SourceProperties, SourceELBAPI)},
	{"elb.endpoint", "", "ELB API endpoint for access_log.source = elb-api; empty means servo.conf's elb_service_url, else AWS's of the region", urlKey(func(c *Config) *string { return &c.ELBEndpoint })},
	{"elb.poll_interval", "60s", "how often the AccessLog attribute is read from the ELB API", durationKey(func(c *Config) *time.Duration { return &c.ELBPollInterval })},
	{"syslog.listen", "udp://127.0.0.1:514", "comma list of udp://HOST:PORT, unix:///PATH (a datagram socket the agent creates) and tcp://HOST:PORT (RFC 6587 syslog over TCP, octet-counted or LF-delimited frames) addresses", func(c *Config, v string) error {
		var out []string
		for _, a := range strings.Split(v, ",") {
			a = strings.TrimSpace(a)
			if a == "" {
				continue
			}
			for _, scheme := range []string{"udp://", "tcp://"} {
				if hp, ok := strings.CutPrefix(a, scheme); ok {
					if err := checkHostPort(hp); err != nil {
						return fmt.Errorf("%q: %w", a, err)
					}
				}
			}
			if _, _, err := ingest.ParseListen(a); err != nil {
				return err
			}
			out = append(out, a)
		}
		c.Listen = out
		return nil
	}},
	{"syslog.max_message_bytes", "65536", "largest message taken whole; longer datagrams and TCP frames are cut to it and counted", intKey(func(c *Config) *int { return &c.MaxMessageBytes }, 480, 65536)},
	{"syslog.receive_buffer_bytes", "8388608", "socket receive buffer: SO_RCVBUFFORCE when privileged, else SO_RCVBUF capped by net.core.rmem_max", intKey(func(c *Config) *int { return &c.ReceiveBufferBytes }, 0, 1<<30)},
	{"syslog.unix_socket_mode", "0660", "permissions of unix:// socket files (octal)", func(c *Config, v string) error {
		n, err := strconv.ParseUint(v, 8, 32)
		if err != nil || n > 0o777 || n&0o200 == 0 {
			return fmt.Errorf("%q is not octal permissions such as 0660 that let the owner write", v)
		}
		c.UnixSocketMode = fs.FileMode(n)
		return nil
	}},
	{"syslog.unix_socket_group", "haproxy", "group of unix:// socket files; the default applies when the group exists, a group set here must exist and have the agent's user as a member", str(func(c *Config) *string { return &c.UnixSocketGroup })},
	{"syslog.max_connections", "64", "open connections per tcp:// listener; more are closed at once and counted", intKey(func(c *Config) *int { return &c.MaxConnections }, 1, 10000)},
	{"syslog.idle_timeout", "10m", "a tcp:// connection that sends nothing for this long is closed (HAProxy's ring connects again)", durationKey(func(c *Config) *time.Duration { return &c.IdleTimeout })},
	{"spool.dir", "/var/spool/elb-access-logger", "spool directory", func(c *Config, v string) error {
		if v == "" {
			return errors.New("must not be empty")
		}
		c.SpoolDir = v
		return nil
	}},
	{"spool.max_bytes", "1073741824", "bound of the spool; the oldest sealed segments are evicted beyond it", func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1<<20 {
			return fmt.Errorf("%q is not a whole number of bytes of at least 1048576", v)
		}
		c.SpoolMaxBytes = n
		return nil
	}},
	{"spool.fsync_interval", "1s", "most data at risk in a crash", durationKey(func(c *Config) *time.Duration { return &c.FsyncInterval })},
	{"access_log.max_object_bytes", "134217728", "largest object: a window growing past this (or past a quarter of spool.max_bytes) is sealed and uploaded in pieces while it is open, one object each (at most one a second)", bytesKey(func(c *Config) *int64 { return &c.MaxObjectBytes }, 1<<20, uploader.MaxPartSize)},
	{"objectstorage.endpoint", "", "store URL; empty means AWS S3 of the region", urlKey(func(c *Config) *string { return &c.StoreEndpoint })},
	{"objectstorage.region", "", "signing region; empty means the identity's region, else us-east-1", str(func(c *Config) *string { return &c.StoreRegion })},
	{"objectstorage.access_key_id", "", "static access key id", str(func(c *Config) *string { return &c.AccessKeyID })},
	{"objectstorage.secret_access_key", "", "static secret access key", str(func(c *Config) *string { return &c.SecretAccessKey })},
	{"objectstorage.max_concurrency", "2", "uploads in flight per node", intKey(func(c *Config) *int { return &c.MaxConcurrency }, 1, 64)},
	{"objectstorage.part_size_bytes", "16777216", "an object larger than this is sent as a multipart upload in parts of this size (grown when it would need more than 10,000 parts), each part retried alone", bytesKey(func(c *Config) *int64 { return &c.PartSizeBytes }, uploader.MinPartSize, uploader.MaxPartSize)},
	{"objectstorage.path_style", "true", "path-style bucket addressing", boolKey(func(c *Config) *bool { return &c.PathStyle })},
	{"objectstorage.signature", "v4", "request signing: v4, or v2 for object storage that predates SigV4 (Eucalyptus OSG before 4.4)", oneOf(func(c *Config) *string { return &c.Signature }, uploader.SignatureV4, uploader.SignatureV2)},
	{"objectstorage.bucket_naming", "relaxed", "bucket name rule: relaxed (letters, digits, '.', '-', '_'; 3-255, as Eucalyptus OSG and radosgw with relaxed names) or dns (AWS S3)", oneOf(func(c *Config) *string { return &c.BucketNaming }, uploader.NamingRelaxed, uploader.NamingDNS)},
	{"objectstorage.ca_bundle", "", "PEM file of CA certificates trusted for the endpoint, besides the system's", str(func(c *Config) *string { return &c.CABundle })},
	{"objectstorage.insecure_skip_verify", "false", "do not verify the endpoint's TLS certificate", boolKey(func(c *Config) *bool { return &c.InsecureSkipTLS })},
	{"objectstorage.credentials_file", "", "AWS shared-credentials file ([default] profile), used when no access key is set; refused unless mode 0600 or stricter", str(func(c *Config) *string { return &c.CredentialsFile })},
	{"objectstorage.uploader_canonical_id", "", "canonical user id of the uploading account (the credentials' own); empty asks the store once (ListBuckets' owner; AWS: s3:ListAllMyBuckets). Never learnt from a bucket", matching(func(c *Config) *string { return &c.UploaderID }, canonicalIDRE, "a canonical user id: letters, digits and . _ - @ + = :")},
	{"objectstorage.expected_bucket_owner", "auto", "x-amz-expected-bucket-owner on requests to the agent's own bucket: auto (the uploader's canonical id, except on AWS S3, which wants an account id), off, or the value to send (AWS: the uploading account's 12-digit id)", func(c *Config, v string) error {
		if v != "auto" && v != "off" && !canonicalIDRE.MatchString(v) {
			return fmt.Errorf("%q is not auto, off or an account id", v)
		}
		c.ExpectedBucketOwner = v
		return nil
	}},
	{"objectstorage.sse", "none", "server-side encryption of every object: none (the bucket's default applies), AES256 (keys the store manages) or aws:kms", oneOf(func(c *Config) *string { return &c.SSE }, uploader.SSENone, uploader.SSEAES256, uploader.SSEKMS)},
	{"objectstorage.sse_kms_key_id", "", "the key of objectstorage.sse = aws:kms (id, alias or ARN); empty is the store's default key", str(func(c *Config) *string { return &c.SSEKMSKeyID })},
	{"objectstorage.storage_class", "", "x-amz-storage-class of every object: STANDARD, STANDARD_IA, ... or a class the store defines; empty is the store's standard class", str(func(c *Config) *string { return &c.StorageClass })},
	{"objectstorage.servo_conf", "/etc/load-balancer-servo/servo.conf", "servo-style k=v file whose objectstorage_service_url, webservice_port and loadbalancer_owner_account fill in keys this file leaves out; read if present", str(func(c *Config) *string { return &c.ServoConf })},
	{"metadata.endpoint", "http://169.254.169.254", "instance metadata service; empty disables it (the identity keys uploads need are then required)", urlKey(func(c *Config) *string { return &c.MetadataEndpoint })},
	{"metadata.timeout", "30s", "per metadata attempt; attempts are retried with backoff", durationKey(func(c *Config) *time.Duration { return &c.MetadataTimeout })},
	{"metrics.listen", "127.0.0.1:9145", "host:port of the Prometheus endpoint (/metrics), /healthz and the status page (/ and /status); empty disables", func(c *Config, v string) error {
		if v != "" {
			if err := checkHostPort(v); err != nil {
				return fmt.Errorf("%q: %w", v, err)
			}
		}
		c.MetricsListen = v
		return nil
	}},
	{"metrics.haproxy_stats_socket", "", "HAProxy's stats socket (unix path); when set, DroppedLogs of show info is read each window and exported", str(func(c *Config) *string { return &c.HAProxyStatsSocket })},
	{"log.level", "info", "least severe log records written: debug, info, warn or error; a reload applies it", oneOf(func(c *Config) *string { return &c.LogLevel }, logging.Levels...)},
	{"log.format", "logfmt", "log records on stderr, one a line: logfmt (key=value) or json; a reload applies it", oneOf(func(c *Config) *string { return &c.LogFormat }, logging.Formats...)},
}

// hostnameRE is a host name a listener may be given.
var hostnameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.?$`)

// checkHostPort checks a listen address, HOST:PORT: PORT a number from 0
// (the kernel picks) to 65535, HOST empty (every address), an IP address
// ([...] for IPv6) or a host name. Nothing is resolved or bound: a name
// that does not resolve fails when the agent starts.
func checkHostPort(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("not HOST:PORT, such as 127.0.0.1:514 or [::1]:514: %v", strings.TrimPrefix(err.Error(), "address "+a+": "))
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || port[0] == '+' {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	if host != "" && net.ParseIP(strings.Split(host, "%")[0]) == nil && (len(host) > 253 || !hostnameRE.MatchString(host)) {
		return fmt.Errorf("host %q is neither an IP address nor a host name", host)
	}
	return nil
}

// canonicalIDRE is a grantee id as x-amz-grant-* headers carry it: AWS's
// 64 hex digits, radosgw's user id, Eucalyptus's account number.
var canonicalIDRE = regexp.MustCompile(`^[A-Za-z0-9._@+=:-]{1,128}$`)

func str(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *field(c) = v; return nil }
}

func oneOf(field func(*Config) *string, allowed ...string) func(*Config, string) error {
	return func(c *Config, v string) error {
		for _, a := range allowed {
			if v == a {
				*field(c) = v
				return nil
			}
		}
		return fmt.Errorf("%q is not one of %s", v, strings.Join(allowed, ", "))
	}
}

func boolKey(field func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*field(c) = b
		return nil
	}
}

func intKey(field func(*Config) *int, lo, hi int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("%q is not a whole number from %d to %d", v, lo, hi)
		}
		*field(c) = n
		return nil
	}
}

// HashPartBytes is the part size the spool hashes windows in as it writes
// them, so that uploads need not read them to compute their Content-MD5:
// objectstorage.part_size_bytes, or 0 when objects are compressed (their
// bytes are not the spool's).
func (c *Config) HashPartBytes() int64 {
	if c.Compression == CompressionGzip {
		return 0
	}
	return c.PartSizeBytes
}

// CompressionGzip is access_log.compression's value for gzip objects.
const CompressionGzip = "gzip"

func bytesKey(field func(*Config) *int64, lo, hi int64) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("%q is not a whole number of bytes from %d to %d", v, lo, hi)
		}
		*field(c) = n
		return nil
	}
}

func durationKey(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("%q is not a positive duration such as 1s", v)
		}
		*field(c) = d
		return nil
	}
}

// CheckKeyPrefix refuses a key prefix the aws layout cannot use: one
// containing AWSLogs (the layout adds it), control characters or
// backslashes. The property file and the ELB API's S3BucketPrefix share it.
func CheckKeyPrefix(v string) error {
	if strings.Contains(strings.ToLower(v), "awslogs") {
		return errors.New("must not contain AWSLogs (the layout adds it)")
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return fmt.Errorf("%q: control characters and backslashes are not allowed in a key prefix", v)
		}
	}
	return nil
}

// SigningRegion is the region requests to the store are signed for.
func (c *Config) SigningRegion() string {
	switch {
	case c.StoreRegion != "":
		return c.StoreRegion
	case c.Region != "":
		return c.Region
	}
	return "us-east-1"
}

// Storage is how the store is asked to keep every object.
func (c *Config) Storage() uploader.Storage {
	return uploader.Storage{SSE: c.SSE, SSEKMSKeyID: c.SSEKMSKeyID, StorageClass: c.StorageClass}
}

// KeyInfo documents one property.
type KeyInfo struct {
	Name, Default, Help string
}

// Keys lists every property the agent knows with its default and help, in
// documentation order. docs/configuration.md and the packaged property file
// are checked against it.
func Keys() []KeyInfo {
	out := make([]KeyInfo, len(keys))
	for i, k := range keys {
		out[i] = KeyInfo{Name: k.name, Default: k.def, Help: k.help}
	}
	return out
}

// Identity returns the identity values the configuration sets itself (the
// property file's overrides and servo.conf); metadata fills in the rest.
func (c *Config) Identity() identity.Identity {
	return identity.Identity{
		Account:    c.OwnerAccount,
		LBName:     c.LBName,
		PublicIPv4: c.NodeIP,
		InstanceID: c.InstanceID,
		Region:     c.Region,
	}
}
