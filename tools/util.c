// SPDX-License-Identifier: GPL-2.0-only
/* ftp-sym: messages, growable arrays and string helpers (see util.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ftp-sym.h"
#include "util.h"

void errmsg(const char *fmt, ...)
{
	va_list ap;

	fputs("ftp-sym: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A failed netlink operation: EPERM means we lack CAP_NET_ADMIN. */
int netlink_error(const char *what, int err)
{
	if (err == EPERM || err == EACCES) {
		errmsg("need CAP_NET_ADMIN (run as root)");
		return EXIT_PERM;
	}
	errmsg("%s: %s", what, strerror(err));
	return EXIT_FAIL;
}

/* errno after a failed library call, never 0. */
int lib_errno(void)
{
	return errno ? errno : EIO;
}

/* A new zeroed element at the end of @v, NULL when out of memory. */
void *vec_push(struct vec *v)
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

void vec_free(struct vec *v)
{
	free(v->items);
	v->items = NULL;
	v->n = 0;
	v->cap = 0;
}

/* Append to the string of @len bytes in @buf; truncates, never overflows. */
void bufcat(char *buf, size_t size, size_t *len, const char *fmt, ...)
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

void now_real(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

void strip(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

bool parse_u64(const char *s, uint64_t *val)
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

/* Append what is readable on @fd to the buffer; 1 at end of file. */
static int read_some(int fd, char **buf, size_t *len, size_t *cap)
{
	ssize_t n;
	char *p;

	if (*cap - *len < 4096) {
		p = realloc(*buf, *cap * 2 + 4096);
		if (!p)
			return -1;
		*buf = p;
		*cap = *cap * 2 + 4096;
	}
	n = read(fd, *buf + *len, *cap - *len - 1);
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	if (n == 0)
		return 1;
	*len += (size_t)n;
	return 0;
}

int run_capture(char *const argv[], char **out, size_t *len,
		char *err, size_t errsize)
{
	size_t olen = 0, ocap = 0, elen = 0, ecap = 0;
	char *obuf = NULL, *ebuf = NULL;
	int opipe[2], epipe[2], status, rc, devnull;
	struct pollfd pfd[2];
	pid_t pid;

	err[0] = '\0';
	if (pipe2(opipe, O_CLOEXEC))
		return -1;
	if (pipe2(epipe, O_CLOEXEC)) {
		close(opipe[0]);
		close(opipe[1]);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		devnull = open("/dev/null", O_RDONLY);
		if (devnull < 0 || dup2(devnull, 0) < 0 ||
		    dup2(opipe[1], 1) < 0 || dup2(epipe[1], 2) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(opipe[1]);
	close(epipe[1]);
	if (pid < 0) {
		close(opipe[0]);
		close(epipe[0]);
		return -1;
	}
	pfd[0].fd = opipe[0];
	pfd[1].fd = epipe[0];
	pfd[0].events = POLLIN;
	pfd[1].events = POLLIN;
	rc = 0;
	while ((pfd[0].fd >= 0 || pfd[1].fd >= 0) && rc >= 0) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			rc = -1;
			break;
		}
		if (pfd[0].fd >= 0 && pfd[0].revents) {
			rc = read_some(pfd[0].fd, &obuf, &olen, &ocap);
			if (rc == 1) {
				close(pfd[0].fd);
				pfd[0].fd = -1;
				rc = 0;
			}
		}
		if (rc >= 0 && pfd[1].fd >= 0 && pfd[1].revents) {
			rc = read_some(pfd[1].fd, &ebuf, &elen, &ecap);
			if (rc == 1) {
				close(pfd[1].fd);
				pfd[1].fd = -1;
				rc = 0;
			}
		}
	}
	if (pfd[0].fd >= 0)
		close(pfd[0].fd);
	if (pfd[1].fd >= 0)
		close(pfd[1].fd);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			status = -1;
			break;
		}
	if (ebuf) {
		ebuf[elen] = '\0';
		ebuf[strcspn(ebuf, "\n")] = '\0';
		snprintf(err, errsize, "%s", ebuf);
		free(ebuf);
	}
	if (rc < 0 || status == -1) {
		free(obuf);
		return -1;
	}
	if (!obuf) {
		obuf = malloc(1);
		if (!obuf)
			return -1;
	}
	obuf[olen] = '\0';
	*out = obuf;
	*len = olen;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
