package ship

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/agent/spool"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/elb-access-logger/elb-access-logger/uploader"
)

// ProvisionStateFile, in the spool directory, remembers the bucket
// settings the agent last verified on the store and when, so that a
// restart with the same settings makes no provisioning call at all. It is
// small JSON, replaced atomically; the spool ignores it.
const ProvisionStateFile = "provisioned.json"

// ProvisionState is the content of ProvisionStateFile.
type ProvisionState struct {
	Settings string    `json:"settings"` // ProvisionSettings of what was verified
	Bucket   string    `json:"bucket"`   // for a reader; Settings decides
	Verified time.Time `json:"verified"` // when the store last matched them
	// Uploader is the uploading account's canonical id, when the
	// uploader learnt it (UploaderIdentity): a restart need not ask again.
	Uploader string `json:"uploader,omitempty"`
	// TestFiles lists the user-owned destinations (TestFileDest) whose
	// test file the agent wrote: written once, when the destination is
	// first enabled, as AWS does; kept whatever is verified later.
	TestFiles []string `json:"test_files,omitempty"`
}

// TestFileDest names the destination of a user-owned bucket's test file
// in ProvisionState.TestFiles.
func TestFileDest(b uploader.Bucket) string { return b.Name + "/" + b.Prefix }

// WroteTestFile reports whether st lists the test file of b.
func (st ProvisionState) WroteTestFile(b uploader.Bucket) bool {
	return slices.Contains(st.TestFiles, TestFileDest(b))
}

// UploaderIdentity is implemented by an Uploader that learns the uploading
// account's id from the store (uploader.Client does, from the bucket ACL).
// The agent keeps the id with the verified bucket, so that the first PUT
// after a restart is not preceded by a read of the bucket ACL.
type UploaderIdentity interface {
	UploaderID() string
	SetUploaderID(id string)
}

// ProvisionSettings is a hash of everything provisioning makes true of a
// bucket, and of the store it is on: when it changes, the bucket is
// provisioned again.
func ProvisionSettings(b uploader.Bucket, cfg *config.Config) string {
	j, _ := json.Marshal(struct {
		Bucket               uploader.Bucket
		Endpoint, Region     string
		Naming, AccessKeyID  string
		CredentialsFile      string
		SchemaVersionOfState int
	}{b, cfg.StoreEndpoint, cfg.SigningRegion(), cfg.BucketNaming, cfg.AccessKeyID, cfg.CredentialsFile, 1})
	sum := sha256.Sum256(j)
	return hex.EncodeToString(sum[:])
}

// Fresh reports whether st says the bucket with settings was verified
// less than interval before now. A time in the future (a clock that went
// back) does not count.
func (st ProvisionState) Fresh(settings string, now time.Time, interval time.Duration) bool {
	age := now.Sub(st.Verified)
	return st.Settings == settings && age >= -time.Minute && age < interval
}

// ReadProvisionState reads the state file of the spool directory dir. A
// missing file is the zero state and no error.
func ReadProvisionState(fsys spool.FS, dir string) (ProvisionState, error) {
	var st ProvisionState
	b, err := spool.ReadFile(fsys, dir, ProvisionStateFile)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read provisioning state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return ProvisionState{}, fmt.Errorf("read provisioning state %s: %w", filepath.Join(dir, ProvisionStateFile), err)
	}
	return st, nil
}

// WriteProvisionState replaces the state file of dir atomically
// (spool.WriteFileAtomic): a crash leaves the old state or the new one,
// never a torn one.
func WriteProvisionState(fsys spool.FS, dir string, st ProvisionState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("write provisioning state: %w", err)
	}
	if err := spool.WriteFileAtomic(fsys, dir, ProvisionStateFile, append(b, '\n')); err != nil {
		return fmt.Errorf("provisioning state: %w", err)
	}
	return nil
}
