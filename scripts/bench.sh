#!/usr/bin/env bash
# UDP ingest benchmark: the agent against a bare socket reader and rsyslog,
# measured in the same run on this machine.
#
# Builds the agent, scripts/loadgen (numbered, realistic HAProxy datagrams
# at a target rate), scripts/udpsink (the bare baseline in Go: reads and
# appends to a file, nothing else) and scripts/creader (the same in C, with
# a blocking recvmmsg and stdio: what a line costs at the least); installs
# rsyslog (and gcc, gnuplot) from apt if missing
# (without starting the system's rsyslog) and runs it as an unprivileged
# foreground process with its own configuration on a high loopback port,
# once tuned (large receive buffer) and once with defaults. Every receiver
# gets the same datagrams at increasing rates, from 1,000/s (most load
# balancers) to 400,000/s and full speed; for each run it records the
# lines written against those sent, the receiver's CPU time (the sum of its
# threads' run time from /proc/PID/task/*/schedstat, in nanoseconds), its
# peak RSS (VmHWM) and its start-up time to a bound socket, and once per
# receiver its CPU while idle. It prints a table of ratios against the bare
# baseline, and the CPU per line at each rate against the C reader and
# rsyslog; a full run writes both to the "UDP ingest" and "Cost per line"
# sections of docs/performance.md, with the curve as a PNG (gnuplot).
#
# Then the transport phase: the agent alone, at a few rates, with its
# listener on UDP, on a unix datagram socket (loadgen sends without
# blocking, as HAProxy does, so a full socket loses lines), and on TCP
# with one and with eight connections (octet-counted frames, as HAProxy's
# ring sends them; the sender waits, so nothing is lost); CPU per line
# against UDP's in the same run, to the "Transports" section.
#
# Then, when the test bed runs (scripts/testbed.sh start), the upload
# phase: a 100 MB window uploaded through the agent's upload path
# (scripts/uploadbench, uploader.Client.Put) and with `s3cmd put` (from apt
# if missing), alternating, to one bucket of the bed's store; medians and
# their ratio go to the "Upload" section.
#
# Then, when the test bed runs, the end-to-end phase: at each of a few
# sustained rates, the agent with 20-second windows, uploading to a fresh
# bucket of the bed's radosgw while a reader (scripts/uploadbench drain)
# downloads, counts and deletes the objects as they appear; stopped with
# SIGTERM (which uploads the last window). Lines delivered against those
# sent, end-to-end lines/s, the agent's CPU per line against an
# ingest-only agent (same configuration, uploads failing) at the same rate
# in the same run, kernel drops, peak RSS, objects; to the "End to end"
# section.
#
# Environment:
#   BENCH_QUICK=1        smoke test: 100,000 datagrams at 100,000/s and full
#                        speed; prints the table, leaves the docs alone
#   BENCH_COUNT          datagrams per run at most (1000000)
#   BENCH_SECONDS        a paced run sends for about this long at most:
#                        rate x seconds datagrams when fewer than
#                        BENCH_COUNT (20; 5 with BENCH_QUICK)
#   BENCH_RATES          paced rates, datagrams/s, 0 = full speed
#                        ("1000 5000 20000 50000 200000 400000 0")
#   BENCH_IDLE_SECONDS   how long each receiver's idle CPU is measured,
#                        before its first run (10; 2 with BENCH_QUICK)
#   BENCH_AGENT_REF      also measure the agent built from this git ref
#                        (e.g. main), to compare a change with its base
#   BENCH_AGENT_REF_ENV  environment of that agent, e.g. GOMAXPROCS=1 with
#                        BENCH_AGENT_REF=HEAD to compare a runtime setting
#   BENCH_RUN_AS         user the agent and the baseline run as (nobody);
#                        rsyslog always runs as nobody. As nobody the
#                        receive buffers are capped by net.core.rmem_max.
#   BENCH_RECEIVERS      the receivers to run, of: udpsink creader agent
#                        agent-ref rsyslog-tuned rsyslog-default (all)
#   BENCH_DOC            where the results go (docs/performance.md)
#   BENCH_TRANSPORTS     the transport phase. 1 (default): run it after
#                        the UDP runs, 0: skip it, only: run nothing else
#   BENCH_TRANSPORT_RATES  its paced rates ("20000 200000"; "200000" with
#                        BENCH_QUICK)
#   BENCH_TRANSPORT_SECONDS  how long each of its runs sends (5; 2 with
#                        BENCH_QUICK)
#   BENCH_TRANSPORT_LIST  its transports, of: udp; unix (the system's
#                        net.unix.max_dgram_qlen, 10 by the kernel's
#                        default, and the sender's send buffer
#                        net.core.wmem_default, as HAProxy keeps it);
#                        unix-qQ (qlen Q, set only while the agent creates
#                        its socket, when the kernel reads it); unix-qQ-sS
#                        (and net.core.wmem_default S while it does, the
#                        sender's send buffer S); tcpN (N
#                        connections). Ratios need udp. ("udp unix
#                        unix-q512 unix-q4096-s4194304 tcp1 tcp8")
#   BENCH_UPLOAD         the upload phase: a window file uploaded through
#                        the agent's upload path (scripts/uploadbench) and
#                        with `s3cmd put`, alternating, to the same bucket of
#                        the test bed's store. 1: run it (fails without a
#                        running test bed), 0: skip it, only: run nothing
#                        else; unset: run it when scripts/testbed.sh env
#                        answers (or TESTBED_S3_ENDPOINT is set), else skip
#   BENCH_UPLOAD_SIZE    the window's size (100MB; 20MB with BENCH_QUICK)
#   BENCH_UPLOAD_REPS    uploads of each kind (5; 2 with BENCH_QUICK)
#   BENCH_E2E            the end-to-end phase. 1: run it (fails without a
#                        running test bed), 0: skip it, only: run nothing
#                        else; unset: run it when the test bed answers
#   BENCH_E2E_RATES      its sustained rates, lines/s ("50000 100000";
#                        "50000" with BENCH_QUICK)
#   BENCH_E2E_SECONDS    how long each of its runs sends (60; 20 with
#                        BENCH_QUICK): three 20-second windows, each
#                        several multipart pieces at 100,000 lines/s
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
export PATH=/usr/local/go/bin:$PATH

if [ -n "${BENCH_QUICK:-}" ]; then
	COUNT=${BENCH_COUNT:-100000}
	RATES=${BENCH_RATES:-5000 100000 0}
	SECONDS_PER_RUN=${BENCH_SECONDS:-5}
	IDLE_SECONDS=${BENCH_IDLE_SECONDS:-2}
else
	COUNT=${BENCH_COUNT:-1000000}
	RATES=${BENCH_RATES:-1000 5000 20000 50000 200000 400000 0}
	SECONDS_PER_RUN=${BENCH_SECONDS:-20}
	IDLE_SECONDS=${BENCH_IDLE_SECONDS:-10}
