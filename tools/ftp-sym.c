// SPDX-License-Identifier: GPL-2.0-only
/* ftp-sym: show the FTP sessions that the ftp-sym conntrack helper handles
 * in the current network namespace: control connections, their outstanding
 * expectations and live data connections, whether keep-alive holds the
 * control connection, the helper's counters and the module parameters.
 * A snapshot as a table (default) or as JSON, or a live event stream.
 *
 * Everything comes from ctnetlink (libnetfilter_conntrack), from
 * /proc/net/nf_ftp_sym and from /sys/module/nf_conntrack_ftp_sym.  See
 * ftp-sym(8).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "json.h"

#define FTP_SYM_VERSION		"1.0"
#define FTP_SYM_SCHEMA		1
#define FTP_SYM_HELPER		"ftp-sym"
#define PROC_COUNTERS		"/proc/net/nf_ftp_sym"
#define SYS_PARAMS		"/sys/module/nf_conntrack_ftp_sym/parameters"
#define PROC_SYSCTL		"/proc/sys/net/netfilter/"

/* Exit status, see ftp-sym(8). */
#define EXIT_OK			0
#define EXIT_FAIL		1	/* netlink or other runtime failure */
#define EXIT_USAGE		2
#define EXIT_NOT_LOADED		3	/* /proc/net/nf_ftp_sym missing */
#define EXIT_PERM		4	/* EPERM: need CAP_NET_ADMIN */

/* CT_OFFLOAD and CT_HW_OFFLOAD (uapi values): older library headers
 * lack them.
 */
#define CT_OFFLOAD		0x4000
#define CT_HW_OFFLOAD		0x8000

/* Kernel TCP conntrack states (enum tcp_conntrack). */
#define TCP_CT_SYN_SENT		1
#define TCP_CT_SYN_RECV		2
#define TCP_CT_ESTABLISHED	3
#define TCP_CT_SYN_SENT2	9

#define NAME_LEN		32

static const char *const status_names[] = {
	"EXPECTED", "SEEN_REPLY", "ASSURED", "CONFIRMED", "SRC_NAT",
	"DST_NAT", "SEQ_ADJUST", "SRC_NAT_DONE", "DST_NAT_DONE", "DYING",
	"FIXED_TIMEOUT", "TEMPLATE", "UNTRACKED", "HELPER", "OFFLOAD",
	"HW_OFFLOAD",
};

static const char *const tcp_state_names[] = {
	"NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT",
	"CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2",
};

static const char *const exp_flag_names[] = {
	"PERMANENT", "INACTIVE", "USERSPACE",
};

#define N_ELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ */
/* Options and small helpers                                           */
/* ------------------------------------------------------------------ */

static struct {
	bool json;
	bool watch;
	bool counters;
	int family;		/* AF_UNSPEC, AF_INET or AF_INET6 */
	const char *helper;
	const char *proc_counters;
	const char *sys_params;
} opt = {
	.family = AF_UNSPEC,
};

static void __attribute__((format(printf, 1, 2))) errmsg(const char *fmt, ...)
{
	va_list ap;

	fputs("ftp-sym: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A failed netlink operation: EPERM means we lack CAP_NET_ADMIN. */
static int netlink_error(const char *what, int err)
{
	if (err == EPERM || err == EACCES) {
		errmsg("need CAP_NET_ADMIN (run as root)");
		return EXIT_PERM;
	}
	errmsg("%s: %s", what, strerror(err));
	return EXIT_FAIL;
}

struct vec {
	void *items;
	size_t n, cap, size;
};

#define VEC_INIT(type)		{ .size = sizeof(type) }
#define VEC_AT(v, type, i)	(&((type *)(v)->items)[i])

/* A new zeroed element at the end of @v, NULL when out of memory. */
static void *vec_push(struct vec *v)
{
	void *p;

	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 16;

		p = reallocarray(v->items, cap, v->size);
		if (!p)
			return NULL;
		v->items = p;
		v->cap = cap;
	}
	p = (char *)v->items + v->n * v->size;
	memset(p, 0, v->size);
	v->n++;
	return p;
}

static void vec_free(struct vec *v)
{
	free(v->items);
	v->items = NULL;
	v->n = 0;
	v->cap = 0;
}

/* Append to the string of @len bytes in @buf; truncates, never overflows. */
static void __attribute__((format(printf, 4, 5)))
bufcat(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	*len += (size_t)n;
	if (*len >= size)
		*len = size - 1;
}

static void now_real(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

/* ------------------------------------------------------------------ */
/* Counters, parameters, sysctls                                       */
/* ------------------------------------------------------------------ */

struct kv {
	char *name;
	char *value;
};

static void kv_free(struct vec *v)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		free(VEC_AT(v, struct kv, i)->name);
		free(VEC_AT(v, struct kv, i)->value);
	}
	vec_free(v);
}

static int kv_add(struct vec *v, const char *name, const char *value)
{
	struct kv *e = vec_push(v);

	if (!e)
		return -1;
	e->name = strdup(name);
	e->value = strdup(value);
	if (!e->name || !e->value)
		return -1;
	return 0;
}

static void strip(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

/* The helper's counters in this netns, in file order.  Returns EXIT_OK,
 * EXIT_NOT_LOADED or EXIT_FAIL (message printed).
 */
static int read_counters(struct vec *out)
{
	char line[256], *sp;
	FILE *f;
	int ret = EXIT_OK;

	f = fopen(opt.proc_counters, "re");
	if (!f) {
		if (errno == ENOENT) {
			errmsg("nf_conntrack_ftp_sym is not loaded in this network namespace"
			       " (no %s)", opt.proc_counters);
			return EXIT_NOT_LOADED;
		}
		errmsg("%s: %s", opt.proc_counters, strerror(errno));
		return EXIT_FAIL;
	}
	while (fgets(line, sizeof(line), f)) {
		strip(line);
		sp = strchr(line, ' ');
		if (!sp)
			continue;
		*sp++ = '\0';
		if (kv_add(out, line, sp)) {
			errmsg("out of memory");
			ret = EXIT_FAIL;
			break;
		}
	}
	if (ret == EXIT_OK && ferror(f)) {
		errmsg("%s: read error", opt.proc_counters);
		ret = EXIT_FAIL;
	}
	fclose(f);
	return ret;
}

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->name,
		      ((const struct kv *)b)->name);
}

/* The module parameters, sorted by name.  A missing directory gives none. */
static int read_params(struct vec *out)
{
	char path[512], val[256];
	struct dirent *de;
	DIR *d;
	FILE *f;

	d = opendir(opt.sys_params);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", opt.sys_params,
			 de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (!fgets(val, sizeof(val), f))
			val[0] = '\0';
		fclose(f);
		strip(val);
		if (kv_add(out, de->d_name, val)) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	if (out->n)
		qsort(out->items, out->n, out->size, kv_cmp);
	return 0;
}

static const char *kv_get(const struct vec *v, const char *name)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (!strcmp(VEC_AT(v, struct kv, i)->name, name))
			return VEC_AT(v, struct kv, i)->value;
	return NULL;
}

