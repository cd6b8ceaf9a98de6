#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# The masqueraded-client router of masquerade-client.nft with iptables and
# ip6tables.  The CT target in the raw table attaches the helper; loading
# nf_conntrack_ftp_sym first is only needed when it is not installed where
# modprobe finds it (xt_CT looks the helper up by name).
set -e

LAN=${LAN:-lan0}
WAN=${WAN:-wan0}

[ -d /sys/module/nf_conntrack_ftp_sym ] || modprobe nf_conntrack_ftp_sym

for ipt in iptables ip6tables; do
	$ipt -t raw -A PREROUTING -i "$LAN" -p tcp --dport 21 -j CT --helper ftp-sym
	$ipt -P FORWARD DROP
	$ipt -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
	$ipt -A FORWARD -m conntrack --ctstate INVALID -j DROP
	$ipt -A FORWARD -i "$LAN" -o "$WAN" -j ACCEPT
	$ipt -t nat -A POSTROUTING -o "$WAN" -j MASQUERADE
done
