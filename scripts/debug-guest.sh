#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Runs inside the debug-kernel guest (scripts/debug-kernel.sh selftest):
# the selftests, then a kmemleak scan.
#
#   scripts/debug-guest.sh [--timeout SECS] [TEST...]
#	(default: every selftest; the options are selftests/run's)
#
# Exit status: that of selftests/run when it failed; otherwise 3 when
# kmemleak reports a leak or cannot be used, else 0.  selftests/vm/run also
# fails the run on any kernel report in dmesg (KASAN, lockdep, UBSAN,
# kmemleak...).
#
# NF_FTP_SYM_KMEMLEAK_PAUSE: seconds between the two scans (default 10;
# kmemleak ignores objects younger than 5 s).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd -P)
kml=/sys/kernel/debug/kmemleak
pause=${NF_FTP_SYM_KMEMLEAK_PAUSE:-10}
rc_leak=3

say() {
	echo "debug-guest: $*"
}

if [[ ! -e /sys/kernel/debug/kmemleak ]] && ! mountpoint -q /sys/kernel/debug; then
	mount -t debugfs debugfs /sys/kernel/debug || say "cannot mount debugfs"
fi

say "kernel $(uname -r): $(tr -d '\0' </proc/cmdline)"
start=$EPOCHSECONDS
"$top/selftests/run" "$@"
rc=$?
say "selftests: rc $rc after $((EPOCHSECONDS - start)) s"

# lockdep switches itself off after its first report (or when a table is
# full): say so, the dmesg has the reason.
if [[ -r /proc/sys/kernel/debug_locks ]]; then
	dl=$(</proc/sys/kernel/debug_locks)
	say "lockdep: debug_locks=$dl"
fi
if [[ -r /proc/lockdep_stats ]]; then
	grep -E 'dependency chains|lock-classes|stack-trace entries' /proc/lockdep_stats |
		sed 's/^/debug-guest: lockdep_stats: /'
fi

# kmemleak: let deferred frees (RCU, netns cleanup, conntrack GC) settle,
# then scan twice: an object is reported only when no reference to it was
# found and it is older than 5 s.
leak_rc=0
if [[ ! -w $kml ]]; then
	say "kmemleak: $kml not available"
	leak_rc=$rc_leak
else
	sleep "$pause"
	say "kmemleak: scan 1"
	echo scan >"$kml" || leak_rc=$rc_leak
	sleep "$pause"
	say "kmemleak: scan 2"
	echo scan >"$kml" || leak_rc=$rc_leak
	report=$(cat "$kml" 2>&1)
	if [[ -n $report ]]; then
		say "kmemleak: suspected leaks:"
		echo "$report"
		leak_rc=$rc_leak
	else
		say "kmemleak: no leaks"
	fi
fi

if [[ $rc -ne 0 ]]; then
	exit "$rc"
fi
exit "$leak_rc"
