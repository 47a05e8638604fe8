package uploader

import "fmt"

// Plan lists, one line per call and without making any, what Provision
// does for b: for --dry-run. It holds no secret; the uploading account's
// id, known only after a request, is shown as <uploader>.
func (b Bucket) Plan() []string {
	acl := "put bucket acl " + b.Name + ": FULL_CONTROL id=<uploader>"
	if g := b.grantee(); g != "" {
		acl += ", READ id=" + g
	}
	out := []string{"create bucket " + b.Name + " if missing", "check that the uploader's account (ListBuckets' owner, or configured) owns " + b.Name + ", else stop", acl}
	if b.LifecycleDays > 0 {
		out = append(out, fmt.Sprintf("lifecycle %s: rule %s expires the objects under prefix %q after %d days, and their incomplete multipart uploads after a day (other objects and rules kept)", b.Name, LifecycleRuleID, b.LifecyclePrefix(), b.LifecycleDays))
	} else {
		out = append(out, fmt.Sprintf("lifecycle %s: remove rule %s if present (other rules kept)", b.Name, LifecycleRuleID))
	}
	if b.OwnerAccount != "" {
		out = append(out, "put and read back "+b.Name+"/"+TestFileKey(b.Prefix, b.OwnerAccount))
	}
	return out
}

// Plan describes the PutObject that Put makes for o, for --dry-run.
func (o Object) Plan() string {
	grants := "x-amz-grant-full-control: id=<uploader>"
	if g := o.grantee(); g != "" {
		grants = "x-amz-grant-read: id=" + g + ", " + grants
	}
	return fmt.Sprintf("put %s/%s (%d bytes, Content-Type: text/plain, Content-MD5, %s)", o.Bucket, o.Key, o.Size, grants)
}
