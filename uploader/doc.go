// Package uploader owns everything that speaks S3: the client for an
// S3-compatible object store (AWS, Ceph radosgw, Eucalyptus OSG), bucket
// provisioning, object keys and PutObject.
//
// Callers never import the AWS SDK: errors that callers branch on are
// translated here into the sentinels of this package.
package uploader
