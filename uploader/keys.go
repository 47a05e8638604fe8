package uploader

import (
	"fmt"
	"strings"
	"time"
)

// The key layouts (access_log.key_layout).
const (
	KeyLayoutSeed = "seed" // SeedKey
	KeyLayoutAWS  = "aws"  // AWSKey
)

// seedKeyStart begins every SeedKey.
const seedKeyStart = "elb-access-"

// LifecyclePrefix returns the prefix every key the agent writes into b
// starts with, to which its lifecycle rule is scoped: "elb-access-" in the
// seed layout, "{prefix/}AWSLogs/" in the aws layout.
func (b Bucket) LifecyclePrefix() string {
	if b.KeyLayout == KeyLayoutAWS {
		if prefix := strings.Trim(b.Prefix, "/"); prefix != "" {
			return prefix + "/AWSLogs/"
		}
		return "AWSLogs/"
	}
	return seedKeyStart
}

// SeedKey returns the object key of the original recipe's layout for a window
// ending at end: elb-access-DDMMYYYY-HHMMSS.log, in UTC.
func SeedKey(end time.Time) string {
	return end.UTC().Format("elb-access-02012006-150405.log")
}

// AWSKeyParams names one object in the AWS Classic ELB layout.
type AWSKeyParams struct {
	Prefix  string // optional; must not contain AWSLogs
	Account string // the load balancer owner's account id
	Region  string
	LBName  string
	End     time.Time // end of the window
	NodeIP  string    // IP address of the load balancer node
	Random  string    // random suffix chosen once when the window is sealed
}

// AWSKey returns the key AWS Classic ELB uses for a window:
//
//	{prefix/}AWSLogs/{account}/elasticloadbalancing/{region}/{yyyy}/{mm}/{dd}/
//	{account}_elasticloadbalancing_{region}_{lb}_{end:YYYYMMDDTHHMMZ}_{ip}_{random}.log
func AWSKey(p AWSKeyParams) string {
	end := p.End.UTC()
	var b strings.Builder
	if prefix := strings.Trim(p.Prefix, "/"); prefix != "" {
		b.WriteString(prefix)
		b.WriteByte('/')
	}
	fmt.Fprintf(&b, "AWSLogs/%s/elasticloadbalancing/%s/%s/%s_elasticloadbalancing_%s_%s_%s_%s_%s.log",
		p.Account, p.Region, end.Format("2006/01/02"),
		p.Account, p.Region, p.LBName, end.Format("20060102T1504Z"), p.NodeIP, p.Random)
	return b.String()
}

// TestFileKey is the key of the object written when logging is enabled.
func TestFileKey(prefix, account string) string {
	if prefix = strings.Trim(prefix, "/"); prefix != "" {
		prefix += "/"
	}
	return prefix + "AWSLogs/" + account + "/ELBAccessLogTestFile"
}
