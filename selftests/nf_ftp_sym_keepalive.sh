#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# nf_ftp_sym_keepalive.sh: the control connection survives a long transfer
# while it is idle, because the ftp-sym helper keeps the master conntrack
# alive as long as its data connection lives; also when the data connection
# is offloaded to an nft flowtable, where no hook sees its packets.
#
#   client ---- router ---- server (vsftpd, anon_max_rate, 4 KiB chunks)
#               nf_conntrack_tcp_timeout_established=10
#               forward policy drop; established,related accepted; new
#               connections only to port 21; ct helper on port 21
#               [flowtable ft { eth_c, eth_s }: established tcp offloaded,
#                nf_flowtable_tcp_timeout=5, see ka_router_flowtable]
#
# Every case has its own three namespaces and its own vsftpd, so the cases
# run side by side.  Each download (IPv4) is rate limited by the server to
# last longer than the router's established timeout, and the client says
# nothing on the control connection meanwhile (curl --no-keepalive).  A
# collector samples "conntrack -L" in the router every few seconds
# (master = the entry from the client to port 21, its remaining timeout,
# the data connection, [OFFLOAD]) and the size of the client's file.
#
# Phase 1, keepalive_interval=0, the negative controls ("lose"), 25 s:
#   sym-off     ftp-sym with its keep-alive off          EPSV
#   stock-epsv  stock nf_conntrack_ftp ("ftp")           EPSV
#   stock-ft    stock helper, data connection offloaded  PASV
# The master must vanish during the transfer, the data still arrive
# complete, the server log the 226 it sent and the client never get it
# (stopped KA_WAIT226 after the data completed).  That the data are whole
# and the server sent the 226 shows they fail for the right reason; that
# curl does not succeed shows the 226 check catches a lost 226.  sym-off
# also has keepalive_tracked and keepalive_refreshes at 0.
#
# Phase 2, keepalive_interval=5 ("keep"; set up while phase 1 runs):
#   sym-epsv    ftp-sym, 45 s, curl, EPSV
#   sym-port    ftp-sym, 45 s, curl, PORT (active: the server connects)
#   sym-ft      ftp-sym, 45 s, curl, PASV, data connection offloaded
#   sym-age     ftp-sym, 25 s, Python ftplib, PASV, then idle
# curl exits 0 after >= 40 s of transfer, the data match, its verbose log
# shows "< 226"; the master is in every sample of the transfer, one taken
# more than 15 s after the 150 reply to RETR (so the control
# connection was idle well beyond the 10 s timeout); its timeout never
# exceeds 2*interval+2 s; keepalive_tracked and keepalive_refreshes > 0,
# keepalive_active back to 0 afterwards; sym-ft has [OFFLOAD] samples.
# sym-age keeps the control connection open and idle after the 226: the
# master must then age out normally, within 2*interval+2 + 10 s (plus
# slack) of the 226, never showing a longer timeout.
#
# The core (cases, clients, collector, checks) is in ka_lib.sh, shared
# with nf_ftp_sym_nat_keepalive.sh (the same through NAT).

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=ftp_lib.sh
source "$(dirname "$0")/ftp_lib.sh"
# shellcheck source-path=SCRIPTDIR source=ka_lib.sh
source "$(dirname "$0")/ka_lib.sh"

checktool "nft --version" "run test without nft"
checktool "conntrack --version" "run test without conntrack"
checktool "curl --version" "run test without curl"
checktool "vsftpd -v" "run test without vsftpd"
checktool "$KA_PYTHON --version" "run test without python3"

# ------------------------------------------------------------ main

load_modules
[[ -w $KA_PARAM ]] || skip_test "$KA_PARAM is not writable"
ka_orig=$(<"$KA_PARAM")
cleanup_register ka_set_interval "$ka_orig"

have_stock=1
stock_was_loaded=0
module_loaded nf_conntrack_ftp && stock_was_loaded=1
if ! load_dep_modules nf_conntrack_ftp 2>/dev/null; then
	have_stock=0
	skip "stock nf_conntrack_ftp not available: no stock negative controls"
elif [[ $stock_was_loaded -eq 0 ]] && module_loaded nf_conntrack_ftp; then
	# Leave the stock helper as we found it (nf_ftp_sym_load.sh tests
	# both load orders).
	cleanup_register ka_unload_stock nf_conntrack_ftp
fi
have_ft=1
if ! load_dep_modules nf_flow_table nf_flow_table_inet nft_flow_offload 2>/dev/null; then
	have_ft=0
	skip "nf_flow_table/nft_flow_offload not available: no flowtable cases"
fi

ka_make_root
t_start=$EPOCHSECONDS
echo "INFO: modules and tools took ${SECONDS}s"

# Phase 1, the negative controls, keepalive_interval=0: ftp-sym without
# its keep-alive and the stock helper lose the master.
ka_set_interval 0
lose=()
ka_case sym-off ka_router_plain ftp-sym epsv curl lose "$KA_SHORT" || ksft_exit
lose+=(sym-off)
if [[ $have_stock -eq 1 ]]; then
	ka_case stock-epsv ka_router_plain ftp epsv curl lose "$KA_SHORT" || ksft_exit
	lose+=(stock-epsv)
	if [[ $have_ft -eq 1 ]]; then
		ka_case stock-ft ka_router_flowtable ftp pasv curl lose "$KA_SHORT" || ksft_exit
		lose+=(stock-ft)
	fi
fi
echo "INFO: phase 1 (keepalive_interval=0) after $((EPOCHSECONDS - t_start))s: ${lose[*]}"
ka_start "${lose[@]}"

# Phase 2 is set up meanwhile.
keep=()
ka_case sym-epsv ka_router_plain ftp-sym epsv curl keep "$KA_LONG" || ksft_exit
ka_case sym-port ka_router_plain ftp-sym port curl keep "$KA_LONG" || ksft_exit
ka_case sym-age ka_router_plain ftp-sym pasv py keep "$KA_SHORT" || ksft_exit
keep+=(sym-epsv sym-port sym-age)
if [[ $have_ft -eq 1 ]]; then
	ka_case sym-ft ka_router_flowtable ftp-sym pasv curl keep "$KA_LONG" || ksft_exit
	keep+=(sym-ft)
fi

for name in "${lose[@]}"; do
	ka_check "$name"
done
for c in keepalive_tracked keepalive_refreshes; do
	v=$(ftp_stat "${KA_NSR[sym-off]}" "$c")
	if [[ $v == 0 ]]; then
		pass "sym-off: $c 0 with keepalive_interval=0"
	else
		fail "sym-off: $c ${v:-?} with keepalive_interval=0"
	fi
done

# Phase 2: keepalive_interval=5, the master survives.
ka_set_interval "$KA_INTERVAL"
echo "INFO: phase 2 (keepalive_interval=$KA_INTERVAL) after $((EPOCHSECONDS - t_start))s: ${keep[*]}"
ka_start "${keep[@]}"
for name in "${keep[@]}"; do
	ka_check "$name"
done
echo "INFO: done after $((EPOCHSECONDS - t_start))s"

ksft_exit
