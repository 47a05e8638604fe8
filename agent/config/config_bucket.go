package config

import (
	"fmt"
	"github.com/elb-access-logger/elb-access-logger/agent/identity"
	"strings"

	"github.com/elb-access-logger/elb-access-logger/uploader"
)

// sampleIdentity stands in for identity values metadata fills in later, so
// a bucket template can be checked at load time: the literal parts and the
// length and shape rules are checked now, the expanded name again when the
// uploader provisions the bucket.
var sampleIdentity = identity.Identity{Account: "123456789012", LBName: "lb", PublicIPv4: "192.0.2.1", InstanceID: "i-315dd646", Region: "us-east-1"}

// checkBucketTemplate expands the bucket template with the identity
// overrides of the file (samples for the rest) and checks the name against
// objectstorage.bucket_naming.
// checkSeedKeysApart refuses the seed key layout with a bucket template
// that does not name the node ({public_ipv4} or {instance_num}): the seed
// key, elb-access-<end>.log, names only the window, so every node of the
// load balancer would write the same key into the same bucket each window
// and overwrite the others. The aws layout puts the node's address into
// the key; elb-api mode uses it.
func (c *Config) checkSeedKeysApart() error {
	if c.KeyLayout == "aws" || c.Source == SourceELBAPI {
		return nil
	}
	if strings.Contains(c.Bucket, "{public_ipv4}") || strings.Contains(c.Bucket, "{instance_num}") {
		return nil
	}
	return fmt.Errorf("template %q names no node: with access_log.key_layout = seed every node of the load balancer writes elb-access-<end>.log into this bucket and they overwrite each other; add {public_ipv4} or {instance_num} to the template, or set access_log.key_layout = aws", c.Bucket)
}

func (c *Config) checkBucketTemplate() error {
	id := c.Identity()
	if id.Account == "" {
		id.Account = sampleIdentity.Account
	}
	if id.LBName == "" {
		id.LBName = sampleIdentity.LBName
	}
	if id.PublicIPv4 == "" {
		id.PublicIPv4 = sampleIdentity.PublicIPv4
	}
	if id.InstanceID == "" {
		id.InstanceID = sampleIdentity.InstanceID
	}
	if id.Region == "" {
		id.Region = sampleIdentity.Region
	}
	name, err := identity.ExpandTemplate(c.Bucket, id)
	if err != nil {
		return err
	}
	if err := uploader.ValidateBucketName(name, c.BucketNaming); err != nil {
		return fmt.Errorf("template %q: %w (objectstorage.bucket_naming = %s)", c.Bucket, err, c.BucketNaming)
	}
	return nil
}
