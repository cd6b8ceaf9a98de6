/* SPDX-License-Identifier: GPL-2.0-only */
/* What the stock helper's matching functions (stock_match.c, cut out of
 * linux-source-6.1 by bench/extract-stock.sh) need from the kernel, in
 * userspace: types, byte order, the ctype they use, and no-op logging.
 * Include it, then stock_match.c, in one translation unit.
 */
#ifndef _BENCH_STOCK_SHIM_H
#define _BENCH_STOCK_SHIM_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint8_t u_int8_t;
typedef uint16_t u_int16_t;
typedef uint32_t u_int32_t;
typedef uint16_t __be16;
typedef uint32_t __be32;

/* The kernel's <linux/ctype.h>: a plain range test, defined for any char
 * value (the libc one is not for negative ones).
 */
#undef isdigit
#define isdigit(c)	((unsigned int)((c) - '0') < 10)

#define pr_debug(...)	do { } while (0)
#define EXPORT_SYMBOL(sym)
#define min_t(type, a, b)	((type)(a) < (type)(b) ? (type)(a) : (type)(b))

enum ip_conntrack_dir {
	IP_CT_DIR_ORIGINAL,
	IP_CT_DIR_REPLY,
	IP_CT_DIR_MAX
};

enum nf_ct_ftp_type {
	NF_CT_FTP_PORT,
	NF_CT_FTP_PASV,
	NF_CT_FTP_EPRT,
	NF_CT_FTP_EPSV,
};

union nf_inet_addr {
	u32 all[4];
	__be32 ip;
	__be32 ip6[4];
	struct in_addr in;
	struct in6_addr in6;
};

union nf_conntrack_man_proto {
	__be16 all;
	struct {
		__be16 port;
	} tcp;
};

struct nf_conntrack_man {
	union nf_inet_addr u3;
	union nf_conntrack_man_proto u;
	u_int16_t l3num;
};

int hex_to_bin(unsigned char ch);
int in4_pton(const char *src, int srclen, u8 *dst, int delim,
	     const char **end);
int in6_pton(const char *src, int srclen, u8 *dst, int delim,
	     const char **end);

#endif /* _BENCH_STOCK_SHIM_H */
