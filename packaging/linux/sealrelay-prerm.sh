#!/bin/sh
set -e
# dpkg passes "remove"; rpm passes 0 when the package is erased.
case "$1" in remove|deconfigure|0) ;; *) exit 0 ;; esac
if [ -d /run/systemd/system ]; then
	systemctl disable --now sealrelay.service >/dev/null 2>&1 || true
fi
exit 0
