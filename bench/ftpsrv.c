// SPDX-License-Identifier: GPL-2.0-only
/* ftpsrv: a small FTP server for the benchmarks, fast enough that the
 * router, not the server, limits the control-path figures.
 *
 *   ftpsrv --listen ADDR [--port 2121] [--threads N] [--size BYTES]
 *          [--pasv-ports LO-HI] [--ka]
 *
 * One epoll loop per thread, each on its own SO_REUSEPORT listener.  It
 * answers USER 331, PASS 230, PASV 227, EPSV 229, PORT/EPRT 200, RETR with
 * BYTES bytes over the data connection (150 ... 226), QUIT 221 and every
 * other command 200, one reply per line, pipelined lines included (the
 * replies of one read go out in one write).  A session keeps one passive
 * listener (a port of LO-HI) and names it in every 227/229.
 *
 * --ka: every data connection is accepted and at once reset (SO_LINGER 0)
 * without a transfer; the benchmark drops the RST in the server's own
 * namespace, so the router keeps an established conntrack entry for it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define IN_MAX		1024
#define OUT_MAX		8192
#define SIZE_MAX_DATA	4096
#define MAX_EVENTS	256

enum ep_type { EP_LISTEN, EP_CTL, EP_PASV, EP_DATA };

struct session;

/* What an epoll event points to. */
struct ep {
	enum ep_type type;
	int fd;
	struct session *s;
};

struct session {
	struct ep ctl;
	struct ep pasv;			/* passive listener, fd -1 if none */
	struct ep data;			/* data connection, fd -1 if none */
	struct sockaddr_storage local;	/* the control connection's */
	struct sockaddr_storage active;	/* PORT/EPRT target */
	socklen_t active_len;
	bool have_active;
	bool retr_pending;		/* RETR waits for the data connection */
	bool quitting;
	bool ctl_out_armed;		/* EPOLLOUT requested on ctl */
	bool dead;			/* closed, freed after this batch */
	struct session *next_dead;
	unsigned int pasv_port;
	size_t inlen;
	bool discard;			/* inside an overlong line */
	size_t outlen;
	char in[IN_MAX];
	char out[OUT_MAX];
};

struct worker {
	pthread_t tid;
	int epfd;
	struct ep listener;
};

static struct sockaddr_storage listen_addr;
static socklen_t listen_len;
static unsigned int opt_threads = 1;
static unsigned int opt_size = 1024;
static unsigned int pasv_lo = 40000, pasv_hi = 40999;
static unsigned int pasv_next;
static bool opt_ka;
static char payload[SIZE_MAX_DATA];

static void die(const char *what)
{
	perror(what);
	exit(1);
}

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

static void usage(void)
{
	fprintf(stderr,
		"usage: ftpsrv --listen ADDR [--port N] [--threads N] [--size BYTES]\n"
		"              [--pasv-ports LO-HI] [--ka]\n");
	exit(2);
}

static void ep_ctl(int epfd, int op, struct ep *e, unsigned int events)
{
	struct epoll_event ev = { .events = events, .data.ptr = e };

	if (epoll_ctl(epfd, op, e->fd, &ev) < 0 && op != EPOLL_CTL_DEL)
		die("epoll_ctl");
}

