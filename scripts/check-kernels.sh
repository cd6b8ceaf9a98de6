#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The VM part of "make check": the demo and every selftest on Debian's 6.1
# kernel and on the pinned 6.12 one, with undeclared skips failing
# (NF_FTP_SYM_STRICT_SKIPS=1).
#
#   scripts/check-kernels.sh [--serial]
#
# The two kernels run side by side, one VM each with one CPU, each
# kernel's output going to .cache/check/<kernel>.log (shown when it is
# done) and its verdicts to our stdout as they come.  The tests that need
# two CPUs (smp_tests) run after that, again side by side, with two CPUs
# per VM.  --serial (or NF_FTP_SYM_CHECK_SERIAL=1) runs one kernel after
# the other, everything with two CPUs.  The exit status is 0 when
# both kernels passed.  The modules and tools must be built (make modules
# tools).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${NF_FTP_SYM_CACHE:-$top/.cache}
logs=$cache/check
serial=${NF_FTP_SYM_CHECK_SERIAL:-0}
[[ ${1:-} == --serial ]] && serial=1
export NF_FTP_SYM_STRICT_SKIPS=1
# Everything ends within this many seconds (every VM's time limit is what
# is left of it), so that a stuck test fails the check, with the logs
# printed, before CI's own limit of 90 minutes kills everything (the
# steps before the lanes take some 5 minutes; a full run here, about 60).
budget=${NF_FTP_SYM_CHECK_BUDGET:-4500}
[[ $serial == 1 ]] && budget=${NF_FTP_SYM_CHECK_BUDGET:-7800}
mkdir -p "$logs"

# Two VMs with two CPUs each on a machine with two cores: four vCPUs on
# two cores, and a guest spinning for a vCPU that was not running (IPIs,
# TLB shootdowns) burnt most of the CPU.  The same test in two VMs at
# once took 155 s of CPU in each with two vCPUs, 55 s with one.  So the
# lanes give each VM one CPU, and three tests run afterwards with two, as
# they always have: the race test (a flush on one CPU while the helper
# runs on the other), the scale test (on one CPU, 3,088 of its 10,000
# sessions, stock's as ours, got no reply within its deadline: the client,
# the server and the router share the CPU) and the HA test (on one CPU
# one download of its failback case was lost once, not investigated yet).
smp_tests=(nf_ftp_sym_ha.sh nf_ftp_sym_race.sh nf_ftp_sym_scale.sh)
if [[ $serial == 1 ]]; then
	smp_tests=()
else
	export NF_FTP_SYM_VM_SMP=1
fi

# vm_limit: the seconds left of the budget, for a VM's --timeout.
vm_limit() {
	local left=$((deadline - EPOCHSECONDS))

	echo $((left > 60 ? left : 60))
}

# progress KERNEL: the verdicts as they come, with the seconds since the
# start: a run cut short still shows how far each kernel got.
progress() {
	local line

	while IFS= read -r line; do
		line=${line#"${line%%[! ]*}"}
		case $line in
		'ok '* | 'not ok '* | 'demo: '*)
			printf '[%s %4ds] %s\n' "$1" $((EPOCHSECONDS - start)) "$line"
			;;
		esac
	done
}

# run_lane KERNEL FN [-a]: FN's output to .cache/check/KERNEL.log (-a:
# appended), its verdicts to our stdout; FN's exit status.
run_lane() {
	local rc

	"$2" > >(tee ${3:+"$3"} "$logs/$1.log" | progress "$1") 2>&1
	rc=$?
	return "$rc"
}

# lane_tests: every selftest but smp_tests, in the usual order.
lane_tests() {
	local -a ex=(-e '')
	local t

	for t in "${smp_tests[@]}"; do
		ex+=(-e "$t")
	done
	"$top/selftests/run" --list | grep -vxF "${ex[@]}"
}

# A lane runs the demo, then the selftests whatever the demo said; it
# fails if either did.
lane_61() {
	local rc=0
	local -a tests

	mapfile -t tests < <(lane_tests)
	NF_FTP_SYM_DEMO_COLOR=0 NF_FTP_SYM_KO_DIR=$top \
		"$top/selftests/vm/run" --timeout 900 -- "$top/demo/run" || rc=1
	NF_FTP_SYM_KO_DIR=$top "$top/selftests/vm/run" --timeout "$(vm_limit)" \
		-- "$top/selftests/run" "${tests[@]}" || rc=1
	return "$rc"
}

