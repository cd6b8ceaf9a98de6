#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# keepalived's notify script for the firewall pair (keepalived.conf):
#   primary-backup.sh primary|backup|fault
# The steps are conntrack-tools' own (its example primary-backup.sh);
# selftests/nf_ftp_sym_ha.sh runs this file on its routers.
# CONNTRACKD_CONFIG: conntrackd's configuration (default the Debian path).

CONNTRACKD=${CONNTRACKD:-/usr/sbin/conntrackd}
CONNTRACKD_CONFIG=${CONNTRACKD_CONFIG:-/etc/conntrackd/conntrackd.conf}

ctd() {
	if ! "$CONNTRACKD" -C "$CONNTRACKD_CONFIG" "$@"; then
		logger -t primary-backup "conntrackd $* failed"
		return 1
	fi
}

case $1 in
primary)
	# The peer's connections (and ftp-sym's expectations) into the
	# kernel.  From here nf_nat_ftp_sym gives the expectations' data
	# connections their NAT, and ftp-sym's keep-alive holds the idle
	# control connections of running transfers.
	ctd -c
	# Our caches start again from what the kernel now has...
	ctd -f
	ctd -R
	# ... and the peer gets all of it, for a failback.
	ctd -B
	;;
backup)
	# conntrackd must run: start it if it does not.
	if ! "$CONNTRACKD" -C "$CONNTRACKD_CONFIG" -s >/dev/null 2>&1; then
		"$CONNTRACKD" -C "$CONNTRACKD_CONFIG" -d ||
			logger -t primary-backup "cannot start conntrackd"
	fi
	# Our own entries go after PurgeTimeout; ask the primary for its.
	ctd -t
	ctd -n
	;;
fault)
	ctd -t
	;;
*)
	echo "usage: $0 primary|backup|fault" >&2
	exit 2
	;;
esac
exit 0
