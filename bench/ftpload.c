// SPDX-License-Identifier: GPL-2.0-only
/* ftpload: FTP client load for the benchmarks (server: ftpsrv).
 *
 *   ftpload sessions --server A [--mode pasv|port] [--concurrency C]
 *                    [--duration S] [--size B]
 *       C clients side by side, each running whole sessions (connect,
 *       USER, PASS, PASV or PORT, RETR of B bytes, QUIT) until S seconds
 *       are over.  Prints sessions=N errors=E elapsed=T.
 *   ftpload commands --server A [--duration S]
 *       One session sending PORT and PASV alternately, one at a time.
 *       Prints commands=N errors=E elapsed=T.
 *   ftpload pipeline --server A [--batch K] [--duration S]
 *       One session writing K lines at once (K-1 plain commands, then
 *       PASV) and reading the K replies.  Prints lines=N ...
 *   ftpload split --server A [--duration S]
 *       One session sending each PORT line in two writes (TCP_NODELAY),
 *       cut inside the address.  Prints lines=N ...
 *   ftpload hold --server A --sessions N [--port-base P] --release FILE
 *       N sessions at once, each logged in and with a PORT (port P + i)
 *       answered; prints ready=N stalled=S failed=F elapsed=T (S: PORT
 *       never answered; T: until the last one got ready); once FILE
 *       exists each ready one sends NOOP, then all are reset; prints
 *       alive=N failed=F.
 *   ftpload kabuild --server A --count N [--sessions S] [--sport-base B]
 *                   --release FILE
 *       S sessions open N data connections between them (PASV, connect
 *       from source port B + j, reset); prints built=N errors=E
 *       elapsed=T, then keeps the control connections open until FILE
 *       exists.
 *   ftpload probe [--duration S] [--period-us P]
 *       One thread per CPU sleeping P us at a time; prints the latest
 *       wake-up (max_late_us=...) over all CPUs.
 *
 * Common: --port N (2121), --timeout S (10, per operation).  Every wait is
 * bounded; the exit status is 0 when the run completed, whatever the
 * figures, and 1 when it could not run at all.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_LEN	512
#define BUF_LEN		8192
#define MAX_THREADS	256

static struct sockaddr_in server;
static unsigned int opt_timeout = 10;
static unsigned int opt_duration = 3;
static unsigned int opt_concurrency = 1;
static unsigned int opt_size = 1024;
static unsigned int opt_batch = 16;
static unsigned int opt_sessions;
static unsigned int opt_count;
static unsigned int opt_port_base = 20000;
static unsigned int opt_sport_base = 20000;
static unsigned int opt_period_us = 1000;
static bool opt_port_mode;
static const char *opt_release;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* ------------------------------------------------------------------ */
/* Blocking control connections                                        */

struct ctl {
	int fd;
	size_t len;
	char buf[BUF_LEN];
	char line[LINE_MAX_LEN];
};

/* Room for @want descriptors: as many as the hard limit allows, raised
 * when we may (root in the benchmark's guest).
 */
static void raise_nofile(rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_max < want) {
		struct rlimit up = { want, want };

		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			return;
		want = rl.rlim_max;
	}
	rl.rlim_cur = want;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static void set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = opt_timeout };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void reset_close(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* A connected TCP socket to @to, bound to source port @sport if not 0. */
static int tcp_connect(const struct sockaddr_in *to, unsigned int sport)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	set_timeouts(fd);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (sport) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		src.sin_port = htons(sport);
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
			close(fd);
			return -1;
		}
	}
	if (connect(fd, (const struct sockaddr *)to, sizeof(*to)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool send_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= n;
	}
	return true;
}

/* The next reply line (multi-line replies: their last line), CR LF
 * stripped, in c->line; returns its code, or -1.
 */
