package config

import (
	"errors"
	"fmt"
	"github.com/elb-access-logger/elb-access-logger/agent/identity"
	"github.com/elb-access-logger/elb-access-logger/uploader"
	"net"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
)

// Where a value comes from (Origin.Source).
const (
	SourceDefault  = "default"
	SourceFile     = "file"
	SourceServo    = "servo.conf"
	SourceMetadata = "metadata"
)

// Origin says where a configuration value came from: the embedded
// default, a line of the property file, a line of servo.conf or the
// instance metadata.
type Origin struct {
	Source string
	File   string
	Line   int
}

func (o Origin) String() string {
	if o.File == "" {
		return o.Source
	}
	return fmt.Sprintf("%s %s:%d", o.Source, o.File, o.Line)
}

// secretKeys are never printed or logged with their value.
var secretKeys = map[string]bool{
	"objectstorage.secret_access_key": true,
}

// secretPrefix returns the secret key whose name key starts with (in any
// case) but is not, or "": such a key is a secret key followed by its
// value without a separator, and only the secret key's name may be shown.
func secretPrefix(key string) string {
	lower := strings.ToLower(key)
	for name := range secretKeys {
		if len(lower) > len(name) && strings.HasPrefix(lower, name) {
			return name
		}
	}
	return ""
}

// ConfigError is one problem in the configuration, located by file, line
// (0 when it concerns no single line) and key. It reads like a compiler
// message: "FILE:LINE: KEY: what is wrong".
type ConfigError struct {
	File string
	Line int
	Key  string
	Err  error
}

