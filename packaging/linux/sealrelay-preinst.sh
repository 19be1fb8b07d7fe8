#!/bin/sh
set -e
if ! getent passwd sealrelay >/dev/null; then
	useradd --system --home-dir /var/lib/sealrelay --no-create-home \
		--shell /usr/sbin/nologin --user-group sealrelay
fi
exit 0
