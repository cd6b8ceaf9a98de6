/* SPDX-License-Identifier: GPL-2.0-only */
/* ftp-sym: names and text forms of conntrack values, shared by the table,
 * JSON and watch output.
 */
#ifndef FTP_SYM_FORMAT_H
#define FTP_SYM_FORMAT_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conntrack.h"

#define EP_LEN		(INET6_ADDRSTRLEN + 10)
#define TUPLE_LEN	(2 * EP_LEN + 8)

/* The name of conntrack status bit @bit (IPS_*_BIT), NULL if unnamed. */
const char *ct_status_name(unsigned int bit);
/* The name of expectation flag bit @bit (NF_CT_EXPECT_*), NULL if unnamed. */
const char *exp_flag_name(unsigned int bit);

const char *family_name(uint8_t l3);
void fmt_addr(char *buf, size_t size, uint8_t l3, const uint32_t *a);
/* "addr:port", "[v6]:port", with "*" for a wildcard port or address. */
void fmt_ep(char *buf, size_t size, uint8_t l3, const uint32_t *a,
	    bool any_addr, uint16_t port, bool any_port);
/* "src:sport -> dst:dport" */
void fmt_tuple(char *buf, size_t size, const struct tuple *t);
/* The expected tuple, with wildcards where the mask is zero. */
void fmt_exp_tuple(char *buf, size_t size, const struct expect *e);
bool addr_zero(const uint32_t *a);
/* The TCP state's name, NULL if the conntrack does not carry one. */
const char *tcp_state(const struct conn *c);
/* The source (destination) was translated. */
bool conn_snat(const struct conn *c);
bool conn_dnat(const struct conn *c);
/* Seconds since the conntrack was created, -1 if unknown. */
int64_t conn_age(const struct conn *c, const struct timespec *now);
/* The direction an expectation's NAT translates back in. */
const char *exp_dir_name(uint32_t dir);

#endif /* FTP_SYM_FORMAT_H */
