#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The VM part of "make check": the demo and every selftest on Debian's 6.1
# kernel and on the pinned 6.12 one, with undeclared skips failing
# (NF_FTP_SYM_STRICT_SKIPS=1).
#
#   scripts/check-kernels.sh [--serial]
#
# The two kernels run side by side, one VM each (the suites spend most of
# their time waiting on rate-limited transfers and timeouts, not on the
# CPU), each kernel's output going to .cache/check/<kernel>.log and shown
# when it is done; --serial (or NF_FTP_SYM_CHECK_SERIAL=1) runs one after
# the other.  The exit status is 0 when both lanes passed.  The modules and
# tools must be built (make modules tools).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${NF_FTP_SYM_CACHE:-$top/.cache}
logs=$cache/check
serial=${NF_FTP_SYM_CHECK_SERIAL:-0}
[[ ${1:-} == --serial ]] && serial=1
export NF_FTP_SYM_STRICT_SKIPS=1
# The whole suite in one boot, two VMs sharing the machine: more than the
# VM runner's default limit of 30 minutes.
export NF_FTP_SYM_VM_TIMEOUT=${NF_FTP_SYM_VM_TIMEOUT:-5400}
mkdir -p "$logs"

# A lane runs the demo, then the selftests whatever the demo said; it
# fails if either did.
lane_61() {
	local rc=0

	NF_FTP_SYM_DEMO_COLOR=0 NF_FTP_SYM_KO_DIR=$top \
		"$top/selftests/vm/run" --timeout 900 -- "$top/demo/run" || rc=1
	NF_FTP_SYM_KO_DIR=$top "$top/selftests/vm/run" -- "$top/selftests/run" || rc=1
	return "$rc"
}

# The 6.12 lane runs the selftests in the reverse order: the two lanes
# share two cores, and the same heavy test at the same time in both (the
# HA test's four routers with conntrackd, the 10,000 sessions of the scale
# test) slowed both past their time limits.
lane_612() {
	local rc=0
	local -a tests

	mapfile -t tests < <("$top/selftests/run" --list | tac)
	"$top/scripts/other-kernel.sh" demo || rc=1
	"$top/scripts/other-kernel.sh" selftest "${tests[@]}" || rc=1
	return "$rc"
}

# The 6.12 build and its DKMS check happen before anything boots, so that
# the lanes only run VMs.
if ! "$top/scripts/other-kernel.sh" build >"$logs/6.12-build.log" 2>&1; then
	cat "$logs/6.12-build.log"
	echo "check-kernels: the 6.12 build failed" >&2
	exit 1
fi

start=$EPOCHSECONDS
declare -A rc=()
if [[ $serial == 1 ]]; then
	lane_61 2>&1 | tee "$logs/6.1.log"
	rc[6.1]=${PIPESTATUS[0]}
	lane_612 2>&1 | tee "$logs/6.12.log"
	rc[6.12]=${PIPESTATUS[0]}
else
	lane_61 >"$logs/6.1.log" 2>&1 &
	p61=$!
	lane_612 >"$logs/6.12.log" 2>&1 &
	p612=$!
	wait "$p61"
	rc[6.1]=$?
	echo "== check-kernels: 6.1 lane (rc ${rc[6.1]}, $((EPOCHSECONDS - start)) s) =="
	cat "$logs/6.1.log"
	wait "$p612"
	rc[6.12]=$?
	echo "== check-kernels: 6.12 lane (rc ${rc[6.12]}, $((EPOCHSECONDS - start)) s) =="
	cat "$logs/6.12.log"
fi

# One closing summary for both lanes: each lane's selftest line, then the
# sum, the plain "N passed, N failed" a CI log is read for.
np=0
nf=0
ns=0
for k in 6.1 6.12; do
	line=$(grep -aE '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$logs/$k.log" | tail -n 1)
	kern=$(grep -a '^# kernel: ' "$logs/$k.log" | tail -n 1)
	echo "check-kernels: $k lane rc ${rc[$k]}: ${line:-no selftest summary} ${kern:+(${kern#\# })}"
	if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped ]]; then
		np=$((np + BASH_REMATCH[1]))
		nf=$((nf + BASH_REMATCH[2]))
		ns=$((ns + BASH_REMATCH[3]))
	fi
	# A lane that failed outside the selftests (the demo, a VM that
	# died) counts as one failure too.
	[[ ${rc[$k]} -eq 0 || $line =~ [1-9][0-9]*\ failed ]] || nf=$((nf + 1))
done
echo "check-kernels: both lanes in $((EPOCHSECONDS - start)) s"
echo "$np passed, $nf failed, $ns skipped"
[[ ${rc[6.1]} -eq 0 && ${rc[6.12]} -eq 0 ]]
