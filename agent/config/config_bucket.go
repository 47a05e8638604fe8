package config

import (
	"fmt"
	"github.com/elb-access-logger/elb-access-logger/agent/identity"

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
