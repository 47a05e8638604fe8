package uploader

import (
	"fmt"
	"net/netip"
	"strings"
)

// Bucket naming rules, the values of objectstorage.bucket_naming.
const (
	// NamingRelaxed is the rule of Eucalyptus OSG and of radosgw with
	// "rgw relaxed s3 bucket names": letters, digits, '.', '-' and '_',
	// 3 to 255 characters. The seed's default bucket name needs it.
	NamingRelaxed = "relaxed"
	// NamingDNS is the rule of AWS S3 for new buckets: 3 to 63 lowercase
	// letters, digits, '.' and '-', starting and ending with a letter or
	// digit, no "..", not an IP address.
	NamingDNS = "dns"
)

// BucketNameError says which naming rule a bucket name breaks.
type BucketNameError struct {
	Name   string
	Naming string // NamingRelaxed or NamingDNS
	Rule   string // the rule broken, in words
}

func (e *BucketNameError) Error() string {
	return fmt.Sprintf("bucket name %q breaks the %s naming rule: %s", e.Name, e.Naming, e.Rule)
}

// Is makes errors.Is(err, ErrInvalidBucketName) true.
func (e *BucketNameError) Is(target error) bool { return target == ErrInvalidBucketName }

// ValidateBucketName checks name against the naming rule (NamingRelaxed or
// NamingDNS). It returns a *BucketNameError naming the rule broken, or an
// error for an unknown rule.
func ValidateBucketName(name, naming string) error {
	broken := func(rule string) error { return &BucketNameError{Name: name, Naming: naming, Rule: rule} }
	switch naming {
	case NamingRelaxed:
		if len(name) < 3 || len(name) > 255 {
			return broken(fmt.Sprintf("3 to 255 characters (has %d)", len(name)))
		}
		for i, r := range name {
			if !isLetter(r) && !isDigit(r) && r != '.' && r != '-' && r != '_' {
				return broken(fmt.Sprintf("only letters, digits, '.', '-' and '_' (%q at offset %d)", r, i))
			}
		}
		return nil
	case NamingDNS:
		if len(name) < 3 || len(name) > 63 {
			return broken(fmt.Sprintf("3 to 63 characters (has %d)", len(name)))
		}
		for i, r := range name {
			if !(r >= 'a' && r <= 'z') && !isDigit(r) && r != '.' && r != '-' {
				return broken(fmt.Sprintf("only lowercase letters, digits, '.' and '-' (%q at offset %d)", r, i))
			}
		}
		if first, last := rune(name[0]), rune(name[len(name)-1]); !isLowerAlnum(first) || !isLowerAlnum(last) {
			return broken("must begin and end with a lowercase letter or digit")
		}
		if strings.Contains(name, "..") {
			return broken("no two adjacent periods")
		}
		if strings.Contains(name, ".-") || strings.Contains(name, "-.") {
			return broken("no dash next to a period")
		}
		if _, err := netip.ParseAddr(name); err == nil {
			return broken("must not be formatted as an IP address")
		}
		for _, p := range []string{"xn--", "sthree-"} {
			if strings.HasPrefix(name, p) {
				return broken(fmt.Sprintf("must not begin with %q", p))
			}
		}
		for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3"} {
			if strings.HasSuffix(name, s) {
				return broken(fmt.Sprintf("must not end with %q", s))
			}
		}
		return nil
	}
	return fmt.Errorf("bucket naming %q is not %s or %s", naming, NamingRelaxed, NamingDNS)
}

func isLetter(r rune) bool     { return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') }
func isDigit(r rune) bool      { return r >= '0' && r <= '9' }
func isLowerAlnum(r rune) bool { return (r >= 'a' && r <= 'z') || isDigit(r) }