fi
RUN_AS=${BENCH_RUN_AS:-nobody}
TRANSPORTS=${BENCH_TRANSPORTS:-1}
if [ -n "${BENCH_QUICK:-}" ]; then
	TRANSPORT_RATES=${BENCH_TRANSPORT_RATES:-200000}
	TRANSPORT_SECONDS=${BENCH_TRANSPORT_SECONDS:-2}
else
	TRANSPORT_RATES=${BENCH_TRANSPORT_RATES:-20000 200000}
	TRANSPORT_SECONDS=${BENCH_TRANSPORT_SECONDS:-5}
fi
UPLOAD=${BENCH_UPLOAD:-}
E2E=${BENCH_E2E:-}
[ "$TRANSPORTS" = only ] && UPLOAD=0 && E2E=0
[ "$UPLOAD" = only ] && E2E=0
[ "$E2E" = only ] && UPLOAD=0 && TRANSPORTS=0
if [ -n "${BENCH_QUICK:-}" ]; then
	E2E_RATES=${BENCH_E2E_RATES:-50000}
	E2E_SECONDS=${BENCH_E2E_SECONDS:-20}
else
	E2E_RATES=${BENCH_E2E_RATES:-50000 100000}
	E2E_SECONDS=${BENCH_E2E_SECONDS:-60}
fi
if [ -n "${BENCH_QUICK:-}" ]; then
	UPLOAD_SIZE=${BENCH_UPLOAD_SIZE:-20MB}
	UPLOAD_REPS=${BENCH_UPLOAD_REPS:-2}
else
	UPLOAD_SIZE=${BENCH_UPLOAD_SIZE:-100MB}
	UPLOAD_REPS=${BENCH_UPLOAD_REPS:-5}
fi
DOC=${BENCH_DOC:-docs/performance.md}
REF=${BENCH_AGENT_REF:-}
read -ra REF_ENV <<<"${BENCH_AGENT_REF_ENV:-}"

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

[ "$(uname -s)" = Linux ] || die "needs Linux (/proc)"
[ "$(id -u)" = 0 ] || die "run as root: it installs rsyslog and runs receivers as an unprivileged user"

# --- rsyslog from apt, without starting the system's rsyslog -------------
# apt_install CMD PKG: installs PKG from apt when CMD is missing, without
# starting any service it brings.
apt_install() {
	command -v "$1" >/dev/null && return 0
	say "installing $2 from apt (no service is started)"
	local made_policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		made_policy=1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
	[ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
	return 0
}

# The store of the upload and end-to-end phases: the running test bed's.
if { [ "$UPLOAD" != 0 ] || [ "$E2E" != 0 ]; } && [ -z "${TESTBED_S3_ENDPOINT:-}" ]; then
	if bed_env=$(scripts/testbed.sh env 2>/dev/null); then
		eval "$bed_env"
	fi
fi
if [ -z "${TESTBED_S3_ENDPOINT:-}" ]; then
	case $UPLOAD in
	1 | only) die "BENCH_UPLOAD=$UPLOAD needs the test bed's store: scripts/testbed.sh start" ;;
	"") say "no running test bed (scripts/testbed.sh start): the upload phase is skipped" ;;
	esac
	case $E2E in
	1 | only) die "BENCH_E2E=$E2E needs the test bed's store: scripts/testbed.sh start" ;;
	"") say "no running test bed (scripts/testbed.sh start): the end-to-end phase is skipped" ;;
	esac
	[ "$UPLOAD" = only ] || UPLOAD=0
	E2E=0
fi
[ "$UPLOAD" = 0 ] || apt_install s3cmd s3cmd

# Only the UDP runs need rsyslog, the C reader and the plot.
udp_runs=1
[ "$UPLOAD" = only ] || [ "$TRANSPORTS" = only ] || [ "$E2E" = only ] && udp_runs=
[ -z "$udp_runs" ] || apt_install rsyslogd rsyslog
[ -z "$udp_runs" ] || apt_install gcc gcc
[ -z "$udp_runs" ] || [ -n "${BENCH_QUICK:-}" ] || apt_install gnuplot gnuplot-nox
RSYSLOG_VERSION=$( (rsyslogd -v 2>/dev/null || echo "rsyslogd none") | awk 'NR == 1 {print $2}')

# --- work directory and builds -------------------------------------------
work=$(mktemp -d /var/tmp/elb-bench.XXXXXX)
chmod 755 "$work"
pids=()
# The transport phase changes two sysctls while the agent creates its unix
# socket; restore_sysctls puts them back.
qlen_saved='' wmem_saved=''
restore_sysctls() {
	[ -z "$qlen_saved" ] || echo "$qlen_saved" >/proc/sys/net/unix/max_dgram_qlen
	[ -z "$wmem_saved" ] || echo "$wmem_saved" >/proc/sys/net/core/wmem_default
	qlen_saved='' wmem_saved=''
}
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	restore_sysctls
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/bin"

say "building the agent, loadgen, udpsink and creader"
CGO_ENABLED=0 go build -trimpath -o "$work/bin/agent" ./cmd/elb-access-logger
go build -trimpath -o "$work/bin/loadgen" ./scripts/loadgen
go build -trimpath -o "$work/bin/udpsink" ./scripts/udpsink
[ -z "$udp_runs" ] || gcc -O2 -o "$work/bin/creader" scripts/creader/creader.c
go build -trimpath -o "$work/bin/uploadbench" ./scripts/uploadbench
head=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
receivers=(udpsink creader agent)
declare -A label=([udpsink]="bare baseline (udpsink)" [creader]="C reader (blocking recvmmsg + stdio)" [agent]="agent ($head)"
	[rsyslog-tuned]="rsyslog $RSYSLOG_VERSION tuned" [rsyslog-default]="rsyslog $RSYSLOG_VERSION defaults")
if [ -n "$REF" ]; then
	say "building the agent at $REF"
	mkdir -p "$work/ref"
	git archive "$REF" | tar -x -C "$work/ref"
	(cd "$work/ref" && CGO_ENABLED=0 go build -trimpath -o "$work/bin/agent-ref" ./cmd/elb-access-logger)
	receivers+=(agent-ref)
	label[agent-ref]="agent ($REF, $(git rev-parse --short "$REF")${REF_ENV[*]:+, ${REF_ENV[*]}})"
fi
receivers+=(rsyslog-tuned rsyslog-default)
if [ -n "${BENCH_RECEIVERS:-}" ]; then
	read -ra receivers <<<"$BENCH_RECEIVERS"
fi

# The newest format the build accepts: elb once the parser has it.
FORMAT=raw
cat >"$work/probe.properties" <<'PROPS'
access_log.format = elb
access_log.lb_name = bench
access_log.node_ip = 127.0.0.1
access_log.instance_id = i-00000000
access_log.owner_account = 000000000000
access_log.region = us-east-1
objectstorage.endpoint = http://127.0.0.1:9
objectstorage.access_key_id = bench
objectstorage.secret_access_key = bench
metadata.endpoint =
PROPS
"$work/bin/agent" --config "$work/probe.properties" --check-config >/dev/null 2>&1 && FORMAT=elb

# A random high port range, so parallel runs of others do not collide.
PORT=$((20000 + RANDOM % 30000))