static void reset_close(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* Sessions closed during one epoll batch: later events of the batch may
 * still point into them, so they are freed when the batch is done.
 */
static __thread struct session *graveyard;

static void session_close(struct session *s)
{
	if (s->dead)
		return;
	if (s->data.fd >= 0)
		close(s->data.fd);
	if (s->pasv.fd >= 0)
		close(s->pasv.fd);
	close(s->ctl.fd);
	s->dead = true;
	s->next_dead = graveyard;
	graveyard = s;
}

static void graveyard_empty(void)
{
	struct session *s;

	while (graveyard) {
		s = graveyard;
		graveyard = s->next_dead;
		free(s);
	}
}

/* Queue a reply; the caller flushes. */
static void reply(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void reply(struct session *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(s->out + s->outlen, OUT_MAX - s->outlen, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= OUT_MAX - s->outlen)
		return;		/* a client that never reads: drop the reply */
	s->outlen += n;
}

/* Write what is queued; false when the session is gone. */
static bool flush(int epfd, struct session *s)
{
	ssize_t n;

	if (s->dead)
		return false;
	while (s->outlen) {
		n = write(s->ctl.fd, s->out, s->outlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!s->ctl_out_armed) {
				ep_ctl(epfd, EPOLL_CTL_MOD, &s->ctl,
				       EPOLLIN | EPOLLOUT);
				s->ctl_out_armed = true;
			}
			return true;
		}
		if (n <= 0) {
			session_close(s);
			return false;
		}
		memmove(s->out, s->out + n, s->outlen - n);
		s->outlen -= n;
	}
	if (s->ctl_out_armed) {
		ep_ctl(epfd, EPOLL_CTL_MOD, &s->ctl, EPOLLIN);
		s->ctl_out_armed = false;
	}
	if (s->quitting) {
		session_close(s);
		return false;
	}
	return true;
}

/* The session's passive listener, made on first use. */
static bool pasv_open(int epfd, struct session *s)
{
	struct sockaddr_storage a = s->local;
	unsigned int span = pasv_hi - pasv_lo + 1, i, port;
	int fd, one = 1;

	if (s->pasv.fd >= 0)
		return true;
	fd = socket(a.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return false;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	for (i = 0; i < span; i++) {
		port = pasv_lo + __atomic_fetch_add(&pasv_next, 1,
						    __ATOMIC_RELAXED) % span;
		if (a.ss_family == AF_INET)
			((struct sockaddr_in *)&a)->sin_port = htons(port);
		else
			((struct sockaddr_in6 *)&a)->sin6_port = htons(port);
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		    listen(fd, 64) == 0) {
			s->pasv.fd = fd;
			s->pasv_port = port;
			ep_ctl(epfd, EPOLL_CTL_ADD, &s->pasv, EPOLLIN);
			return true;
		}
	}
	close(fd);
	return false;
}

/* Send the file over the connected data connection, then 226. */
static void transfer(int epfd, struct session *s)
{
	ssize_t n;

	ep_ctl(epfd, EPOLL_CTL_DEL, &s->data, 0);
	reply(s, "150 sending %u bytes\r\n", opt_size);
	n = write(s->data.fd, payload, opt_size);
	close(s->data.fd);
	s->data.fd = -1;
	s->retr_pending = false;
	if (n == (ssize_t)opt_size)
		reply(s, "226 done\r\n");
	else
		reply(s, "426 transfer failed\r\n");
}

static void active_connect(int epfd, struct session *s)
{
	int fd = socket(s->active.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0) {
		reply(s, "425 no socket\r\n");
		return;
	}
	if (connect(fd, (struct sockaddr *)&s->active, s->active_len) < 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		reply(s, "425 cannot connect\r\n");
		return;
	}
	s->data.fd = fd;
	s->retr_pending = true;
	ep_ctl(epfd, EPOLL_CTL_ADD, &s->data, EPOLLOUT);
}

static bool parse_port(const char *arg, struct session *s)
{
	unsigned int h[6];
	struct sockaddr_in *sin = (struct sockaddr_in *)&s->active;
	int i;

	if (sscanf(arg, "%u,%u,%u,%u,%u,%u", &h[0], &h[1], &h[2], &h[3],
		   &h[4], &h[5]) != 6)
		return false;
	for (i = 0; i < 6; i++)
		if (h[i] > 255)
			return false;
	memset(&s->active, 0, sizeof(s->active));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3]);
	sin->sin_port = htons(h[4] << 8 | h[5]);
	s->active_len = sizeof(*sin);
	return true;
}

static bool parse_eprt(const char *arg, struct session *s)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&s->active;
	struct sockaddr_in *sin = (struct sockaddr_in *)&s->active;
	char d = arg[0], addr[64], *p, *q;
	unsigned long port;
	int af;

	if (!d || arg[1] == '\0' || arg[2] != d)
		return false;
	af = arg[1] == '1' ? AF_INET : arg[1] == '2' ? AF_INET6 : 0;
	p = strchr(arg + 3, d);
	if (!af || !p || (size_t)(p - arg - 3) >= sizeof(addr))
		return false;
	memcpy(addr, arg + 3, p - arg - 3);
	addr[p - arg - 3] = '\0';
	port = strtoul(p + 1, &q, 10);
	if (*q != d || port == 0 || port > 65535)
		return false;
	memset(&s->active, 0, sizeof(s->active));
	if (af == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		s->active_len = sizeof(*sin);
		return inet_pton(AF_INET, addr, &sin->sin_addr) == 1;
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	s->active_len = sizeof(*sin6);
	return inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1;
}

