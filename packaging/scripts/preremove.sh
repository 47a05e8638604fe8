#!/bin/sh
# RPM %preun of elb-access-logger. $1: 0 erase, 1 upgrade.
# On erase only: stop the agent (SIGTERM: it seals the open window and
# makes one upload round) and unregister it. The spool stays: whatever
# could not be uploaded is still in /var/spool/elb-access-logger.
if [ "$1" -eq 0 ]; then
	if command -v systemctl >/dev/null 2>&1; then
		systemctl --no-reload disable --now elb-access-logger.service >/dev/null 2>&1 || :
	else
		service elb-access-logger stop >/dev/null 2>&1 || :
		if command -v chkconfig >/dev/null 2>&1; then
			chkconfig --del elb-access-logger || :
		fi
	fi
fi
exit 0
