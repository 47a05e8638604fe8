package main

import (
	"github.com/elb-access-logger/elb-access-logger/agent"
	"github.com/elb-access-logger/elb-access-logger/uploader"
)

// uploaderOptions maps the objectstorage.* keys to the uploader's options.
func uploaderOptions(cfg *agent.Config) uploader.Options {
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
	}
}

// newUploader returns the object-store client the configuration names. Its
// errors are configuration errors (bad endpoint, unreadable CA bundle,
// credentials file with a loose mode).
func newUploader(cfg *agent.Config) (*uploader.Client, error) {
	return uploader.New(uploaderOptions(cfg))
}
