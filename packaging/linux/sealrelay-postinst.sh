#!/bin/sh
set -e
# dpkg passes "configure"; rpm passes 1 (install) or 2 (upgrade).
case "$1" in configure|1|2) ;; *) exit 0 ;; esac
install -d -m 0750 -o sealrelay -g sealrelay /var/lib/sealrelay
chown root:sealrelay /etc/sealrelay/sealrelay.env
chmod 0640 /etc/sealrelay/sealrelay.env
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
	systemctl enable sealrelay.service >/dev/null 2>&1 || true
	systemctl restart sealrelay.service || true
fi
exit 0
