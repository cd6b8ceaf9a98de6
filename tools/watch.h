/* SPDX-License-Identifier: GPL-2.0-only */
/* ftp-sym --watch: conntrack and expectation events of the helper's
 * sessions, one line each, until SIGINT or SIGTERM.
 */
#ifndef FTP_SYM_WATCH_H
#define FTP_SYM_WATCH_H

/* Returns an exit status. */
int watch(void);

#endif /* FTP_SYM_WATCH_H */