# --- one receiver ------------------------------------------------------------
# start_receiver NAME DIR PORT: starts it, sets rpid. The agent listens
# at $LISTEN when set (the transport phase), else on UDP at PORT.
start_receiver() {
	local name=$1 dir=$2 port=$3 bin
	mkdir -p "$dir"
	chown "$RUN_AS" "$dir" 2>/dev/null || true
	case $name in
	udpsink)
		t0=$(date +%s%N) # start-up counts from here: the set-up above is not the receiver's
		setpriv_as "$RUN_AS" "$work/bin/udpsink" -listen "127.0.0.1:$port" -out "$dir/out.log" 2>"$dir/stderr" &
		;;
	creader)
		# The agent's default receive buffer, capped by rmem_max when
		# unprivileged like the others.
		t0=$(date +%s%N) # start-up counts from here: the set-up above is not the receiver's
		setpriv_as "$RUN_AS" "$work/bin/creader" 127.0.0.1 "$port" "$dir/out.log" $((8 << 20)) 2>"$dir/stderr" &
		;;
	agent | agent-ref)
		bin=$work/bin/$name
		mkdir -p "$dir/spool"
		chown "$RUN_AS" "$dir/spool" 2>/dev/null || true
		local fmt=$FORMAT
		[ "$name" = agent-ref ] && { "$bin" --config "$work/probe.properties" --check-config >/dev/null 2>&1 && fmt=elb || fmt=raw; }
		cat >"$dir/agent.properties" <<PROPS
syslog.listen = ${LISTEN:-udp://127.0.0.1:$port}
access_log.format = $fmt
access_log.schedule = 0 0 1 1 *
access_log.lb_name = bench
access_log.node_ip = 127.0.0.1
access_log.instance_id = i-00000000
access_log.owner_account = 000000000000
access_log.region = us-east-1
spool.dir = $dir/spool
objectstorage.endpoint = http://127.0.0.1:9
objectstorage.access_key_id = bench
objectstorage.secret_access_key = bench
metadata.endpoint =
PROPS
		# No metrics port (others may hold the default), where the build
		# has the key.
		cp "$dir/agent.properties" "$dir/probe.properties"
		echo "metrics.listen =" >>"$dir/probe.properties"
		if "$bin" --config "$dir/probe.properties" --check-config >/dev/null 2>&1; then
			mv "$dir/probe.properties" "$dir/agent.properties"
		fi
		chmod 644 "$dir/agent.properties"
		local envs=()
		[ "$name" = agent-ref ] && envs=("${REF_ENV[@]}")
		t0=$(date +%s%N) # start-up counts from here: the set-up above is not the receiver's
		setpriv_as "$RUN_AS" env "${envs[@]}" "$bin" --config "$dir/agent.properties" 2>"$dir/stderr" &
		;;
	rsyslog-*)
		local rcvbuf="" queue=""
		if [ "$name" = rsyslog-tuned ]; then
			rcvbuf=' rcvBufSize="8m"'
			queue='main_queue(queue.type="FixedArray" queue.size="200000" queue.dequeueBatchSize="1024")'
		fi
		mkdir -p "$dir/rsyslog"
		chown "nobody" "$dir" "$dir/rsyslog"
		cat >"$dir/rsyslog.conf" <<CONF
global(workDirectory="$dir/rsyslog" maxMessageSize="64k")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="$port"$rcvbuf)
$queue
local3.* action(type="omfile" file="$dir/out.log" template="RSYSLOG_TraditionalFileFormat")
CONF
		t0=$(date +%s%N) # start-up counts from here: the set-up above is not the receiver's
		setpriv_as nobody rsyslogd -n -f "$dir/rsyslog.conf" -i "$dir/rsyslog/pid" 2>"$dir/stderr" &
		;;
	esac
	rpid=$!
	pids+=("$rpid")
}

setpriv_as() { # USER CMD...: exec CMD as USER (same pid, so /proc is its own)
	local user=$1
	shift
	if [ "$user" = root ]; then
		exec "$@"
	fi
	exec setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups "$@"
}

# wait_bound PID PORT [URL]: waits until the socket is bound (the UDP port,
# or URL: a unix socket file, a listening TCP port); prints milliseconds
# since the start (t0).
wait_bound() {
	local pid=$1 port=$2 url=${3:-} hex i
	hex=$(printf ':%04X ' "$port")
	bound() {
		case $url in
		unix://*) [ -S "${url#unix://}" ] ;;
		tcp://*) awk -v a="0100007F$hex" '$2 " " == a && $4 == "0A" {f = 1} END {exit !f}' /proc/net/tcp ;;
		*) grep -q "0100007F$hex" /proc/net/udp ;;
		esac
	}
	for i in $(seq 2000); do
		if bound; then
			echo $((($(date +%s%N) - t0) / 1000000))
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.002
	done
	return 1
}

