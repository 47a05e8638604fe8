package ship

import (
	"crypto/sha256"
	"encoding/binary"
	"time"

	"github.com/elb-access-logger/elb-access-logger/agent/identity"
	"github.com/elb-access-logger/elb-access-logger/agent/spool"
)

// Offset is this node's fixed delay of uploads: a point in [0,
// spread) drawn from a hash of its instance id and load balancer name.
// Windows end on the same UTC second on every node; the offsets spread the
// fleet's PUTs evenly over the spread instead. It never changes while the
// identity does not, so a restart keeps the node in its slot.
func Offset(id identity.Identity, spread time.Duration) time.Duration {
	if spread <= 0 {
		return 0
	}
	h := sha256.Sum256([]byte(id.InstanceID + "\x00" + id.LBName))
	return time.Duration(binary.BigEndian.Uint64(h[:8]) % uint64(spread))
}

// Due is when a sealed segment may be uploaded at now: its window's end
// plus the node's offset. A segment of an earlier run, found at start
// after its window ended, is due the offset after the start, so a fleet
// that boots at once does not upload its backlog at once either. A segment
// named after a time more than spool.StepTolerance ahead of now was sealed
// while the clock was ahead (or before it stepped back): it is complete, and
// due at once rather than after the step.
func Due(end, started, now time.Time, offset time.Duration) time.Time {
	if end.After(now.Add(spool.StepTolerance)) {
		return now
	}
	if started.After(end) {
		end = started
	}
	return end.Add(offset)
}