static bool is_verb(const char *line, const char *verb)
{
	size_t n = strlen(verb);

	return strncasecmp(line, verb, n) == 0 &&
	       (line[n] == '\0' || line[n] == ' ');
}

static void command(int epfd, struct session *s, char *line)
{
	const char *arg = strchr(line, ' ');

	arg = arg ? arg + 1 : "";
	if (is_verb(line, "USER")) {
		reply(s, "331 password please\r\n");
	} else if (is_verb(line, "PASS")) {
		reply(s, "230 logged in\r\n");
	} else if (is_verb(line, "PASV")) {
		const unsigned char *a;

		if (s->local.ss_family != AF_INET || !pasv_open(epfd, s)) {
			reply(s, "425 no passive port\r\n");
			return;
		}
		a = (const unsigned char *)
			&((struct sockaddr_in *)&s->local)->sin_addr;
		s->have_active = false;
		reply(s, "227 Entering Passive Mode (%u,%u,%u,%u,%u,%u).\r\n",
		      a[0], a[1], a[2], a[3], s->pasv_port >> 8,
		      s->pasv_port & 255);
	} else if (is_verb(line, "EPSV")) {
		if (!pasv_open(epfd, s)) {
			reply(s, "425 no passive port\r\n");
			return;
		}
		s->have_active = false;
		reply(s, "229 Entering Extended Passive Mode (|||%u|)\r\n",
		      s->pasv_port);
	} else if (is_verb(line, "PORT") || is_verb(line, "EPRT")) {
		bool ok = line[0] == 'P' || line[0] == 'p' ?
			  parse_port(arg, s) : parse_eprt(arg, s);

		s->have_active = ok;
		if (ok)
			reply(s, "200 %.4s ok\r\n", line);
		else
			reply(s, "501 bad address\r\n");
	} else if (is_verb(line, "RETR")) {
		if (s->have_active)
			active_connect(epfd, s);
		else if (s->pasv.fd < 0)
			reply(s, "425 use PASV or PORT first\r\n");
		else if (s->data.fd >= 0)
			transfer(epfd, s);
		else
			s->retr_pending = true;
	} else if (is_verb(line, "QUIT")) {
		reply(s, "221 bye\r\n");
		s->quitting = true;
	} else {
		reply(s, "200 ok\r\n");
	}
}

/* Read from the control connection and answer every complete line. */
static void ctl_readable(int epfd, struct session *s)
{
	char *p, *lf;
	ssize_t n;
	size_t used;

	for (;;) {
		n = read(s->ctl.fd, s->in + s->inlen, IN_MAX - s->inlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			session_close(s);
			return;
		}
		s->inlen += n;
		p = s->in;
		while (!s->quitting &&
		       (lf = memchr(p, '\n', s->inlen - (p - s->in)))) {
			*lf = '\0';
			if (lf > p && lf[-1] == '\r')
				lf[-1] = '\0';
			if (!s->discard)
				command(epfd, s, p);
			s->discard = false;
			p = lf + 1;
		}
		used = p - s->in;
		memmove(s->in, p, s->inlen - used);
		s->inlen -= used;
		if (s->inlen == IN_MAX) {	/* overlong: skip to its LF */
			s->inlen = 0;
			s->discard = true;
		}
		if (s->quitting)
			break;
	}
	flush(epfd, s);
}

static void pasv_readable(int epfd, struct session *s)
{
	int fd = accept4(s->pasv.fd, NULL, NULL, SOCK_NONBLOCK);

	if (fd < 0)
		return;
	if (opt_ka) {
		reset_close(fd);
		return;
	}
	/* A passive data connection needs no events: RETR writes to it. */
	if (s->data.fd >= 0)
		close(s->data.fd);
	s->data.fd = fd;
	if (s->retr_pending) {
		transfer(epfd, s);
		flush(epfd, s);
	}
}