cpu_ticks() { # PID: utime+stime in clock ticks
	local stat
	stat=$(cat "/proc/$1/stat") || return 1
	stat=${stat##*) }
	awk '{print $12 + $13}' <<<"$stat"
}

# cpu_ns PID: CPU time of every thread of PID, in nanoseconds (schedstat's
# run time; clock ticks are too coarse for a run at 1,000 lines/s).
cpu_ns() {
	local f sum=0 v
	for f in /proc/"$1"/task/*/schedstat; do
		read -r v _ <"$f" 2>/dev/null || continue
		sum=$((sum + v))
	done
	echo "$sum"
}

# wait_idle PID: waits until the receiver used at most one tick in 500 ms
# (it has consumed its queue), for at most 60 s.
wait_idle() {
	local pid=$1 a b i
	a=$(cpu_ticks "$pid")
	for i in $(seq 120); do
		sleep 0.5
		b=$(cpu_ticks "$pid")
		((b - a <= 1)) && return 0
		a=$b
	done
	return 1
}

# stop_receiver NAME DIR PID: stops it so everything it took is on disk.
stop_receiver() {
	local name=$1 dir=$2 pid=$3 i
	case $name in
	agent | agent-ref)
		# SIGTERM seals the window; the upload to a closed port is
		# not waited for.
		kill -TERM "$pid"
		for i in $(seq 300); do
			compgen -G "$dir/spool/*.active" >/dev/null || break
			sleep 0.05
		done
		sleep 0.1
		kill -9 "$pid" 2>/dev/null || true
		;;
	*) kill -TERM "$pid" ;;
	esac
	wait "$pid" 2>/dev/null || true
}

count_lines() { # NAME DIR
	case $1 in
	agent | agent-ref) { cat "$2"/spool/window-*.log "$2"/spool/window-*.active 2>/dev/null || true; } | wc -l ;;
	*) [ -f "$2/out.log" ] && wc -l <"$2/out.log" || echo 0 ;;
	esac
}

# --- writing a section of the doc -----------------------------------------------
# write_section NAME HEADING REPORT: replaces what is between the markers
# "<!-- bench.sh: NAME start/end -->" in $DOC with REPORT, adding the
# section under HEADING at the end when the markers are missing.
write_section() {
	local start="<!-- bench.sh: $1 start -->" end="<!-- bench.sh: $1 end -->"
	if [ ! -f "$DOC" ] || ! grep -qF "$start" "$DOC"; then
		{
			[ -f "$DOC" ] && cat "$DOC" && echo
			echo "## $2"
			echo
			echo "$start"
			echo "$end"
		} >"$DOC.tmp"
		mv "$DOC.tmp" "$DOC"
	fi
	awk -v start="$start" -v end="$end" -v report="$3" '
		$0 == start { print; while ((getline l < report) > 0) print l; skip = 1; next }
		$0 == end { skip = 0 }
		!skip' "$DOC" >"$DOC.tmp"
	mv "$DOC.tmp" "$DOC"
	say "results written to $DOC"
}

machine_line() {
	echo "$(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo), Linux $(uname -r)"
}

# --- the upload phase -----------------------------------------------------------
# A window file uploaded UPLOAD_REPS times through uploader.Client.Put (the
# agent's upload path, scripts/uploadbench) and as often with `s3cmd put`
# (its defaults, signature v4, path-style), alternating, to one new bucket of
# the test bed's store; wall-clock times of both processes, medians.
upload_phase() {
	local bucket="bench-upload-$(date +%s)-$RANDOM" win=$work/window.log cfg=$work/s3cfg
	local i t0 t1 out results=$work/upload.tsv report=$work/upload.md
	say "upload phase: $UPLOAD_SIZE window, $UPLOAD_REPS uploads each, bucket $bucket at $TESTBED_S3_ENDPOINT"
	"$work/bin/uploadbench" make -out "$win" -size "$UPLOAD_SIZE"
	(
		umask 077
		cat >"$cfg" <<CFG
[default]
access_key = $TESTBED_LOGGER_ACCESS_KEY
secret_key = $TESTBED_LOGGER_SECRET_KEY
host_base = ${TESTBED_S3_ENDPOINT#*://}
host_bucket = ${TESTBED_S3_ENDPOINT#*://}
use_https = $([ "${TESTBED_S3_ENDPOINT%%://*}" = https ] && echo True || echo False)
CFG
	)
	: >"$results"
	for i in $(seq "$UPLOAD_REPS"); do
		t0=$(date +%s%N)
		out=$(AWS_ACCESS_KEY_ID=$TESTBED_LOGGER_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$TESTBED_LOGGER_SECRET_KEY \
			"$work/bin/uploadbench" put -endpoint "$TESTBED_S3_ENDPOINT" -bucket "$bucket" \
			-key "agent-$i.log" -owner lbowner -file "$win") || die "uploadbench put failed"
		t1=$(date +%s%N)
		printf 'agent\t%d\t%s\n' $(((t1 - t0) / 1000000)) "$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$out")" >>"$results"
		t0=$(date +%s%N)
		s3cmd -c "$cfg" --no-progress put "$win" "s3://$bucket/s3cmd-$i.log" >/dev/null || die "s3cmd put failed"
		t1=$(date +%s%N)
		printf 's3cmd\t%d\t-\n' $(((t1 - t0) / 1000000)) >>"$results"
		# The test bed keeps objects in RAM (memstore, 2 GiB): one window
		# at a time, or the store fills and stops answering.
		s3cmd -c "$cfg" del "s3://$bucket/agent-$i.log" "s3://$bucket/agent-$i.log.warm" "s3://$bucket/s3cmd-$i.log" >/dev/null ||
			say "could not delete the objects of round $i"
		tail -2 "$results" | awk -F'\t' '{printf "   %-6s %6d ms%s\n", $1, $2, ($3 == "-" ? "" : sprintf("  (Put alone %d ms)", $3 * 1000))}' >&2
	done
	s3cmd -c "$cfg" rb --recursive --force "s3://$bucket" >/dev/null 2>&1 || say "could not delete bucket $bucket"
	local bytes
	bytes=$(stat -c %s "$win")
	{
		echo "Measured $(date -u +'%Y-%m-%d %H:%M UTC') by \`scripts/bench.sh\` on: $(machine_line); store: the test bed's radosgw on 127.0.0.1 (plain HTTP), on the same cores."
		echo
		echo "A window of $bytes bytes of ELB lines ($UPLOAD_SIZE) uploaded $UPLOAD_REPS times each way, alternating, to one bucket: through \`uploader.Client.Put\` as the agent uploads a sealed window (\`scripts/uploadbench\`: open file as the body, Content-MD5, READ granted to the owner; signature v4) and with \`s3cmd put\` $(s3cmd --version | awk '{print $3}') (its defaults; signature v4). Times are wall clock of the whole process, start-up included, median of the repetitions; \"Put alone\" is the agent's \`Put\` call without process start-up, the bucket check and its warm-up."
		echo
		echo "| uploader | median wall time | × s3cmd | MB/s | every run (ms) |"
		echo "|---|---:|---:|---:|---|"
		awk -F'\t' -v bytes="$bytes" '
		function median(a, n,   i, j, t) {
			for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
			return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		}
		{ n[$1]++; w[$1, n[$1]] = $2; runs[$1] = runs[$1] (runs[$1] == "" ? "" : ", ") $2
		  if ($3 != "-") { np++; p[np] = $3 * 1000 } }
		END {
			for (k in n) { delete a; for (i = 1; i <= n[k]; i++) a[i] = w[k, i]; med[k] = median(a, n[k]) }
			delete a; for (i = 1; i <= np; i++) a[i] = p[i]; put = median(a, np)
			printf "| agent (`uploader.Client.Put`) | %d ms | %.2f | %.0f | %s |\n", med["agent"], med["agent"] / med["s3cmd"], bytes / 1e6 / (med["agent"] / 1000), runs["agent"]
			printf "| agent, `Put` alone | %d ms | %.2f | %.0f | |\n", put, put / med["s3cmd"], bytes / 1e6 / (put / 1000)
			printf "| `s3cmd put` | %d ms | 1.00 | %.0f | %s |\n", med["s3cmd"], bytes / 1e6 / (med["s3cmd"] / 1000), runs["s3cmd"]
		}' "$results"
	} >"$report"
	echo
	cat "$report"
	[ -n "${BENCH_QUICK:-}" ] || write_section upload "Upload" "$report"
}

# --- the end-to-end phase -------------------------------------------------------
# At each of E2E_RATES for E2E_SECONDS: first an ingest-only agent (the
# same configuration, uploads to a closed port failing, a spool large
# enough that nothing is evicted), then the agent uploading to a fresh
# bucket of the test bed's radosgw while `uploadbench drain` downloads,
# counts and deletes its objects (the bed keeps objects in RAM). Each agent
# runs under /usr/bin/time, so its CPU (user + system, all threads) and
# peak RSS cover its whole life, the last window's upload after SIGTERM
# included.

# e2e_agent DIR PORT ENDPOINT INSTANCE [KEY = VALUE...]: starts the agent
# under /usr/bin/time (rusage to DIR/rusage), as instance i-INSTANCE (8
# hex digits: its bucket is the default's, access_logs-bench_127.0.0.1_INSTANCE);
# sets tpid (time's) and apid (the agent's).
e2e_agent() {
	local dir=$1 port=$2 endpoint=$3 instance=$4 i
	shift 4
	mkdir -p "$dir/spool"
	chown "$RUN_AS" "$dir" "$dir/spool" 2>/dev/null || true
	(
		umask 077
		cat >"$dir/agent.properties" <<PROPS
syslog.listen = udp://127.0.0.1:$port
access_log.format = $FORMAT
access_log.schedule = */20 * * * * *
access_log.upload_spread = 0
access_log.lb_name = bench
access_log.node_ip = 127.0.0.1
access_log.instance_id = i-$instance
access_log.owner_account = lbowner
access_log.region = us-east-1
spool.dir = $dir/spool
objectstorage.endpoint = $endpoint
objectstorage.access_key_id = $TESTBED_LOGGER_ACCESS_KEY
objectstorage.secret_access_key = $TESTBED_LOGGER_SECRET_KEY
metadata.endpoint =
metrics.listen =
PROPS
		for kv in "$@"; do echo "$kv"; done >>"$dir/agent.properties"
	)
	chown "$RUN_AS" "$dir/agent.properties" 2>/dev/null || true
	setpriv_as "$RUN_AS" /usr/bin/time -f '%U %S %M' -o "$dir/rusage" "$work/bin/agent" --config "$dir/agent.properties" 2>"$dir/stderr" &
	tpid=$!
	pids+=("$tpid")
	apid=
	for i in $(seq 500); do
		apid=$(pgrep -x -P "$tpid" agent) && [ -n "$apid" ] && break
		sleep 0.01
	done
	[ -n "$apid" ] || { cat "$dir/stderr" >&2; die "agent did not start under /usr/bin/time"; }
	pids+=("$apid")
	t0=$(date +%s%N)
	wait_bound "$apid" "$port" >/dev/null || { cat "$dir/stderr" >&2; die "agent did not bind 127.0.0.1:$port"; }
}

