#!/usr/bin/env bash
# testbed.sh - bring the project's throwaway test bed up and down, on 127.0.0.1 only.
#
# The bed is a one-monitor, one-OSD (memstore, in RAM) Ceph cluster without cephx,
# a radosgw (beast) S3 endpoint on loopback, three S3 users with fixed test keys,
# plus the HAProxy and ec2-metadata-mock binaries the tests start themselves.
# See "Test bed" in DESIGN.md and section 6 of REFERENCE.md.
#
# Everything the bed creates (config, data, logs, pid files, admin sockets) lives in
# the state directory, $REPO/.testbed by default. `stop` kills only the bed's own
# daemons (pids recorded there, each checked to run with the bed's ceph.conf), then
# removes the directory. To simulate a store outage, kill only radosgw (pid in
# $TESTBED_DIR/run/client.rgw.a.pid; mon and OSD keep the data) and bring it back
# with `radosgw -c $TESTBED_DIR/ceph.conf -n client.rgw.a`.
#
# Progress and errors go to stderr; stdout carries only the `export` lines, so
#   eval "$(scripts/testbed.sh start)"
# works.

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd -P)

STATE_DIR=${TESTBED_DIR:-$REPO/.testbed}
MON_PORT=${TESTBED_MON_PORT:-16789}
RGW_PORT=${TESTBED_RGW_PORT:-17480}
# The OSD binds four messenger ports (public, cluster, two heartbeat); keep them out of
# the usual Ceph range (6800-7300) so the bed does not collide with a real cluster.
OSD_PORT_MIN=${TESTBED_OSD_PORT_MIN:-16800}
OSD_PORT_MAX=${TESTBED_OSD_PORT_MAX:-16899}
# Upper bound, in seconds, for each wait (monitor, OSD, radosgw, apt lock).
WAIT_SECS=${TESTBED_TIMEOUT:-60}
# RAM the store keeps its objects in (memstore); the end-to-end benchmark
# at 200,000 lines/s and more needs more than the default.
MEMSTORE_BYTES=${TESTBED_MEMSTORE_BYTES:-2147483648}

METADATA_MOCK_PKG=github.com/aws/amazon-ec2-metadata-mock/cmd/ec2-metadata-mock@v1.13.0
APT_PACKAGES=(radosgw ceph-mon ceph-osd haproxy s3cmd)

# Fixed, deterministic test credentials (20-character access keys, 40-character secrets).
# They only ever exist inside this throwaway bed.
USERS=(logger lbowner stranger)
declare -A ACCESS_KEY=(
	[logger]=LOGGERACCESSKEY00001
	[lbowner]=LBOWNERACCESSKEY0001
	[stranger]=STRANGERACCESSKEY001
)
declare -A SECRET_KEY=(
	[logger]=loggerSecretKeyForTheTestBed000000000001
	[lbowner]=lbownerSecretKeyForTheTestBed00000000002
	[stranger]=strangerSecretKeyForTheTestBed0000000003
)

# Daemons in start order; stop walks the list backwards.
DAEMONS=(mon.a osd.0 client.rgw.a)
MARKER=.elb-access-logger-testbed

# Debian puts haproxy and the ceph daemons in /usr/sbin; Go lives in /usr/local/go/bin.
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
	PATH=$PATH:/usr/local/go/bin
fi
export PATH

usage() {
	cat >&2 <<EOF
usage: $(basename "$0") start|stop|env|status

  start   install what is missing (apt, go install), start Ceph mon + OSD + radosgw on
          127.0.0.1, create the users logger, lbowner and stranger, print the env.
          Does nothing but print the env if the bed is already running.
  stop    stop the processes this script started and remove the state directory.
  env     print the 'export VAR=value' lines the tests read (fails if not running).
  status  exit 0 if the bed is running, 1 if not.

State directory: \$TESTBED_DIR (default \$REPO/.testbed), now $STATE_DIR
Ports: \$TESTBED_MON_PORT (default 16789), \$TESTBED_RGW_PORT (default 17480),
       \$TESTBED_OSD_PORT_MIN..\$TESTBED_OSD_PORT_MAX (default 16800..16899)
Each wait is bounded by \$TESTBED_TIMEOUT seconds (default 60); the store keeps its
objects in \$TESTBED_MEMSTORE_BYTES of RAM (default 2 GiB).
EOF
}

