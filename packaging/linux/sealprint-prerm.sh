#!/bin/sh
# Removes the CUPS queues and stops the service; keeps the config, keys
# and spool (removed on purge).
set -e
# dpkg passes "remove"; rpm passes 0 when the package is erased.
case "$1" in remove|deconfigure|0) ;; *) exit 0 ;; esac
export SEALPRINT_HOME=/var/lib/sealprint SEALPRINT_KEYRING=file LC_ALL=C
if [ -r /etc/sealprint/sealprint.env ]; then
	set -a; . /etc/sealprint/sealprint.env; set +a
fi
if [ -d /run/systemd/system ]; then
	systemctl disable --now sealprint.service >/dev/null 2>&1 || true
fi
/usr/bin/sealprint uninstall --keep-data || true
exit 0