func (e *ConfigError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Key == "" {
		return fmt.Sprintf("%s: %v", loc, e.Err)
	}
	return fmt.Sprintf("%s: %s: %v", loc, e.Key, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// DefaultConfig returns the embedded defaults.
func DefaultConfig() *Config {
	c := &Config{origins: map[string]Origin{}, values: map[string]string{}}
	for _, k := range keys {
		if err := k.set(c, k.def); err != nil {
			panic(fmt.Sprintf("default of %s: %v", k.name, err)) // a bug in the table
		}
		c.origins[k.name] = Origin{Source: SourceDefault}
		c.values[k.name] = k.def
	}
	return c
}

// LoadConfig reads the property file at path over the defaults, then fills
// what it leaves out from servo.conf (objectstorage.servo_conf) and checks
// the whole. A missing file at the default path means the defaults; a
// missing file named on the command line (explicit) is an error. Every
// problem found is reported, each as a *ConfigError, joined.
func LoadConfig(path string, explicit bool) (*Config, error) {
	c := DefaultConfig()
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist) && !explicit:
		data = nil
	case err != nil:
		return nil, fmt.Errorf("config: %w", err)
	}
	props, err := readProperties(string(data))
	if err != nil {
		var se *syntaxError
		if errors.As(err, &se) {
			return nil, &ConfigError{File: path, Line: se.line, Err: errors.New(se.msg)}
		}
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	var errs []error
	byName := map[string]key{}
	for _, k := range keys {
		byName[k.name] = k
	}
	for _, p := range props {
		k, ok := byName[p.key]
		if !ok {
			if secret := secretPrefix(p.key); secret != "" {
				// A wrong separator: the rest of the "key" is the secret.
				errs = append(errs, &ConfigError{path, p.line, secret + "...", fmt.Errorf("unknown key: %s followed by neither '=', ':' nor a space (the rest of the line is not shown); write %s = VALUE", secret, secret)})
				continue
			}
			errs = append(errs, &ConfigError{path, p.line, p.key, unknownKeyError(p.key)})
			continue
		}
		if prev, dup := c.origins[p.key]; dup && prev.Source == SourceFile {
			errs = append(errs, &ConfigError{path, p.line, p.key, fmt.Errorf("set again (first set on line %d); keep one", prev.Line)})
			continue
		}
		v := strings.TrimSpace(p.value)
		if err := k.set(c, v); err != nil {
			if strings.Contains(v, " #") || strings.Contains(v, " !") {
				err = fmt.Errorf("%w (a comment starts only at the beginning of a line)", err)
			}
			errs = append(errs, &ConfigError{path, p.line, p.key, err})
			continue
		}
		c.origins[p.key] = Origin{Source: SourceFile, File: path, Line: p.line}
		c.values[p.key] = v
	}
	if len(errs) == 0 {
		errs = append(errs, c.applyServoConf(explicitly(c, "objectstorage.servo_conf"))...)
	}
	if len(errs) == 0 {
		errs = append(errs, c.crossCheck(path)...)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// explicitly reports whether key was set by the property file.
func explicitly(c *Config, key string) bool { return c.origins[key].Source == SourceFile }

// Explicit reports whether the property file sets key.
func (c *Config) Explicit(key string) bool { return explicitly(c, key) }

// setFrom applies v to key as coming from origin o.
func (c *Config) setFrom(name, v string, o Origin) error {
	for _, k := range keys {
		if k.name == name {
			if err := k.set(c, v); err != nil {
				return err
			}
			c.origins[name] = o
			c.values[name] = v
			return nil
		}
	}
	return fmt.Errorf("unknown key %s", name) // a bug in the caller
}

// contradictions are pairs of keys that must not both be set in the file.
var contradictions = []struct{ a, b, why string }{
	{"access_log.emit_interval", "access_log.schedule", "access_log.schedule overrides access_log.emit_interval; set only one"},
}

// together are keys that make no sense without each other.
var together = [][2]string{
	{"objectstorage.access_key_id", "objectstorage.secret_access_key"},
	{"objectstorage.secret_access_key", "objectstorage.access_key_id"},
}

// identityKeys are the keys metadata fills in; with metadata disabled those
// the uploads need are required (needsIdentityKey).
var identityKeys = []string{"access_log.owner_account", "access_log.lb_name", "access_log.node_ip", "access_log.instance_id", "access_log.region"}

// crossCheck finds contradictory and missing values once every key is set.
func (c *Config) crossCheck(path string) []error {
	var errs []error
	for _, r := range contradictions {
		oa, ob := c.origins[r.a], c.origins[r.b]
		if oa.Source != SourceFile || ob.Source != SourceFile {
			continue
		}
		first, later, o := r.a, r.b, ob
		if oa.Line > ob.Line {
			first, later, o = r.b, r.a, oa
		}
		errs = append(errs, &ConfigError{path, o.Line, later, fmt.Errorf("contradicts %s on line %d: %s", first, c.origins[first].Line, r.why)})
	}
	for _, t := range together {
		if o := c.origins[t[0]]; o.Source != SourceDefault && c.values[t[1]] == "" && c.values[t[0]] != "" {
			errs = append(errs, &ConfigError{o.File, o.Line, t[0], fmt.Errorf("set without %s", t[1])})
		}
	}
	if err := c.checkBucketTemplate(); err != nil {
		o := c.origins["access_log.bucket"]
		if o.Source != SourceFile {
			o = c.origins["objectstorage.bucket_naming"]
		}
		errs = append(errs, &ConfigError{path, o.Line, "access_log.bucket", err})
	} else if err := c.checkSeedKeysApart(); err != nil {
		o := c.origins["access_log.bucket"]
		if o.Source != SourceFile {
			o = c.origins["access_log.key_layout"]
		}
		errs = append(errs, &ConfigError{path, o.Line, "access_log.bucket", err})
	}
	if err := c.Storage().Check(); err != nil {
		key := "objectstorage.sse"
		switch {
		case (uploader.Storage{StorageClass: c.StorageClass}).Check() != nil:
			key = "objectstorage.storage_class"
		case c.SSEKMSKeyID != "":
			key = "objectstorage.sse_kms_key_id"
		}
		o := c.origins[key]
		errs = append(errs, &ConfigError{path, o.Line, key, err})
	}
	if c.MetadataEndpoint == "" {
		o := c.origins["metadata.endpoint"]
		for _, name := range identityKeys {
			if c.values[name] == "" && c.needsIdentityKey(name) {
				errs = append(errs, &ConfigError{path, o.Line, name, errors.New("required because metadata.endpoint is empty")})
			}
		}
	}
	return errs
}

// needsIdentityKey reports whether uploads need the identity key name: the
// owner account always (grantee of READ), the others when the bucket
// template uses their placeholder.
func (c *Config) needsIdentityKey(name string) bool {
	placeholder := map[string]string{
		"access_log.owner_account": "{account}",
		"access_log.lb_name":       "{lb_name}",
		"access_log.node_ip":       "{public_ipv4}",
		"access_log.instance_id":   "{instance_num}",
		"access_log.region":        "{region}",
	}[name]
	return name == "access_log.owner_account" || strings.Contains(c.Bucket, placeholder)
}

// unknownKeyError says a key is unknown and suggests the nearest known key.
func unknownKeyError(name string) error {
	if s := suggestKey(name); s != "" {
		return fmt.Errorf("unknown key; did you mean %s?", s)
	}
	return errors.New("unknown key (docs/configuration.md lists every key)")
}

// suggestKey returns the known key nearest to name, or "" when none is
// near: a key whose last part is name (a missing section), or one within a
// small edit distance.
func suggestKey(name string) string {
	lower := strings.ToLower(name)
	best, bestDist := "", len(name)/4+2
	for _, k := range keys {
		if k.name == lower || strings.HasSuffix(k.name, "."+lower) {
			return k.name
		}
		if d := editDistance(lower, k.name); d < bestDist {
			best, bestDist = k.name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Setting is one key of the effective configuration.
type Setting struct {
	Key    string
	Value  string // "********" for a secret that is set
	Origin Origin
}

// Settings lists every key with its effective value and origin, in
// documentation order, secrets masked.
func (c *Config) Settings() []Setting {
	out := make([]Setting, 0, len(keys))
	for _, k := range keys {
		v := c.values[k.name]
		if secretKeys[k.name] && v != "" {
			v = "********"
		}
		out = append(out, Setting{Key: k.name, Value: v, Origin: c.origins[k.name]})
	}
	return out
}

// identityFields maps the identity keys to the fields they fill.
func identityFields(c *Config, id *identity.Identity) map[string][2]*string {
	return map[string][2]*string{
		"access_log.owner_account": {&c.OwnerAccount, &id.Account},
		"access_log.lb_name":       {&c.LBName, &id.LBName},
		"access_log.node_ip":       {&c.NodeIP, &id.PublicIPv4},
		"access_log.instance_id":   {&c.InstanceID, &id.InstanceID},
		"access_log.region":        {&c.Region, &id.Region},
	}
}

// WithIdentity returns a copy of c whose identity keys left empty by the
// file are filled from id, with the origin "metadata".
func (c *Config) WithIdentity(id identity.Identity) *Config {
	n := c.clone()
	names := make([]string, 0, len(identityKeys))
	fields := identityFields(n, &id)
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f := fields[name]
		if *f[0] == "" && *f[1] != "" {
			*f[0] = *f[1]
			n.values[name] = *f[1]
			n.origins[name] = Origin{Source: SourceMetadata}
		}
	}
	return n
}

// clone returns a copy of c that shares no map or slice with it.
func (c *Config) clone() *Config {
	n := *c
	n.origins = make(map[string]Origin, len(c.origins))
	n.values = make(map[string]string, len(c.values))
	for k, v := range c.origins {
		n.origins[k] = v
	}
	for k, v := range c.values {
		n.values[k] = v
	}
	n.Listen = append([]string(nil), c.Listen...)
	n.warnings = append([]string(nil), c.warnings...)
	return &n
}

// matching accepts an empty value (metadata then fills it) or one that re
// matches; what names the expected form in the error.
func matching(field func(*Config) *string, re *regexp.Regexp, what string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v != "" && !re.MatchString(v) {
			return fmt.Errorf("%q is not %s", v, what)
		}
		*field(c) = v
		return nil
	}
}

// ipv4Key accepts an empty value or a dotted IPv4 address.
func ipv4Key(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if ip := net.ParseIP(v); v != "" && (ip == nil || ip.To4() == nil || strings.Contains(v, ":")) {
			return fmt.Errorf("%q is not an IPv4 address such as 203.0.113.10", v)
		}
		*field(c) = v
		return nil
	}
}

// urlKey accepts an empty value or an absolute http(s) URL.
func urlKey(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v != "" {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("%q is not an http:// or https:// URL with a host", v)
			}
		}
		*field(c) = v
		return nil
	}
}

// Origin says where the value of key came from.
func (c *Config) Origin(key string) Origin { return c.origins[key] }
