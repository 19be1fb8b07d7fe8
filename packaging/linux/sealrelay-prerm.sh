#!/bin/sh
set -e
case "$1" in remove|deconfigure) ;; *) exit 0 ;; esac
if [ -d /run/systemd/system ]; then
	systemctl disable --now sealrelay.service >/dev/null 2>&1 || true
fi
exit 0
