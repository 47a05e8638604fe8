#!/bin/sh
# RPM %postun of elb-access-logger. $1: 0 erase, 1 or more upgrade.
# On upgrade: restart the agent if it was running, so the new binary runs.
# The old one seals its window on SIGTERM; the new one uploads what the
# spool holds (nothing in /var/spool/elb-access-logger is touched here).
# The user and group are kept on erase: files in the spool still belong
# to them.
if command -v systemctl >/dev/null 2>&1; then
	systemctl daemon-reload >/dev/null 2>&1 || :
	if [ "$1" -ge 1 ]; then
		systemctl try-restart elb-access-logger.service >/dev/null 2>&1 || :
	fi
elif [ "$1" -ge 1 ]; then
	service elb-access-logger condrestart >/dev/null 2>&1 || :
fi
exit 0
