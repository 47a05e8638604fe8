package agent

import (
	"fmt"
	"strings"
)

// Identity names this load-balancer node: whose logs these are and where
// they go. Values come from the property file overrides; instance metadata
// fills in the rest (see the configuration issue).
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

// identityFromConfig takes the identity overrides of the property file.
func identityFromConfig(c *Config) Identity {
	return Identity{
		Account:    c.OwnerAccount,
		LBName:     c.LBName,
		PublicIPv4: c.NodeIP,
		InstanceID: c.InstanceID,
		Region:     c.Region,
	}
}

// expandTemplate fills the {placeholders} of a bucket template.
func expandTemplate(tmpl string, id Identity) (string, error) {
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
