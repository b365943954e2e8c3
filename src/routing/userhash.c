/*
 * userhash.c - compile and evaluate director_username_hash templates.
 *
 * A compiled template is a short list of parts, each either a literal
 * slice of the template text or a variable with a case modifier.
 * Invariants: expansion never writes past USERHASH_EXPANSION_MAX bytes;
 * the returned hash is never 0 (0 means "no user" elsewhere).
 */
#include "compat.h"

#include "md5.h"
#include "userhash.h"
#include "xmalloc.h"

enum userhash_var {
	USERHASH_VAR_LITERAL,
	USERHASH_VAR_USER,
	USERHASH_VAR_USERNAME,
	USERHASH_VAR_DOMAIN,
};

enum userhash_case {
	USERHASH_CASE_KEEP,
	USERHASH_CASE_LOWER,
	USERHASH_CASE_UPPER,
};

struct userhash_part {
	enum userhash_var var;
	enum userhash_case mod;
	size_t lit_off, lit_len; /* into userhash_template.text */
};

enum userhash_fast {
	USERHASH_FAST_NONE,
	USERHASH_FAST_U, /* "%u" */
	USERHASH_FAST_LU, /* "%Lu" */
};

struct userhash_template {
	char *text;
	enum userhash_fast fast;
	size_t nparts;
	struct userhash_part parts[];
};

static const struct {
	const char *name;
	enum userhash_var var;
} userhash_long_names[] = {
    {"user", USERHASH_VAR_USER},
    {"username", USERHASH_VAR_USERNAME},
    {"domain", USERHASH_VAR_DOMAIN},
};

/* Parses one %-sequence after the '%' at *pp; advances *pp past it. */
static int
userhash_parse_var(
    const char **pp, struct userhash_part *part, const char **err_r)
{
	const char *p = *pp, *end;
	size_t i, len;

	part->mod = USERHASH_CASE_KEEP;
	if (*p == 'L' || *p == 'U') {
		part->mod =
		    *p == 'L' ? USERHASH_CASE_LOWER : USERHASH_CASE_UPPER;
		p++;
	}
	switch (*p) {
	case 'u':
		part->var = USERHASH_VAR_USER;
		break;
	case 'n':
		part->var = USERHASH_VAR_USERNAME;
		break;
	case 'd':
		part->var = USERHASH_VAR_DOMAIN;
		break;
	case '{':
		end = strchr(p, '}');
		if (end == NULL) {
			*err_r = "unterminated %{ in username hash template";
			return -1;
		}
		len = (size_t)(end - (p + 1));
		for (i = 0; i < nitems(userhash_long_names); i++) {
			if (strlen(userhash_long_names[i].name) == len &&
			    memcmp(userhash_long_names[i].name, p + 1, len) ==
				0)
				break;
		}
		if (i == nitems(userhash_long_names)) {
			*err_r = "unknown variable in username hash template";
			return -1;
		}
		part->var = userhash_long_names[i].var;
		p = end;
		break;
	case '\0':
		*err_r = "username hash template ends with '%'";
		return -1;
	default:
		*err_r = "unknown variable in username hash template";
		return -1;
	}
	*pp = p + 1;
	return 0;
}

struct userhash_template *
userhash_template_new(const char *tmpl, const char **err_r)
{
	struct userhash_template *t;
	struct userhash_part part;
	const char *p;
	size_t max_parts, n = 0;

	if (strlen(tmpl) > USERHASH_TEMPLATE_MAX) {
		*err_r = "username hash template too long";
		return NULL;
	}
	if (*tmpl == '\0') {
		*err_r = "username hash template is empty";
		return NULL;
	}
	/* Every part consumes at least one byte of the template. */
	max_parts = strlen(tmpl);
	t = xcalloc(1, sizeof(*t) + max_parts * sizeof(t->parts[0]));
	t->text = xstrdup(tmpl);
	for (p = t->text; *p != '\0';) {
		memset(&part, 0, sizeof(part));
		if (*p != '%' || p[1] == '%') {
			/* Literal run up to the next variable. */
			part.var = USERHASH_VAR_LITERAL;
			part.lit_off = (size_t)(p - t->text);
			if (*p == '%') {
				part.lit_len = 1;
				p += 2;
			} else {
				part.lit_len = strcspn(p, "%");
				p += part.lit_len;
			}
		} else {
			p++;
			if (userhash_parse_var(&p, &part, err_r) < 0) {
				userhash_template_free(&t);
				return NULL;
			}
		}
		t->parts[n++] = part;
	}
	t->nparts = n;
	if (strcmp(tmpl, "%u") == 0)
		t->fast = USERHASH_FAST_U;
	else if (strcmp(tmpl, "%Lu") == 0)
		t->fast = USERHASH_FAST_LU;
	return t;
}