/* A netfilter sysctl of this netns as an integer, -1 if unreadable. */
static long read_sysctl(const char *name)
{
	char path[256], buf[64], *end;
	long val;
	FILE *f;

	snprintf(path, sizeof(path), PROC_SYSCTL "%s", name);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	errno = 0;
	val = strtol(buf, &end, 10);
	if (errno || end == buf)
		return -1;
	return val;
}

/* @s as an unsigned decimal number: digits only, fits in 64 bits. */
static bool parse_u64(const char *s, uint64_t *val)
{
	const char *p;

	if (!*s)
		return false;
	for (p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	errno = 0;
	*val = strtoull(s, NULL, 10);
	return errno == 0;
}

/* A counter or parameter value: a number, Y/N as a boolean, or a string. */
static void json_value(struct json *j, const char *key, const char *val)
{
	uint64_t num;

	if (parse_u64(val, &num))
		json_u64(j, key, num);
	else if (!strcmp(val, "Y"))
		json_bool(j, key, true);
	else if (!strcmp(val, "N"))
		json_bool(j, key, false);
	else
		json_str(j, key, val);
}

static void json_kv(struct json *j, const char *key, const struct vec *v)
{
	size_t i;

	json_obj_begin(j, key);
	for (i = 0; i < v->n; i++)
		json_value(j, VEC_AT(v, struct kv, i)->name,
			   VEC_AT(v, struct kv, i)->value);
	json_obj_end(j);
}

/* ------------------------------------------------------------------ */
/* Conntracks and expectations                                         */
/* ------------------------------------------------------------------ */

struct tuple {
	uint8_t l3;		/* AF_INET, AF_INET6; 0: not present */
	uint8_t l4;
	uint32_t src[4];	/* network byte order */
	uint32_t dst[4];
	uint16_t sport;		/* host byte order */
	uint16_t dport;
};

struct conn {
	uint32_t id;
	uint16_t zone;
	struct tuple orig, repl, master;
	char helper[NAME_LEN];
	uint32_t status;
	bool has_status;
	bool has_state;
	uint8_t state;
	bool has_timeout;
	uint32_t timeout;
	bool has_tstamp;
	uint64_t tstamp_start, tstamp_stop;	/* ns, CLOCK_REALTIME */
	bool has_acct;
	uint64_t packets[2], bytes[2];
};

struct expect {
	struct tuple master, tuple, mask, nat;
	uint16_t zone;
	uint32_t timeout, flags, class;
	bool has_nat;
	uint32_t nat_dir;
	char helper[NAME_LEN];
	char fn[NAME_LEN];
};

enum { T_ORIG, T_REPL, T_MASTER };

static const struct {
	enum nf_conntrack_attr l3, l4, v4src, v4dst, v6src, v6dst, sport, dport;
} tuple_attr[] = {
	[T_ORIG] = { ATTR_ORIG_L3PROTO, ATTR_ORIG_L4PROTO, ATTR_ORIG_IPV4_SRC,
		     ATTR_ORIG_IPV4_DST, ATTR_ORIG_IPV6_SRC, ATTR_ORIG_IPV6_DST,
		     ATTR_ORIG_PORT_SRC, ATTR_ORIG_PORT_DST },
	[T_REPL] = { ATTR_REPL_L3PROTO, ATTR_REPL_L4PROTO, ATTR_REPL_IPV4_SRC,
		     ATTR_REPL_IPV4_DST, ATTR_REPL_IPV6_SRC, ATTR_REPL_IPV6_DST,
		     ATTR_REPL_PORT_SRC, ATTR_REPL_PORT_DST },
	[T_MASTER] = { ATTR_MASTER_L3PROTO, ATTR_MASTER_L4PROTO,
		       ATTR_MASTER_IPV4_SRC, ATTR_MASTER_IPV4_DST,
		       ATTR_MASTER_IPV6_SRC, ATTR_MASTER_IPV6_DST,
		       ATTR_MASTER_PORT_SRC, ATTR_MASTER_PORT_DST },
};

static void get_addr(const struct nf_conntrack *ct, enum nf_conntrack_attr a,
		     size_t len, uint32_t *out)
{
	const void *p = nfct_get_attr(ct, a);

	if (p)
		memcpy(out, p, len);
}

/* Tuple @which of @ct; l3 stays 0 if the conntrack does not carry it. */
static void get_tuple(const struct nf_conntrack *ct, int which,
		      struct tuple *t)
{
	memset(t, 0, sizeof(*t));
	if (nfct_attr_is_set(ct, tuple_attr[which].l3) <= 0)
		return;
	t->l3 = nfct_get_attr_u8(ct, tuple_attr[which].l3);
	t->l4 = nfct_get_attr_u8(ct, tuple_attr[which].l4);
	if (t->l3 == AF_INET) {
		get_addr(ct, tuple_attr[which].v4src, 4, t->src);
		get_addr(ct, tuple_attr[which].v4dst, 4, t->dst);
	} else if (t->l3 == AF_INET6) {
		get_addr(ct, tuple_attr[which].v6src, 16, t->src);
		get_addr(ct, tuple_attr[which].v6dst, 16, t->dst);
	}
	t->sport = ntohs(nfct_get_attr_u16(ct, tuple_attr[which].sport));
	t->dport = ntohs(nfct_get_attr_u16(ct, tuple_attr[which].dport));
}

static bool tuple_eq(const struct tuple *a, const struct tuple *b)
{
	return a->l3 && a->l3 == b->l3 && a->l4 == b->l4 &&
	       !memcmp(a->src, b->src, sizeof(a->src)) &&
	       !memcmp(a->dst, b->dst, sizeof(a->dst)) &&
	       a->sport == b->sport && a->dport == b->dport;
}

static void copy_name(char *dst, const char *src)
{
	snprintf(dst, NAME_LEN, "%s", src ? src : "");
}

static void conn_from_ct(const struct nf_conntrack *ct, struct conn *c)
{
	memset(c, 0, sizeof(*c));
	get_tuple(ct, T_ORIG, &c->orig);
	get_tuple(ct, T_REPL, &c->repl);
	get_tuple(ct, T_MASTER, &c->master);
	c->id = nfct_get_attr_u32(ct, ATTR_ID);
	c->zone = nfct_get_attr_u16(ct, ATTR_ZONE);
	if (nfct_attr_is_set(ct, ATTR_HELPER_NAME) > 0)
		copy_name(c->helper, nfct_get_attr(ct, ATTR_HELPER_NAME));
	c->has_status = nfct_attr_is_set(ct, ATTR_STATUS) > 0;
	c->status = nfct_get_attr_u32(ct, ATTR_STATUS);
	c->has_state = nfct_attr_is_set(ct, ATTR_TCP_STATE) > 0;
	c->state = nfct_get_attr_u8(ct, ATTR_TCP_STATE);
	c->has_timeout = nfct_attr_is_set(ct, ATTR_TIMEOUT) > 0;
	c->timeout = nfct_get_attr_u32(ct, ATTR_TIMEOUT);
	c->has_tstamp = nfct_attr_is_set(ct, ATTR_TIMESTAMP_START) > 0;
	c->tstamp_start = nfct_get_attr_u64(ct, ATTR_TIMESTAMP_START);
	c->tstamp_stop = nfct_get_attr_u64(ct, ATTR_TIMESTAMP_STOP);
	c->has_acct = nfct_attr_is_set(ct, ATTR_ORIG_COUNTER_BYTES) > 0;
	c->packets[0] = nfct_get_attr_u64(ct, ATTR_ORIG_COUNTER_PACKETS);
	c->packets[1] = nfct_get_attr_u64(ct, ATTR_REPL_COUNTER_PACKETS);
	c->bytes[0] = nfct_get_attr_u64(ct, ATTR_ORIG_COUNTER_BYTES);
	c->bytes[1] = nfct_get_attr_u64(ct, ATTR_REPL_COUNTER_BYTES);
}

static void get_exp_tuple(const struct nf_expect *exp, enum nf_expect_attr a,
			  struct tuple *t)
{
	const struct nf_conntrack *ct = nfexp_get_attr(exp, a);

	if (ct)
		get_tuple(ct, T_ORIG, t);
	else
		memset(t, 0, sizeof(*t));
}

static void expect_from_nf(const struct nf_expect *exp, struct expect *e)
{
	memset(e, 0, sizeof(*e));
	get_exp_tuple(exp, ATTR_EXP_MASTER, &e->master);
	get_exp_tuple(exp, ATTR_EXP_EXPECTED, &e->tuple);
	get_exp_tuple(exp, ATTR_EXP_MASK, &e->mask);
	e->has_nat = nfexp_attr_is_set(exp, ATTR_EXP_NAT_TUPLE) > 0;
	if (e->has_nat) {
		get_exp_tuple(exp, ATTR_EXP_NAT_TUPLE, &e->nat);
		e->nat_dir = nfexp_get_attr_u32(exp, ATTR_EXP_NAT_DIR);
	}
	e->zone = nfexp_get_attr_u16(exp, ATTR_EXP_ZONE);
	e->timeout = nfexp_get_attr_u32(exp, ATTR_EXP_TIMEOUT);
	e->flags = nfexp_get_attr_u32(exp, ATTR_EXP_FLAGS);
	e->class = nfexp_get_attr_u32(exp, ATTR_EXP_CLASS);
	if (nfexp_attr_is_set(exp, ATTR_EXP_HELPER_NAME) > 0)
		copy_name(e->helper, nfexp_get_attr(exp, ATTR_EXP_HELPER_NAME));
	if (nfexp_attr_is_set(exp, ATTR_EXP_FN) > 0)
		copy_name(e->fn, nfexp_get_attr(exp, ATTR_EXP_FN));
}

static bool family_ok(uint8_t l3)
{
	return opt.family == AF_UNSPEC || opt.family == l3;
}

/* A data connection may carry its master's helper too (some stable
 * kernels give it to every expected connection): a control connection is
 * one with the helper and no master.
 */
static bool is_control(const struct conn *c)
{
	return c->orig.l4 == IPPROTO_TCP && !c->master.l3 &&
	       !(c->has_status && (c->status & IPS_EXPECTED)) &&
	       !strcmp(c->helper, opt.helper);
}

/* The TCP states in which the module's worker keeps the master alive. */
static bool state_alive(const struct conn *c)
{
	return c->has_state &&
	       (c->state == TCP_CT_SYN_SENT || c->state == TCP_CT_SYN_RECV ||
		c->state == TCP_CT_ESTABLISHED || c->state == TCP_CT_SYN_SENT2);
}

struct snapshot {
	struct vec controls;	/* struct conn, helper ftp-sym */
	struct vec data;	/* struct conn, with a master tuple */
	struct vec expects;	/* struct expect, master is a control */
	int err;		/* errno from a callback */
};

static int dump_ct_cb(enum nf_conntrack_msg_type type, struct nf_conntrack *ct,
		      void *data)
{
	struct snapshot *s = data;
	struct conn c, *slot;

	(void)type;
	conn_from_ct(ct, &c);
	if (!family_ok(c.orig.l3))
		return NFCT_CB_CONTINUE;
	if (is_control(&c))
		slot = vec_push(&s->controls);
	else if (c.master.l3 && c.master.l4 == IPPROTO_TCP)
		slot = vec_push(&s->data);
	else
		return NFCT_CB_CONTINUE;
	if (!slot) {
		s->err = ENOMEM;
		return NFCT_CB_STOP;
	}
	*slot = c;
	return NFCT_CB_CONTINUE;
}

static int dump_exp_cb(enum nf_conntrack_msg_type type, struct nf_expect *exp,
		       void *data)
{
	struct snapshot *s = data;
	struct expect e, *slot;

	(void)type;
	expect_from_nf(exp, &e);
	if (!family_ok(e.master.l3) || e.master.l4 != IPPROTO_TCP)
		return NFCT_CB_CONTINUE;
	slot = vec_push(&s->expects);
	if (!slot) {
		s->err = ENOMEM;
		return NFCT_CB_STOP;
	}
	*slot = e;
	return NFCT_CB_CONTINUE;
}

static void snapshot_free(struct snapshot *s)
{
	vec_free(&s->controls);
	vec_free(&s->data);
	vec_free(&s->expects);
}

/* errno after a failed library call, never 0. */
static int lib_errno(void)
{
	return errno ? errno : EIO;
}

/* Dump conntracks, then expectations.  Returns an exit status. */
static int snapshot_take(struct snapshot *s)
{
	uint32_t family = opt.family;
	struct nfct_handle *h;
	int err = 0;

	h = nfct_open(CONNTRACK, 0);
	if (!h)
		return netlink_error("cannot open ctnetlink", lib_errno());
	if (nfct_callback_register(h, NFCT_T_ALL, dump_ct_cb, s) < 0 ||
	    nfct_query(h, NFCT_Q_DUMP, &family) < 0)
		err = lib_errno();
	nfct_close(h);
	if (err || s->err)
		return netlink_error("conntrack dump", err ? err : s->err);

	h = nfct_open(EXPECT, 0);
	if (!h)
		return netlink_error("cannot open ctnetlink_exp", lib_errno());
	if (nfexp_callback_register(h, NFCT_T_ALL, dump_exp_cb, s) < 0 ||
	    nfexp_query(h, NFCT_Q_DUMP, &family) < 0)
		err = lib_errno();
	nfct_close(h);
	if (err || s->err)
		return netlink_error("expectation dump", err ? err : s->err);
	return EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* Formatting                                                          */
/* ------------------------------------------------------------------ */

static const char *family_name(uint8_t l3)
{
	return l3 == AF_INET6 ? "ipv6" : l3 == AF_INET ? "ipv4" : "unknown";
}

static void fmt_addr(char *buf, size_t size, uint8_t l3, const uint32_t *a)
{
	if (!inet_ntop(l3 == AF_INET6 ? AF_INET6 : AF_INET, a, buf, size))
		snprintf(buf, size, "?");
}

/* "addr:port", "[v6]:port", with "*" for a wildcard port or address. */
static void fmt_ep(char *buf, size_t size, uint8_t l3, const uint32_t *a,
		   bool any_addr, uint16_t port, bool any_port)
{
	char ab[INET6_ADDRSTRLEN], pb[8];

	if (any_addr)
		snprintf(ab, sizeof(ab), "*");
	else
		fmt_addr(ab, sizeof(ab), l3, a);
	if (any_port)
		snprintf(pb, sizeof(pb), "*");
	else
		snprintf(pb, sizeof(pb), "%u", port);
	if (l3 == AF_INET6 && !any_addr)
		snprintf(buf, size, "[%s]:%s", ab, pb);
	else
		snprintf(buf, size, "%s:%s", ab, pb);
}

#define EP_LEN		(INET6_ADDRSTRLEN + 10)
#define TUPLE_LEN	(2 * EP_LEN + 8)

static void fmt_tuple(char *buf, size_t size, const struct tuple *t)
{
	char s[EP_LEN], d[EP_LEN];

	fmt_ep(s, sizeof(s), t->l3, t->src, false, t->sport, false);
	fmt_ep(d, sizeof(d), t->l3, t->dst, false, t->dport, false);
	snprintf(buf, size, "%s -> %s", s, d);
}

static bool addr_zero(const uint32_t *a)
{
	return !a[0] && !a[1] && !a[2] && !a[3];
}

/* The expected tuple, with wildcards where the mask is zero. */
static void fmt_exp_tuple(char *buf, size_t size, const struct expect *e)
{
	char s[EP_LEN], d[EP_LEN];

	fmt_ep(s, sizeof(s), e->tuple.l3, e->tuple.src,
	       addr_zero(e->mask.src), e->tuple.sport, !e->mask.sport);
	fmt_ep(d, sizeof(d), e->tuple.l3, e->tuple.dst, false,
	       e->tuple.dport, false);
	snprintf(buf, size, "%s -> %s", s, d);
}

static const char *tcp_state(const struct conn *c)
{
	if (!c->has_state)
		return NULL;
	if (c->state < N_ELEM(tcp_state_names))
		return tcp_state_names[c->state];
	return "UNKNOWN";
}

static bool conn_snat(const struct conn *c)
{
	return (c->status & IPS_SRC_NAT) ||
	       memcmp(c->orig.src, c->repl.dst, sizeof(c->orig.src)) ||
	       c->orig.sport != c->repl.dport;
}

static bool conn_dnat(const struct conn *c)
{
	return (c->status & IPS_DST_NAT) ||
	       memcmp(c->orig.dst, c->repl.src, sizeof(c->orig.dst)) ||
	       c->orig.dport != c->repl.sport;
}

/* Seconds since the conntrack was created, -1 if unknown. */
static int64_t conn_age(const struct conn *c, const struct timespec *now)
{
	uint64_t end;

	if (!c->has_tstamp || !c->tstamp_start)
		return -1;
	end = c->tstamp_stop ? c->tstamp_stop :
	      (uint64_t)now->tv_sec * 1000000000ULL + now->tv_nsec;
	if (end < c->tstamp_start)
		return 0;
	return (int64_t)((end - c->tstamp_start) / 1000000000ULL);
}

static const char *exp_dir_name(uint32_t dir)
{
	return dir == 0 ? "original" : dir == 1 ? "reply" : "unknown";
}

/* ------------------------------------------------------------------ */
/* JSON output                                                         */
/* ------------------------------------------------------------------ */

static void json_tuple(struct json *j, const char *key, const struct tuple *t)
{
	char a[INET6_ADDRSTRLEN];

	if (!t->l3) {
		json_null(j, key);
		return;
	}
	json_obj_begin(j, key);
	fmt_addr(a, sizeof(a), t->l3, t->src);
	json_str(j, "src", a);
	json_u64(j, "sport", t->sport);
	fmt_addr(a, sizeof(a), t->l3, t->dst);
	json_str(j, "dst", a);
	json_u64(j, "dport", t->dport);
	json_obj_end(j);
}

static void json_ep(struct json *j, const char *key, uint8_t l3,
		    const uint32_t *addr, uint16_t port)
{
	char a[INET6_ADDRSTRLEN];

	json_obj_begin(j, key);
	fmt_addr(a, sizeof(a), l3, addr);
	json_str(j, "addr", a);
	json_u64(j, "port", port);
	json_obj_end(j);
}

static void json_status(struct json *j, uint32_t status)
{
	unsigned int i;

	json_arr_begin(j, "status");
	for (i = 0; i < N_ELEM(status_names); i++)
		if (status & (1U << i))
			json_str(j, NULL, status_names[i]);
	json_arr_end(j);
}

/* The members every conntrack (control or data) has. */
static void json_conn(struct json *j, const struct conn *c,
		      const struct timespec *now)
{
	int64_t age = conn_age(c, now);
	int i;

	json_u64(j, "id", c->id);
	json_str(j, "family", family_name(c->orig.l3));
	json_u64(j, "zone", c->zone);
	json_str(j, "helper", c->helper[0] ? c->helper : NULL);
	json_tuple(j, "original", &c->orig);
	json_tuple(j, "reply", &c->repl);
	json_obj_begin(j, "nat");
	if (c->repl.l3 && conn_snat(c))
		json_ep(j, "snat", c->repl.l3, c->repl.dst, c->repl.dport);
	else
		json_null(j, "snat");
	if (c->repl.l3 && conn_dnat(c))
		json_ep(j, "dnat", c->repl.l3, c->repl.src, c->repl.sport);
	else
		json_null(j, "dnat");
	json_obj_end(j);
	if (c->has_status)
		json_status(j, c->status);
	else
		json_null(j, "status");
	json_str(j, "tcp_state", tcp_state(c));
	if (c->has_timeout)
		json_u64(j, "timeout", c->timeout);
	else
		json_null(j, "timeout");
	if (age >= 0)
		json_i64(j, "age", age);
	else
		json_null(j, "age");
	if (!c->has_acct) {
		json_null(j, "acct");
		return;
	}
	json_obj_begin(j, "acct");
	for (i = 0; i < 2; i++) {
		json_obj_begin(j, i ? "reply" : "original");
		json_u64(j, "packets", c->packets[i]);
		json_u64(j, "bytes", c->bytes[i]);
		json_obj_end(j);
	}
	json_obj_end(j);
}

static void json_data_extra(struct json *j, const struct conn *c)
{
	json_bool(j, "offloaded", c->status & CT_OFFLOAD);
	json_bool(j, "hw_offloaded", c->status & CT_HW_OFFLOAD);
	if (c->has_state)
		json_bool(j, "holds_master", state_alive(c));
	else
		json_null(j, "holds_master");
}

static void json_expect(struct json *j, const struct expect *e)
{
	char a[INET6_ADDRSTRLEN];
	unsigned int i;

	json_str(j, "family", family_name(e->tuple.l3));
	json_u64(j, "zone", e->zone);
	json_obj_begin(j, "expected");
	if (addr_zero(e->mask.src)) {
		json_null(j, "src");
	} else {
		fmt_addr(a, sizeof(a), e->tuple.l3, e->tuple.src);
		json_str(j, "src", a);
	}
	if (e->mask.sport)
		json_u64(j, "sport", e->tuple.sport);
	else
		json_null(j, "sport");
	fmt_addr(a, sizeof(a), e->tuple.l3, e->tuple.dst);
	json_str(j, "dst", a);
	json_u64(j, "dport", e->tuple.dport);
	json_obj_end(j);
	json_u64(j, "timeout", e->timeout);
	json_arr_begin(j, "flags");
	for (i = 0; i < N_ELEM(exp_flag_names); i++)
		if (e->flags & (1U << i))
			json_str(j, NULL, exp_flag_names[i]);
	json_arr_end(j);
	json_u64(j, "class", e->class);
	json_str(j, "helper", e->helper[0] ? e->helper : NULL);
	json_str(j, "fn", e->fn[0] ? e->fn : NULL);
	if (e->has_nat) {
		json_obj_begin(j, "nat");
		json_str(j, "dir", exp_dir_name(e->nat_dir));
		/* saved_addr and saved_proto: zero when not used */
		if (addr_zero(e->nat.src)) {
			json_null(j, "addr");
		} else {
			fmt_addr(a, sizeof(a), e->tuple.l3, e->nat.src);
			json_str(j, "addr", a);
		}
		if (e->nat.sport)
			json_u64(j, "port", e->nat.sport);
		else
			json_null(j, "port");
		json_obj_end(j);
	} else {
		json_null(j, "nat");
	}
}

static void json_header(struct json *j, const struct timespec *now)
{
	json_str(j, "tool", "ftp-sym");
	json_str(j, "version", FTP_SYM_VERSION);
	json_u64(j, "schema", FTP_SYM_SCHEMA);
	json_time(j, "time", now->tv_sec, now->tv_nsec / 1000);
}

/* keepalive_interval > 0, from the module parameters. */
static bool keepalive_enabled(const struct vec *params)
{
	const char *v = kv_get(params, "keepalive_interval");
	uint64_t num;

	return v && parse_u64(v, &num) && num > 0;
}

static bool control_held(const struct snapshot *s, const struct conn *ctl,
			 bool ka_on)
{
	size_t i;

	if (!ka_on)
		return false;
	for (i = 0; i < s->data.n; i++) {
		const struct conn *d = VEC_AT(&s->data, struct conn, i);

		if (tuple_eq(&d->master, &ctl->orig) && state_alive(d))
			return true;
	}
	return false;
}

static void print_json(const struct snapshot *s, const struct vec *counters,
		       const struct vec *params, const struct timespec *now)
{
	bool ka_on = keepalive_enabled(params);
	static const char *const sysctls[] = {
		"nf_conntrack_acct", "nf_conntrack_timestamp",
		"nf_conntrack_events",
	};
	struct json j;
	size_t i, k;
	long v;

	json_init(&j, stdout, true);
	json_obj_begin(&j, NULL);
	json_header(&j, now);
	if (s) {
		json_str(&j, "family", opt.family == AF_INET ? "ipv4" :
			 opt.family == AF_INET6 ? "ipv6" : "all");
		json_obj_begin(&j, "sysctl");
		for (i = 0; i < N_ELEM(sysctls); i++) {
			v = read_sysctl(sysctls[i]);
			if (v < 0)
				json_null(&j, sysctls[i]);
			else
				json_i64(&j, sysctls[i], v);
		}
		json_obj_end(&j);
	}
	json_kv(&j, "params", params);
	json_kv(&j, "counters", counters);
	if (!s)
		goto out;

	json_arr_begin(&j, "sessions");
	for (i = 0; i < s->controls.n; i++) {
		const struct conn *c = VEC_AT(&s->controls, struct conn, i);

		json_obj_begin(&j, NULL);
		json_conn(&j, c, now);
		json_str(&j, "keepalive",
			 control_held(s, c, ka_on) ? "holding" : "no");
		json_arr_begin(&j, "expectations");
		for (k = 0; k < s->expects.n; k++) {
			const struct expect *e =
				VEC_AT(&s->expects, struct expect, k);

			if (!tuple_eq(&e->master, &c->orig))
				continue;
			json_obj_begin(&j, NULL);
			json_expect(&j, e);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_arr_begin(&j, "data");
		for (k = 0; k < s->data.n; k++) {
			const struct conn *d = VEC_AT(&s->data, struct conn, k);

			if (!tuple_eq(&d->master, &c->orig))
				continue;
			json_obj_begin(&j, NULL);
			json_conn(&j, d, now);
			json_data_extra(&j, d);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
	}
	json_arr_end(&j);
out:
	json_obj_end(&j);
	if (!json_finish(&j))
		errmsg("internal error: unbalanced JSON");
}

/* ------------------------------------------------------------------ */
/* Table output                                                        */
/* ------------------------------------------------------------------ */

#define TABLE_COLS	8

struct table {
	struct vec rows;	/* char *[TABLE_COLS] */
	int err;
};

struct row {
	char *cell[TABLE_COLS];
};

static void table_row(struct table *t, const char *const *cells)
{
	struct row *r = vec_push(&t->rows);
	int i;

	if (!r) {
		t->err = ENOMEM;
		return;
	}
	for (i = 0; i < TABLE_COLS; i++) {
		r->cell[i] = strdup(cells[i] ? cells[i] : "");
		if (!r->cell[i])
			t->err = ENOMEM;
	}
}

static void table_print(const struct table *t)
{
	size_t w[TABLE_COLS] = { 0 };
	size_t i, len;
	int c, last;

	for (i = 0; i < t->rows.n; i++) {
		const struct row *r = VEC_AT(&t->rows, struct row, i);

		for (c = 0; c < TABLE_COLS; c++) {
			len = r->cell[c] ? strlen(r->cell[c]) : 0;
			if (len > w[c])
				w[c] = len;
		}
	}
	for (i = 0; i < t->rows.n; i++) {
		const struct row *r = VEC_AT(&t->rows, struct row, i);

		last = TABLE_COLS - 1;
		while (last > 0 && (!r->cell[last] || !r->cell[last][0]))
			last--;
		for (c = 0; c <= last; c++) {
			const char *s = r->cell[c] ? r->cell[c] : "";

			if (c == last)
				printf("%s\n", s);
			else
				printf("%-*s  ", (int)w[c], s);
		}
	}
}

static void table_free(struct table *t)
{
	size_t i;
	int c;

	for (i = 0; i < t->rows.n; i++)
		for (c = 0; c < TABLE_COLS; c++)
			free(VEC_AT(&t->rows, struct row, i)->cell[c]);
	vec_free(&t->rows);
}

static void fmt_secs(char *buf, size_t size, bool known, int64_t secs)
{
	if (known)
		snprintf(buf, size, "%" PRId64 "s", secs);
	else
		snprintf(buf, size, "unknown");
}

static void control_row(struct table *t, const struct snapshot *s,
			const struct conn *c, bool ka_on,
			const struct timespec *now)
{
	char orig[TUPLE_LEN], repl[TUPLE_LEN], to[16], age[24];
	char ep[EP_LEN], info[3 * EP_LEN + 64];
	const char *cells[TABLE_COLS];
	int64_t a = conn_age(c, now);
	size_t n = 0;

	fmt_tuple(orig, sizeof(orig), &c->orig);
	fmt_tuple(repl, sizeof(repl), &c->repl);
	fmt_secs(to, sizeof(to), c->has_timeout, c->timeout);
	fmt_secs(age, sizeof(age), a >= 0, a);
	info[0] = '\0';
	if (conn_snat(c)) {
		fmt_ep(ep, sizeof(ep), c->repl.l3, c->repl.dst, false,
		       c->repl.dport, false);
		bufcat(info, sizeof(info), &n, "SNAT to %s, ", ep);
	}
	if (conn_dnat(c)) {
		fmt_ep(ep, sizeof(ep), c->repl.l3, c->repl.src, false,
		       c->repl.sport, false);
		bufcat(info, sizeof(info), &n, "DNAT to %s, ", ep);
	}
	bufcat(info, sizeof(info), &n, "keepalive %s, id %u",
	       control_held(s, c, ka_on) ? "holding" : "no", c->id);
	cells[0] = "control";
	cells[1] = family_name(c->orig.l3);
	cells[2] = orig;
	cells[3] = repl;
	cells[4] = tcp_state(c) ? tcp_state(c) : "-";
	cells[5] = to;
	cells[6] = age;
	cells[7] = info;
	table_row(t, cells);
}

static void expect_row(struct table *t, const struct expect *e)
{
	char tup[TUPLE_LEN], to[16], ep[EP_LEN], info[EP_LEN + 64];
	const char *cells[TABLE_COLS];
	size_t n = 0;

	fmt_exp_tuple(tup, sizeof(tup), e);
	snprintf(to, sizeof(to), "%us", e->timeout);
	bufcat(info, sizeof(info), &n, "fn %s", e->fn[0] ? e->fn : "-");
	if (e->has_nat) {
		fmt_ep(ep, sizeof(ep), e->tuple.l3, e->nat.src,
		       addr_zero(e->nat.src), e->nat.sport, !e->nat.sport);
		bufcat(info, sizeof(info), &n, ", NAT %s to %s",
		       exp_dir_name(e->nat_dir), ep);
	}
	cells[0] = "  expect";
	cells[1] = family_name(e->tuple.l3);
	cells[2] = tup;
	cells[3] = "-";
	cells[4] = "-";
	cells[5] = to;
	cells[6] = "-";
	cells[7] = info;
	table_row(t, cells);
}

static void data_row(struct table *t, const struct conn *d,
		     const struct timespec *now)
{
	char orig[TUPLE_LEN], repl[TUPLE_LEN], to[16], age[24], info[128];
	const char *cells[TABLE_COLS];
	int64_t a = conn_age(d, now);
	size_t n = 0;

	fmt_tuple(orig, sizeof(orig), &d->orig);
	fmt_tuple(repl, sizeof(repl), &d->repl);
	fmt_secs(to, sizeof(to), d->has_timeout, d->timeout);
	fmt_secs(age, sizeof(age), a >= 0, a);
	info[0] = '\0';
	if (d->has_acct)
		bufcat(info, sizeof(info), &n, "bytes %" PRIu64 "/%" PRIu64 ", ",
		       d->bytes[0], d->bytes[1]);
	bufcat(info, sizeof(info), &n, "offload %s%s",
	       d->status & CT_HW_OFFLOAD ? "hw" :
	       d->status & CT_OFFLOAD ? "yes" : "no",
	       state_alive(d) ? ", holds master" : "");
	cells[0] = "  data";
	cells[1] = family_name(d->orig.l3);
	cells[2] = orig;
	cells[3] = repl;
	cells[4] = tcp_state(d) ? tcp_state(d) : "-";
	cells[5] = to;
	cells[6] = age;
	cells[7] = info;
	table_row(t, cells);
}

/* name value pairs in three column groups, filled column by column. */
static void print_kv_columns(const struct vec *v)
{
	const size_t groups = 3;
	size_t rows = (v->n + groups - 1) / groups;
	size_t nw[3] = { 0 }, vw[3] = { 0 };
	size_t r, g, i;

	for (i = 0; i < v->n; i++) {
		const struct kv *e = VEC_AT(v, struct kv, i);

		g = i / rows;
		if (strlen(e->name) > nw[g])
			nw[g] = strlen(e->name);
		if (strlen(e->value) > vw[g])
			vw[g] = strlen(e->value);
	}
	for (r = 0; r < rows; r++) {
		for (g = 0; g < groups; g++) {
			const struct kv *e;

			i = g * rows + r;
			if (i >= v->n)
				break;
			e = VEC_AT(v, struct kv, i);
			printf("%s%-*s %*s", g ? "    " : "  ", (int)nw[g],
			       e->name, (int)vw[g], e->value);
		}
		putchar('\n');
	}
}

static void print_counters_table(const struct vec *counters,
				 const struct vec *params)
{
	size_t i;

	printf("COUNTERS (this network namespace)\n");
	print_kv_columns(counters);
	printf("\nPARAMETERS (nf_conntrack_ftp_sym)\n ");
	for (i = 0; i < params->n; i++)
		printf(" %s=%s", VEC_AT(params, struct kv, i)->name,
		       VEC_AT(params, struct kv, i)->value);
	if (!params->n)
		printf(" (none readable)");
	putchar('\n');
}

static const char *onoff(long v)
{
	return v < 0 ? "unknown" : v ? "on" : "off";
}

static int print_table(const struct snapshot *s, const struct vec *counters,
		       const struct vec *params, const struct timespec *now)
{
	static const char *const head[TABLE_COLS] = {
		"KIND", "FAMILY", "ORIGINAL", "REPLY", "STATE", "TIMEOUT",
		"AGE", "DETAILS",
	};
	bool ka_on = keepalive_enabled(params);
	struct table t = {
		.rows = VEC_INIT(struct row),
	};
	size_t i, k;
	long ts = read_sysctl("nf_conntrack_timestamp");
	long acct = read_sysctl("nf_conntrack_acct");

	printf("FTP SESSIONS (helper %s, %s): %zu control connection%s\n",
	       opt.helper, opt.family == AF_INET ? "IPv4" :
	       opt.family == AF_INET6 ? "IPv6" : "IPv4 and IPv6",
	       s->controls.n, s->controls.n == 1 ? "" : "s");
	printf("  conntrack timestamps %s%s, accounting %s, keep-alive %s\n",
	       onoff(ts), ts > 0 ? "" : " (age unknown)", onoff(acct),
	       ka_on ? "on" : "off");
	if (s->controls.n) {
		putchar('\n');
		table_row(&t, head);
	}
	for (i = 0; i < s->controls.n; i++) {
		const struct conn *c = VEC_AT(&s->controls, struct conn, i);

		control_row(&t, s, c, ka_on, now);
		for (k = 0; k < s->expects.n; k++) {
			const struct expect *e =
				VEC_AT(&s->expects, struct expect, k);

			if (tuple_eq(&e->master, &c->orig))
				expect_row(&t, e);
		}
		for (k = 0; k < s->data.n; k++) {
			const struct conn *d = VEC_AT(&s->data, struct conn, k);

			if (tuple_eq(&d->master, &c->orig))
				data_row(&t, d, now);
		}
	}
	if (t.err) {
		table_free(&t);
		errmsg("out of memory");
		return EXIT_FAIL;
	}
	table_print(&t);
	table_free(&t);
	putchar('\n');
	print_counters_table(counters, params);
	return EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* Watch                                                               */
/* ------------------------------------------------------------------ */

/* What we know about the connections whose later events (UPDATE,
 * DESTROY) no longer say that they belong to ftp-sym: DESTROY events carry
 * no helper name, and only the first event of a data connection names its
 * master.
 */
struct known {
	uint32_t id;
	struct tuple orig;
	struct tuple master;	/* data connections only */
};

struct watch {
	struct vec controls;	/* struct known */
	struct vec data;	/* struct known */
	int err;
};

static struct known *known_find_id(struct vec *v, const struct tuple *orig,
				   uint32_t id)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		struct known *k = VEC_AT(v, struct known, i);

		if (k->id == id && tuple_eq(&k->orig, orig))
			return k;
	}
	return NULL;
}

static struct known *known_find_orig(struct vec *v, const struct tuple *orig)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		struct known *k = VEC_AT(v, struct known, i);

		if (tuple_eq(&k->orig, orig))
			return k;
	}
	return NULL;
}

static void known_del(struct vec *v, struct known *k)
{
	struct known *last = VEC_AT(v, struct known, v->n - 1);

	*k = *last;
	v->n--;
}

static int known_add(struct vec *v, const struct conn *c)
{
	struct known *k = known_find_id(v, &c->orig, c->id);

	if (k)
		return 0;
	k = vec_push(v);
	if (!k)
		return -1;
	k->id = c->id;
	k->orig = c->orig;
	k->master = c->master;
	return 0;
}

static const char *event_name(enum nf_conntrack_msg_type type)
{
	switch (type) {
	case NFCT_T_NEW:
		return "new";
	case NFCT_T_UPDATE:
		return "update";
	case NFCT_T_DESTROY:
		return "destroy";
	default:
		return "unknown";
	}
}

static void event_prefix(const char *event, const char *kind)
{
	struct timespec now;
	struct tm tm;
	char buf[32];

	now_real(&now);
	localtime_r(&now.tv_sec, &tm);
	strftime(buf, sizeof(buf), "%H:%M:%S", &tm);
	printf("%s.%03ld %-7s %-7s ", buf, now.tv_nsec / 1000000, event, kind);
}

static void event_json_begin(struct json *j, const char *event,
			     const char *kind)
{
	struct timespec now;

	now_real(&now);
	json_init(j, stdout, false);
	json_obj_begin(j, NULL);
	json_time(j, "time", now.tv_sec, now.tv_nsec / 1000);
	json_str(j, "event", event);
	json_str(j, "kind", kind);
}

static void event_json_end(struct json *j)
{
	json_obj_end(j);
	json_finish(j);
}

static void print_conn_event(enum nf_conntrack_msg_type type,
			     const char *kind, const struct conn *c,
			     const struct tuple *master)
{
	char orig[TUPLE_LEN], repl[TUPLE_LEN], mt[TUPLE_LEN];
	struct timespec now;
	struct json j;

	now_real(&now);
	if (opt.json) {
		event_json_begin(&j, event_name(type), kind);
		json_conn(&j, c, &now);
		if (master) {
			json_tuple(&j, "master", master);
			json_data_extra(&j, c);
		}
		event_json_end(&j);
	} else {
		event_prefix(event_name(type), kind);
		fmt_tuple(orig, sizeof(orig), &c->orig);
		fmt_tuple(repl, sizeof(repl), &c->repl);
		printf("%s %s  reply %s", family_name(c->orig.l3), orig, repl);
		if (tcp_state(c))
			printf("  %s", tcp_state(c));
		if (c->has_timeout && type != NFCT_T_DESTROY)
			printf("  timeout %us", c->timeout);
		if (c->has_acct)
			printf("  bytes %" PRIu64 "/%" PRIu64,
			       c->bytes[0], c->bytes[1]);
		if (c->status & CT_OFFLOAD)
			printf("  offloaded");
		if (master && master->l3) {
			fmt_tuple(mt, sizeof(mt), master);
			printf("  master %s", mt);
		}
		printf("  id %u\n", c->id);
	}
	fflush(stdout);
}

static int ct_event_cb(enum nf_conntrack_msg_type type, struct nf_conntrack *ct,
		       void *data)
{
	struct watch *w = data;
	struct known *k;
	struct conn c;

	conn_from_ct(ct, &c);
	if (!family_ok(c.orig.l3) || c.orig.l4 != IPPROTO_TCP)
		return NFCT_CB_CONTINUE;

	/* Data first: its later events may name the helper, not the master. */
	k = known_find_id(&w->data, &c.orig, c.id);
	if (!k && c.master.l3 && known_find_orig(&w->controls, &c.master)) {
		if (known_add(&w->data, &c)) {
			w->err = ENOMEM;
			return NFCT_CB_CONTINUE;
		}
		k = known_find_id(&w->data, &c.orig, c.id);
	}
	if (k) {
		c.master = k->master;
		print_conn_event(type, "data", &c, &k->master);
		if (type == NFCT_T_DESTROY)
			known_del(&w->data, k);
		return NFCT_CB_CONTINUE;
	}

	k = known_find_id(&w->controls, &c.orig, c.id);
	if (is_control(&c) || k) {
		if (type == NFCT_T_DESTROY) {
			if (k)
				known_del(&w->controls, k);
		} else if (known_add(&w->controls, &c)) {
			w->err = ENOMEM;
		}
		print_conn_event(type, "control", &c, NULL);
	}
	return NFCT_CB_CONTINUE;
}

static int exp_event_cb(enum nf_conntrack_msg_type type, struct nf_expect *exp,
			void *data)
{
	char tup[TUPLE_LEN], mt[TUPLE_LEN];
	struct watch *w = data;
	struct expect e;
	struct json j;

	expect_from_nf(exp, &e);
	if (!family_ok(e.master.l3) || e.master.l4 != IPPROTO_TCP)
		return NFCT_CB_CONTINUE;
	if (strcmp(e.helper, opt.helper) &&
	    !known_find_orig(&w->controls, &e.master))
		return NFCT_CB_CONTINUE;
	if (opt.json) {
		event_json_begin(&j, event_name(type), "expectation");
		json_expect(&j, &e);
		json_tuple(&j, "master", &e.master);
		event_json_end(&j);
	} else {
		event_prefix(event_name(type), "expect");
		fmt_exp_tuple(tup, sizeof(tup), &e);
		fmt_tuple(mt, sizeof(mt), &e.master);
		printf("%s %s", family_name(e.tuple.l3), tup);
		if (type != NFCT_T_DESTROY)
			printf("  timeout %us", e.timeout);
		printf("  master %s\n", mt);
	}
	fflush(stdout);
	return NFCT_CB_CONTINUE;
}

/* Read what is queued on @h.  Returns 0, or an errno worth stopping for. */
static int drain(struct nfct_handle *h)
{
	if (nfct_catch(h) >= 0 || errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;
	if (errno == ENOBUFS) {
		errmsg("event buffer overrun: some events were lost");
		return 0;
	}
	return errno;
}

static int watch(void)
{
	struct watch w = {
		.controls = VEC_INIT(struct known),
		.data = VEC_INIT(struct known),
	};
	struct snapshot s = {
		.controls = VEC_INIT(struct conn),
		.data = VEC_INIT(struct conn),
		.expects = VEC_INIT(struct expect),
	};
	struct nfct_handle *h = NULL;
	struct pollfd pfd[2];
	sigset_t mask;
	int sfd = -1, ret = EXIT_OK, err, fl;
	size_t i;

	/* SIGINT and SIGTERM end the watch, also when the shell that started
	 * us in the background left SIGINT ignored.
	 */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == 0)
		sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		errmsg("signalfd: %s", strerror(errno));
		return EXIT_FAIL;
	}

	/* One socket for both subsystems, so that conntrack and expectation
	 * events arrive in the order the kernel sent them.  Subscribe first,
	 * then look at what exists: nothing falls in between.
	 */
	h = nfct_open(NFNL_SUBSYS_NONE, NFCT_ALL_CT_GROUPS |
		      NF_NETLINK_CONNTRACK_EXP_NEW |
		      NF_NETLINK_CONNTRACK_EXP_UPDATE |
		      NF_NETLINK_CONNTRACK_EXP_DESTROY);
	if (!h) {
		ret = netlink_error("cannot subscribe to conntrack events",
				    lib_errno());
		goto out;
	}
	fl = fcntl(nfct_fd(h), F_GETFL);
	if (fl < 0 || fcntl(nfct_fd(h), F_SETFL, fl | O_NONBLOCK) < 0) {
		ret = netlink_error("fcntl", errno);
		goto out;
	}
	ret = snapshot_take(&s);
	if (ret)
		goto out;
	for (i = 0; i < s.controls.n; i++)
		if (known_add(&w.controls, VEC_AT(&s.controls, struct conn, i)))
			w.err = ENOMEM;
	for (i = 0; i < s.data.n; i++) {
		const struct conn *d = VEC_AT(&s.data, struct conn, i);

		if (known_find_orig(&w.controls, &d->master) &&
		    known_add(&w.data, d))
			w.err = ENOMEM;
	}
	if (w.err) {
		ret = netlink_error("watch", w.err);
		goto out;
	}
	if (nfct_callback_register(h, NFCT_T_ALL, ct_event_cb, &w) < 0 ||
	    nfexp_callback_register(h, NFCT_T_ALL, exp_event_cb, &w) < 0) {
		ret = netlink_error("watch", lib_errno());
		goto out;
	}
	/* On stderr: stdout has only events.  Tests wait for this line. */
	errmsg("watching %s sessions (%zu control connection%s now)",
	       opt.helper, s.controls.n, s.controls.n == 1 ? "" : "s");

	pfd[0].fd = sfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = nfct_fd(h);
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			ret = netlink_error("poll", errno);
			break;
		}
		if (pfd[0].revents)
			break;		/* SIGINT or SIGTERM: done */
		err = pfd[1].revents ? drain(h) : 0;
		if (!err)
			err = w.err;
		if (err) {
			ret = netlink_error("reading events", err);
			break;
		}
		if (ferror(stdout)) {
			ret = EXIT_FAIL;
			break;
		}
	}
