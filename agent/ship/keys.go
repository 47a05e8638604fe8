package ship

import (
	"fmt"

	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/agent/identity"
	"github.com/elb-access-logger/elb-access-logger/agent/spool"
	"github.com/elb-access-logger/elb-access-logger/uploader"
)

// Destination is where a sealed segment goes: the bucket and how keys are
// laid out in it. Segments sealed under earlier settings (elb-api mode)
// are pinned to theirs; its JSON form is kept in elb-api-state.json.
type Destination struct {
	Bucket    string `json:"bucket"`
	Prefix    string `json:"prefix"`
	KeyLayout string `json:"key_layout"`
	UserOwned bool   `json:"user_owned"`
	// Gzip: objects are gzip files, their keys end in .log.gz
	// (access_log.compression = gzip).
	Gzip bool `json:"gzip,omitempty"`
}

// DestOf is where segments sealed under cfg go, bucket being cfg's bucket
// template expanded.
func DestOf(cfg *config.Config, bucket string) Destination {
	return Destination{Bucket: bucket, Prefix: cfg.KeyPrefix, KeyLayout: cfg.KeyLayout, UserOwned: cfg.UserBucket,
		Gzip: cfg.Compression == config.CompressionGzip}
}

// ObjectKey is the key a sealed segment is uploaded under in dest. It
// depends only on the segment's name, dest and the node's identity id, so
// a re-upload after a crash uses the same key. A gzip destination's keys
// end in .log.gz.
func ObjectKey(dest Destination, id identity.Identity, seg spool.Segment) (string, error) {
	key, err := plainKey(dest, id, seg)
	if err == nil && dest.Gzip {
		key += ".gz"
	}
	return key, err
}

func plainKey(dest Destination, id identity.Identity, seg spool.Segment) (string, error) {
	if dest.KeyLayout != uploader.KeyLayoutAWS {
		return uploader.SeedKey(seg.End), nil
	}
	for _, f := range []struct{ name, v string }{
		{"account", id.Account}, {"region", id.Region}, {"lb_name", id.LBName}, {"node ip", id.PublicIPv4},
	} {
		if f.v == "" {
			return "", fmt.Errorf("access_log.key_layout aws: the %s of this node is not known yet", f.name)
		}
	}
	return uploader.AWSKey(uploader.AWSKeyParams{
		Prefix:  dest.Prefix,
		Account: id.Account,
		Region:  id.Region,
		LBName:  id.LBName,
		End:     seg.End,
		NodeIP:  id.PublicIPv4,
		Random:  seg.Rand,
	}), nil
}