void
userhash_template_free(struct userhash_template **tmpl)
{
	if (*tmpl == NULL)
		return;
	free((*tmpl)->text);
	free(*tmpl);
	*tmpl = NULL;
}

uint32_t
userhash_fix_zero(uint32_t hash)
{
	return hash == 0 ? 1 : hash;
}

uint32_t
userhash_from_expansion(const void *data, size_t len)
{
	return userhash_fix_zero(md5_get_u32_be(data, len));
}

static void
userhash_copy_case(
    char *dst, const char *src, size_t len, enum userhash_case mod)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char c = src[i];

		if (mod == USERHASH_CASE_LOWER && c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		else if (mod == USERHASH_CASE_UPPER && c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		dst[i] = c;
	}
}

/* The length of username that counts (cut at the master separator). */
static size_t
userhash_user_len(const char *username, const char *master_sep)
{
	const char *cut;

	if (master_sep != NULL && *master_sep != '\0' &&
	    (cut = strstr(username, master_sep)) != NULL)
		return (size_t)(cut - username);
	return strlen(username);
}

/* Expands the template over username[0..ulen) into out[USERHASH_
 * EXPANSION_MAX].  Returns the length, or -1 with *err_r. */
static ssize_t
userhash_expand_len(const struct userhash_template *tmpl, const char *username,
    size_t ulen, char *out, const char **err_r)
{
	const char *at, *src;
	size_t len = 0, slen, i;

	if (ulen > USERHASH_EXPANSION_MAX) {
		*err_r = "username too long";
		return -1;
	}
	at = memchr(username, '@', ulen);
	for (i = 0; i < tmpl->nparts; i++) {
		const struct userhash_part *part = &tmpl->parts[i];

		switch (part->var) {
		case USERHASH_VAR_LITERAL:
			src = tmpl->text + part->lit_off;
			slen = part->lit_len;
			break;
		case USERHASH_VAR_USER:
			src = username;
			slen = ulen;
			break;
		case USERHASH_VAR_USERNAME:
			src = username;
			slen = at != NULL ? (size_t)(at - username) : ulen;
			break;
		case USERHASH_VAR_DOMAIN:
		default:
			src = at != NULL ? at + 1 : "";
			slen =
			    at != NULL ? ulen - (size_t)(at + 1 - username) : 0;
			break;
		}
		if (slen > USERHASH_EXPANSION_MAX - len) {
			*err_r = "username hash expansion too long";
			return -1;
		}
		userhash_copy_case(out + len, src, slen, part->mod);
		len += slen;
	}
	return (ssize_t)len;
}

int
userhash_compute(const struct userhash_template *tmpl, const char *username,
    const char *master_sep, uint32_t *hash_r, const char **err_r)
{
	char out[USERHASH_EXPANSION_MAX];
	size_t ulen = userhash_user_len(username, master_sep);
	ssize_t len;

	if (ulen > USERHASH_EXPANSION_MAX) {
		*err_r = "username too long";
		return -1;
	}
	if (tmpl->fast == USERHASH_FAST_U) {
		*hash_r = userhash_from_expansion(username, ulen);
		return 0;
	}
	if (tmpl->fast == USERHASH_FAST_LU) {
		userhash_copy_case(out, username, ulen, USERHASH_CASE_LOWER);
		*hash_r = userhash_from_expansion(out, ulen);
		return 0;
	}
	len = userhash_expand_len(tmpl, username, ulen, out, err_r);
	if (len == -1)
		return -1;
	*hash_r = userhash_from_expansion(out, (size_t)len);
	return 0;
}

int
userhash_expand(const struct userhash_template *tmpl, const char *username,
    const char *master_sep, char *buf, size_t size, const char **err_r)
{
	char out[USERHASH_EXPANSION_MAX];
	ssize_t len = userhash_expand_len(tmpl, username,
	    userhash_user_len(username, master_sep), out, err_r);

	if (len == -1)
		return -1;
	if ((size_t)len >= size) {
		*err_r = "username hash expansion too long";
		return -1;
	}
	memcpy(buf, out, (size_t)len);
	buf[len] = '\0';
	return 0;
}

int
userhash_strip_detail(
    const char *addr, const char *delimiters, char *buf, size_t size)
{
	const char *at = strchr(addr, '@');
	size_t local = at != NULL ? (size_t)(at - addr) : strlen(addr);
	size_t cut = local, rest;

	if (delimiters != NULL && *delimiters != '\0') {
		cut = strcspn(addr, delimiters);
		/* only inside the local part, and never all of it */
		if (cut >= local || cut == 0)
			cut = local;
	}
	rest = at != NULL ? strlen(at) : 0;
	if (cut + rest >= size)
		return -1;
	memcpy(buf, addr, cut);
	if (at != NULL)
		memcpy(buf + cut, at, rest);
	buf[cut + rest] = '\0';
	return 0;
}
