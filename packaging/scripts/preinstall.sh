#!/bin/sh
# RPM %pre of elb-access-logger. $1: 1 install, 2 upgrade.
# Refuses a kernel older than 3.2: the agent is built with Go 1.26, and Go
# 1.24 and later run on Linux 3.2 and newer only (EL7 and later; EL6's
# 2.6.32 is not supported). A kernel version it cannot read is let through.
kernel=$(uname -r 2>/dev/null) || kernel=
major=${kernel%%.*}
minor=${kernel#*.}
minor=${minor%%[!0-9]*}
case $major$minor in
'' | *[!0-9]*) ;;
*)
	if [ "$major" -lt 3 ] || { [ "$major" -eq 3 ] && [ "$minor" -lt 2 ]; }; then
		echo "elb-access-logger: kernel $kernel is older than 3.2: this package needs Linux 3.2 or later (EL7 and later)" >&2
		exit 1
	fi
	;;
esac
# Creates the system user and group the agent runs as; idempotent, so an
# upgrade or a reinstall over an existing user changes nothing.
getent group elb-access-logger >/dev/null 2>&1 ||
	groupadd -r elb-access-logger
getent passwd elb-access-logger >/dev/null 2>&1 ||
	useradd -r -g elb-access-logger -d /var/spool/elb-access-logger \
		-s /sbin/nologin -c "elb-access-logger agent" elb-access-logger
# When HAProxy's group exists, the agent's user joins it (on every install
# and upgrade; usermod -a is idempotent), so that a unix:// listener can give
# its socket the default group, haproxy, with mode 0660, and HAProxy may
# write to it. HAProxy installed later: usermod -a -G haproxy
# elb-access-logger (docs/configuration.md). A failure fails nothing.
if getent group haproxy >/dev/null 2>&1; then
	usermod -a -G haproxy elb-access-logger || :
fi
exit 0
