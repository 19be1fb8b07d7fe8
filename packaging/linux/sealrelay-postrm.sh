#!/bin/sh
# The drops in /var/lib/sealrelay are removed only on purge; the sealrelay
# user stays (Debian policy: files may still belong to it).
set -e
if [ "$1" = purge ]; then
	rm -rf /var/lib/sealrelay
fi
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
exit 0
