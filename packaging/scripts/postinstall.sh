#!/bin/sh
# RPM %post of elb-access-logger. $1: 1 install, 2 or more upgrade.
# systemd: reload units and apply the distribution's preset (EL: disabled
# until the image enables it). SysV (EL6): register the init script and,
# since there are no ambient capabilities there, let the binary bind
# port 514 as the unprivileged user with a file capability, but only once
# the binary is no longer world-executable (mode 0750 root:elb-access-logger):
# a capability on a binary anyone may run lets any local user bind
# privileged ports with a --config of their own. chown drops file
# capabilities, so setcap comes last; if a step fails, no capability.
# The restart after an upgrade is done by %postun, once the old files
# are gone.
if command -v systemctl >/dev/null 2>&1; then
	systemctl daemon-reload >/dev/null 2>&1 || :
	if [ "$1" -eq 1 ]; then
		systemctl --no-reload preset elb-access-logger.service >/dev/null 2>&1 || :
	fi
else
	if [ "$1" -eq 1 ] && command -v chkconfig >/dev/null 2>&1; then
		chkconfig --add elb-access-logger || :
	fi
	bin=/usr/bin/elb-access-logger
	if command -v setcap >/dev/null 2>&1; then
		if chown root:elb-access-logger "$bin" && chmod 0750 "$bin"; then
			setcap cap_net_bind_service=+ep "$bin" || :
		fi
	fi
fi
exit 0
