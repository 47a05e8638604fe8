package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/agent/control"
	"github.com/elb-access-logger/elb-access-logger/agent/identity"
	"github.com/elb-access-logger/elb-access-logger/uploader"
)

// TestStoreSignsForTheIdentitysRegion: with no region in the property
// file, requests to the store are signed for the region of the identity
// the agent resolves (instance metadata), not for us-east-1 (issue 16,
// item 15); a region the file sets stays.
func TestStoreSignsForTheIdentitysRegion(t *testing.T) {
	var mu sync.Mutex
	var scopes []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		scopes = append(scopes, r.Header.Get("Authorization"))
		mu.Unlock()
	}))
	defer srv.Close()
	lastScope := func() string {
		mu.Lock()
		defer mu.Unlock()
		return scopes[len(scopes)-1]
	}
	put := func(s *regionalStore) {
		s.Put(context.Background(), uploader.Object{Bucket: "b", Key: "k", Body: strings.NewReader("x"), Size: 1, CannedACL: uploader.CannedACLBucketOwnerFullControl})
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tt := range []struct {
		name, fileRegion, want string
	}{
		{"region from the identity", "", "/eu-1/s3/"},
		{"region set in the file", "us-west-2", "/us-west-2/s3/"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.DefaultConfig()
			cfg.StoreEndpoint, cfg.AccessKeyID, cfg.SecretAccessKey, cfg.Region = srv.URL, "AKID", "secret", tt.fileRegion
			up, err := newUploader(cfg, quiet)
			if err != nil {
				t.Fatal(err)
			}
			store := &regionalStore{opts: uploaderOptions(cfg), c: up}
			elb := &regionalELB{build: func(region string) (*control.ELBClient, error) { return newELBClient(cfg, region) }}
			if err := elb.SetRegion(cfg.SigningRegion()); err != nil {
				t.Fatal(err)
			}
			put(store)
			if before := cfg.SigningRegion(); !strings.Contains(lastScope(), "/"+before+"/s3/") {
				t.Fatalf("before the identity: %q, want signed for %s", lastScope(), before)
			}
			followRegion(cfg, store, elb, quiet)(identity.Identity{Region: "eu-1"})
			put(store)
			if !strings.Contains(lastScope(), tt.want) {
				t.Errorf("after the identity: %q, want the scope %s", lastScope(), tt.want)
			}
			wantELB := strings.Trim(strings.TrimSuffix(tt.want, "s3/"), "/")
			if elb.region != wantELB {
				t.Errorf("ELB API client: region %q, want %q", elb.region, wantELB)
			}
		})
	}
}
