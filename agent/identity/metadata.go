package identity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// MetadataClient reads this node's identity from the instance metadata
// service. It uses IMDSv2 (a session token from PUT /latest/api/token) and
// falls back to IMDSv1 when the token PUT is refused with 403, 404 or 405,
// as Eucalyptus does: the SDK's imds client does this itself (its token
// provider disables itself on those codes and re-enables on a 401).
type MetadataClient struct {
	c *imds.Client
}

// NewMetadataClient returns a client of the service at endpoint (such as
// http://169.254.169.254). timeout bounds each HTTP request. The client
// does not retry: the agent retries whole lookups with its own backoff.
// The SDK's AWS_EC2_METADATA_* environment variables do not apply.
func NewMetadataClient(endpoint string, timeout time.Duration) *MetadataClient {
	return &MetadataClient{c: imds.New(imds.Options{
		Endpoint:          endpoint,
		ClientEnableState: imds.ClientEnabled,
		EnableFallback:    aws.TrueTernary,
		HTTPClient:        awshttp.NewBuildableClient().WithTimeout(timeout),
		Retryer:           aws.NopRetryer{},
	})}
}

// errNoMetadata marks a metadata path the service does not have (404).
var errNoMetadata = errors.New("not in instance metadata")

// get returns the trimmed text at a meta-data path.
func (m *MetadataClient) get(ctx context.Context, path string) (string, error) {
	out, err := m.c.GetMetadata(ctx, &imds.GetMetadataInput{Path: path})
	if err != nil {
		var se interface{ HTTPStatusCode() int }
		if errors.As(err, &se) && se.HTTPStatusCode() == 404 {
			return "", fmt.Errorf("metadata %s: %w", path, errNoMetadata)
		}
		return "", fmt.Errorf("metadata %s: %w", path, err)
	}
	defer out.Content.Close()
	b, err := io.ReadAll(io.LimitReader(out.Content, 64<<10))
	if err != nil {
		return "", fmt.Errorf("metadata %s: %w", path, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// getOptional is get with a missing path reported as "".
func (m *MetadataClient) getOptional(ctx context.Context, path string) (string, error) {
	v, err := m.get(ctx, path)
	if errors.Is(err, errNoMetadata) {
		return "", nil
	}
	return v, err
}

// Fill returns id with its empty fields read from the metadata service;
// fields already set (property file overrides) are kept and not looked
// up. The error names the first lookup that failed.
func (m *MetadataClient) Fill(ctx context.Context, id Identity) (Identity, error) {
	var err error
	if id.InstanceID == "" {
		if id.InstanceID, err = m.get(ctx, "instance-id"); err != nil {
			return id, err
		}
	}
	if id.Account == "" || id.LBName == "" {
		account, name, err := m.loadBalancer(ctx)
		if err != nil {
			return id, err
		}
		if id.Account == "" {
			id.Account = account
		}
		if id.LBName == "" {
			id.LBName = name
		}
	}
	if id.PublicIPv4 == "" {
		if id.PublicIPv4, err = m.nodeIP(ctx); err != nil {
			return id, err
		}
	}
	if id.Region == "" {
		if id.Region, err = m.region(ctx); err != nil {
			return id, err
		}
	}
	return id, nil
}

// loadBalancer finds the owner's account and the LB name: from the
// security group euca-internal-{account}-{lb_name}, else from the instance
// profile .../loadbalancer-vm-{account}-{lb_name} in iam/info.
func (m *MetadataClient) loadBalancer(ctx context.Context) (account, name string, err error) {
	groups, err := m.getOptional(ctx, "security-groups")
	if err != nil {
		return "", "", err
	}
	if account, name, ok := fromSecurityGroups(groups); ok {
		return account, name, nil
	}
	info, err := m.c.GetIAMInfo(ctx, &imds.GetIAMInfoInput{})
	var se interface{ HTTPStatusCode() int }
	switch {
	case errors.As(err, &se) && se.HTTPStatusCode() == 404:
	case err != nil:
		return "", "", fmt.Errorf("metadata iam/info: %w", err)
	default:
		if account, name, ok := fromInstanceProfile(info.InstanceProfileArn); ok {
			return account, name, nil
		}
	}
	return "", "", fmt.Errorf("metadata: no security group euca-internal-{account}-{lb_name} (have %q) and no instance profile .../loadbalancer-vm-{account}-{lb_name} in iam/info; set access_log.owner_account and access_log.lb_name", strings.ReplaceAll(groups, "\n", " "))
}

// fromSecurityGroups picks the group euca-internal-{account}-{lb_name}
// among the instance's groups (one per line). The account is the part up
// to the first '-': LB names may contain '-', account ids do not.
func fromSecurityGroups(groups string) (account, name string, ok bool) {
	for _, g := range strings.Fields(groups) {
		rest, found := strings.CutPrefix(g, "euca-internal-")
		if !found {
			continue
		}
		if account, name, ok := splitAccountName(rest); ok {
			return account, name, true
		}
	}
	return "", "", false
}

// fromInstanceProfile reads an ARN such as
// arn:aws:iam::123:instance-profile/internal/loadbalancer/loadbalancer-vm-{account}-{lb_name}.
func fromInstanceProfile(arn string) (account, name string, ok bool) {
	_, res, found := strings.Cut(arn, ":instance-profile/")
	if !found {
		return "", "", false
	}
	last := res[strings.LastIndexByte(res, '/')+1:]
	rest, found := strings.CutPrefix(last, "loadbalancer-vm-")
	if !found {
		return "", "", false
	}
	return splitAccountName(rest)
}

func splitAccountName(s string) (account, name string, ok bool) {
	account, name, _ = strings.Cut(s, "-")
	if !AccountRE.MatchString(account) || !LBNameRE.MatchString(name) {
		return "", "", false
	}
	return account, name, true
}

// nodeIP is the address this node is reached at. In a VPC (an interface
// has a vpc-id) it is the user-facing interface's first public-ipv4s, else
// its first local-ipv4s; the user-facing interface is the one with the
// highest device-number (a Eucalyptus VPC load balancer carries its
// system interface as device 0 and the one in the user's subnet after it;
// with one interface it is that one). Outside a VPC it is public-ipv4,
// else local-ipv4 (a node without a public address).
func (m *MetadataClient) nodeIP(ctx context.Context) (string, error) {
	macs, err := m.getOptional(ctx, "network/interfaces/macs/")
	if err != nil {
		return "", err
	}
	type iface struct {
		mac    string
		device int
	}
	var vpc []iface
	for _, mac := range strings.Fields(macs) {
		mac = strings.TrimSuffix(mac, "/")
		base := "network/interfaces/macs/" + mac + "/"
		vpcID, err := m.getOptional(ctx, base+"vpc-id")
		if err != nil {
			return "", err
		}
		if vpcID == "" {
			continue
		}
		dev, err := m.getOptional(ctx, base+"device-number")
		if err != nil {
			return "", err
		}
		n, _ := strconv.Atoi(dev)
		vpc = append(vpc, iface{mac, n})
	}
	candidates := []string{"public-ipv4", "local-ipv4"}
	if len(vpc) > 0 {
		sort.Slice(vpc, func(i, j int) bool { return vpc[i].device > vpc[j].device })
		base := "network/interfaces/macs/" + vpc[0].mac + "/"
		candidates = []string{base + "public-ipv4s", base + "local-ipv4s"}
	}
	for _, path := range candidates {
		v, err := m.getOptional(ctx, path)
		if err != nil {
			return "", err
		}
		if f := strings.Fields(v); len(f) > 0 {
			return f[0], nil
		}
	}
	return "", fmt.Errorf("metadata: no address in %s; set access_log.node_ip", strings.Join(candidates, " or "))
}

// region is placement/region, else the availability zone without its
// letter (us-east-1a), else "": the signing region then falls back to
// us-east-1 unless objectstorage.region or access_log.region is set.
func (m *MetadataClient) region(ctx context.Context) (string, error) {
	r, err := m.getOptional(ctx, "placement/region")
	if err != nil || r != "" {
		return r, err
	}
	az, err := m.getOptional(ctx, "placement/availability-zone")
	if err != nil {
		return "", err
	}
	if m := azRegionRE.FindStringSubmatch(az); m != nil {
		return m[1], nil
	}
	return "", nil
}

// azRegionRE takes the region out of an AWS-style zone name (us-east-1a).
// Eucalyptus zones are cluster names (one, PARTI00) that carry no region.
var azRegionRE = regexp.MustCompile(`^([a-z]+(?:-[a-z]+)+-[0-9]+)[a-z]$`)