out:
	snapshot_free(&s);
	vec_free(&w.controls);
	vec_free(&w.data);
	if (h)
		nfct_close(h);
	close(sfd);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Main                                                                */
/* ------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ftp-sym [-4|-6] [--json] [--watch | --counters]\n"
		"\n"
		"Show the FTP sessions handled by the ftp-sym conntrack helper in the\n"
		"current network namespace, the helper's counters and parameters.\n"
		"\n"
		"  -4, -6          only IPv4 or only IPv6 sessions\n"
		"  -j, --json      one JSON document (with --watch: one object per line)\n"
		"  -w, --watch     follow conntrack and expectation events until SIGINT/SIGTERM\n"
		"  -c, --counters  only the counters and module parameters\n"
		"  -h, --help      this help\n"
		"  -V, --version   print the version\n"
		"\n"
		"Exit status: 0 ok, 1 netlink or other failure, 2 usage, 3 module not\n"
		"loaded in this network namespace, 4 permission denied (need CAP_NET_ADMIN).\n"
		"See ftp-sym(8).\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "watch", no_argument, NULL, 'w' },
		{ "counters", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct snapshot s = {
		.controls = VEC_INIT(struct conn),
		.data = VEC_INIT(struct conn),
		.expects = VEC_INIT(struct expect),
	};
	struct vec counters = VEC_INIT(struct kv);
	struct vec params = VEC_INIT(struct kv);
	struct timespec now;
	int c, ret;

	/* For tests and comparisons (see ftp-sym(8), ENVIRONMENT). */
	opt.helper = getenv("FTP_SYM_HELPER");
	if (!opt.helper || !*opt.helper)
		opt.helper = FTP_SYM_HELPER;
	opt.proc_counters = getenv("FTP_SYM_PROC_COUNTERS");
	if (!opt.proc_counters || !*opt.proc_counters)
		opt.proc_counters = PROC_COUNTERS;
	opt.sys_params = getenv("FTP_SYM_SYS_PARAMS");
	if (!opt.sys_params || !*opt.sys_params)
		opt.sys_params = SYS_PARAMS;

	while ((c = getopt_long(argc, argv, "46jwchV", longopts, NULL)) != -1) {
		switch (c) {
		case '4':
			opt.family = AF_INET;
			break;
		case '6':
			opt.family = AF_INET6;
			break;
		case 'j':
			opt.json = true;
			break;
		case 'w':
			opt.watch = true;
			break;
		case 'c':
			opt.counters = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("ftp-sym %s\n", FTP_SYM_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		errmsg("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (opt.watch && opt.counters) {
		errmsg("--watch and --counters exclude each other");
		return EXIT_USAGE;
	}

	ret = read_counters(&counters);
	if (ret)
		goto out;
	if (read_params(&params)) {
		errmsg("out of memory");
		ret = EXIT_FAIL;
		goto out;
	}

	if (opt.watch) {
		ret = watch();
		goto out;
	}

	if (!opt.counters) {
		ret = snapshot_take(&s);
		if (ret)
			goto out;
	}
	now_real(&now);
	if (opt.json)
		print_json(opt.counters ? NULL : &s, &counters, &params, &now);
	else if (opt.counters)
		print_counters_table(&counters, &params);
	else
		ret = print_table(&s, &counters, &params, &now);
out:
	snapshot_free(&s);
	kv_free(&counters);
	kv_free(&params);
	if (fflush(stdout) || ferror(stdout)) {
		errmsg("write error: %s", strerror(errno));
		if (!ret)
			ret = EXIT_FAIL;
	}
	return ret;
}
