// SPDX-License-Identifier: GPL-2.0-only
/* ftp-sym --watch (see watch.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "ftp-sym.h"
#include "render.h"
#include "watch.h"

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

int watch(void)
{
	struct watch w = {
		.controls = VEC_INIT(struct known),
		.data = VEC_INIT(struct known),
	};
	struct snapshot s = SNAPSHOT_INIT;
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
