package uploader

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// credentialsProvider picks the source of the store's credentials, in
// order: the static keys of the property file, the shared-credentials
// file, the instance profile through the metadata service.
func credentialsProvider(opts Options) (aws.CredentialsProvider, error) {
	switch {
	case opts.AccessKeyID != "":
		return credentials.NewStaticCredentialsProvider(opts.AccessKeyID, opts.SecretAccessKey, ""), nil
	case opts.CredentialsFile != "":
		p := &fileCredentials{path: opts.CredentialsFile, profile: opts.CredentialsProfile}
		if _, err := p.Retrieve(context.Background()); err != nil {
			return nil, err
		}
		return aws.NewCredentialsCache(p), nil
	case opts.MetadataEndpoint != "":
		client := imds.New(imds.Options{Endpoint: opts.MetadataEndpoint})
		return aws.NewCredentialsCache(ec2rolecreds.New(func(o *ec2rolecreds.Options) { o.Client = client })), nil
	}
	return nil, errors.New("uploader: no credentials: set access key id and secret, a credentials file, or a metadata endpoint for the instance profile")
}

// fileCredentialsTTL is how long keys read from a credentials file are
// used before the file is read again, so rotated keys are picked up.
const fileCredentialsTTL = 5 * time.Minute

// fileCredentials reads one profile of an AWS shared-credentials file
// (INI: [profile] with aws_access_key_id, aws_secret_access_key and
// optionally aws_session_token). The file must not be readable or
// writable by group or others.
type fileCredentials struct {
	path    string
	profile string // "" means "default"
}

// Retrieve reads the file. Errors name the file and the profile, never a
// secret.
func (p *fileCredentials) Retrieve(context.Context) (aws.Credentials, error) {
	profile := p.profile
	if profile == "" {
		profile = "default"
	}
	fail := func(format string, args ...any) (aws.Credentials, error) {
		return aws.Credentials{}, fmt.Errorf("uploader: credentials file %s: %w", p.path, fmt.Errorf(format, args...))
	}
	f, err := os.Open(p.path)
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("uploader: credentials file: %w: %w", ErrCredentials, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fail("%w", err)
	}
	if mode := info.Mode().Perm(); mode&0o077 != 0 {
		return fail("%w: mode %04o gives access to group or others; chmod 600 it", ErrCredentials, mode)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return fail("%w", err)
	}
	values := map[string]string{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			if !strings.HasSuffix(line, "]") {
				return fail("line %d: unterminated section header", n)
			}
			section = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line[1:len(line)-1]), "profile "))
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				return fail("line %d: want key = value", n) // never echo the line: it may hold a secret
			}
			if section == profile {
				values[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fail("%w", err)
	}
	c := aws.Credentials{
		AccessKeyID:     values["aws_access_key_id"],
		SecretAccessKey: values["aws_secret_access_key"],
		SessionToken:    values["aws_session_token"],
		Source:          "credentials file " + p.path,
		CanExpire:       true,
		Expires:         time.Now().Add(fileCredentialsTTL),
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return fail("%w: profile [%s] needs aws_access_key_id and aws_secret_access_key", ErrCredentials, profile)
	}
	return c, nil
}

// Credentials returns the credentials provider the options name, as New
// uses it for the store, so other clients of the same cloud (the ELB API)
// sign with the same account.
func Credentials(opts Options) (aws.CredentialsProvider, error) { return credentialsProvider(opts) }

// HTTPClient returns the HTTP client New builds when Options.HTTPClient is
// nil: system roots plus opts.CABundle, verification unless
// opts.InsecureSkipVerify.
func HTTPClient(opts Options) (*http.Client, error) {
	return newHTTPClient(opts.CABundle, opts.InsecureSkipVerify)
}
