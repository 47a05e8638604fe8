package main

import (
	"fmt"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"log/slog"

	"github.com/elb-access-logger/elb-access-logger/agent/control"
	"github.com/elb-access-logger/elb-access-logger/uploader"
)

// uploaderOptions maps the objectstorage.* keys to the uploader's options.
func uploaderOptions(cfg *config.Config) uploader.Options {
	return uploader.Options{
		Endpoint:           cfg.StoreEndpoint,
		Region:             cfg.SigningRegion(),
		Signature:          cfg.Signature,
		PathStyle:          cfg.PathStyle,
		BucketNaming:       cfg.BucketNaming,
		AccessKeyID:        cfg.AccessKeyID,
		SecretAccessKey:    cfg.SecretAccessKey,
		CredentialsFile:    cfg.CredentialsFile,
		MetadataEndpoint:   cfg.MetadataEndpoint,
		CABundle:           cfg.CABundle,
		InsecureSkipVerify: cfg.InsecureSkipTLS,

		UploaderID:          cfg.UploaderID,
		ExpectedBucketOwner: cfg.ExpectedBucketOwner,
		Storage:             cfg.Storage(),
		PartSize:            cfg.PartSizeBytes,
		TempDir:             cfg.SpoolDir,
	}
}

// newUploader returns the object-store client the configuration names. Its
// errors are configuration errors (bad endpoint, unreadable CA bundle,
// credentials file with a loose mode). The options are logged without
// secrets.
func newUploader(cfg *config.Config, log *slog.Logger) (*uploader.Client, error) {
	opts := uploaderOptions(cfg)
	up, err := uploader.New(opts)
	if err != nil {
		return nil, err
	}
	log.Debug("object store", "options", opts)
	if opts.InsecureSkipVerify {
		log.Warn("TLS certificates of the object store are not verified (objectstorage.insecure_skip_verify = true)")
	}
	return up, nil
}

// newELBClient returns the ELB API client of access_log.source = elb-api,
// signing for region with the store's credentials and trusting the store's
// CA bundle.
// The client is built in every mode (it makes no request until elb-api
// mode polls), so a reload may switch the source.
func newELBClient(cfg *config.Config, region string) (*control.ELBClient, error) {
	opts := uploaderOptions(cfg)
	creds, err := uploader.Credentials(opts)
	if err != nil {
		return nil, fmt.Errorf("elb api: %w", err)
	}
	hc, err := uploader.HTTPClient(opts)
	if err != nil {
		return nil, fmt.Errorf("elb api: %w", err)
	}
	return control.NewELBClient(cfg.ELBEndpoint, region, creds, hc), nil
}