static int ctl_reply(struct ctl *c)
{
	char *lf;
	size_t n;
	ssize_t r;

	for (;;) {
		lf = memchr(c->buf, '\n', c->len);
		if (lf) {
			n = lf - c->buf;
			if (n && c->buf[n - 1] == '\r')
				n--;
			if (n >= LINE_MAX_LEN)
				n = LINE_MAX_LEN - 1;
			memcpy(c->line, c->buf, n);
			c->line[n] = '\0';
			c->len -= lf + 1 - c->buf;
			memmove(c->buf, lf + 1, c->len);
			if (n >= 4 && c->line[3] == ' ')
				return atoi(c->line);
			continue;	/* "NNN-" or text inside one */
		}
		if (c->len == BUF_LEN)
			return -1;
		r = read(c->fd, c->buf + c->len, BUF_LEN - c->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c->len += r;
	}
}

static int ctl_cmd(struct ctl *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int ctl_cmd(struct ctl *c, const char *fmt, ...)
{
	char buf[LINE_MAX_LEN];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(buf) - 2)
		return -1;
	buf[n++] = '\r';
	buf[n++] = '\n';
	if (!send_all(c->fd, buf, n))
		return -1;
	return ctl_reply(c);
}

static bool ctl_open(struct ctl *c)
{
	c->len = 0;
	c->fd = tcp_connect(&server, 0);
	if (c->fd < 0)
		return false;
	if (ctl_reply(c) != 220 ||
	    ctl_cmd(c, "USER anonymous") != 331 ||
	    ctl_cmd(c, "PASS bench@example.org") != 230) {
		close(c->fd);
		c->fd = -1;
		return false;
	}
	return true;
}

static void ctl_quit(struct ctl *c)
{
	ctl_cmd(c, "QUIT");
	close(c->fd);
	c->fd = -1;
}

/* The port of a 227 reply in c->line, or 0. */
static unsigned int port_227(const struct ctl *c)
{
	unsigned int h[6];
	const char *p = strchr(c->line, '(');

	if (!p || sscanf(p + 1, "%u,%u,%u,%u,%u,%u", &h[0], &h[1], &h[2],
			 &h[3], &h[4], &h[5]) != 6)
		return 0;
	return (h[4] << 8 | h[5]) & 0xffff;
}

/* "a,b,c,d,p1,p2" of our end of the control connection and @port. */
static void port_arg(const struct ctl *c, unsigned int port, char *buf,
		     size_t size)
{
	struct sockaddr_in me;
	socklen_t len = sizeof(me);
	unsigned char *a = (unsigned char *)&me.sin_addr;

	memset(&me, 0, sizeof(me));
	getsockname(c->fd, (struct sockaddr *)&me, &len);
	snprintf(buf, size, "%u,%u,%u,%u,%u,%u", a[0], a[1], a[2], a[3],
		 port >> 8, port & 255);
}

/* Read a data connection to its end; true when it held @size bytes. */
static bool drain(int fd, size_t size)
{
	char buf[4096];
	size_t got = 0;
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return false;
		if (n == 0)
			return got == size;
		got += n;
	}
}

/* ------------------------------------------------------------------ */
/* Duration-bound workers                                              */

struct result {
	unsigned long ok;
	unsigned long errors;
};

struct worker {
	pthread_t tid;
	unsigned int index;
	double deadline;
	struct result r;
};

