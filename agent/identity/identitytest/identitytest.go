// Package identitytest serves instance metadata to tests: an in-process
// fake (FakeIMDS) and the test bed's ec2-metadata-mock (StartMock).
package identitytest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

// FakeIMDS serves meta-data paths from a map. TokenStatus is what the
// token PUT answers: 200 gives a token that every GET must then carry
// (IMDSv2 required), anything else refuses the PUT and GETs need no token
// (Eucalyptus: IMDSv1 only).
type FakeIMDS struct {
	Values      map[string]string
	TokenStatus int

	mu        sync.Mutex // guards down and the counts
	down      bool       // every request answers 500
	puts      int
	gets      int
	tokenGets int // GETs that carried a token
}

const fakeToken = "tok-123"

// SetDown makes every request answer 500 (down) or be served again.
func (f *FakeIMDS) SetDown(down bool) {
	f.mu.Lock()
	f.down = down
	f.mu.Unlock()
}

// Counts returns the token PUTs, the GETs and the GETs that carried a
// token so far.
func (f *FakeIMDS) Counts() (puts, gets, tokenGets int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.puts, f.gets, f.tokenGets
}

// ServeHTTP answers like the metadata service.
func (f *FakeIMDS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	if r.URL.Path == "/latest/api/token" {
		f.puts++
		if r.Method != http.MethodPut {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		if f.TokenStatus != http.StatusOK {
			w.WriteHeader(f.TokenStatus)
			return
		}
		w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")
		w.Write([]byte(fakeToken))
		return
	}
	f.gets++
	tok := r.Header.Get("X-Aws-Ec2-Metadata-Token")
	if tok != "" {
		f.tokenGets++
	}
	if f.TokenStatus == http.StatusOK && tok != fakeToken {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if f.TokenStatus != http.StatusOK && tok != "" {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/latest/meta-data/")
	v, ok := f.Values[path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Write([]byte(v))
}

// EucaValues are what a Eucalyptus load balancer VM sees (EDGE network).
func EucaValues() map[string]string {
	return map[string]string{
		"instance-id":                 "i-315dd646",
		"security-groups":             "default\neuca-internal-123456789012-my-web-lb\nother",
		"public-ipv4":                 "203.0.113.10",
		"local-ipv4":                  "10.0.0.5",
		"placement/availability-zone": "one",
	}
}

// StartMock runs the bed's amazon-ec2-metadata-mock on a free
// loopback port with values (the mock's "metadata.values" keys), IMDSv2
// required when v2only, and returns its URL. It is stopped at the end of t.
func StartMock(t testing.TB, env testbed.Env, values map[string]any, v2only bool) string {
	t.Helper()
	if env.MetadataMock == "" {
		testbed.Skip(t, "ec2-metadata-mock not found (TESTBED_METADATA_MOCK)")
	}
	dir := t.TempDir()
	cfg, err := json.Marshal(map[string]any{"metadata": map[string]any{"values": values}})
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "aemm.json")
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	args := []string{"-n", "127.0.0.1", "-p", fmt.Sprint(port), "-c", cfgPath}
	if v2only {
		args = append(args, "-I")
	}
	cmd := exec.Command(env.MetadataMock, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url + "/latest/meta-data/instance-id")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return url
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("metadata mock did not answer on %s: %v\n%s", url, err, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// EucaMockValues are Eucalyptus-like: a load balancer VM of account
// 123456789012 whose LB name has dashes, outside a VPC.
func EucaMockValues() map[string]any {
	return map[string]any{
		"instance-id":                 "i-315dd646",
		"security-groups":             "default\neuca-internal-123456789012-my-web-lb",
		"public-ipv4":                 "203.0.113.10",
		"local-ipv4":                  "10.0.0.5",
		"placement-availability-zone": "one",
		"placement-region":            "eucalyptus",
		"mac-vpc-id":                  "",
	}
}
