#!/usr/bin/env bash
# The main job, for real, on loopback: the test bed's Ceph radosgw, HAProxy in
# front of a small backend, and the agent with ten-second windows. Requests
# go through HAProxy; HAProxy logs them over UDP syslog to the agent; the
# agent seals the window and uploads it; the bucket is then read back with
# s3cmd. Everything this script starts, it stops.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
export PATH=/usr/local/go/bin:$PATH

SYSLOG_PORT=${DEMO_SYSLOG_PORT:-15514}
HTTP_PORT=${DEMO_HTTP_PORT:-18080}
BACKEND_PORT=${DEMO_BACKEND_PORT:-18081}
METRICS_PORT=${DEMO_METRICS_PORT:-19145}
REQUESTS=${DEMO_REQUESTS:-20}

say() { printf '\n== %s\n' "$*"; }

need_pkg() { # install Debian packages whose command is missing
	local missing=()
	for p in "$@"; do command -v "${p%%:*}" >/dev/null || missing+=("${p#*:}"); done
	if ((${#missing[@]})); then
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
}
need_pkg curl:curl s3cmd:s3cmd

started_bed=
if ! scripts/testbed.sh status >/dev/null 2>&1; then
	say "starting the test bed (Ceph radosgw on 127.0.0.1; installs packages the first time)"
	scripts/testbed.sh start >/dev/null
	started_bed=1
fi
eval "$(scripts/testbed.sh env)"

work=$(mktemp -d /var/tmp/elb-access-logger-demo.XXXXXX)
agent_pid= haproxy_pid=
cleanup() {
	[ -n "$haproxy_pid" ] && kill "$haproxy_pid" 2>/dev/null || true
	[ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null || true
	[ -n "$started_bed" ] && scripts/testbed.sh stop >/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

say "building the agent"
make -s build
bin=$REPO/bin/elb-access-logger

lb=demo-lb
instance=i-$(od -An -N4 -tx1 /dev/urandom | tr -d " \n")  # a fresh bucket each run
bucket="access_logs-${lb}_127.0.0.1_${instance#i-}"
cat >"$work/access-log.properties" <<PROPS
# The agent on loopback with ten-second windows instead of the 60 minutes
# a load balancer uses by default.
syslog.listen = udp://127.0.0.1:$SYSLOG_PORT
access_log.schedule = */10 * * * * *
access_log.lb_name = $lb
access_log.node_ip = 127.0.0.1
access_log.instance_id = $instance
access_log.owner_account = lbowner
spool.dir = $work/spool
objectstorage.endpoint = $TESTBED_S3_ENDPOINT
objectstorage.access_key_id = $TESTBED_LOGGER_ACCESS_KEY
objectstorage.secret_access_key = $TESTBED_LOGGER_SECRET_KEY
metadata.endpoint =
metrics.listen = 127.0.0.1:$METRICS_PORT
PROPS
chmod 600 "$work/access-log.properties"

say "starting the agent (udp://127.0.0.1:$SYSLOG_PORT)"
"$bin" --config "$work/access-log.properties" 2>"$work/agent.log" &
agent_pid=$!
for _ in $(seq 50); do grep -q 'msg=listening' "$work/agent.log" && break; sleep 0.1; done
grep -q 'msg=listening' "$work/agent.log" || { cat "$work/agent.log"; exit 1; }

say "starting HAProxy on 127.0.0.1:$HTTP_PORT, logging to the agent in the recommended format"
# The log-format shipped in packaging/haproxy/ (installed under
# /usr/share/elb-access-logger/), so the demo shows what an image gets.
log_format=$(grep -m1 '^ *log-format "elb-http ' packaging/haproxy/elb-access-logger.cfg)
cat >"$work/haproxy.cfg" <<CFG
global
    log 127.0.0.1:$SYSLOG_PORT len 65535 local3 info
defaults
    mode http
    log global
$log_format
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe_http
    bind 127.0.0.1:$HTTP_PORT
    capture request header Host len 255
    capture request header User-Agent len 8192
    default_backend be_http
backend be_http
    server s1 127.0.0.1:$BACKEND_PORT
listen backend_app
    no log
    bind 127.0.0.1:$BACKEND_PORT
    http-request return status 200 content-type text/plain string "hello from the backend\n"
CFG
"$TESTBED_HAPROXY" -db -f "$work/haproxy.cfg" 2>"$work/haproxy.log" &
haproxy_pid=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/" && break; sleep 0.1; done

say "sending $REQUESTS requests through HAProxy"
for i in $(seq "$REQUESTS"); do
	curl -s -o /dev/null -A "demo-client/$i" "http://127.0.0.1:$HTTP_PORT/page/$i?q=a:b"
done
curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/missing" -X DELETE || true

s3() { # s3() ACCESS SECRET ARGS...: s3cmd against the bed, path style
	local ak=$1 sk=$2
	shift 2
	s3cmd --access_key="$ak" --secret_key="$sk" --host="${TESTBED_S3_ENDPOINT#http://}" \
		--host-bucket="${TESTBED_S3_ENDPOINT#http://}" --no-ssl --region=us-east-1 "$@"
}
as_reader=(s3 "$TESTBED_LBOWNER_ACCESS_KEY" "$TESTBED_LBOWNER_SECRET_KEY")
reader=lbowner  # the load balancer owner, through the READ grants

say "waiting for the window to close and the upload (at most 60 s)"
for _ in $(seq 60); do
	if "${as_reader[@]}" ls "s3://$bucket/" 2>/dev/null | grep -q 'elb-access-'; then break; fi
	sleep 1
done

say "as $reader: s3cmd ls s3://$bucket/"
"${as_reader[@]}" ls "s3://$bucket/"
key=$("${as_reader[@]}" ls "s3://$bucket/" | awk '/elb-access-/ {print $4; exit}')
[ -n "$key" ] || { echo "no access-log object uploaded"; cat "$work/agent.log"; exit 1; }

say "as $reader: s3cmd get $key"
"${as_reader[@]}" get --quiet "$key" - 

say "the agent's log of the upload (its counts also go with the object as x-amz-meta-*)"
grep 'msg=uploaded' "$work/agent.log" | grep -v ELBAccessLogTestFile || true

say "the agent's metrics: curl -s 127.0.0.1:$METRICS_PORT/metrics"
curl -s "http://127.0.0.1:$METRICS_PORT/metrics" | grep -E '^elb_access_logger_(datagrams_received|kernel_receive_drops|lines_total|uploads_total|upload_failures)'
curl -s "http://127.0.0.1:$METRICS_PORT/healthz"

say "as stranger: s3cmd ls s3://$bucket/ (must be refused)"
if s3 "$TESTBED_STRANGER_ACCESS_KEY" "$TESTBED_STRANGER_SECRET_KEY" ls "s3://$bucket/" 2>&1; then
	echo "stranger could list the bucket: that is a bug"
	exit 1
fi
echo "refused, as it should be"

say "done; stopping HAProxy and the agent"