# The 6.12 lane runs the selftests in the reverse order, so that the
# heavy ones (the HA test's four routers with conntrackd, the 10,000
# sessions of the scale test) do not meet in both lanes at once.
lane_612() {
	local rc=0
	local -a tests

	mapfile -t tests < <(lane_tests | tac)
	"$top/scripts/other-kernel.sh" demo || rc=1
	NF_FTP_SYM_VM_TIMEOUT=$(vm_limit) \
		"$top/scripts/other-kernel.sh" selftest "${tests[@]}" || rc=1
	return "$rc"
}

# The tests with two CPUs, in the same order on both kernels: the HA
# test, whose failovers slow down on a loaded host, beside the other HA
# test, never beside the scale test (10,000 sessions).  Reversed, as the
# lanes are, the HA test and the scale test started together: the run
# where a failover outlasted the HA test's committed entries.
smp_61() {
	NF_FTP_SYM_VM_SMP=2 NF_FTP_SYM_KO_DIR=$top "$top/selftests/vm/run" \
		--timeout "$(vm_limit)" -- "$top/selftests/run" "${smp_tests[@]}"
}

smp_612() {
	NF_FTP_SYM_VM_SMP=2 NF_FTP_SYM_VM_TIMEOUT=$(vm_limit) \
		"$top/scripts/other-kernel.sh" selftest "${smp_tests[@]}"
}

# The 6.12 build and its DKMS check happen before anything boots, so that
# the lanes only run VMs.
if ! "$top/scripts/other-kernel.sh" build >"$logs/6.12-build.log" 2>&1; then
	cat "$logs/6.12-build.log"
	echo "check-kernels: the 6.12 build failed" >&2
	exit 1
fi

start=$EPOCHSECONDS
deadline=$((start + budget))
declare -A rc=()
if [[ $serial == 1 ]]; then
	lane_61 2>&1 | tee "$logs/6.1.log"
	rc[6.1]=${PIPESTATUS[0]}
	lane_612 2>&1 | tee "$logs/6.12.log"
	rc[6.12]=${PIPESTATUS[0]}
else
	echo "check-kernels: at most $budget s; the verdicts as they come:"
	run_lane 6.1 lane_61 &
	p61=$!
	run_lane 6.12 lane_612 &
	p612=$!
	wait "$p61"
	rc[6.1]=$?
	wait "$p612"
	rc[6.12]=$?
	run_lane 6.1 smp_61 -a &
	p61=$!
	run_lane 6.12 smp_612 -a &
	p612=$!
	wait "$p61" || rc[6.1]=1
	wait "$p612" || rc[6.12]=1
	for k in 6.1 6.12; do
		echo "== check-kernels: $k (rc ${rc[$k]}) =="
		cat "$logs/$k.log"
	done
fi

# One closing summary for both kernels: each kernel's selftest lines
# (two in a side-by-side run: the lane's and the two-CPU tests'), then the
# sum, the plain "N passed, N failed" a CI log is read for.
np=0
nf=0
ns=0
for k in 6.1 6.12; do
	kp=0
	kf=0
	kn=0
	runs=0
	while read -r line; do
		[[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped ]] || continue
		kp=$((kp + BASH_REMATCH[1]))
		kf=$((kf + BASH_REMATCH[2]))
		kn=$((kn + BASH_REMATCH[3]))
		runs=$((runs + 1))
	done < <(grep -aE '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$logs/$k.log")
	kern=$(grep -a '^# kernel: ' "$logs/$k.log" | tail -n 1)
	if [[ $runs -gt 0 ]]; then
		echo "check-kernels: $k rc ${rc[$k]}: $kp passed, $kf failed, $kn skipped in $runs runs ${kern:+(${kern#\# })}"
	else
		echo "check-kernels: $k rc ${rc[$k]}: no selftest summary"
	fi
	np=$((np + kp))
	nf=$((nf + kf))
	ns=$((ns + kn))
	# A kernel that failed outside the selftests (the demo, a VM that
	# died) counts as one failure too.
	[[ ${rc[$k]} -eq 0 || $kf -gt 0 ]] || nf=$((nf + 1))
done
echo "check-kernels: everything in $((EPOCHSECONDS - start)) s"
echo "$np passed, $nf failed, $ns skipped"
[[ ${rc[6.1]} -eq 0 && ${rc[6.12]} -eq 0 ]]