log() { printf 'testbed: %s\n' "$*" >&2; }
die() {
	printf 'testbed: error: %s\n' "$*" >&2
	exit 1
}

conf() { printf '%s/ceph.conf' "$STATE_DIR"; }

# ceph / radosgw-admin against the bed only, never hanging for long.
ceph_once() { timeout 30 ceph -c "$(conf)" --connect-timeout 20 "$@"; }
bed_rgw_admin() { timeout 60 radosgw-admin -c "$(conf)" "$@"; }

# bed_ceph runs a ceph command, retrying a few times. With auth off, a freshly
# connected ceph CLI can ask the monitor for its command list before it has
# the monmap; the monitor logs "handle_command on fsid 0000... != <fsid>" and
# the CLI fails with "Error EPERM: problem getting command descriptions from
# mon." without sending the command (seen in about 1 start in 10). Every
# command this script sends is idempotent, so it is safe to repeat.
bed_ceph() {
	local try out=$STATE_DIR/log/ceph-cli.out err=$STATE_DIR/log/ceph-cli.err
	for try in 1 2 3 4 5; do
		if ceph_once "$@" >"$out" 2>"$err"; then
			cat "$out"
			cat "$err" >&2
			return 0
		fi
		printf '%s try %s failed: ceph %s: %s\n' "$(date +%T.%N)" "$try" "$*" \
			"$(tr '\n' ' ' <"$err")" >>"$STATE_DIR/log/ceph-cli-retries.log"
		sleep 0.5
	done
	cat "$err" >&2
	return 1
}

# Print the last lines of a daemon's log (or of any file) to stderr.
show_log() {
	local f=$1
	if [[ -s $f ]]; then
		printf -- '----- last 40 lines of %s -----\n' "$f" >&2
		tail -n 40 "$f" >&2 || true
		printf -- '----- end of %s -----\n' "$f" >&2
	else
		printf 'testbed: (no log at %s)\n' "$f" >&2
	fi
}

