#!/bin/bash
# Writes the boot-time install script elb-access-logger-init.sh from
# packaging/elb-access-logger-init.sh.in; run by `make init-script`
# (docs/image.md). Settings come from the environment:
#   RPM          the RPM the script installs (its SHA-256 is baked in)
#   RPM_URL      where load-balancer VMs fetch it (http, https, file);
#                default: file:// of RPM, for a test on this machine
#   OUT          the script to write
#   PROPERTIES   optional property file the script writes on the VM
#   HAPROXY_CFG  HAProxy file to edit on the VM (default: the servo's template)
#   CA_BUNDLE    optional PEM file: CA certificates for an https RPM_URL
set -euo pipefail

die() {
	echo "init-script: $*" >&2
	exit 1
}

here=$(cd "$(dirname "$0")/.." && pwd)
template=$here/packaging/elb-access-logger-init.sh.in
default_props=$here/packaging/access-log.properties
: "${RPM:?RPM: the RPM file to bake in}"
: "${OUT:?OUT: the script to write}"
HAPROXY_CFG=${HAPROXY_CFG:-/etc/load-balancer-servo/haproxy_template.conf}
PROPERTIES=${PROPERTIES:-}
CA_BUNDLE=${CA_BUNDLE:-}

[ -f "$RPM" ] || die "$RPM: no such RPM; run make rpm first (or pass RPM_FILE=...)"
rpm_abs=$(cd "$(dirname "$RPM")" && pwd)/$(basename "$RPM")
RPM_URL=${RPM_URL:-file://$rpm_abs}
case $RPM_URL in
http://* | https://* | file:///*) ;;
*) die "RPM_URL=$RPM_URL: want an http://, https:// or file:/// URL" ;;
esac
nevra=$(basename "$RPM" .rpm)
case $nevra in
elb-access-logger-*-*.*) ;;
*) die "$RPM: not named like an elb-access-logger RPM (name-version-release.arch.rpm)" ;;
esac

# Values baked into single-quoted assignments: no quote, no newline.
for v in "$RPM_URL" "$HAPROXY_CFG"; do
	case $v in
	*\'* | *$'\n'*) die "$v: quotes and newlines are not allowed" ;;
	esac
done
case $HAPROXY_CFG in
/*) ;;
*) die "HAPROXY_CFG=$HAPROXY_CFG: want an absolute path" ;;
esac

sum() { sha256sum | cut -d' ' -f1; }

# embed prints a file for a here-document: without trailing newlines (the
# here-document adds one), refusing a line equal to the terminator.
embed() {
	local file=$1 end=$2 data
	[ -f "$file" ] || die "$file: no such file"
	data=$(cat -- "$file")
	if grep -qx -- "$end" "$file"; then
		die "$file: a line reads $end, the script's own terminator"
	fi
	printf '%s' "$data"
}

props='' marker=''
if [ -n "$PROPERTIES" ]; then
	props=$(embed "$PROPERTIES" ELB_LOGGER_PROPERTIES_END)
	marker="# Written by elb-access-logger-init.sh (sha256 $(printf '%s\n' "$props" | sum)); edit this file and the script keeps it."
fi
ca='' have_ca=0
if [ -n "$CA_BUNDLE" ]; then
	ca=$(embed "$CA_BUNDLE" ELB_LOGGER_CA_BUNDLE_END)
	grep -q -- '-----BEGIN CERTIFICATE-----' "$CA_BUNDLE" || die "$CA_BUNDLE: no PEM certificate in it"
	have_ca=1
fi

# The script travels in a cloud property and in user-data (16 KB on AWS):
# whole-line comments and blank lines stay in the template. The template
# holds no here-document but the two filled in below, after this.
s=$(awk 'NR == 1 { print; print "# Written by make init-script from packaging/elb-access-logger-init.sh.in, which has the comments; see docs/image.md."; next }
	/^[ \t]*#/ || /^[ \t]*$/ { next } { print }' "$template")
# Quoted replacements are literal (no & expansion in bash 5.2).
s=${s//@RPM_URL@/"$RPM_URL"}
s=${s//@RPM_SHA256@/"$(sum <"$RPM")"}
s=${s//@RPM_NEVRA@/"$nevra"}
s=${s//@HAPROXY_CFG@/"$HAPROXY_CFG"}
s=${s//@DEFAULT_PROPS_SHA256@/"$(sum <"$default_props")"}
s=${s//@PROPS_MARKER@/"$marker"}
s=${s//@HAVE_CA_BUNDLE@/"$have_ca"}
s=${s//@CA_BUNDLE@/"$ca"}
s=${s//@PROPERTIES@/"$props"} # last: the file may hold anything

mkdir -p "$(dirname "$OUT")"
tmp=$OUT.tmp.$$
# 0700: the property file baked in may hold credentials.
(umask 077 && printf '%s\n' "$s" >"$tmp")
bash -n "$tmp" || die "$tmp: bash -n failed"
mv -f "$tmp" "$OUT"
size=$(wc -c <"$OUT")
if [ "$size" -gt 14336 ]; then
	echo "init-script: warning: $OUT has $size bytes: user-data is limited to 16 KB on AWS, and Eucalyptus adds its own lines" >&2
fi
echo "$OUT: installs $nevra from $RPM_URL (sha256 $(sum <"$RPM"))${PROPERTIES:+, writes $PROPERTIES}"
