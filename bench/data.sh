# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# shellcheck disable=SC2154 # ns_client etc.: lib.sh setup_topo
#
# bench/data.sh: bulk FTP data throughput through the router (issue item
# 1).  curl downloads FTP_DIR/root/file.bin (BENCH_DATA_SIZE bytes) from
# vsftpd to /dev/null, passive mode (PASV over IPv4, EPSV over IPv6),
# through the masquerading router (curl to the server) or the
# port-forwarding one (curl to the router's client-side address), with
# and without an nft flowtable.  Source bench/lib.sh first.
#
# Figures data.<masq|fwd>.v<4|6>[.ft]:
#   throughput  MB/s of the data connection (bytes / time from the first
#               byte to the end, curl's own clock)
#   cpu         router CPU (softirq + system, /proc/stat) per MB, ms
# ftp-sym tracks every data connection for keep-alive (the default), so
# its figures include that.

# data_one FIG LAYOUT FAMILY FLOWTABLE CFG ROUND
data_one() {
	local fig=$1 layout=$2 fam=$3 ft=$4 cfg=$5 round=$6
	local host mode out c0 c1 size tfirst ttotal var

	if [[ $layout == masq ]]; then
		var=SERVER_IP$fam
	else
		var=ROUTER_C_IP$fam
	fi
	host=${!var}
	mode=pasv
	[[ $fam == 6 ]] && mode=epsv
	if ! bench_ruleset "$cfg" "$ft"; then
		bench_error "$fig" "$cfg" "ruleset"
		return 1
	fi
	curl_ftp_args "$mode" "$fam" 300
	c0=$(cpu_ticks)
	out=$(ip netns exec "$ns_client" curl "${CURL_ARGS[@]}" -o /dev/null \
		-w '%{size_download} %{time_starttransfer} %{time_total}' \
		"$(ftp_url "$fam" "$host" file.bin)")
	c1=$(cpu_ticks)
	read -r size tfirst ttotal <<<"$out"
	if [[ ${size:-0} != "$BENCH_DATA_SIZE" ]]; then
		bench_error "$fig" "$cfg" "download of ${size:-0} bytes, not $BENCH_DATA_SIZE"
		return 1
	fi
	rec "$fig" throughput MB/s higher "$cfg" "$round" \
		"$(awk -v b="$size" -v a="$tfirst" -v z="$ttotal" \
			'BEGIN { printf "%.2f\n", b / (z - a) / 1e6 }')"
	rec "$fig" cpu ms/MB lower "$cfg" "$round" \
		"$(fdiv $(((c1 - c0) * BENCH_TICK_MS)) "$((size / 1000000))")"
}

# data_group ROUNDS
data_group() {
	local r layout ft fam fig cfg

	for ((r = 1; r <= $1; r++)); do
		bench_rotate "$r"
		for layout in masq fwd; do
			bench_nat "$layout" || bench_error "data.$layout" any nat
			for ft in 0 1; do
				for fam in 4 6; do
					fig=data.$layout.v$fam
					[[ $ft == 1 ]] && fig+=.ft
					for cfg in "${BENCH_ORDER[@]}"; do
						data_one "$fig" "$layout" "$fam" \
							"$ft" "$cfg" "$r"
					done
				done
			done
		done
	done
}