# udp_queue PORT FIELD: the receive queue in hex (rx) or the kernel's
# drops (drops) of the socket bound to 127.0.0.1:PORT.
udp_queue() {
	awk -v a="$(printf '0100007F:%04X' "$1")" -v f="$2" '$2 == a {
		if (f == "drops") print $NF; else { split($5, q, ":"); print q[2] } }' /proc/net/udp
}

# e2e_stop DIR PORT UPLOADING: waits (60 s at most) until the socket's
# queue is read, reads its drops, sends SIGTERM and waits for the agent to
# exit: 300 s at most when it uploads its last window, else (uploads
# failing) until its open window is sealed. Sets drops (not in a
# subshell: only this shell can wait for /usr/bin/time).
e2e_stop() {
	local dir=$1 port=$2 uploading=$3 i
	for i in $(seq 600); do
		[ "$(udp_queue "$port" rx)" = 00000000 ] && break
		sleep 0.1
	done
	drops=$(udp_queue "$port" drops)
	sleep 0.5 # the last lines read reach the spool
	kill -TERM "$apid"
	if [ "$uploading" = 1 ]; then
		for i in $(seq 3000); do
			kill -0 "$apid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$apid" 2>/dev/null && say "agent still uploading 300 s after SIGTERM: killed"
	else
		for i in $(seq 300); do
			compgen -G "$dir/spool/*.active" >/dev/null || break
			sleep 0.05
		done
		sleep 0.1
	fi
	kill -9 "$apid" 2>/dev/null || true
	wait "$tpid" 2>/dev/null || true
	drops=${drops:-0}
}

