// SPDX-License-Identifier: GPL-2.0-only
/* FTP control-line parser shared by nf_conntrack_ftp_sym, nf_nat_ftp_sym
 * and the userspace unit tests and fuzzer.
 *
 * The same file is built into the kernel and into userspace unchanged, so
 * it calls no library function at all, keeps no state and never reads a
 * byte at or past the length it is given.
 *
 * Where the specification leaves room, the strict reading is taken:
 *  - Errors are reported in text order: the first field that is wrong
 *    decides the error, and a field that is missing because the line ends
 *    early is E_SYNTAX.
 *  - On a complete line, E_LONGLINE is checked before E_NUL, and both
 *    before the endpoint text is looked at.
 *  - A 227 reply whose first number is preceded by '+' or '-' is E_SYNTAX,
 *    as a signed field is in PORT.
 *  - An EPRT field that ends on a printable punctuation character other
 *    than the delimiter is E_DELIM (a mismatched delimiter); when it ends on
 *    any other character the error belongs to the field (E_FAMILY, E_ADDR,
 *    E_SYNTAX for the port).  A '%' after an IPv6 address is a zone id and
 *    thus E_ADDR.
 *  - An incomplete line is reported with the kind it is known to have:
 *    a verb counts once it is followed by SP or has four letters, a reply
 *    code once it is followed by SP or '-'.  EPSV and AUTH are reported as
 *    such while the argument may still make them so.
 *  - An incomplete line of FTP_SYM_LINE_MAX bytes or more is E_LONGLINE
 *    whatever its kind, so that callers can count why it was skipped.
 */
#include "nf_ftp_sym_parse.h"

/* The LF search stops here so that consumed and the match span always fit
 * their u16 fields; a buffer without a LF within this window is handled as
 * an over-long line that has not ended yet.
 */
#define FTP_SYM_SCAN_MAX	0xffff

/* RFC 4291 text never needs more than INET6_ADDRSTRLEN - 1 characters. */
#define FTP_SYM_IPV6_TEXT_MAX	45

static bool ftp_sym_is_digit(u8 c)
{
	return c >= '0' && c <= '9';
}

