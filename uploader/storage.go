package uploader

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Values of Storage.SSE.
const (
	SSENone   = "none"
	SSEAES256 = "AES256"  // SSE-S3: keys the store manages
	SSEKMS    = "aws:kms" // SSE-KMS: a key of the store's key service
)

// Storage is how the store keeps every object the client writes: sent on
// each PutObject and CreateMultipartUpload. The zero value asks for
// nothing: the bucket's default encryption and the standard class.
type Storage struct {
	// SSE is server-side encryption: "" or SSENone, SSEAES256 or SSEKMS.
	SSE string
	// SSEKMSKeyID names the key of SSEKMS; empty is the store's default
	// key (AWS: aws/s3). Only with SSEKMS.
	SSEKMSKeyID string
	// StorageClass is sent as x-amz-storage-class when set: STANDARD,
	// STANDARD_IA, ... or a class the store defines (radosgw placement
	// targets).
	StorageClass string
}

// storageClassRE is what S3 and radosgw accept as a class name.
var storageClassRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,63}$`)

// Check reports what is wrong with s, naming the setting.
func (s Storage) Check() error {
	switch s.SSE {
	case "", SSENone, SSEAES256, SSEKMS:
	default:
		return fmt.Errorf("server-side encryption %q is not %s, %s or %s", s.SSE, SSENone, SSEAES256, SSEKMS)
	}
	if s.SSEKMSKeyID != "" && s.SSE != SSEKMS {
		return fmt.Errorf("a KMS key id is set but server-side encryption is %q, not %s", s.sse(), SSEKMS)
	}
	if strings.ContainsAny(s.SSEKMSKeyID, " \t\r\n") {
		return fmt.Errorf("KMS key id %q has white space", s.SSEKMSKeyID)
	}
	if s.StorageClass != "" && !storageClassRE.MatchString(s.StorageClass) {
		return fmt.Errorf("storage class %q: want upper-case letters, digits and '_', such as STANDARD or STANDARD_IA", s.StorageClass)
	}
	return nil
}

func (s Storage) sse() string {
	if s.SSE == "" {
		return SSENone
	}
	return s.SSE
}

// String says what is asked of the store, for the dry-run plan and
// --check-config.
func (s Storage) String() string {
	var parts []string
	switch s.sse() {
	case SSENone:
		parts = append(parts, "no server-side encryption asked (the bucket's default applies)")
	case SSEKMS:
		key := s.SSEKMSKeyID
		if key == "" {
			key = "the store's default key"
		}
		parts = append(parts, "server-side encryption aws:kms with "+key)
	default:
		parts = append(parts, "server-side encryption "+s.SSE)
	}
	if s.StorageClass != "" {
		parts = append(parts, "storage class "+s.StorageClass)
	} else {
		parts = append(parts, "the store's standard storage class")
	}
	return strings.Join(parts, ", ")
}

// headers returns the request fields of s.
func (s Storage) headers() (sse types.ServerSideEncryption, kmsKey *string, class types.StorageClass) {
	if s.sse() != SSENone {
		sse = types.ServerSideEncryption(s.SSE)
	}
	if s.SSE == SSEKMS && s.SSEKMSKeyID != "" {
		kmsKey = aws.String(s.SSEKMSKeyID)
	}
	return sse, kmsKey, types.StorageClass(s.StorageClass)
}