e2e_phase() {
	local results=$work/e2e.tsv report=$work/e2e.md rate run=0 dir port count bucket gen drops t_start t_end
	local cpu hwm lines sent drained stopf dpid ipu instance
	: >"$results"
	say "end-to-end phase: ${E2E_RATES// /, } lines/s, $E2E_SECONDS s each, 20-second windows, into $TESTBED_S3_ENDPOINT"
	for rate in $E2E_RATES; do
		count=$((rate * E2E_SECONDS))
		# Ingest only: uploads fail; the spool holds the whole run.
		run=$((run + 1))
		port=$((PORT + 2000 + run))
		dir=$work/e2e-$run
		e2e_agent "$dir" "$port" http://127.0.0.1:9 00000000 "spool.max_bytes = $((count * 600))"
		sleep 0.2 # settle
		gen=$("$work/bin/loadgen" -addr "127.0.0.1:$port" -count "$count" -rate "$rate")
		e2e_stop "$dir" "$port" 0
		read -r cpu hwm < <(awk 'END {print $1 + $2, $3}' "$dir/rusage")
		lines=$(count_lines agent "$dir")
		sent=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' <<<"$gen")
		printf 'ingest\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t-\t-\t-\t-\n' "$rate" "$(sed -n 's/.*rate=\([0-9]*\).*/\1/p' <<<"$gen")" "$sent" "$lines" "$cpu" "$hwm" "$drops" >>"$results"
		awk -F'\t' 'END {printf "   ingest only  %7s/s sent %8d  lines %8d  drops %d  cpu %7.2fs (%5.2f s/M)  rss %6.1f MB\n", $2, $4, $5, $8, $6, $6 / ($5 / 1e6), $7 / 1024}' "$results" >&2
		rm -rf "$dir"

		# End to end: uploads to a fresh bucket, drained as they appear.
		run=$((run + 1))
		port=$((PORT + 2000 + run))
		dir=$work/e2e-$run
		instance=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n') # a fresh bucket
		bucket=access_logs-bench_127.0.0.1_$instance
		stopf=$dir/drain.stop
		mkdir -p "$dir"
		AWS_ACCESS_KEY_ID=$TESTBED_LOGGER_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$TESTBED_LOGGER_SECRET_KEY \
			"$work/bin/uploadbench" drain -endpoint "$TESTBED_S3_ENDPOINT" -bucket "$bucket" -stop "$stopf" -remove >"$dir/drain.out" 2>"$dir/drain.err" &
		dpid=$!
		pids+=("$dpid")
		e2e_agent "$dir" "$port" "$TESTBED_S3_ENDPOINT" "$instance"
		sleep 0.2 # settle
		t_start=$(date +%s%N)
		gen=$("$work/bin/loadgen" -addr "127.0.0.1:$port" -count "$count" -rate "$rate")
		e2e_stop "$dir" "$port" 1
		t_end=$(date +%s%N)
		touch "$stopf"
		wait "$dpid" || { cat "$dir/drain.err" >&2; say "the reader failed: bucket $bucket may be left on the bed"; }
		drained=$(cat "$dir/drain.out")
		read -r cpu hwm < <(awk 'END {print $1 + $2, $3}' "$dir/rusage")
		sent=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' <<<"$gen")
		ipu=$(grep -c 'level=WARN\|level=ERROR' "$dir/stderr" || true)
		lines=$(count_lines agent "$dir") # kept in the spool for the next start
		printf 'e2e\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rate" "$(sed -n 's/.*rate=\([0-9]*\).*/\1/p' <<<"$gen")" "$sent" \
			"$(sed -n 's/.*lines=\([0-9]*\).*/\1/p' <<<"$drained")" "$cpu" "$hwm" "$drops" \
			"$(sed -n 's/.*objects=\([0-9]*\).*/\1/p' <<<"$drained")" "$(sed -n 's/.*largest=\([0-9]*\).*/\1/p' <<<"$drained")" \
			"$(awk -v a="$t_start" -v b="$t_end" 'BEGIN {printf "%.2f", (b - a) / 1e9}')" "$ipu" "$lines" >>"$results"
		awk -F'\t' 'END {printf "   end to end   %7s/s sent %8d  lines %8d  drops %d  cpu %7.2fs (%5.2f s/M)  rss %6.1f MB  objects %d, largest %.1f MB  %.1f s  warnings %d  left in the spool %d\n", $2, $4, $5, $8, $6, ($5 ? $6 / ($5 / 1e6) : 0), $7 / 1024, $9, $10 / 1e6, $11, $12, $13}' "$results" >&2
		[ "$ipu" = 0 ] || grep 'level=WARN\|level=ERROR' "$dir/stderr" | sort | uniq -c | sort -rn | head -5 >&2
		rm -rf "$dir"
	done
	{
		echo "Measured $(date -u +'%Y-%m-%d %H:%M UTC') by \`scripts/bench.sh\` (BENCH_E2E) on: $(machine_line); store: the test bed's radosgw on 127.0.0.1 (plain HTTP, memstore), on the same cores. The machine may be shared with other work: compare the ratios, measured minutes apart in one run, rather than the absolute figures."
		echo
		echo "The agent ($head, \`$FORMAT\` output, spool on, as \`$RUN_AS\`) receiving $E2E_SECONDS s of \`scripts/loadgen\` datagrams at each rate, with 20-second windows (\`access_log.schedule = */20 * * * * *\`), \`access_log.upload_spread = 0\` (a fleet's setting: one node only delays its uploads by it) and every other key at its default (pieces of at most 128 MiB, parts of 16 MiB, two uploads at a time), uploading to a fresh bucket while \`scripts/uploadbench drain\` downloads, counts and deletes the objects as they appear; then SIGTERM, which seals and uploads the last window. Delivered is the lines the reader counted in the bucket; end-to-end lines/s is those over the time from the first datagram to the agent's exit. CPU (user + system, all threads, from the agent's whole life under \`/usr/bin/time\`) per million lines delivered, against an ingest-only agent run just before at the same rate (the same configuration, uploads to a closed port failing, a spool bound the run cannot reach): issue 20 item 7 targets ≤ 1.15×. Left in the spool: lines the agent had not uploaded when it exited (kept for its next start, not lost). Kernel drops are the agent socket's (\`/proc/net/udp\`): item 6 targets 0 at 100,000 lines/s while parts upload. Peak RSS is the agent's (maximum resident set from \`/usr/bin/time\`): item 5 targets ≤ 64 MB."
		echo
		echo "| rate (lines/s) | sent/s | delivered / sent | left in the spool | end-to-end lines/s | kernel drops | CPU s per million lines, end to end | ingest only | × ingest only | peak RSS (ingest only) | objects | largest object |"
		echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		awk -F'\t' '
		$1 == "ingest" { ic[$2] = $5 ? $6 / ($5 / 1e6) : 0; irss[$2] = $7 }
		$1 == "e2e" {
			c = $5 ? $6 / ($5 / 1e6) : 0
			printf "| %d | %d | %d / %d (%.3f %%) | %d | %.0f | %d | %.2f | %.2f | %s | %.1f MB (%.1f MB) | %d | %.1f MB |\n", $2, $3, $5, $4, ($4 ? 100 * $5 / $4 : 0), $13,
				($11 > 0 ? $5 / $11 : 0), $8, c, ic[$2], (ic[$2] > 0 ? sprintf("%.2f×", c / ic[$2]) : "-"), $7 / 1024, irss[$2] / 1024, $9, $10 / 1e6
		}' "$results"
	} >"$report"
	echo
	cat "$report"
	[ -n "${BENCH_QUICK:-}" ] || write_section e2e "End to end" "$report"
}

