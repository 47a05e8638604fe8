package main

import (
	"context"
	"log/slog"
	"sync"

	"github.com/elb-access-logger/elb-access-logger/agent"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/agent/control"
	"github.com/elb-access-logger/elb-access-logger/agent/identity"
	"github.com/elb-access-logger/elb-access-logger/uploader"
)

// lateRegion reports whether the signing region comes from the identity
// resolved at run time: neither objectstorage.region nor access_log.region
// is set, so instance metadata names it (docs/configuration.md). Until it
// does, requests are signed for us-east-1; uploads wait for the identity
// anyway.
func lateRegion(cfg *config.Config) bool { return cfg.StoreRegion == "" && cfg.Region == "" }

// regionalStore is the object-store client, built again for another
// signing region (SetRegion). It forwards what the agent asks of an
// uploader, and the uploading account's id across rebuilds.
type regionalStore struct {
	opts uploader.Options
	// mu guards c: the client of opts.Region.
	mu sync.RWMutex
	c  *uploader.Client
}

var _ agent.Uploader = (*regionalStore)(nil)

// SetRegion makes requests from now on be signed for region.
func (s *regionalStore) SetRegion(region string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if region == "" || region == s.opts.Region {
		return nil
	}
	opts := s.opts
	opts.Region = region
	c, err := uploader.New(opts)
	if err != nil {
		return err
	}
	if id := s.c.UploaderID(); id != "" {
		c.SetUploaderID(id)
	}
	s.opts, s.c = opts, c
	return nil
}

func (s *regionalStore) client() *uploader.Client {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.c
}

func (s *regionalStore) Provision(ctx context.Context, b uploader.Bucket) error {
	return s.client().Provision(ctx, b)
}

func (s *regionalStore) Put(ctx context.Context, o uploader.Object) error {
	return s.client().Put(ctx, o)
}

func (s *regionalStore) UploaderID() string      { return s.client().UploaderID() }
func (s *regionalStore) SetUploaderID(id string) { s.client().SetUploaderID(id) }

// regionalELB is the ELB API client, built again for another signing
// region (SetRegion).
type regionalELB struct {
	build func(region string) (*control.ELBClient, error)
	// mu guards region and c.
	mu     sync.RWMutex
	region string
	c      *control.ELBClient
}

var _ control.AccessLogSource = (*regionalELB)(nil)

func (e *regionalELB) SetRegion(region string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if region == "" || region == e.region {
		return nil
	}
	c, err := e.build(region)
	if err != nil {
		return err
	}
	e.region, e.c = region, c
	return nil
}

func (e *regionalELB) AccessLog(ctx context.Context, lbName string) (control.AccessLog, error) {
	e.mu.RLock()
	c := e.c
	e.mu.RUnlock()
	return c.AccessLog(ctx, lbName)
}

// followRegion re-points both clients at the region of each identity the
// agent resolves, when the configuration leaves the region to it.
func followRegion(cfg *config.Config, store *regionalStore, elb *regionalELB, log *slog.Logger) func(identity.Identity) {
	return func(id identity.Identity) {
		if !lateRegion(cfg) || id.Region == "" {
			return
		}
		for _, c := range []interface{ SetRegion(string) error }{store, elb} {
			if err := c.SetRegion(id.Region); err != nil {
				log.Error("cannot sign for the identity's region", "region", id.Region, "err", err)
			}
		}
	}
}