/* One whole session; true when every step got its expected reply. */
static bool one_session(struct worker *w, unsigned int *next_port)
{
	struct sockaddr_in data = server;
	struct ctl c;
	char arg[64];
	int lfd = -1, dfd = -1, one = 1;
	bool ok = false;
	unsigned int port;

	if (!ctl_open(&c))
		return false;
	if (opt_port_mode) {
		struct sockaddr_in me = { .sin_family = AF_INET };
		unsigned int tries;

		lfd = socket(AF_INET, SOCK_STREAM, 0);
		if (lfd < 0)
			goto out;
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		set_timeouts(lfd);
		/* Each worker has its own 100 ports of 50000-59999. */
		for (tries = 0; tries < 100; tries++) {
			port = 50000 + (w->index % 100) * 100 +
			       (*next_port)++ % 100;
			me.sin_port = htons(port);
			if (bind(lfd, (struct sockaddr *)&me, sizeof(me)) == 0)
				break;
		}
		if (tries == 100 || listen(lfd, 1) < 0)
			goto out;
		port_arg(&c, port, arg, sizeof(arg));
		if (ctl_cmd(&c, "PORT %s", arg) != 200 ||
		    ctl_cmd(&c, "RETR file") != 150)
			goto out;
		dfd = accept(lfd, NULL, NULL);
	} else {
		if (ctl_cmd(&c, "PASV") != 227)
			goto out;
		port = port_227(&c);
		data.sin_port = htons(port);
		dfd = port ? tcp_connect(&data, 0) : -1;
		if (dfd < 0 || ctl_cmd(&c, "RETR file") != 150)
			goto out;
	}
	if (dfd < 0)
		goto out;
	set_timeouts(dfd);
	ok = drain(dfd, opt_size) && ctl_reply(&c) == 226 &&
	     ctl_cmd(&c, "QUIT") == 221;
out:
	if (dfd >= 0)
		close(dfd);
	if (lfd >= 0)
		close(lfd);
	close(c.fd);
	return ok;
}

static void *sessions_worker(void *arg)
{
	struct worker *w = arg;
	unsigned int next_port = 0;

	while (now() < w->deadline) {
		if (one_session(w, &next_port))
			w->r.ok++;
		else
			w->r.errors++;
	}
	return NULL;
}

/* PORT and PASV alternately on one session. */
static void *commands_worker(void *arg)
{
	struct worker *w = arg;
	struct ctl c;
	char buf[64];
	unsigned int i = 0;
	int code;

	if (!ctl_open(&c)) {
		w->r.errors++;
		return NULL;
	}
	while (now() < w->deadline) {
		if (i & 1) {
			code = ctl_cmd(&c, "PASV");
			code = code == 227 ? 0 : code;
		} else {
			port_arg(&c, 50000 + i % 10000, buf, sizeof(buf));
			code = ctl_cmd(&c, "PORT %s", buf);
			code = code == 200 ? 0 : code;
		}
		i++;
		if (code == 0) {
			w->r.ok++;
		} else {
			w->r.errors++;
			if (code < 0)
				break;
		}
	}
	ctl_quit(&c);
	return NULL;
}

/* What clients send between transfers; PASV closes each batch. */
static const char *const plain_cmds[] = {
	"TYPE I", "MODE S", "STRU F", "PWD", "NOOP", "SYST", "CWD /pub",
	"SIZE file", "MDTM file", "OPTS UTF8 ON",
};

static void *pipeline_worker(void *arg)
{
	struct worker *w = arg;
	char batch[LINE_MAX_LEN * 64];
	size_t len = 0;
	unsigned int i, k;
	struct ctl c;
	int code;

	for (i = 0; i + 1 < opt_batch; i++)
		len += snprintf(batch + len, sizeof(batch) - len, "%s\r\n",
				plain_cmds[i % (sizeof(plain_cmds) /
						sizeof(plain_cmds[0]))]);
	len += snprintf(batch + len, sizeof(batch) - len, "PASV\r\n");
	if (!ctl_open(&c)) {
		w->r.errors++;
		return NULL;
	}
	while (now() < w->deadline) {
		if (!send_all(c.fd, batch, len)) {
			w->r.errors++;
			break;
		}
		for (k = 0; k < opt_batch; k++) {
			code = ctl_reply(&c);
			if (code < 0)
				goto out;
			if (code == (k + 1 == opt_batch ? 227 : 200))
				w->r.ok++;
			else
				w->r.errors++;
		}
	}
out:
	ctl_quit(&c);
	return NULL;
}