# --- the transport phase -----------------------------------------------------
# The agent alone at each of TRANSPORT_RATES, its listener on each
# transport in turn (interleaved, so each rate sees the same machine); CPU
# per line against UDP's of the same rate.
transport_phase() {
	local tresults=$work/transports.tsv treport=$work/transports.md rate tr url conns run=0 dir pid gen count c0 cpu
	local transports=(udp unix unix-q512 unix-q4096-s4194304 tcp1 tcp8) qlen wmem
	qlen=$(cat /proc/sys/net/unix/max_dgram_qlen) wmem=$(cat /proc/sys/net/core/wmem_default)
	[ -z "${BENCH_TRANSPORT_LIST:-}" ] || read -ra transports <<<"$BENCH_TRANSPORT_LIST"
	: >"$tresults"
	say "transport phase: the agent at ${TRANSPORT_RATES// /, } lines/s, $TRANSPORT_SECONDS s each, over: ${transports[*]}"
	for rate in $TRANSPORT_RATES; do
		for tr in "${transports[@]}"; do
			run=$((run + 1))
			port=$((PORT + 1000 + run))
			dir=$work/transport-$run
			conns=1 sndbuf='' q=''
			case $tr in
			udp) url=udp://127.0.0.1:$port ;;
			unix*) url=unix://$dir/haproxy.sock ;;&
			unix-q*-s*) sndbuf=${tr##*-s} q=${tr%-s*} q=${q#unix-q} ;;
			unix-q*) q=${tr#unix-q} ;;
			tcp*) url=tcp://127.0.0.1:$port conns=${tr#tcp} ;;
			esac
			if [ -n "$q" ]; then
				qlen_saved=$qlen wmem_saved=$wmem # restored by cleanup too
				echo "$q" >/proc/sys/net/unix/max_dgram_qlen
				# The agent sizes its gathering by the senders' default.
				[ -z "$sndbuf" ] || echo "$sndbuf" >/proc/sys/net/core/wmem_default
			fi
			LISTEN=$url start_receiver agent "$dir" "$port"
			pid=$rpid
			if ! wait_bound "$pid" "$port" "$url" >/dev/null; then
				restore_sysctls
				cat "$dir/stderr" >&2
				die "agent did not bind $url"
			fi
			restore_sysctls
			sleep 0.2 # settle
			count=$((rate * TRANSPORT_SECONDS))
			c0=$(cpu_ns "$pid")
			gen=$("$work/bin/loadgen" -addr "$url" -conns "$conns" -count "$count" -rate "$rate" ${sndbuf:+-sndbuf "$sndbuf"})
			wait_idle "$pid" || say "agent on $tr still busy after 60 s"
			cpu=$(awk -v a="$c0" -v b="$(cpu_ns "$pid")" 'BEGIN {printf "%.4f", (b - a) / 1e9}')
			hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
			stop_receiver agent "$dir" "$pid"
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tr" "$rate" "$(sed -n 's/.*rate=\([0-9]*\).*/\1/p' <<<"$gen")" \
				"$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' <<<"$gen")" "$(count_lines agent "$dir")" "$cpu" "$hwm" \
				"$(sed -n 's/.*dropped=\([0-9]*\).*/\1/p' <<<"$gen")" >>"$tresults"
			awk -F'\t' 'END {
				printf "   %-5s target %7s/s sent %7s/s  lines %8d  loss %6.2f%%  cpu %6.3fs (%5.2f s/M)  rss %6.1f MB\n",
					$1, $2, $3, $5, ($4 ? 100 * ($4 - $5) / $4 : 0), $6, ($5 ? $6 / ($5 / 1e6) : 0), $7 / 1024 }' "$tresults" >&2
			rm -rf "$dir"
		done
	done
	{
		echo "Measured $(date -u +'%Y-%m-%d %H:%M UTC') by \`scripts/bench.sh\` (BENCH_TRANSPORTS) on: $(machine_line). The machine may be shared with other work: compare the ratios, measured minutes apart in one run, rather than the absolute figures."
		echo
		echo "The agent ($head, \`$FORMAT\` output, spool on, as \`$RUN_AS\`) receiving $TRANSPORT_SECONDS s of \`scripts/loadgen\` lines at each rate over each transport in turn: UDP; a unix datagram socket (sent without blocking, as HAProxy does: what the full socket refuses is lost, and counted as loss here; it holds max_dgram_qlen + 1 datagrams, and no more than the sender's send buffer holds, about one per 1,280 bytes: HAProxy keeps \`net.core.wmem_default\`, $wmem bytes here; qlen without a figure is the system's, $qlen); TCP with one and with eight connections sharing the rate (RFC 6587 octet-counted frames, as HAProxy's ring sends them; the sender waits when the agent does, so nothing is lost and the rate achieved may fall short). CPU per line is the agent's CPU time (all threads) over the lines it wrote; × UDP is against UDP at the same rate. Targets (issue 18): unix ≤ 1.2× UDP with zero loss at 200,000 lines/s; TCP ≤ 1.5× UDP."
		echo
		echo "| transport | target rate | sent/s | lines | loss | CPU s per million lines | × UDP | peak RSS |"
		echo "|---|---:|---:|---:|---:|---:|---:|---:|"
		awk -F'\t' '
		{ n++; for (i = 1; i <= 8; i++) f[n, i] = $i; c = $5 ? $6 / ($5 / 1e6) : 0; cpu[$1, $2] = c }
		END {
			for (r = 1; r <= n; r++) {
				t = f[r, 1]; name = t
				if (t == "udp") name = "UDP"
				if (t ~ /^tcp/) { k = substr(t, 4); name = "TCP, " k " connection" (k == 1 ? "" : "s") }
				if (t ~ /^unix/) {
					q = qlen; sb = ""
					if (t ~ /^unix-q/) { q = substr(t, 7); sub(/-s.*/, "", q) }
					if (t ~ /-s[0-9]+$/) { sb = t; sub(/.*-s/, "", sb); sb = sprintf(", send buffer %d KiB", sb / 1024) }
					name = "unix datagram, qlen " q sb
				}
				c = cpu[f[r, 1], f[r, 2]]; u = cpu["udp", f[r, 2]]
				printf "| %s | %d | %d | %d | %.2f %% | %.2f | %s | %.1f MB |\n", name, f[r, 2], f[r, 3], f[r, 5],
					(f[r, 4] ? 100 * (f[r, 4] - f[r, 5]) / f[r, 4] : 0), c, (u > 0 ? sprintf("%.2f×", c / u) : "-"), f[r, 7] / 1024
			}
		}' qlen="$qlen" "$tresults"
	} >"$treport"
	echo
	cat "$treport"
	[ -n "${BENCH_QUICK:-}" ] || write_section transports "Transports" "$treport"
}

if [ "$UPLOAD" = only ]; then
	upload_phase
	exit 0
fi
if [ "$E2E" = only ]; then
	e2e_phase
	exit 0
fi
if [ "$TRANSPORTS" = only ]; then
	transport_phase
	exit 0
fi

# --- the runs --------------------------------------------------------------------
results=$work/results.tsv idle=$work/idle.tsv
: >"$results"
: >"$idle"
declare -A idle_done=()
say "$COUNT datagrams per run at rates: ${RATES// /, } (0 = full speed); receivers: ${receivers[*]}"
run=0
for rate in $RATES; do
	for name in "${receivers[@]}"; do
		run=$((run + 1))
		port=$((PORT + run))
		dir=$work/run-$run
		start_receiver "$name" "$dir" "$port"
		pid=$rpid
		if ! startup_ms=$(wait_bound "$pid" "$port"); then
			cat "$dir/stderr" >&2
			die "$name did not bind 127.0.0.1:$port"
		fi
		sleep 0.2 # settle
		if [ -z "${idle_done[$name]:-}" ]; then
			idle_done[$name]=1
			c0=$(cpu_ns "$pid")
			sleep "$IDLE_SECONDS"
			printf '%s\t%s\n' "$name" "$(awk -v a="$c0" -v b="$(cpu_ns "$pid")" -v s="$IDLE_SECONDS" 'BEGIN {printf "%.4f", 100 * (b - a) / 1e9 / s}')" >>"$idle"
		fi
		count=$COUNT
		if [ "$rate" != 0 ] && ((rate * SECONDS_PER_RUN < COUNT)); then
			count=$((rate * SECONDS_PER_RUN))
		fi
		c0=$(cpu_ns "$pid")
		gen=$("$work/bin/loadgen" -addr "127.0.0.1:$port" -count "$count" -rate "$rate")
		wait_idle "$pid" || say "$name still busy after 60 s"
		cpu=$(awk -v a="$c0" -v b="$(cpu_ns "$pid")" 'BEGIN {printf "%.4f", (b - a) / 1e9}')
		hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
		stop_receiver "$name" "$dir" "$pid"
		lines=$(count_lines "$name" "$dir")
		sent=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' <<<"$gen")
		achieved=$(sed -n 's/.*rate=\([0-9]*\).*/\1/p' <<<"$gen")
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$rate" "$achieved" "$sent" "$lines" "$cpu" "$hwm" "$startup_ms" >>"$results"
		awk -F'\t' 'END {
			loss = $4 ? 100 * ($4 - $5) / $4 : 0
			printf "   %-16s target %7s/s sent %7s/s  lines %8d  loss %6.2f%%  cpu %6.3fs (%5.2f s/M)  rss %6.1f MB  start %3d ms\n",
				$1, ($2 == 0 ? "full" : $2), $3, $5, loss, $6, ($5 ? $6 / ($5 / 1e6) : 0), $7 / 1024, $8 }' "$results" >&2
		rm -rf "$dir"
	done
done

