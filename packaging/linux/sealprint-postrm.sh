#!/bin/sh
set -e
if [ "$1" = purge ]; then
	rm -rf /var/lib/sealprint
fi
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
exit 0