/* Each PORT line in two segments, cut inside the address. */
static void *split_worker(void *arg)
{
	struct worker *w = arg;
	char buf[LINE_MAX_LEN], addr[64];
	unsigned int i = 0;
	struct ctl c;
	int n, cut;

	if (!ctl_open(&c)) {
		w->r.errors++;
		return NULL;
	}
	while (now() < w->deadline) {
		port_arg(&c, 50000 + i++ % 10000, addr, sizeof(addr));
		n = snprintf(buf, sizeof(buf), "PORT %s\r\n", addr);
		cut = 5 + (n - 7) / 2;
		if (!send_all(c.fd, buf, cut) ||
		    !send_all(c.fd, buf + cut, n - cut)) {
			w->r.errors++;
			break;
		}
		n = ctl_reply(&c);
		if (n == 200) {
			w->r.ok++;
		} else {
			w->r.errors++;
			if (n < 0)
				break;
		}
	}
	ctl_quit(&c);
	return NULL;
}

static void run_workers(void *(*fn)(void *), unsigned int n, const char *what)
{
	struct worker *w = calloc(n, sizeof(*w));
	struct result total = { 0, 0 };
	double start = now(), elapsed;
	unsigned int i;

	if (!w)
		die("calloc");
	for (i = 0; i < n; i++) {
		w[i].index = i;
		w[i].deadline = start + opt_duration;
		if (pthread_create(&w[i].tid, NULL, fn, &w[i]))
			die("pthread_create");
	}
	for (i = 0; i < n; i++) {
		pthread_join(w[i].tid, NULL);
		total.ok += w[i].r.ok;
		total.errors += w[i].r.errors;
	}
	elapsed = now() - start;
	printf("%s=%lu errors=%lu elapsed=%.3f\n", what, total.ok,
	       total.errors, elapsed);
	free(w);
}

/* ------------------------------------------------------------------ */
/* hold: many sessions at once (non-blocking, one epoll loop)          */

enum hold_state { H_CONNECT, H_220, H_331, H_230, H_200, H_READY,
		  H_NOOP, H_ALIVE, H_FAILED };

struct hold {
	int fd;
	enum hold_state st;
	unsigned int index;
	size_t len;
	char buf[256];
};