# --- the report ---------------------------------------------------------------
machine="$(machine_line), net.core.rmem_max $(cat /proc/sys/net/core/rmem_max)"
report=$work/report.md
{
	echo "Measured $(date -u +'%Y-%m-%d %H:%M UTC') by \`scripts/bench.sh\` on: $machine."
	echo
	echo "$COUNT numbered HAProxy datagrams per run (stock \`option httplog\`/\`tcplog\`, the recipe's extended format, servo, RFC 5424), sent over loopback by \`scripts/loadgen\` on the same cores; agent output format \`$FORMAT\`, spool on; receivers (agent, baseline) run as \`$RUN_AS\`, rsyslog as \`nobody\`, each with its default or configured receive buffer capped by \`net.core.rmem_max\` when unprivileged. CPU per million lines is the receiver's CPU time over all paced runs divided by the lines it wrote in them; ratios are against the bare baseline of the same run."
	echo
	echo "| receiver | zero loss up to (sent/s) | loss at full speed | CPU s per million lines | × baseline | peak RSS | × baseline | start-up to bound socket |"
	echo "|---|---|---|---|---|---|---|---|"
	awk -F'\t' -v order="${receivers[*]}" -v labels="$(for r in "${receivers[@]}"; do printf '%s=%s;' "$r" "${label[$r]}"; done)" '
	{
		n = $1
		# Rates run in increasing order: the highest before the first loss.
		if ($2 != 0 && !(n in lost)) { if ($5 >= $4) best[n] = $3; else lost[n] = 1 }
		if ($2 == 0) { full[n] = $4 ? 100 * ($4 - $5) / $4 : 0; fullrate[n] = $3 }
		if ($2 != 0) { cpus[n] += $6; cpulines[n] += $5 }
		if ($7 > rss[n]) rss[n] = $7
		if (!(n in st) || $8 < st[n]) st[n] = $8
	}
	END {
		for (n in cpus) if (cpulines[n] > 0) cpu[n] = cpus[n] / (cpulines[n] / 1e6)
		split(labels, kv, ";")
		for (i in kv) if (kv[i] != "") { j = index(kv[i], "="); lab[substr(kv[i], 1, j - 1)] = substr(kv[i], j + 1) }
		m = split(order, names, " ")
		for (i = 1; i <= m; i++) {
			n = names[i]
			printf "| %s | %s | %s | %s | %s | %.1f MB | %.2f | %d ms |\n", lab[n],
				(n in best) ? sprintf("%d", best[n]) : "lost at the lowest rate",
				(n in full) ? sprintf("%.2f %% (at %d/s)", full[n], fullrate[n]) : "-",
				(n in cpu) ? sprintf("%.2f", cpu[n]) : "-",
				(n in cpu && cpu["udpsink"] > 0) ? sprintf("%.2f", cpu[n] / cpu["udpsink"]) : "-",
				rss[n] / 1024, rss[n] / rss["udpsink"], st[n]
		}
	}' "$results"
	echo
	echo "<details><summary>Every run</summary>"
	echo
	echo "| receiver | target rate | sent/s | lines | loss | CPU s | peak RSS | start-up |"
	echo "|---|---|---|---|---|---|---|---|"
	awk -F'\t' '{
		printf "| %s | %s | %d | %d | %.2f %% | %.3f | %.1f MB | %d ms |\n", $1, ($2 == 0 ? "full speed" : $2), $3, $5,
			($4 ? 100 * ($4 - $5) / $4 : 0), $6, $7 / 1024, $8 }' "$results"
	echo
	echo "</details>"
} >"$report"

# --- cost per line at each rate ---------------------------------------------------
# The CPU per million lines of every receiver at every paced rate, against
# the C reader and rsyslog with Debian's defaults of the same run; idle CPU.
costs=$work/costs.md plotdata=$work/plot.tsv
{
	echo "CPU seconds per million lines at each paced rate (the same runs as above: $SECONDS_PER_RUN s or $COUNT datagrams per run, whichever is fewer), and CPU while idle (no datagram for $IDLE_SECONDS s, before the first run), in % of one core. Ratios are against the C reader and against rsyslog with Debian's defaults, measured in the same run."
	echo
	awk -F'\t' -v order="${receivers[*]}" -v plot="$plotdata" -v idlefile="$idle" '
	BEGIN { while ((getline l < idlefile) > 0) { split(l, f, "\t"); idle[f[1]] = f[2] } }
	$2 != 0 && $5 > 0 { c[$1, $2] = $6 / ($5 / 1e6); if (!($2 in seen)) { seen[$2] = 1; rates[++nr] = $2 } }
	END {
		m = split(order, names, " ")
		printf "| receiver |"; for (i = 1; i <= nr; i++) printf " %s/s |", rates[i]; printf " idle |\n"
		printf "|---|"; for (i = 1; i <= nr; i++) printf "---:|"; printf "---:|\n"
		for (j = 1; j <= m; j++) {
			n = names[j]; printf "| %s |", n
			for (i = 1; i <= nr; i++) printf " %s |", ((n, rates[i]) in c) ? sprintf("%.2f", c[n, rates[i]]) : "-"
			printf " %s |\n", (n in idle) ? sprintf("%.3f %%", idle[n]) : "-"
		}
		for (k = 1; k <= 2; k++) {
			base = (k == 1) ? "creader" : "rsyslog-default"
			for (j = 1; j <= m; j++) {
				n = names[j]; if (n == base || n == "udpsink" || (base == "rsyslog-default" && (n ~ /^rsyslog/ || n == "creader"))) continue
				printf "| %s ÷ %s |", n, base
				for (i = 1; i <= nr; i++) printf " %s |", ((n, rates[i]) in c && (base, rates[i]) in c && c[base, rates[i]] > 0) ? sprintf("%.2f×", c[n, rates[i]] / c[base, rates[i]]) : "-"
				printf " |\n"
			}
		}
		printf "rate" > plot; for (j = 1; j <= m; j++) printf "\t%s", names[j] > plot; printf "\n" > plot
		for (i = 1; i <= nr; i++) {
			printf "%s", rates[i] > plot
			for (j = 1; j <= m; j++) printf "\t%s", ((names[j], rates[i]) in c) ? c[names[j], rates[i]] : "NaN" > plot
			printf "\n" > plot
		}
	}' "$results"
} >"$costs"

echo
cat "$report"
echo
cat "$costs"

if [ -z "${BENCH_QUICK:-}" ]; then
	write_section "UDP ingest" "UDP ingest" "$report"
	png=docs/images/cpu-per-line.png
	if command -v gnuplot >/dev/null; then
		mkdir -p "$(dirname "$png")"
		gnuplot <<PLOT
set terminal pngcairo size 900,520 font ",11"
set output "$png"
set title "CPU per line against the rate ($(date -u +%Y-%m-%d), $(nproc) cores)"
set logscale xy
set xlabel "lines per second"
set ylabel "CPU seconds per million lines"
set key outside right
set grid
set datafile missing "NaN"
plot for [i=2:$((${#receivers[@]} + 1))] "$plotdata" using 1:i with linespoints lw 2 title columnheader(i)
PLOT
		echo >>"$costs"
		echo "![CPU per line against the rate]($(basename "$(dirname "$png")")/$(basename "$png"))" >>"$costs"
	fi
	write_section "Cost per line" "Cost per line" "$costs"
fi

[ "$TRANSPORTS" = 0 ] || transport_phase
[ "$UPLOAD" = 0 ] || upload_phase
[ "$E2E" = 0 ] || e2e_phase
