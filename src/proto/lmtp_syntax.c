/*
 * lmtp_syntax.c - the LMTP/SMTP syntax the LMTP server and backend share
 * (see lmtp_syntax.h): reply normalisation, paths, parameters.
 *
 * Invariants: pure functions of their input; nothing reads past len;
 * normalised replies are one line of at most LMTP_REPLY_MAX bytes.
 */
#include "compat.h"

#include <ctype.h>
#include <stdio.h>
#include <strings.h>

#include "lmtp_server.h"
#include "lmtp_syntax.h"
#include "xmalloc.h"

bool
lmtp_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Does text start with an enhanced status code "class.d{1,3}.d{1,3}"
 * followed by a space or the end? */
static bool
lmtp_has_enhanced(const char *t, size_t len, char class)
{
	size_t i = 0, part, n;

	if (len < 5 || t[0] != class || t[1] != '.')
		return false;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (n = 0; i < len && lmtp_is_digit(t[i]) && n < 4; n++)
			i++;
		if (n == 0 || n > 3)
			return false;
		if (part == 0) {
			if (i >= len || t[i] != '.')
				return false;
			i++;
		}
	}
	return i == len || t[i] == ' ';
}

int
lmtp_reply_normalise(char *dst, size_t size, const char *reply, size_t len)
{
	char text[LMTP_REPLY_MAX + 1];
	size_t i, tlen;
	int code;

	if (len < 3 || reply[0] < '2' || reply[0] > '5' ||
	    !lmtp_is_digit(reply[1]) || !lmtp_is_digit(reply[2]) ||
	    (len > 3 && reply[3] != ' ' && reply[3] != '-')) {
		(void)strlcpy(dst, "451 4.3.0 Invalid reply", size);
		return -1;
	}
	code =
	    (reply[0] - '0') * 100 + (reply[1] - '0') * 10 + (reply[2] - '0');
	tlen = len > 4 ? MIN_OF(len - 4, sizeof(text) - 1) : 0;
	for (i = 0; i < tlen; i++) {
		unsigned char c = (unsigned char)reply[4 + i];

		text[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	text[tlen] = '\0';
	if (lmtp_has_enhanced(text, tlen, reply[0]))
		(void)snprintf(dst, size, "%d %s", code, text);
	else
		(void)snprintf(dst, size, "%d %c.0.0%s%s", code, reply[0],
		    tlen > 0 ? " " : "", text);
	/* keep the bound even after the inserted code */
	if (strlen(dst) > LMTP_REPLY_MAX)
		dst[LMTP_REPLY_MAX] = '\0';
	return code;
}

/* Parses "<path>" at p: sets *addr_r (new string, without <> and source
 * route) and returns the bytes used, or 0 on a syntax error. */
static size_t
lmtp_parse_path(const char *p, size_t len, char **addr_r)
{
	const char *a, *colon;
	size_t i, alen;
	bool quoted = false;

	*addr_r = NULL;
	if (len < 2 || p[0] != '<')
		return 0;
	for (i = 1; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c >= 0x7f)
			return 0;
		if (quoted) {
			if (c == '\\') {
				if (++i >= len || (unsigned char)p[i] < 0x20 ||
				    (unsigned char)p[i] >= 0x7f)
					return 0;
			} else if (c == '"')
				quoted = false;
			continue;
		}
		if (c == '"')
			quoted = true;
		else if (c == '>')
			break;
		else if (c == '<' || c == ' ')
			return 0;
	}
	if (i >= len)
		return 0;
	a = p + 1;
	alen = i - 1;
	if (alen > 0 && a[0] == '@') {
		/* RFC 5321 4.1.1.3: source routes are ignored */
		colon = memchr(a, ':', alen);
		if (colon == NULL || a[alen - 1] == ':')
			return 0;
		alen -= (size_t)(colon + 1 - a);
		a = colon + 1;
	}
	*addr_r = xstrndup(a, alen);
	return i + 1;
}

bool
lmtp_params_valid(const char *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		if (!isalnum((unsigned char)p[i]))
			return false;
		while (i < len && (isalnum((unsigned char)p[i]) || p[i] == '-'))
			i++;
		if (i < len && p[i] == '=') {
			size_t start = ++i;

			while (
			    i < len && p[i] > ' ' && p[i] < 0x7f && p[i] != '=')
				i++;
			if (i == start)
				return false;
		}
		if (i < len && p[i] != ' ')
			return false;
		while (i < len && p[i] == ' ')
			i++;
	}
	return true;
}

size_t
lmtp_parse_arg(const char *args, size_t len, const char *keyword, char **addr_r)
{
	size_t klen = strlen(keyword), i, n;

	*addr_r = NULL;
	if (len < klen || strncasecmp(args, keyword, klen) != 0)
		return 0;
	for (i = klen; i < len && args[i] == ' '; i++)
		;
	n = lmtp_parse_path(args + i, len - i, addr_r);
	if (n == 0)
		return 0;
	i += n;
	if (i < len && args[i] != ' ') {
		free(*addr_r);
		*addr_r = NULL;
		return 0;
	}
	while (i < len && args[i] == ' ')
		i++;
	return i;
}