static bool hold_send(struct hold *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static bool hold_send(struct hold *h, const char *fmt, ...)
{
	char buf[LINE_MAX_LEN];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* A short line into an idle socket: one write takes it all. */
	return n > 0 && write(h->fd, buf, n) == n;
}

/* Advance @h on a reply line; false when it failed. */
static bool hold_reply(struct hold *h, int code)
{
	char arg[64];
	struct ctl c = { .fd = h->fd };

	switch (h->st) {
	case H_220:
		h->st = H_331;
		return code == 220 && hold_send(h, "USER anonymous\r\n");
	case H_331:
		h->st = H_230;
		return code == 331 && hold_send(h, "PASS bench@example.org\r\n");
	case H_230:
		h->st = H_200;
		port_arg(&c, opt_port_base + h->index, arg, sizeof(arg));
		return code == 230 && hold_send(h, "PORT %s\r\n", arg);
	case H_200:
		h->st = H_READY;
		return code == 200;
	case H_NOOP:
		h->st = H_ALIVE;
		return code == 200;
	default:
		return false;
	}
}

/* Read what is there; complete reply lines advance the state. */
static bool hold_readable(struct hold *h)
{
	char *lf;
	ssize_t n;
	int code;

	n = read(h->fd, h->buf + h->len, sizeof(h->buf) - h->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0)
		return false;
	h->len += n;
	while ((lf = memchr(h->buf, '\n', h->len))) {
		code = lf - h->buf >= 4 && h->buf[3] == ' ' ? atoi(h->buf) : 0;
		h->len -= lf + 1 - h->buf;
		memmove(h->buf, lf + 1, h->len);
		if (code && !hold_reply(h, code))
			return false;
	}
	return h->len < sizeof(h->buf);
}

/* Connect and log in all @n sessions, at most @inflight connecting or
 * logging in at once, and send each its PORT.  A session waiting for the
 * PORT's answer no longer counts as in flight: a helper that withholds the
 * line stalls that session, not the others.  Stops when every session is
 * ready or failed, or nothing moved for opt_timeout seconds, or after
 * @limit seconds.  Returns how many are ready; *last is the time from
 * the start to the last one that got ready.
 */
static unsigned int hold_drive(int epfd, struct hold *hs, unsigned int n,
			       unsigned int inflight, double limit,
			       double *last)
{
	struct epoll_event ev[256];
	unsigned int next = 0, active = 0, waiting = 0, done = 0;
	double start = now(), progress = start;
	enum hold_state was;
	struct hold *h;
	int k, r;

	*last = 0;
	for (;;) {
		while (next < n && active < inflight) {
			h = &hs[next++];
			h->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
			if (h->fd < 0) {
				h->st = H_FAILED;
				continue;
			}
			r = connect(h->fd, (struct sockaddr *)&server,
				    sizeof(server));
			if (r < 0 && errno != EINPROGRESS) {
				close(h->fd);
				h->fd = -1;
				h->st = H_FAILED;
				continue;
			}
			h->st = H_220;
			ev[0].events = EPOLLIN;
			ev[0].data.ptr = h;
			epoll_ctl(epfd, EPOLL_CTL_ADD, h->fd, &ev[0]);
			active++;
		}
		if (next >= n && !active && !waiting)
			break;
		if (now() - start > limit || now() - progress > opt_timeout)
			break;
		k = epoll_wait(epfd, ev, 256, 100);
		for (r = 0; r < k; r++) {
			h = ev[r].data.ptr;
			was = h->st;
			if (!hold_readable(h))
				h->st = H_FAILED;
			if (h->st == was)
				continue;
			progress = now();
			if (was < H_200)
				active--;
			else if (was == H_200)
				waiting--;
			else if (was == H_READY)
				done--;
			if (h->st < H_200) {
				active++;
			} else if (h->st == H_200) {
				waiting++;
			} else if (h->st == H_READY) {
				done++;
				*last = progress - start;
			} else {
				epoll_ctl(epfd, EPOLL_CTL_DEL, h->fd, NULL);
				reset_close(h->fd);
				h->fd = -1;
			}
		}
	}
	return done;
}

/* Wait for the answers to what every session in @from sent. */
static unsigned int hold_wait(int epfd, struct hold *hs, unsigned int n,
			      enum hold_state from, enum hold_state to,
			      double limit)
{
	struct epoll_event ev[256];
	unsigned int i, waiting, got;
	double start = now();
	int k, r;

	for (;;) {
		k = epoll_wait(epfd, ev, 256, 100);
		for (r = 0; r < k; r++) {
			struct hold *h = ev[r].data.ptr;

			if (h->st == from && !hold_readable(h))
				h->st = H_FAILED;
		}
		waiting = 0;
		for (i = 0; i < n; i++)
			waiting += hs[i].st == from;
		if (!waiting || now() - start > limit)
			break;
	}
	got = 0;
	for (i = 0; i < n; i++)
		got += hs[i].st == to;
	return got;
}

static int hold(void)
{
	struct hold *hs = calloc(opt_sessions, sizeof(*hs));
	double start, last, limit = 60.0 * opt_timeout;
	unsigned int i, ready, alive, stalled = 0;
	struct stat st;
	int epfd;

	if (!hs)
		die("calloc");
	raise_nofile(2 * opt_sessions + 1024);
	epfd = epoll_create1(0);
	if (epfd < 0)
		die("epoll_create1");
	for (i = 0; i < opt_sessions; i++) {
		hs[i].index = i;
		hs[i].fd = -1;
	}
	ready = hold_drive(epfd, hs, opt_sessions, 256, limit, &last);
	for (i = 0; i < opt_sessions; i++)
		stalled += hs[i].st == H_200;
	printf("ready=%u stalled=%u failed=%u elapsed=%.3f\n", ready, stalled,
	       opt_sessions - ready - stalled, last);

	for (i = 0; i < 10 * limit && stat(opt_release, &st); i++)
		usleep(100000);

	/* Every session whose PORT was answered must still answer NOOP. */
	for (i = 0; i < opt_sessions; i++) {
		if (hs[i].st != H_READY)
			continue;
		hs[i].st = H_NOOP;
		if (!hold_send(&hs[i], "NOOP\r\n"))
			hs[i].st = H_FAILED;
	}
	start = now();
	alive = hold_wait(epfd, hs, opt_sessions, H_NOOP, H_ALIVE,
			  opt_timeout);
	for (i = 0; i < opt_sessions; i++)
		if (hs[i].fd >= 0)
			reset_close(hs[i].fd);
	printf("alive=%u failed=%u elapsed=%.3f\n", alive,
	       opt_sessions - alive, now() - start);
	free(hs);
	return 0;
}

/* ------------------------------------------------------------------ */
/* kabuild: many idle data connections                                 */

struct kaw {
	pthread_t tid;
	struct ctl c;
	unsigned int first, count;
	struct result r;
};

static void *kabuild_worker(void *arg)
{
	struct kaw *k = arg;
	struct sockaddr_in data = server;
	unsigned int j, port;
	int fd;

	if (!ctl_open(&k->c)) {
		k->r.errors += k->count;
		return NULL;
	}
	for (j = 0; j < k->count; j++) {
		port = ctl_cmd(&k->c, "PASV") == 227 ? port_227(&k->c) : 0;
		if (!port) {
			k->r.errors++;
			continue;
		}
		data.sin_port = htons(port);
		fd = tcp_connect(&data, opt_sport_base + j);
		if (fd < 0) {
			k->r.errors++;
			continue;
		}
		/* The RST is dropped before it leaves our namespace: the
		 * router keeps the connection established.
		 */
		reset_close(fd);
		k->r.ok++;
	}
	return NULL;
}

static int kabuild(void)
{
	unsigned int s = opt_sessions ? opt_sessions : 16, i, per;
	struct kaw *k = calloc(s, sizeof(*k));
	struct result total = { 0, 0 };
	double start = now();
	struct stat st;

	if (!k)
		die("calloc");
	per = (opt_count + s - 1) / s;
	if (opt_sport_base + per > 65535) {
		fprintf(stderr, "kabuild: source ports run past 65535\n");
		return 1;
	}
	for (i = 0; i < s; i++) {
		k[i].count = opt_count / s + (i < opt_count % s);
		k[i].c.fd = -1;
		if (pthread_create(&k[i].tid, NULL, kabuild_worker, &k[i]))
			die("pthread_create");
	}
	for (i = 0; i < s; i++) {
		pthread_join(k[i].tid, NULL);
		total.ok += k[i].r.ok;
		total.errors += k[i].r.errors;
	}
	printf("built=%lu errors=%lu elapsed=%.3f\n", total.ok, total.errors,
	       now() - start);
	fflush(stdout);
	for (i = 0; i < 10 * 3600 && stat(opt_release, &st); i++)
		usleep(100000);
	for (i = 0; i < s; i++)
		if (k[i].c.fd >= 0)
			ctl_quit(&k[i].c);
	free(k);
	return 0;
}

/* ------------------------------------------------------------------ */
/* probe: how late a sleeping task wakes up on each CPU                */

struct probe {
	pthread_t tid;
	int cpu;
	double deadline;
	long max_late_ns;
};

static void *probe_worker(void *arg)
{
	struct probe *p = arg;
	struct timespec next, t;
	cpu_set_t set;
	long late;

	CPU_ZERO(&set);
	CPU_SET(p->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (now() < p->deadline) {
		next.tv_nsec += opt_period_us * 1000L;
		while (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t);
		late = (t.tv_sec - next.tv_sec) * 1000000000L +
		       (t.tv_nsec - next.tv_nsec);
		if (late > p->max_late_ns)
			p->max_late_ns = late;
		/* After a long stall, start the period from now. */
		if (late > 10L * opt_period_us * 1000L)
			next = t;
	}
	return NULL;
}

static int probe(void)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN), max = 0;
	struct probe *p;
	cpu_set_t online;
	int i, n = 0;

	if (sched_getaffinity(0, sizeof(online), &online) < 0)
		die("sched_getaffinity");
	p = calloc(CPU_SETSIZE, sizeof(*p));
	if (!p)
		die("calloc");
	for (i = 0; i < CPU_SETSIZE && n < ncpu; i++) {
		if (!CPU_ISSET(i, &online))
			continue;
		p[n].cpu = i;
		p[n].deadline = now() + opt_duration;
		if (pthread_create(&p[n].tid, NULL, probe_worker, &p[n]))
			die("pthread_create");
		n++;
	}
	for (i = 0; i < n; i++) {
		pthread_join(p[i].tid, NULL);
		if (p[i].max_late_ns > max)
			max = p[i].max_late_ns;
	}
	printf("max_late_us=%ld cpus=%d\n", max / 1000, n);
	free(p);
	return 0;
}

