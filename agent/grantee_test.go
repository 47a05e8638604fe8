package agent

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/uploader"
)

// granteeRecorder records whom the agent asks the store to grant READ.
type granteeRecorder struct {
	*memUploader
	mu      sync.Mutex
	buckets []string // Bucket.OwnerAccount/OwnerGrantee of each Provision
	objects []string // Object.OwnerAccount/OwnerGrantee of each Put
}

func (g *granteeRecorder) Provision(ctx context.Context, b uploader.Bucket) error {
	g.mu.Lock()
	g.buckets = append(g.buckets, b.OwnerAccount+"/"+b.OwnerGrantee)
	g.mu.Unlock()
	return g.memUploader.Provision(ctx, b)
}

func (g *granteeRecorder) Put(ctx context.Context, o uploader.Object) error {
	g.mu.Lock()
	g.objects = append(g.objects, o.OwnerAccount+"/"+o.OwnerGrantee)
	g.mu.Unlock()
	return g.memUploader.Put(ctx, o)
}

// On AWS S3 the owner's account names keys ({account}) and a canonical id
// is granted READ (access_log.owner_canonical_id): the running agent sends
// that grantee on the bucket and on every object, as replay does.
func TestAgentGrantsTheOwnersCanonicalID(t *testing.T) {
	const canonical = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
	for _, grantee := range []string{"", canonical} {
		t.Run(fmt.Sprintf("grantee %q", grantee), func(t *testing.T) {
			c := testConfig(t)
			c.OwnerAccount, c.OwnerCanonicalID = "123456789012", grantee
			up := &granteeRecorder{memUploader: newMemUploader()}
			conn, cancel, done := startAgent(t, c, up)
			defer func() { cancel(); <-done }()
			fmt.Fprintf(conn, "<158>Nov 25 06:12:36 haproxy[1]: one\n")
			waitFor(t, "an upload", func() bool { return len(up.lines()) > 0 })
			up.mu.Lock()
			defer up.mu.Unlock()
			want := "123456789012/" + grantee
			if len(up.buckets) == 0 || up.buckets[0] != want {
				t.Errorf("Provision asked for %v, want %s", up.buckets, want)
			}
			if len(up.objects) == 0 || up.objects[0] != want {
				t.Errorf("Put asked for %v, want %s", up.objects, want)
			}
		})
	}
}

// testFileRecorder records whether each Provision of a user-owned bucket
// was told its test file was written before.
type testFileRecorder struct {
	*memUploader
	mu      sync.Mutex
	written []bool
}

func (r *testFileRecorder) Provision(ctx context.Context, b uploader.Bucket) error {
	if b.UserOwned {
		r.mu.Lock()
		r.written = append(r.written, b.TestFileWritten)
		r.mu.Unlock()
	}
	return r.memUploader.Provision(ctx, b)
}

// In elb-api mode the test file of a destination is written when the
// destination is first used, not at every start or daily check (issue 16
// item 18): the provisioning state remembers it across restarts.
func TestAgentWritesATestFileOncePerDestination(t *testing.T) {
	c := testConfig(t)
	c.Bucket, c.UserBucket, c.KeyPrefix = "owners-bucket", true, "p"
	c.ProvisionCheckInterval = time.Nanosecond // verify at every start
	var got []bool
	for run := 0; run < 2; run++ {
		up := &testFileRecorder{memUploader: newMemUploader()}
		conn, cancel, done := startAgent(t, c, up)
		fmt.Fprintf(conn, "<158>Nov 25 06:12:36 haproxy[1]: run %d\n", run)
		waitFor(t, "an upload", func() bool { return len(up.lines()) > 0 })
		cancel()
		<-done
		up.mu.Lock()
		got = append(got, up.written...)
		up.mu.Unlock()
	}
	if len(got) < 2 || got[0] || !got[len(got)-1] {
		t.Errorf("TestFileWritten of each provisioning: %v, want false the first time, true after the restart", got)
	}
}
