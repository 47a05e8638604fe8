package uploader

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const credsFile = `# comment
[default]
aws_access_key_id = FILEKEY
aws_secret_access_key = FILESECRET

[other]
aws_access_key_id = OTHERKEY
aws_secret_access_key = OTHERSECRET
aws_session_token = OTHERTOKEN
`

func TestFileCredentials(t *testing.T) {
	tests := []struct {
		name, content string
		mode          os.FileMode
		profile       string
		wantKey       string
		wantErr       string
	}{
		{"default profile", credsFile, 0o600, "", "FILEKEY", ""},
		{"named profile", credsFile, 0o400, "other", "OTHERKEY", ""},
		{"profile keyword", "[profile other]\naws_access_key_id=K\naws_secret_access_key=S\n", 0o600, "other", "K", ""},
		{"group readable", credsFile, 0o640, "", "", "mode 0640 gives access to group or others; chmod 600"},
		{"world readable", credsFile, 0o644, "", "", "mode 0644"},
		{"missing profile", credsFile, 0o600, "nope", "", "profile [nope] needs aws_access_key_id and aws_secret_access_key"},
		{"bad line", "[default]\naws_secret_access_key FILESECRET\n", 0o600, "", "", "line 2: want key = value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "credentials")
			if err := os.WriteFile(path, []byte(tt.content), tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			_, err := New(Options{Region: "us-east-1", CredentialsFile: path, CredentialsProfile: tt.profile})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
					t.Fatalf("New: got %v, want an error naming %s and %q", err, path, tt.wantErr)
				}
				if strings.Contains(err.Error(), "SECRET") {
					t.Errorf("error shows a secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			c, err := (&fileCredentials{path: path, profile: tt.profile}).Retrieve(context.Background())
			if err != nil || c.AccessKeyID != tt.wantKey {
				t.Errorf("Retrieve: got %q, %v; want %q", c.AccessKeyID, err, tt.wantKey)
			}
		})
	}
}

func TestCredentialsFileSignsRequests(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(path, []byte(credsFile), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newFakeS3("FILEKEY")
	f.buckets["bkt"] = true
	c := newTestClient(t, f, func(o *Options) { o.AccessKeyID, o.SecretAccessKey, o.CredentialsFile = "", "", path })
	if err := c.Put(context.Background(), Object{Bucket: "bkt", Key: "k", Body: strings.NewReader("x"), Size: 1}); err != nil {
		t.Fatalf("Put with file credentials: %v", err)
	}
}

// The instance profile is read through the metadata service when neither
// keys nor a file are configured, and its session token is sent. IMDSv2
// is tried first; Eucalyptus serves only v1 (the token PUT is refused).
func TestInstanceProfileCredentials(t *testing.T) {
	tests := []struct {
		name, signature string
		v1only          bool
	}{
		{"v4, IMDSv2", SignatureV4, false},
		{"v2, IMDSv2", SignatureV2, false},
		{"v4, IMDSv1 only", SignatureV4, true},
	}
	for _, tt := range tests {
		sig := tt.signature
		t.Run(tt.name, func(t *testing.T) {
			imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet && !tt.v1only && r.Header.Get("X-Aws-Ec2-Metadata-Token") != "imds-token" {
					http.Error(w, "token required", http.StatusUnauthorized)
					return
				}
				switch r.Method + " " + r.URL.Path {
				case "PUT /latest/api/token":
					if tt.v1only {
						http.Error(w, "not here", http.StatusForbidden)
						return
					}
					w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")
					w.Write([]byte("imds-token"))
				case "GET /latest/meta-data/iam/security-credentials/":
					w.Write([]byte("loadbalancer-vm-role"))
				case "GET /latest/meta-data/iam/security-credentials/loadbalancer-vm-role":
					json.NewEncoder(w).Encode(map[string]string{
						"Code": "Success", "AccessKeyId": "ROLEKEY", "SecretAccessKey": "ROLESECRET",
						"Token": "ROLETOKEN", "Expiration": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
					})
				default:
					http.NotFound(w, r)
				}
			}))
			t.Cleanup(imds.Close)
			f := newFakeS3("ROLEKEY")
			f.buckets["bkt"] = true
			c := newTestClient(t, f, func(o *Options) {
				o.AccessKeyID, o.SecretAccessKey, o.MetadataEndpoint, o.Signature = "", "", imds.URL, sig
			})
			if err := c.Put(context.Background(), Object{Bucket: "bkt", Key: "k", Body: strings.NewReader("x"), Size: 1}); err != nil {
				t.Fatalf("Put with instance profile: %v", err)
			}
			if got := f.last("PUT /bkt/k").Header.Get("X-Amz-Security-Token"); got != "ROLETOKEN" {
				t.Errorf("x-amz-security-token: got %q, want ROLETOKEN", got)
			}
		})
	}
}

func TestNoCredentials(t *testing.T) {
	_, err := New(Options{Region: "us-east-1"})
	if err == nil || !strings.Contains(err.Error(), "no credentials") {
		t.Fatalf("New without any credentials source: got %v", err)
	}
}

func TestOptionsNeverShowSecrets(t *testing.T) {
	o := Options{Region: "r", AccessKeyID: "AKID", SecretAccessKey: "TOPSECRET"}
	for _, s := range []string{o.String(), o.LogValue().String()} {
		if strings.Contains(s, "TOPSECRET") || !strings.Contains(s, "AKID") {
			t.Errorf("options printed as %q: want the key id and no secret", s)
		}
	}
}
