#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# docs/migrating.md: the router of stock.nft and ftp-sym.nft with
# iptables, data connections admitted as RELATED to the FTP helper.
# Before: the stock helper.
set -e

LAN=${LAN:-lan0}
WAN=${WAN:-wan0}
PUBLIC=${PUBLIC:-192.0.2.254}
SERVER=${SERVER:-198.51.100.1}

modprobe nf_nat_ftp

iptables -t raw -A PREROUTING -p tcp -m multiport --dports 21,2121 -j CT --helper ftp
iptables -t nat -A PREROUTING -i "$WAN" -d "$PUBLIC" -p tcp -m multiport \
	--dports 21,2121 -j DNAT --to-destination "$SERVER:21"
iptables -t nat -A POSTROUTING -o "$WAN" -j MASQUERADE
iptables -P FORWARD DROP
iptables -A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT
iptables -A FORWARD -m conntrack --ctstate RELATED -m helper --helper ftp -j ACCEPT
iptables -A FORWARD -i "$WAN" -d "$SERVER" -p tcp --dport 21 -j ACCEPT
iptables -A FORWARD -i "$LAN" -o "$WAN" -j ACCEPT
