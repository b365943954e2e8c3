/*
 * imap_parse.c - IMAP lexical helpers shared by the client-facing and the
 * backend-facing pre-auth modules (see imap_parse.h).
 *
 * Invariants: every function reads only within the lengths it is given and
 * never trusts remote text to be NUL-free or terminated.
 */
#include "compat.h"

#include <strings.h>

#include "buf.h"
#include "imap_parse.h"
#include "xmalloc.h"

bool
imap_is_astring_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	switch (c) {
	case '(':
	case ')':
	case '{':
	case '"':
	case '\\':
		return false;
	default:
		return true;
	}
}

bool
imap_is_tag_char(unsigned char c)
{
	return c != '+' && c != '*' && c != '%' && imap_is_astring_char(c);
}

bool
imap_is_quotable(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c > 0x7e)
			return false;
	}
	return true;
}

int
imap_append_quoted(struct buf *out, const char *s, size_t len)
{
	size_t i;

	if (buf_append(out, "\"", 1) == -1)
		return -1;
	for (i = 0; i < len; i++) {
		if ((s[i] == '"' || s[i] == '\\') &&
		    buf_append(out, "\\", 1) == -1)
			return -1;
		if (buf_append(out, &s[i], 1) == -1)
			return -1;
	}
	return buf_append(out, "\"", 1);
}

enum imap_literal_spec
imap_literal_spec_find(
    const char *line, size_t len, uint64_t *size_r, size_t *start_r)
{
	enum imap_literal_spec kind = IMAP_LITERAL_SYNC;
	size_t end, start, i;
	uint64_t n = 0;

	if (len == 0 || line[len - 1] != '}')
		return IMAP_LITERAL_NONE;
	end = len - 1;
	if (end > 0 && line[end - 1] == '+') {
		kind = IMAP_LITERAL_NONSYNC;
		end--;
	}
	start = end;
	while (start > 0 && line[start - 1] >= '0' && line[start - 1] <= '9')
		start--;
	if (start == end || start == 0 || line[start - 1] != '{')
		return IMAP_LITERAL_INVALID;
	for (i = start; i < end; i++) {
		unsigned int d = (unsigned int)(line[i] - '0');

		if (n > (UINT64_MAX - d) / 10) {
			n = UINT64_MAX;
			break;
		}
		n = n * 10 + d;
	}
	*size_r = n;
	*start_r = start - 1;
	return kind;
}

bool
imap_caps_has(const char *caps, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = caps;

	if (p == NULL)
		return false;
	while (*p != '\0') {
		size_t wlen;

		while (*p == ' ')
			p++;
		wlen = strcspn(p, " ");
		if (wlen == nlen && strncasecmp(p, name, nlen) == 0)
			return true;
		p += wlen;
	}
	return false;
}

char *
imap_resp_code_caps(const char *text, size_t len)
{
	static const char prefix[] = "[CAPABILITY ";
	size_t plen = sizeof(prefix) - 1, i;

	if (len < plen || strncasecmp(text, prefix, plen) != 0)
		return NULL;
	for (i = plen; i < len; i++) {
		if (text[i] == ']')
			return imap_text_dup_oneline(
			    text + plen, i - plen, len);
	}
	return NULL;
}

char *
imap_text_dup_oneline(const char *text, size_t len, size_t max)
{
	char *s;
	size_t i;

	if (len > max)
		len = max;
	s = xmalloc(len + 1);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		s[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	s[len] = '\0';
	return s;
}

struct imap_id_field *
imap_id_fields_copy(const struct imap_id_field *fields, size_t count)
{
	struct imap_id_field *copy;
	size_t i;

	if (count == 0)
		return NULL;
	copy = xcalloc(count, sizeof(*copy));
	for (i = 0; i < count; i++) {
		copy[i].name = xstrdup(fields[i].name);
		if (fields[i].value != NULL)
			copy[i].value = xstrdup(fields[i].value);
	}
	return copy;
}

void
imap_id_fields_free(struct imap_id_field **fields, size_t count)
{
	size_t i;

	if (*fields == NULL)
		return;
	for (i = 0; i < count; i++) {
		free((*fields)[i].name);
		free((*fields)[i].value);
	}
	free(*fields);
	*fields = NULL;
}