/* ------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr,
		"usage: ftpload sessions|commands|pipeline|split|hold|kabuild|probe\n"
		"       [--server ADDR] [--port N] [--timeout S] [--duration S]\n"
		"       [--mode pasv|port] [--concurrency C] [--size B] [--batch K]\n"
		"       [--sessions N] [--count N] [--port-base P] [--sport-base P]\n"
		"       [--release FILE] [--period-us P]\n");
	exit(2);
}

static unsigned int num(const char *s, unsigned int lo, unsigned int hi)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end || v < lo || v > hi)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ "duration", required_argument, NULL, 'd' },
		{ "mode", required_argument, NULL, 'm' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 's' },
		{ "batch", required_argument, NULL, 'b' },
		{ "sessions", required_argument, NULL, 'n' },
		{ "count", required_argument, NULL, 'N' },
		{ "port-base", required_argument, NULL, 'P' },
		{ "sport-base", required_argument, NULL, 'S' },
		{ "release", required_argument, NULL, 'r' },
		{ "period-us", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 }
	};
	const char *mode, *addr = NULL;
	unsigned int port = 2121;
	int c;

	if (argc < 2)
		usage();
	mode = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			addr = optarg;
			break;
		case 'p':
			port = num(optarg, 1, 65535);
			break;
		case 't':
			opt_timeout = num(optarg, 1, 3600);
			break;
		case 'd':
			opt_duration = num(optarg, 1, 3600);
			break;
		case 'm':
			if (strcmp(optarg, "pasv") && strcmp(optarg, "port"))
				usage();
			opt_port_mode = !strcmp(optarg, "port");
			break;
		case 'c':
			opt_concurrency = num(optarg, 1, MAX_THREADS);
			break;
		case 's':
			opt_size = num(optarg, 0, 1 << 20);
			break;
		case 'b':
			opt_batch = num(optarg, 1, 64);
			break;
		case 'n':
			opt_sessions = num(optarg, 1, 200000);
			break;
		case 'N':
			opt_count = num(optarg, 1, 1 << 20);
			break;
		case 'P':
			opt_port_base = num(optarg, 1024, 65535);
			break;
		case 'S':
			opt_sport_base = num(optarg, 1024, 65535);
			break;
		case 'r':
			opt_release = optarg;
			break;
		case 'u':
			opt_period_us = num(optarg, 10, 1000000);
			break;
		default:
			usage();
		}
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(mode, "probe"))
		return probe();
	if (!addr || inet_pton(AF_INET, addr, &server.sin_addr) != 1)
		usage();
	server.sin_family = AF_INET;
	server.sin_port = htons(port);

	if (!strcmp(mode, "hold") && opt_sessions && opt_release)
		return hold();
	if (!strcmp(mode, "kabuild") && opt_count && opt_release)
		return kabuild();
	if (!strcmp(mode, "sessions"))
		run_workers(sessions_worker, opt_concurrency, "sessions");
	else if (!strcmp(mode, "commands"))
		run_workers(commands_worker, 1, "commands");
	else if (!strcmp(mode, "pipeline"))
		run_workers(pipeline_worker, opt_concurrency, "lines");
	else if (!strcmp(mode, "split"))
		run_workers(split_worker, 1, "lines");
	else
		usage();
	return 0;
}
