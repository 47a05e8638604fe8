package identity

import (
	"fmt"
	"regexp"
	"strings"
)

// Identity names this load-balancer node: whose logs these are and where
// they go. Values come from the property file overrides; instance metadata
// fills in the rest.
type Identity struct {
	Account    string // the load balancer owner's account id
	LBName     string
	PublicIPv4 string
	InstanceID string // i-315dd646
	Region     string
}

// InstanceNum is the part of the instance id after "i-".
func (id Identity) InstanceNum() string {
	return strings.TrimPrefix(id.InstanceID, "i-")
}

// ExpandTemplate fills the {placeholders} of a bucket template.
func ExpandTemplate(tmpl string, id Identity) (string, error) {
	values := map[string]string{
		"lb_name":      id.LBName,
		"public_ipv4":  id.PublicIPv4,
		"instance_num": id.InstanceNum(),
		"account":      id.Account,
		"region":       id.Region,
	}
	var b strings.Builder
	rest := tmpl
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			if strings.IndexByte(rest, '}') >= 0 {
				return "", fmt.Errorf("template %q: unmatched '}'", tmpl)
			}
			b.WriteString(rest)
			return b.String(), nil
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("template %q: unmatched '{'", tmpl)
		}
		name := rest[i+1 : i+j]
		v, ok := values[name]
		if !ok {
			return "", fmt.Errorf("template %q: unknown placeholder {%s} (known: lb_name, public_ipv4, instance_num, account, region)", tmpl, name)
		}
		if v == "" {
			return "", fmt.Errorf("template %q: {%s} is not known for this node", tmpl, name)
		}
		b.WriteString(rest[:i])
		b.WriteString(v)
		rest = rest[i+j+1:]
	}
}

// Complete reports whether id says whose logs these are and names the
// bucket: the owner account (grantee of READ) and every placeholder of the
// bucket template must be known.
func Complete(id Identity, bucketTemplate string) bool {
	if id.Account == "" {
		return false
	}
	_, err := ExpandTemplate(bucketTemplate, id)
	return err == nil
}

// The shapes of identity values, for the property file and metadata.
var (
	AccountRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`)

	LBNameRE     = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,253}[A-Za-z0-9])?$`)
	InstanceIDRE = regexp.MustCompile(`^i-[0-9A-Za-z]{1,32}$`)
	RegionRE     = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$`)
)