/* The active data connection is connected (or failed). */
static void data_writable(int epfd, struct session *s)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (!s->have_active || !s->retr_pending)
		return;
	getsockopt(s->data.fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err) {
		ep_ctl(epfd, EPOLL_CTL_DEL, &s->data, 0);
		close(s->data.fd);
		s->data.fd = -1;
		s->retr_pending = false;
		reply(s, "425 cannot connect\r\n");
	} else {
		transfer(epfd, s);
	}
	flush(epfd, s);
}

static void accept_sessions(struct worker *w)
{
	struct session *s;
	socklen_t len;
	int fd, one = 1;

	for (;;) {
		fd = accept4(w->listener.fd, NULL, NULL, SOCK_NONBLOCK);
		if (fd < 0)
			return;
		s = calloc(1, sizeof(*s));
		if (!s) {
			close(fd);
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		s->ctl = (struct ep){ EP_CTL, fd, s };
		s->pasv = (struct ep){ EP_PASV, -1, s };
		s->data = (struct ep){ EP_DATA, -1, s };
		len = sizeof(s->local);
		getsockname(fd, (struct sockaddr *)&s->local, &len);
		ep_ctl(w->epfd, EPOLL_CTL_ADD, &s->ctl, EPOLLIN);
		reply(s, "220 ftpsrv ready\r\n");
		flush(w->epfd, s);
	}
}

static void *worker_loop(void *arg)
{
	struct worker *w = arg;
	struct epoll_event ev[MAX_EVENTS];
	struct ep *e;
	int n, i;

	for (;;) {
		n = epoll_wait(w->epfd, ev, MAX_EVENTS, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait");
		for (i = 0; i < n; i++) {
			e = ev[i].data.ptr;
			if (e->s && e->s->dead)
				continue;
			switch (e->type) {
			case EP_LISTEN:
				accept_sessions(w);
				break;
			case EP_CTL:
				if ((ev[i].events & EPOLLOUT) &&
				    !flush(w->epfd, e->s))
					break;
				if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
					ctl_readable(w->epfd, e->s);
				break;
			case EP_PASV:
				pasv_readable(w->epfd, e->s);
				break;
			case EP_DATA:
				data_writable(w->epfd, e->s);
				break;
			}
		}
		graveyard_empty();
	}
	return NULL;
}

static void worker_start(struct worker *w)
{
	int fd, one = 1;

	fd = socket(listen_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&listen_addr, listen_len) < 0)
		die("bind");
	if (listen(fd, 4096) < 0)
		die("listen");
	w->epfd = epoll_create1(0);
	if (w->epfd < 0)
		die("epoll_create1");
	w->listener = (struct ep){ EP_LISTEN, fd, NULL };
	ep_ctl(w->epfd, EPOLL_CTL_ADD, &w->listener, EPOLLIN);
	if (pthread_create(&w->tid, NULL, worker_loop, w))
		die("pthread_create");
}

static void parse_listen(const char *addr, unsigned int port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&listen_addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&listen_addr;

	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		listen_len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		listen_len = sizeof(*sin6);
	} else {
		usage();
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "port", required_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 's' },
		{ "pasv-ports", required_argument, NULL, 'P' },
		{ "ka", no_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 }
	};
	const char *addr = NULL;
	unsigned int port = 2121, i;
	struct worker *w;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			addr = optarg;
			break;
		case 'p':
			port = strtoul(optarg, NULL, 10);
			break;
		case 't':
			opt_threads = strtoul(optarg, NULL, 10);
			break;
		case 's':
			opt_size = strtoul(optarg, NULL, 10);
			break;
		case 'P':
			if (sscanf(optarg, "%u-%u", &pasv_lo, &pasv_hi) != 2)
				usage();
			break;
		case 'k':
			opt_ka = true;
			break;
		default:
			usage();
		}
	}
	if (!addr || !opt_threads || opt_threads > 64 || !port ||
	    port > 65535 || opt_size > SIZE_MAX_DATA || pasv_lo < 1024 ||
	    pasv_hi > 65535 || pasv_lo > pasv_hi)
		usage();
	parse_listen(addr, port);
	memset(payload, 'x', sizeof(payload));
	signal(SIGPIPE, SIG_IGN);
	raise_nofile(262144);

	w = calloc(opt_threads, sizeof(*w));
	if (!w)
		die("calloc");
	for (i = 0; i < opt_threads; i++)
		worker_start(&w[i]);
	pthread_join(w[0].tid, NULL);
	return 0;
}