static bool ftp_sym_is_alpha(u8 c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool ftp_sym_is_blank(u8 c)
{
	return c == ' ' || c == '\t';
}

static u8 ftp_sym_lower(u8 c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 'a';
	return c;
}

/* Value of a hexadecimal digit, or -1. */
static int ftp_sym_hex_value(u8 c)
{
	if (ftp_sym_is_digit(c))
		return c - '0';
	c = ftp_sym_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* RFC 2428 allows any printable ASCII delimiter.  Characters that may occur
 * in the address or port text are refused so that the fields can be split
 * without guessing.
 */
static bool ftp_sym_is_eprt_delim(u8 c)
{
	return c >= 33 && c <= 126 && ftp_sym_hex_value(c) < 0 &&
	       c != '.' && c != ':';
}

/* A field that ends on punctuation was most likely closed by a different
 * delimiter; one that ends on a letter is itself malformed.
 */
static bool ftp_sym_looks_like_delim(u8 c)
{
	return ftp_sym_is_eprt_delim(c) && !ftp_sym_is_alpha(c);
}

/* Compare @len bytes of @s, ignoring case, with the lowercase @word. */
static bool ftp_sym_ci_equal(const char *s, const char *word, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (ftp_sym_lower(s[i]) != (u8)word[i])
			return false;
	return true;
}

static bool ftp_sym_only_blanks(const char *s, size_t pos, size_t len)
{
	for (; pos < len; pos++)
		if (!ftp_sym_is_blank(s[pos]))
			return false;
	return true;
}

static bool ftp_sym_has_nul(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!s[i])
			return true;
	return false;
}

static void ftp_sym_clear_endpoint(struct ftp_sym_endpoint *ep)
{
	unsigned int i;

	ep->family = 0;
	for (i = 0; i < sizeof(ep->addr); i++)
		ep->addr[i] = 0;
	ep->port = 0;
}

static void ftp_sym_clear_line(struct ftp_sym_line *line)
{
	line->kind = FTP_SYM_K_NONE;
	line->error = FTP_SYM_E_OK;
	line->multiline = 0;
	line->delim = 0;
	line->code = 0;
	line->consumed = 0;
	line->match_off = 0;
	line->match_len = 0;
	ftp_sym_clear_endpoint(&line->ep);
}

/* Length of the leading run of letters, counted no further than five: a
 * verb has three or four.
 */
static size_t ftp_sym_letters(const char *s, size_t len)
{
	size_t n = 0;

	while (n < len && n < 5 && ftp_sym_is_alpha(s[n]))
		n++;
	return n;
}

/* True if the argument @arg, leading SPs already skipped, is @word (given
 * in lowercase) followed by nothing but SP and HT.
 */
static bool ftp_sym_arg_is(const char *arg, size_t len, const char *word,
			   size_t word_len)
{
	return len >= word_len && ftp_sym_ci_equal(arg, word, word_len) &&
	       ftp_sym_only_blanks(arg, word_len, len);
}

static bool ftp_sym_arg_is_tls(const char *arg, size_t len)
{
	return ftp_sym_arg_is(arg, len, "tls", 3) ||
	       ftp_sym_arg_is(arg, len, "ssl", 3) ||
	       ftp_sym_arg_is(arg, len, "tls-c", 5) ||
	       ftp_sym_arg_is(arg, len, "tls-p", 5);
}

/* Like ftp_sym_arg_is(), for an argument that has not ended yet: true if
 * some continuation makes it @word.  A final CR may be the start of the
 * line terminator.
 */
static bool ftp_sym_arg_may_be(const char *arg, size_t len, const char *word,
			       size_t word_len)
{
	if (len <= word_len)
		return ftp_sym_ci_equal(arg, word, len);
	if (!ftp_sym_ci_equal(arg, word, word_len))
		return false;
	if (arg[len - 1] == '\r')
		len--;
	return ftp_sym_only_blanks(arg, word_len, len);
}

static bool ftp_sym_arg_may_be_tls(const char *arg, size_t len)
{
	return ftp_sym_arg_may_be(arg, len, "tls", 3) ||
	       ftp_sym_arg_may_be(arg, len, "ssl", 3) ||
	       ftp_sym_arg_may_be(arg, len, "tls-c", 5) ||
	       ftp_sym_arg_may_be(arg, len, "tls-p", 5);
}

/* Kind of a command line with the verb @verb of @verb_len letters and the
 * argument @arg (leading SPs skipped).  @complete is false while the line
 * has not ended: AUTH then stays AUTH as long as the argument may still
 * become a TLS mechanism, and EPSV stays EPSV since "ALL" may still grow.
 */
static u8 ftp_sym_command_kind(const char *verb, size_t verb_len,
			       const char *arg, size_t arg_len, bool complete)
{
	if (verb_len != 4)
		return FTP_SYM_K_COMMAND;
	if (ftp_sym_ci_equal(verb, "port", 4))
		return FTP_SYM_K_PORT;
	if (ftp_sym_ci_equal(verb, "eprt", 4))
		return FTP_SYM_K_EPRT;
	if (ftp_sym_ci_equal(verb, "pasv", 4))
		return FTP_SYM_K_PASV;
	if (ftp_sym_ci_equal(verb, "epsv", 4)) {
		if (complete && ftp_sym_arg_is(arg, arg_len, "all", 3))
			return FTP_SYM_K_COMMAND;
		return FTP_SYM_K_EPSV;
	}
	if (ftp_sym_ci_equal(verb, "auth", 4)) {
		if (complete ? ftp_sym_arg_is_tls(arg, arg_len) :
			       ftp_sym_arg_may_be_tls(arg, arg_len))
			return FTP_SYM_K_AUTH;
		return FTP_SYM_K_COMMAND;
	}
	return FTP_SYM_K_COMMAND;
}

/* Reply code of "NNN" at the start of @s with the first digit 1-5, or 0. */
static u16 ftp_sym_reply_code(const char *s, size_t len)
{
	if (len < 3 || s[0] < '1' || s[0] > '5' ||
	    !ftp_sym_is_digit(s[1]) || !ftp_sym_is_digit(s[2]))
		return 0;
	return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

/* Kind of a reply with @code whose fourth character @sep is SP or '-'. */
static void ftp_sym_set_reply(struct ftp_sym_line *line, u16 code, u8 sep)
{
	line->code = code;
	line->kind = FTP_SYM_K_REPLY;
	if (sep == '-') {
		/* A multi-line opener never carries the 227/229 data. */
		line->multiline = 1;
		return;
	}
	if (code == 227)
		line->kind = FTP_SYM_K_227;
	else if (code == 229)
		line->kind = FTP_SYM_K_229;
	else if (code == 234)
		line->kind = FTP_SYM_K_234;
}

/* Classify the content of a complete line, terminator removed.  *@arg is
 * set to where the command arguments or the reply text start.
 */
static void ftp_sym_classify(const char *s, size_t len,
			     struct ftp_sym_line *line, size_t *arg)
{
	size_t verb_len = ftp_sym_letters(s, len);
	size_t pos;
	u16 code;

	if ((verb_len == 3 || verb_len == 4) &&
	    (verb_len == len || s[verb_len] == ' ')) {
		pos = verb_len;
		while (pos < len && s[pos] == ' ')
			pos++;
		*arg = pos;
		line->kind = ftp_sym_command_kind(s, verb_len, s + pos,
						  len - pos, true);
		return;
	}

	code = ftp_sym_reply_code(s, len);
	if (!code)
		return;
	if (len == 3) {
		line->code = code;
		line->kind = FTP_SYM_K_REPLY;
		*arg = 3;
		return;
	}
	if (s[3] != ' ' && s[3] != '-')
		return;
	ftp_sym_set_reply(line, code, s[3]);
	*arg = 4;
}

/* Classify a line that has not ended yet (no LF in @s), as far as the
 * prefix allows; see the top of the file.
 */
static void ftp_sym_classify_prefix(const char *s, size_t len,
				    struct ftp_sym_line *line)
{
	size_t verb_len = ftp_sym_letters(s, len);
	size_t pos;
	u16 code;

	if ((verb_len == 3 || verb_len == 4) && verb_len < len &&
	    s[verb_len] == ' ') {
		pos = verb_len;
		while (pos < len && s[pos] == ' ')
			pos++;
		line->kind = ftp_sym_command_kind(s, verb_len, s + pos,
						  len - pos, false);
		return;
	}
	if (verb_len == 4 && (len == 4 || (len == 5 && s[4] == '\r'))) {
		line->kind = ftp_sym_command_kind(s, 4, s + len, 0, false);
		return;
	}

	code = ftp_sym_reply_code(s, len);
	if (code && len > 3 && (s[3] == ' ' || s[3] == '-'))
		ftp_sym_set_reply(line, code, s[3]);
}

/* True if some continuation of the unterminated @s is a PORT, EPRT, PASV,
 * EPSV or AUTH command or a 227, 229 or 234 reply.  This is exact: every
 * proper prefix of such a line answers true, anything else false.
 */
static bool ftp_sym_prefix_may_matter(const char *s, size_t len)
{
	static const char verbs[][5] = {
		"port", "eprt", "pasv", "epsv", "auth", ""
	};
	static const char replies[][5] = { "227 ", "229 ", "234 ", "" };
	unsigned int i;

	for (i = 0; verbs[i][0]; i++) {
		if (len <= 4) {
			if (ftp_sym_ci_equal(s, verbs[i], len))
				return true;
		} else if (ftp_sym_ci_equal(s, verbs[i], 4) &&
			   (s[4] == ' ' || (len == 5 && s[4] == '\r'))) {
			return true;
		}
	}
	for (i = 0; replies[i][0]; i++)
		if (ftp_sym_ci_equal(s, replies[i], len < 4 ? len : 4))
			return true;
	return false;
}

/* Parse up to @max_digits decimal digits at *@pos.  No digit at all is
 * E_SYNTAX, one digit too many E_OVERLONG.  *@pos moves only on success.
 */
static int ftp_sym_parse_number(const char *s, size_t len, size_t *pos,
				size_t max_digits, u32 *value)
{
	size_t p = *pos;
	u32 v = 0;

	while (p < len && ftp_sym_is_digit(s[p])) {
		if (p - *pos == max_digits)
			return FTP_SYM_E_OVERLONG;
		v = v * 10 + (s[p] - '0');
		p++;
	}
	if (p == *pos)
		return FTP_SYM_E_SYNTAX;
	*pos = p;
	*value = v;
	return FTP_SYM_E_OK;
}

static int ftp_sym_parse_octet(const char *s, size_t len, size_t *pos,
			       u8 *octet)
{
	u32 v;
	int err;

	err = ftp_sym_parse_number(s, len, pos, 3, &v);
	if (err)
		return err;
	if (v > 255)
		return FTP_SYM_E_RANGE;
	*octet = v;
	return FTP_SYM_E_OK;
}

static int ftp_sym_parse_port_number(const char *s, size_t len, size_t *pos,
				     u16 *port)
{
	u32 v;
	int err;

	err = ftp_sym_parse_number(s, len, pos, 5, &v);
	if (err)
		return err;
	if (!v || v > 65535)
		return FTP_SYM_E_RANGE;
	*port = v;
	return FTP_SYM_E_OK;
}

/* "h1,h2,h3,h4,p1,p2" of PORT and 227; *@pos moves past p2 on success. */
static int ftp_sym_parse_tuple(const char *s, size_t len, size_t *pos,
			       struct ftp_sym_endpoint *ep)
{
	size_t p = *pos;
	u8 field[6];
	unsigned int i;
	int err;

	for (i = 0; i < 6; i++) {
		if (i) {
			if (p >= len || s[p] != ',')
				return FTP_SYM_E_SYNTAX;
			p++;
		}
		err = ftp_sym_parse_octet(s, len, &p, &field[i]);
		if (err)
			return err;
	}
	if (!field[4] && !field[5])
		return FTP_SYM_E_RANGE;

	ep->family = 4;
	for (i = 0; i < 4; i++)
		ep->addr[i] = field[i];
	ep->port = field[4] << 8 | field[5];
	*pos = p;
	return FTP_SYM_E_OK;
}

/* Dotted quad filling exactly @len bytes; leading zeros are decimal. */
static bool ftp_sym_parse_ipv4(const char *s, size_t len, u8 *addr)
{
	size_t pos = 0;
	unsigned int i;

	for (i = 0; i < 4; i++) {
		if (i) {
			if (pos >= len || s[pos] != '.')
				return false;
			pos++;
		}
		if (ftp_sym_parse_octet(s, len, &pos, &addr[i]))
			return false;
	}
	return pos == len;
}

/* RFC 4291 2.2 text filling exactly @len bytes, without zone id. */
static bool ftp_sym_parse_ipv6(const char *s, size_t len, u8 *addr)
{
	u16 group[8];
	u8 quad[4];
	unsigned int groups = 0, i, tail;
	int gap = -1;
	size_t pos = 0, start;
	u32 v;

	if (len > FTP_SYM_IPV6_TEXT_MAX)
		return false;
	if (len >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 0;
		pos = 2;
	}
	while (pos < len) {
		start = pos;
		v = 0;
		while (pos < len && pos - start < 5 &&
		       ftp_sym_hex_value(s[pos]) >= 0) {
			v = v << 4 | ftp_sym_hex_value(s[pos]);
			pos++;
		}
		if (pos < len && s[pos] == '.') {
			/* An embedded dotted quad ends the text. */
			if (groups > 6 ||
			    !ftp_sym_parse_ipv4(s + start, len - start, quad))
				return false;
			group[groups++] = quad[0] << 8 | quad[1];
			group[groups++] = quad[2] << 8 | quad[3];
			break;
		}
		if (pos == start || pos - start > 4 || groups == 8)
			return false;
		group[groups++] = v;
		if (pos == len)
			break;
		if (s[pos] != ':')
			return false;
		pos++;
		if (pos < len && s[pos] == ':') {
			if (gap >= 0)
				return false;
			gap = groups;
			pos++;
		} else if (pos == len) {
			return false;
		}
	}
	/* "::" stands for at least one group of zeros. */
	if (gap < 0 ? groups != 8 : groups > 7)
		return false;

	for (i = 0; i < 16; i++)
		addr[i] = 0;
	tail = gap < 0 ? 0 : groups - gap;
	for (i = 0; i < groups - tail; i++) {
		addr[2 * i] = group[i] >> 8;
		addr[2 * i + 1] = group[i] & 0xff;
	}
	for (i = 0; i < tail; i++) {
		addr[2 * (8 - tail + i)] = group[groups - tail + i] >> 8;
		addr[2 * (8 - tail + i) + 1] = group[groups - tail + i] & 0xff;
	}
	return true;
}

/* Check the character that ends an EPRT field: it must be @delim. */
static int ftp_sym_eprt_field_end(const char *s, size_t len, size_t pos,
				  u8 delim, int field_error)
{
	if (pos == len)
		return FTP_SYM_E_SYNTAX;
	if ((u8)s[pos] == delim)
		return FTP_SYM_E_OK;
	if (ftp_sym_looks_like_delim(s[pos]))
		return FTP_SYM_E_DELIM;
	return field_error;
}

static int ftp_sym_parse_port_cmd(const char *s, size_t len, size_t arg,
				  struct ftp_sym_line *line)
{
	size_t pos = arg;
	int err;

	err = ftp_sym_parse_tuple(s, len, &pos, &line->ep);
	if (err)
		return err;
	if (!ftp_sym_only_blanks(s, pos, len))
		return FTP_SYM_E_SYNTAX;
	line->match_off = arg;
	line->match_len = pos - arg;
	return FTP_SYM_E_OK;
}

static int ftp_sym_parse_eprt(const char *s, size_t len, size_t arg,
			      struct ftp_sym_line *line)
{
	size_t pos = arg, af, addr, port_end;
	u8 delim, family = 0;
	u16 port;
	bool ok;
	int err;

	if (pos == len)
		return FTP_SYM_E_SYNTAX;
	delim = s[pos];
	if (!ftp_sym_is_eprt_delim(delim))
		return FTP_SYM_E_DELIM;

	af = ++pos;
	while (pos < len && ftp_sym_is_digit(s[pos]))
		pos++;
	if (pos == len && pos == af)
		return FTP_SYM_E_SYNTAX;
	if (pos - af == 1 && s[af] == '1')
		family = 4;
	else if (pos - af == 1 && s[af] == '2')
		family = 6;
	else
		return FTP_SYM_E_FAMILY;
	err = ftp_sym_eprt_field_end(s, len, pos, delim, FTP_SYM_E_FAMILY);
	if (err)
		return err;

	addr = ++pos;
	while (pos < len && (ftp_sym_hex_value(s[pos]) >= 0 ||
			     s[pos] == '.' || s[pos] == ':'))
		pos++;
	if (pos == len && pos == addr)
		return FTP_SYM_E_SYNTAX;
	if (family == 4)
		ok = ftp_sym_parse_ipv4(s + addr, pos - addr, line->ep.addr);
	else
		ok = ftp_sym_parse_ipv6(s + addr, pos - addr, line->ep.addr);
	if (!ok)
		return FTP_SYM_E_ADDR;
	if (family == 6 && pos < len && s[pos] == '%' && delim != '%')
		return FTP_SYM_E_ADDR;
	err = ftp_sym_eprt_field_end(s, len, pos, delim, FTP_SYM_E_ADDR);
	if (err)
		return err;

	pos++;
	err = ftp_sym_parse_port_number(s, len, &pos, &port);
	if (err)
		return err;
	port_end = pos;
	err = ftp_sym_eprt_field_end(s, len, pos, delim, FTP_SYM_E_SYNTAX);
	if (err)
		return err;
	if (!ftp_sym_only_blanks(s, pos + 1, len))
		return FTP_SYM_E_SYNTAX;

	line->delim = delim;
	line->ep.family = family;
	line->ep.port = port;
	line->match_off = af;
	line->match_len = port_end - af;
	return FTP_SYM_E_OK;
}

/* RFC 1123 4.1.2.6: the numbers start at the first digit of the text. */
static int ftp_sym_parse_227(const char *s, size_t len, size_t text,
			     struct ftp_sym_line *line)
{
	size_t start = text, pos;
	int err;

	while (start < len && !ftp_sym_is_digit(s[start]))
		start++;
	if (start == len)
		return FTP_SYM_E_NONUM;
	if (s[start - 1] == '+' || s[start - 1] == '-')
		return FTP_SYM_E_SYNTAX;

	pos = start;
	err = ftp_sym_parse_tuple(s, len, &pos, &line->ep);
	if (err)
		return err;
	/* A following digit was already E_OVERLONG; a comma is a 7th field. */
	if (pos < len && s[pos] == ',')
		return FTP_SYM_E_SYNTAX;
	line->match_off = start;
	line->match_len = pos - start;
	return FTP_SYM_E_OK;
}

/* RFC 2428: "(<d><d><d><port><d>)" somewhere in the text. */
static int ftp_sym_parse_229(const char *s, size_t len, size_t text,
			     struct ftp_sym_line *line)
{
	size_t pos = text, port_start;
	unsigned int i;
	u16 port;
	u8 delim;
	int err;

	while (pos < len && s[pos] != '(')
		pos++;
	if (pos == len || ++pos == len)
		return FTP_SYM_E_SYNTAX;
	delim = s[pos];
	if (delim < 33 || delim > 126 || ftp_sym_is_digit(delim))
		return FTP_SYM_E_DELIM;
	for (i = 0; i < 2; i++) {
		if (++pos == len)
			return FTP_SYM_E_SYNTAX;
		if ((u8)s[pos] != delim)
			return FTP_SYM_E_DELIM;
	}

	port_start = ++pos;
	err = ftp_sym_parse_port_number(s, len, &pos, &port);
	if (err)
		return err;
	if (pos == len)
		return FTP_SYM_E_SYNTAX;
	if ((u8)s[pos] != delim)
		return FTP_SYM_E_DELIM;
	if (++pos == len || s[pos] != ')')
		return FTP_SYM_E_SYNTAX;

	line->delim = delim;
	line->ep.port = port;
	line->match_off = port_start;
	line->match_len = pos - 1 - port_start;
	return FTP_SYM_E_OK;
}

/* Only called for the kinds that ftp_sym_kind_has_endpoint() accepts. */
static int ftp_sym_parse_endpoint(const char *s, size_t len, size_t arg,
				  struct ftp_sym_line *line)
{
	switch (line->kind) {
	case FTP_SYM_K_PORT:
		return ftp_sym_parse_port_cmd(s, len, arg, line);
	case FTP_SYM_K_EPRT:
		return ftp_sym_parse_eprt(s, len, arg, line);
	case FTP_SYM_K_227:
		return ftp_sym_parse_227(s, len, arg, line);
	default:
		return ftp_sym_parse_229(s, len, arg, line);
	}
}

static int ftp_sym_parse_incomplete(const char *data, size_t len,
				    struct ftp_sym_line *line)
{
	if (len >= FTP_SYM_LINE_MAX) {
		ftp_sym_classify_prefix(data, FTP_SYM_LINE_MAX, line);
		line->error = FTP_SYM_E_LONGLINE;
		return FTP_SYM_SKIP;
	}
	ftp_sym_classify_prefix(data, len, line);
	if (ftp_sym_prefix_may_matter(data, len))
		return FTP_SYM_PARTIAL;
	return FTP_SYM_SKIP;
}

int ftp_sym_parse_line(const char *data, size_t len, struct ftp_sym_line *line)
{
	size_t scan = len < FTP_SYM_SCAN_MAX ? len : FTP_SYM_SCAN_MAX;
	size_t lf, content_len, arg = 0;
	int err;

	ftp_sym_clear_line(line);
	for (lf = 0; lf < scan; lf++)
		if (data[lf] == '\n')
			break;
	if (lf == scan)
		return ftp_sym_parse_incomplete(data, len, line);

	/* Only the CR right before the LF belongs to the terminator. */
	content_len = lf;
	if (content_len && data[content_len - 1] == '\r')
		content_len--;
	line->consumed = lf + 1;

	ftp_sym_classify(data, content_len, line, &arg);
	if (!ftp_sym_kind_has_endpoint(line->kind))
		return FTP_SYM_COMPLETE;

	if (lf >= FTP_SYM_LINE_MAX)
		err = FTP_SYM_E_LONGLINE;
	else if (ftp_sym_has_nul(data, content_len))
		err = FTP_SYM_E_NUL;
	else
		err = ftp_sym_parse_endpoint(data, content_len, arg, line);
	if (err) {
		line->error = err;
		line->delim = 0;
		line->match_off = 0;
		line->match_len = 0;
		ftp_sym_clear_endpoint(&line->ep);
	}
	return FTP_SYM_COMPLETE;
}

struct ftp_sym_writer {
	char *buf;
	size_t size;
	size_t len;
	bool overflow;
};

static void ftp_sym_put_char(struct ftp_sym_writer *w, char c)
{
	if (w->len < w->size)
		w->buf[w->len++] = c;
	else
		w->overflow = true;
}

static void ftp_sym_put_decimal(struct ftp_sym_writer *w, u32 value)
{
	char digits[10];
	unsigned int n = 0;

	do {
		digits[n++] = '0' + value % 10;
		value /= 10;
	} while (value);
	while (n)
		ftp_sym_put_char(w, digits[--n]);
}

/* Lowercase, without leading zeros (RFC 5952 4.1, 4.3). */
static void ftp_sym_put_hex16(struct ftp_sym_writer *w, u16 value)
{
	static const char hex[] = "0123456789abcdef";
	int shift = 12;

	while (shift && !(value >> shift))
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		ftp_sym_put_char(w, hex[(value >> shift) & 0xf]);
}

static void ftp_sym_put_ipv4(struct ftp_sym_writer *w, const u8 *addr)
{
	unsigned int i;

	for (i = 0; i < 4; i++) {
		if (i)
			ftp_sym_put_char(w, '.');
		ftp_sym_put_decimal(w, addr[i]);
	}
}

/* RFC 5952 4.2: "::" replaces the longest run of two or more zero groups,
 * the leftmost one on a tie.
 */
static void ftp_sym_put_ipv6(struct ftp_sym_writer *w, const u8 *addr)
{
	unsigned int i, run, best_start = 8, best_len = 0;
	u16 group[8];

	for (i = 0; i < 8; i++)
		group[i] = addr[2 * i] << 8 | addr[2 * i + 1];

	i = 0;
	while (i < 8) {
		if (group[i]) {
			i++;
			continue;
		}
		run = 1;
		while (i + run < 8 && !group[i + run])
			run++;
		if (run >= 2 && run > best_len) {
			best_start = i;
			best_len = run;
		}
		i += run;
	}

	for (i = 0; i < 8; i++) {
		if (i == best_start) {
			ftp_sym_put_char(w, ':');
			ftp_sym_put_char(w, ':');
			i += best_len - 1;
			continue;
		}
		if (i && i != best_start + best_len)
			ftp_sym_put_char(w, ':');
		ftp_sym_put_hex16(w, group[i]);
	}
}

/* Commands of RFC 959, 2228, 2389, 2428, 2640, 3659 and 4217, the
 * X-variants of RFC 775 and common extensions, in lowercase: a line that
 * starts with one of them is a line start.
 */
static const char *const ftp_sym_verbs[] = {
	"abor", "acct", "adat", "allo", "appe", "auth", "ccc", "cdup", "conf",
	"cwd", "dele", "enc", "eprt", "epsv", "feat", "help", "lang", "list",
	"mdtm", "mic", "mkd", "mlsd", "mlst", "mode", "nlst", "noop", "opts",
	"pass", "pasv", "pbsz", "port", "prot", "pwd", "quit", "rein", "rest",
	"retr", "rmd", "rnfr", "rnto", "site", "size", "smnt", "stat", "stor",
	"stou", "stru", "syst", "type", "user", "xcup", "xcwd", "xmkd", "xpwd",
	"xrmd",
	/* RFC 1639, 7151, drafts and common extensions */
	"avbl", "clnt", "csid", "dsiz", "hash", "host", "lprt", "lpsv", "mfct",
	"mff", "mfmt", "rmda", "spsv", "thmb", "xcrc", "xmd5",
	NULL,
};

static bool ftp_sym_known_verb(const char *s, size_t n)
{
	size_t i;

	for (i = 0; ftp_sym_verbs[i]; i++) {
		const char *v = ftp_sym_verbs[i];

		if ((v[3] ? 4U : 3U) == n && ftp_sym_ci_equal(s, v, n))
			return true;
	}
	return false;
}

bool ftp_sym_may_continue_line(const char *data, size_t len)
{
	size_t n = ftp_sym_letters(data, len), end = 0, i;

	/* A command: a known verb, then the end or a blank, CR or LF.
	 * "Mode (" is the text of a 227 or 229, not MODE's argument.
	 */
	if ((n == 3 || n == 4) && ftp_sym_known_verb(data, n) &&
	    (n == len || ftp_sym_is_blank(data[n]) || data[n] == '\r' ||
	     data[n] == '\n') &&
	    !(n == 4 && ftp_sym_ci_equal(data, "mode", 4) && n + 1 < len &&
	      data[n + 1] == '('))
		return false;
	/* A reply: its code, then the end, a blank, '-', CR or LF. */
	if (ftp_sym_reply_code(data, len) &&
	    (len == 3 || data[3] == ' ' || data[3] == '-' || data[3] == '\r' ||
	     data[3] == '\n'))
		return false;

	while (end < len && data[end] != '\n')
		end++;
	if (end < 3)
		return true;
	/* Not text (TLS records after AUTH TLS, whose state did not come
	 * along; telnet IAC): not an FTP line, and nothing to rewrite.
	 */
	for (i = 0; i < end; i++)
		if ((u8)data[i] > 126 ||
		    ((u8)data[i] < 32 && data[i] != '\t' && data[i] != '\r'))
			return false;
	/* No letter: the last number of an endpoint and what closes it
	 * ("64\r", "4).", "|)").
	 */
	for (i = 0; i < end; i++)
		if (ftp_sym_is_alpha(data[i]))
			break;
	if (i == end)
		return true;
	/* A separator next to a digit: ',' of PORT and 227, the delimiter
	 * of EPRT and 229 (any of ASCII 33 to 126, '|' mostly), '.' and ':'
	 * of an address.
	 */
	for (i = 0; i < end; i++) {
		u8 ch = data[i];

		if (ch < 33 || ch > 126 || ftp_sym_is_digit(ch) ||
		    ftp_sym_is_alpha(ch))
			continue;
		if ((i > 0 && ftp_sym_is_digit(data[i - 1])) ||
		    (i + 1 < end && ftp_sym_is_digit(data[i + 1])))
			return true;
	}
	return false;
}

int ftp_sym_format(char *buf, size_t size, unsigned int kind, char delim,
		   const struct ftp_sym_endpoint *ep)
{
	struct ftp_sym_writer w = { .buf = buf, .size = size };
	unsigned int i;

	if (!ep || !ep->port)
		return -1;

	switch (kind) {
	case FTP_SYM_K_PORT:
	case FTP_SYM_K_227:
		if (ep->family != 4)
			return -1;
		for (i = 0; i < 4; i++) {
			ftp_sym_put_decimal(&w, ep->addr[i]);
			ftp_sym_put_char(&w, ',');
		}
		ftp_sym_put_decimal(&w, ep->port >> 8);
		ftp_sym_put_char(&w, ',');
		ftp_sym_put_decimal(&w, ep->port & 0xff);
		break;
	case FTP_SYM_K_EPRT:
		if (!ftp_sym_is_eprt_delim(delim))
			return -1;
		if (ep->family == 4) {
			ftp_sym_put_char(&w, '1');
			ftp_sym_put_char(&w, delim);
			ftp_sym_put_ipv4(&w, ep->addr);
		} else if (ep->family == 6) {
			ftp_sym_put_char(&w, '2');
			ftp_sym_put_char(&w, delim);
			ftp_sym_put_ipv6(&w, ep->addr);
		} else {
			return -1;
		}
		ftp_sym_put_char(&w, delim);
		ftp_sym_put_decimal(&w, ep->port);
		break;
	case FTP_SYM_K_229:
		/* Only the port is written; the address, if any, is unused. */
		if (ep->family != 0 && ep->family != 4 && ep->family != 6)
			return -1;
		ftp_sym_put_decimal(&w, ep->port);
		break;
	default:
		return -1;
	}
	if (w.overflow)
		return -1;
	return w.len;
}

const char *ftp_sym_kind_name(unsigned int kind)
{
	static const char *const names[FTP_SYM_K_MAX] = {
		[FTP_SYM_K_NONE] = "none",
		[FTP_SYM_K_COMMAND] = "command",
		[FTP_SYM_K_REPLY] = "reply",
		[FTP_SYM_K_PORT] = "port",
		[FTP_SYM_K_EPRT] = "eprt",
		[FTP_SYM_K_PASV] = "pasv",
		[FTP_SYM_K_EPSV] = "epsv",
		[FTP_SYM_K_AUTH] = "auth",
		[FTP_SYM_K_227] = "227",
		[FTP_SYM_K_229] = "229",
		[FTP_SYM_K_234] = "234",
	};

	if (kind >= FTP_SYM_K_MAX)
		return "?";
	return names[kind];
}

const char *ftp_sym_error_name(unsigned int error)
{
	static const char *const names[FTP_SYM_E_MAX] = {
		[FTP_SYM_E_OK] = "ok",
		[FTP_SYM_E_SYNTAX] = "syntax",
		[FTP_SYM_E_RANGE] = "range",
		[FTP_SYM_E_OVERLONG] = "overlong",
		[FTP_SYM_E_NUL] = "nul",
		[FTP_SYM_E_FAMILY] = "family",
		[FTP_SYM_E_ADDR] = "addr",
		[FTP_SYM_E_DELIM] = "delim",
		[FTP_SYM_E_NONUM] = "nonum",
		[FTP_SYM_E_LONGLINE] = "longline",
	};

	if (error >= FTP_SYM_E_MAX)
		return "?";
	return names[error];
}