# pid_of NAME prints the pid of daemon NAME if that process is alive and is really
# ours (its command line names this bed's ceph.conf), so a recycled pid is never
# mistaken for, or killed as, one of our daemons. It looks at the pid recorded by
# start, then at the daemon's own pid file: a test that kills radosgw to simulate
# a store outage and restarts it with `radosgw -c $TESTBED_DIR/ceph.conf -n
# client.rgw.a` leaves a running bed that stop still tears down.
pid_of() {
	local name=$1 f pid
	for f in "$STATE_DIR/pids/$name" "$STATE_DIR/run/$name.pid"; do
		[[ -r $f ]] || continue
		pid=$(<"$f")
		[[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || continue
		if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$(conf)"; then
			printf '%s\n' "$pid"
			return 0
		fi
	done
	return 1
}

http_up() {
	local code
	code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$1/" 2>/dev/null) || true
	[[ $code =~ ^[1-5][0-9][0-9]$ ]]
}

# port_busy PORT: something already accepts connections on 127.0.0.1:PORT.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

is_running() {
	[[ -f $STATE_DIR/ready && -f $STATE_DIR/env ]] || return 1
	local d
	for d in "${DAEMONS[@]}"; do
		pid_of "$d" >/dev/null || return 1
	done
	# The port recorded at start time, not the one in this caller's environment.
	local port
	port=$(<"$STATE_DIR/rgw_port")
	http_up "$port"
}

# ---------------------------------------------------------------------------------------
# Installation

install_packages() {
	local missing=() p
	for p in "${APT_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	command -v curl >/dev/null 2>&1 || missing+=(curl)
	((${#missing[@]})) || return 0
	[[ $(id -u) -eq 0 ]] || die "missing packages (${missing[*]}); run as root to install them"
	log "installing ${missing[*]} (apt)"
	local apt=(apt-get -o DPkg::Lock::Timeout=300 -q)
	export DEBIAN_FRONTEND=noninteractive
	# Refresh the package lists only when the packages cannot be installed without it
	# (no lists at all, or lists too old to name the current versions).
	if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null ||
		! "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >&2; then
		"${apt[@]}" update >&2
		"${apt[@]}" install -y --no-install-recommends "${missing[@]}" >&2
	fi
}

metadata_mock_path() { printf '%s/bin/ec2-metadata-mock' "$(go env GOPATH)"; }

install_metadata_mock() {
	command -v go >/dev/null 2>&1 || die "go is not installed (looked on PATH and in /usr/local/go/bin)"
	local bin
	bin=$(metadata_mock_path)
	[[ -x $bin ]] && return 0
	log "installing ec2-metadata-mock (go install $METADATA_MOCK_PKG)"
	# Outside the repo and without the caller's GOFLAGS/go.work, so the project's own
	# module settings cannot interfere with installing a tool at a fixed version.
	(cd / && GOFLAGS='' GOWORK=off go install "$METADATA_MOCK_PKG") >&2
	[[ -x $bin ]] || die "go install did not produce $bin"
}

# ---------------------------------------------------------------------------------------
# Ceph

write_conf() {
	local fsid=$1 d=$STATE_DIR
	cat >"$(conf)" <<EOF
# Generated by scripts/testbed.sh; throwaway single-host test cluster.
[global]
fsid = $fsid
# One monitor, messenger v1 only, on loopback.
mon host = v1:127.0.0.1:$MON_PORT
mon initial members = a
# Bind only loopback. Without "cluster addr" the OSD's cluster and heartbeat
# ports listen on 0.0.0.0 even when "public addr" is set.
public addr = 127.0.0.1
cluster addr = 127.0.0.1
# Speak only msgr v1 (the monitor address above is v1), so each daemon opens
# one listening port per role instead of two.
ms bind msgr2 = false
ms bind port min = $OSD_PORT_MIN
ms bind port max = $OSD_PORT_MAX
# No cephx: nothing needs keys and no keyring files are read.
auth cluster required = none
auth service required = none
auth client required = none
# A single OSD: pools must have one replica. Pacific refuses size-1 pools
# unless "mon allow pool size one" is set.
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
# Place replicas across OSDs rather than hosts (0 = osd), so the default
# CRUSH rule is satisfiable with one OSD on one host.
osd crush chooseleaf type = 0
# radosgw creates about eight pools; few PGs each keeps the OSD light and far
# below the per-OSD PG limit. There is no mgr to autoscale them anyway.
osd pool default pg num = 8
osd pool default pgp num = 8
# The monitor shuts itself down when its disk has less than 5% free; the bed
# is throwaway, so never do that, and do not warn about no redundancy.
mon data avail crit = 0
mon data avail warn = 0
mon warn on pool no redundancy = false
# Nothing authenticates (auth none), so this cephx warning is noise in "ceph -s".
mon warn on insecure global id reclaim allowed = false
run dir = $d/run
# The monitor batches map changes and commits them at most once per second
# (Paxos propose interval 1.0 s); every pool radosgw makes costs two commits,
# so start-up is mostly spent waiting. One monitor has nobody to batch for.
paxos propose interval = 0.1

[mon]
mon data = $d/mon/\$cluster-\$id
log file = $d/log/\$name.log
pid file = $d/run/\$name.pid
admin socket = $d/run/\$name.asok

[osd]
# Keep the objects in RAM (memstore); the "device" caps that RAM
# (TESTBED_MEMSTORE_BYTES, 2 GiB by default).
osd objectstore = memstore
memstore device bytes = $MEMSTORE_BYTES
osd data = $d/osd/\$cluster-\$id
# With auth off, an OSD that asks the monitor to update classes or its CRUSH
# location at start can do so before it has the map, and then fails about one
# start in four ("wrong fsid" in its log). Turn both off; the script adds
# osd.0 to the CRUSH map itself.
osd class update on start = false
osd crush update on start = false
log file = $d/log/\$name.log
pid file = $d/run/\$name.pid
admin socket = $d/run/\$name.asok

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw data = $d/rgw/\$cluster-\$id
# Accept bucket names with "_" and upper case, as Eucalyptus OSG does (the
# seed's buckets are named access_logs-{lb}_{ip}_{num}).
rgw relaxed s3 bucket names = true
# Lifecycle: a "day" lasts 10 s, and the lifecycle worker runs in this daemon.
rgw lc debug interval = 10
rgw enable lc threads = true
# Free the RAM of deleted objects within a minute rather than the default
# two hours: tests upload and delete hundreds of MB of windows and parts,
# and a long-lived bed (a session's, a benchmark's) would fill its 2 GiB.
rgw gc obj min wait = 30
rgw gc processor period = 30
rgw gc processor max time = 30
log file = $d/log/\$name.log
pid file = $d/run/\$name.pid
admin socket = $d/run/\$name.asok
EOF
}

# start_daemon NAME LOG CMD...: run a self-daemonizing ceph daemon, wait for its pid
# file and record the pid. Foreground failures (bad config, port in use) show up here.
start_daemon() {
	local name=$1 logf=$2
	shift 2
	local pidfile=$STATE_DIR/run/$name.pid out=$STATE_DIR/log/$name.stderr
	if ! "$@" >"$out" 2>&1; then
		show_log "$out"
		show_log "$logf"
		die "$name failed to start"
	fi
	local i
	for ((i = 0; i < WAIT_SECS * 10; i++)); do
		if [[ -s $pidfile ]]; then
			cp "$pidfile" "$STATE_DIR/pids/$name"
			pid_of "$name" >/dev/null && return 0
		fi
		sleep 0.1
	done
	show_log "$out"
	show_log "$logf"
	die "$name did not write its pid file $pidfile within ${WAIT_SECS}s"
}

# wait_for WHAT DAEMON CMD...: retry CMD every half second for up to WAIT_SECS,
# giving up at once if DAEMON (whose log is shown on failure) has exited.
wait_for() {
	local what=$1 daemon=$2
	shift 2
	local deadline=$((SECONDS + WAIT_SECS)) logf=$STATE_DIR/log/$daemon.log
	until "$@" >/dev/null 2>&1; do
		if ! pid_of "$daemon" >/dev/null; then
			show_log "$logf"
			die "$daemon exited while waiting for $what"
		fi
		if ((SECONDS >= deadline)); then
			show_log "$logf"
			die "timed out after ${WAIT_SECS}s waiting for $what"
		fi
		sleep 0.5
	done
}

osd0_up() { ceph_once osd dump 2>/dev/null | grep -Eq '^osd\.0 up +in '; }

write_env() {
	local haproxy mock
	haproxy=$(command -v haproxy) || die "haproxy not found after installation"
	mock=$(metadata_mock_path)
	{
		printf 'export TESTBED_S3_ENDPOINT=%q\n' "http://127.0.0.1:$RGW_PORT"
		local u U
		for u in "${USERS[@]}"; do
			U=${u^^}
			printf 'export TESTBED_%s_ACCESS_KEY=%q\n' "$U" "${ACCESS_KEY[$u]}"
			printf 'export TESTBED_%s_SECRET_KEY=%q\n' "$U" "${SECRET_KEY[$u]}"
		done
		printf 'export TESTBED_HAPROXY=%q\n' "$haproxy"
		printf 'export TESTBED_METADATA_MOCK=%q\n' "$mock"
		printf 'export TESTBED_DIR=%q\n' "$STATE_DIR"
		local py
		if py=$(moto_python); then
			printf 'export TESTBED_MOTO_PYTHON=%q\n' "$py"
		fi
	} >"$STATE_DIR/env"
}

# moto_python prints the path of a Python that can run moto's server (the ELB
# API the elb-api tests talk to). moto comes with the machine's Python
# (pyenv), not with Debian's, and pip registries are not reachable here, so
# it is looked for, not installed. Tests that need it fail under
# ELB_TEST_DISALLOW_SKIP when none is found, naming TESTBED_MOTO_PYTHON.
moto_python() {
	local py
	for py in "${TESTBED_MOTO_PYTHON:-}" python3 "$HOME/.pyenv/shims/python3" /usr/local/bin/python3 /usr/bin/python3; do
		[ -n "$py" ] || continue
		py=$(command -v "$py" 2>/dev/null) || continue
		if "$py" -c 'import moto.server' >/dev/null 2>&1; then
			printf '%s\n' "$py"
			return 0
		fi
	done
	return 1
}

# create_user UID: make the S3 user UID with its fixed keys. Retried a few times
# like bed_ceph; a try that failed after creating the user counts as done once
# "user info" shows the user with the expected access key.
create_user() {
	local u=$1 try
	local out=$STATE_DIR/log/user-$u.json err=$STATE_DIR/log/user-$u.err
	for try in 1 2 3; do
		# --max-buckets: the default of 1,000 per user is reached by the
		# fleet simulation and long test sessions on one bed.
		if bed_rgw_admin user create --uid="$u" --display-name="$u" \
			--access-key="${ACCESS_KEY[$u]}" --secret-key="${SECRET_KEY[$u]}" \
			--max-buckets=100000 \
			>"$out" 2>>"$err"; then
			return 0
		fi
		if bed_rgw_admin user info --uid="$u" >"$out" 2>>"$err" &&
			grep -qF "\"${ACCESS_KEY[$u]}\"" "$out"; then
			return 0
		fi
		sleep 1
	done
	show_log "$err"
	die "radosgw-admin user create --uid=$u failed"
}

# On a failed start: stop whatever this run had started, keep the logs for reading.
on_start_failure() {
	local rc=$?
	trap - EXIT
	if ((rc != 0)); then
		kill_daemons
		rm -f "$STATE_DIR/ready"
		log "start failed; daemons stopped, logs kept in $STATE_DIR/log (the next start or stop removes them)"
	fi
	exit "$rc"
}

cmd_start() {
	if [[ -d $STATE_DIR ]] && is_running; then
		log "already running ($STATE_DIR)"
		cat "$STATE_DIR/env"
		return 0
	fi

	install_packages
	install_metadata_mock

	# Leftovers of an earlier, failed or interrupted bed in the same directory.
	if [[ -e $STATE_DIR ]]; then
		log "removing a stale bed in $STATE_DIR"
		cmd_stop
	fi
	local p
	for p in "$MON_PORT" "$RGW_PORT"; do
		port_busy "$p" && die "port 127.0.0.1:$p is already in use (set TESTBED_MON_PORT / TESTBED_RGW_PORT)"
	done

	local started=$SECONDS
	mkdir -p "$STATE_DIR"
	: >"$STATE_DIR/$MARKER"
	mkdir -p "$STATE_DIR"/{run,log,pids,mon,osd,rgw}
	printf '%s\n' "$RGW_PORT" >"$STATE_DIR/rgw_port"
	trap on_start_failure EXIT

	local fsid osd_uuid
	fsid=$(</proc/sys/kernel/random/uuid)
	osd_uuid=$(</proc/sys/kernel/random/uuid)
	write_conf "$fsid"
	export CEPH_CONF
	CEPH_CONF=$(conf)

	# Monitor: a monmap with just mon.a at the v1 loopback address, then its store.
	log "starting ceph-mon on 127.0.0.1:$MON_PORT"
	monmaptool --create --fsid "$fsid" --addv a "[v1:127.0.0.1:$MON_PORT]" \
		"$STATE_DIR/monmap" >"$STATE_DIR/log/monmaptool.out" 2>&1 ||
		{ show_log "$STATE_DIR/log/monmaptool.out"; die "monmaptool failed"; }
	ceph-mon -c "$(conf)" -i a --mkfs --monmap "$STATE_DIR/monmap" \
		>"$STATE_DIR/log/mon.a.mkfs" 2>&1 ||
		{ show_log "$STATE_DIR/log/mon.a.mkfs"; die "ceph-mon --mkfs failed"; }
	start_daemon mon.a "$STATE_DIR/log/mon.a.log" ceph-mon -c "$(conf)" -i a
	wait_for "the monitor to answer" mon.a ceph_once mon stat

	# OSD: register it, put it in the CRUSH map by hand (see the [osd] section), make
	# its memstore and start it.
	log "starting ceph-osd (memstore)"
	local id
	id=$(bed_ceph osd new "$osd_uuid" 2>"$STATE_DIR/log/osd-new.err") ||
		{ show_log "$STATE_DIR/log/osd-new.err"; die "ceph osd new failed"; }
	[[ $id == 0 ]] || die "ceph osd new returned id '$id', expected 0"
	bed_ceph osd crush add osd.0 1 root=default host=localhost >/dev/null 2>&1 ||
		die "ceph osd crush add osd.0 failed"
	mkdir -p "$STATE_DIR/osd/ceph-0"
	ceph-osd -c "$(conf)" -i 0 --mkfs --osd-uuid "$osd_uuid" \
		>"$STATE_DIR/log/osd.0.mkfs" 2>&1 ||
		{ show_log "$STATE_DIR/log/osd.0.mkfs"; show_log "$STATE_DIR/log/osd.0.log"; die "ceph-osd --mkfs failed"; }
	start_daemon osd.0 "$STATE_DIR/log/osd.0.log" ceph-osd -c "$(conf)" -i 0
	wait_for "osd.0 to be up and in" osd.0 osd0_up

	# radosgw creates its pools itself, but the bucket pools only on the first bucket
	# or object, which then takes about 2 s; make them now so tests do not see that.
	local pool
	for pool in default.rgw.buckets.index default.rgw.buckets.data default.rgw.buckets.non-ec; do
		{ bed_ceph osd pool create "$pool" 8 8 && bed_ceph osd pool application enable "$pool" rgw; } \
			>>"$STATE_DIR/log/pools.out" 2>&1 ||
			{ show_log "$STATE_DIR/log/pools.out"; die "could not create pool $pool"; }
	done

	# radosgw: beast answers HTTP once the gateway has initialised.
	log "starting radosgw on 127.0.0.1:$RGW_PORT"
	start_daemon client.rgw.a "$STATE_DIR/log/client.rgw.a.log" \
		radosgw -c "$(conf)" -n client.rgw.a
	wait_for "radosgw to answer HTTP on 127.0.0.1:$RGW_PORT" client.rgw.a http_up "$RGW_PORT"

	local u
	for u in "${USERS[@]}"; do
		create_user "$u"
	done

	write_env
	: >"$STATE_DIR/ready"
	trap - EXIT
	log "running in $STATE_DIR (started in $((SECONDS - started))s)"
	cat "$STATE_DIR/env"
}

# ---------------------------------------------------------------------------------------
# Stop

kill_daemons() {
	local i name pid
	for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
		name=${DAEMONS[i]}
		pid=$(pid_of "$name") || continue
		log "stopping $name (pid $pid)"
		kill -TERM "$pid" 2>/dev/null || continue
		local deadline=$((SECONDS + 15))
		while pid_of "$name" >/dev/null && ((SECONDS < deadline)); do
			sleep 0.2
		done
		if pid_of "$name" >/dev/null; then
			log "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			deadline=$((SECONDS + 5))
			while pid_of "$name" >/dev/null && ((SECONDS < deadline)); do
				sleep 0.2
			done
		fi
	done
}

cmd_stop() {
	if [[ ! -e $STATE_DIR ]]; then
		log "not running (no $STATE_DIR)"
		return 0
	fi
	# Only ever delete a directory this script created.
	[[ -f $STATE_DIR/$MARKER ]] ||
		die "$STATE_DIR exists but is not a test bed directory (no $MARKER); not touching it"
	kill_daemons
	rm -rf -- "$STATE_DIR"
	log "stopped; removed $STATE_DIR"
}

cmd_env() {
	is_running || die "the test bed is not running in $STATE_DIR (run: $0 start)"
	cat "$STATE_DIR/env"
}

cmd_status() {
	if is_running; then
		log "running in $STATE_DIR"
		return 0
	fi
	log "not running in $STATE_DIR"
	return 1
}

main() {
	[[ $# -eq 1 ]] || {
		usage
		exit 2
	}
	# Absolute, symlink-free state dir: the daemons' command lines name its ceph.conf,
	# and pid checks compare against it, whatever the caller's cwd or path.
	STATE_DIR=$(realpath -m -- "$STATE_DIR")
	case $1 in
	start) cmd_start ;;
	stop) cmd_stop ;;
	env) cmd_env ;;
	status) cmd_status ;;
	-h | --help | help)
		usage
		exit 0
		;;
	*)
		usage
		exit 2
		;;
	esac
}

main "$@"
