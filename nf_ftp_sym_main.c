// SPDX-License-Identifier: GPL-2.0-only
/* The object Kbuild links as the glue of nf_conntrack_ftp_sym.ko: a
 * composite module cannot list a member named like itself (see Kbuild).
 */
#include "nf_conntrack_ftp_sym.c"
