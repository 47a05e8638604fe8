#!/usr/bin/env bash
# Fleet simulation (docs/performance.md, "Fleet"): N logical agents in one
# process against the test bed's radosgw: a cold start without upload
# spread, a restart of the whole fleet with the same settings, and a restart
# with the spread on.
#
#   scripts/bench-fleet.sh            # 1,000 nodes
#   FLEET_NODES=100 scripts/bench-fleet.sh   # a quick run
#
# Extra arguments go to the simulator (go run ./scripts/fleetsim -h).
# The test bed must be running (scripts/testbed.sh start; TESTBED_DIR names
# its state directory when it is not this checkout's .testbed); it is not
# started or stopped here. Variables already exported are used as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$HOME/go/bin:$PATH
if [ -z "${TESTBED_S3_ENDPOINT:-}" ]; then
	env=$(scripts/testbed.sh env) || exit 2
	eval "$env"
fi
export TESTBED_S3_ENDPOINT TESTBED_LOGGER_ACCESS_KEY TESTBED_LOGGER_SECRET_KEY
exec go run ./scripts/fleetsim -n "${FLEET_NODES:-1000}" "$@"
