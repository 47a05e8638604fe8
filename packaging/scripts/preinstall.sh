#!/bin/sh
# RPM %pre of elb-access-logger. $1: 1 install, 2 upgrade.
# Creates the system user and group the agent runs as; idempotent, so an
# upgrade or a reinstall over an existing user changes nothing.
getent group elb-access-logger >/dev/null 2>&1 ||
	groupadd -r elb-access-logger
getent passwd elb-access-logger >/dev/null 2>&1 ||
	useradd -r -g elb-access-logger -d /var/spool/elb-access-logger \
		-s /sbin/nologin -c "elb-access-logger agent" elb-access-logger
exit 0
