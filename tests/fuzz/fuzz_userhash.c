/*
 * fuzz_userhash.c - libFuzzer target for director_username_hash
 * templates and recipient details (src/routing/userhash.h).
 *
 * The input is four NUL-separated parts: a template, a user name, a
 * master-user separator and recipient delimiters; the last byte also
 * picks an output buffer size.  Checked:
 * - a template compiles, or fails with a message;
 * - userhash_compute() and userhash_expand() agree: both fail, or the
 *   hash is userhash_from_expansion() of the expansion, never 0, and the
 *   expansion is at most USERHASH_EXPANSION_MAX bytes;
 * - a short buffer gets the same expansion or a clean failure, never a
 *   byte past its end (heap blocks of exact size);
 * - the master separator only cuts: the name cut by hand hashes the same;
 * - "%Lu" (the default) hashes the lowercased name as "%u" does;
 * - userhash_strip_detail() keeps the domain, cuts the local part only at
 *   a delimiter (never to nothing), fails only when the buffer is too
 *   small, and is idempotent.
 */
#include "compat.h"

#include <stdio.h>

#include "userhash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_PARTS 4
#define FUZZ_EXP_SIZE (USERHASH_EXPANSION_MAX + 1)

/* Hashes name with tmpl both ways; returns compute()'s result. */
static int
fuzz_hash(const struct userhash_template *t, const char *name, const char *sep,
    size_t small, uint32_t *hash_r)
{
	char *exp = malloc(FUZZ_EXP_SIZE), *sbuf;
	const char *err = NULL, *err2 = NULL;
	int rc, rc2;

	rc = userhash_compute(t, name, sep, hash_r, &err);
	rc2 = userhash_expand(t, name, sep, exp, FUZZ_EXP_SIZE, &err2);
	if (rc != rc2)
		abort();
	if (rc == -1) {
		if (err == NULL || err2 == NULL || *err == '\0')
			abort();
		free(exp);
		return -1;
	}
	if (*hash_r == 0 || strlen(exp) > USERHASH_EXPANSION_MAX ||
	    userhash_from_expansion(exp, strlen(exp)) != *hash_r)
		abort();
	sbuf = malloc(small > 0 ? small : 1);
	rc2 = userhash_expand(t, name, sep, sbuf, small, &err2);
	if (rc2 == 0 ? strcmp(sbuf, exp) != 0 : strlen(exp) < small)
		abort();
	free(sbuf);
	free(exp);
	return 0;
}

static void
fuzz_templates(
    const char *tmpl, const char *name, const char *sep, size_t small)
{
	struct userhash_template *t, *u, *lu;
	const char *err = NULL;
	const char *cut;
	char *head, *lower;
	uint32_t h, h2;
	size_t i, ulen;
	int rc;

	t = userhash_template_new(tmpl, &err);
	if (t == NULL) {
		if (err == NULL || *err == '\0')
			abort();
	} else {
		rc = fuzz_hash(t, name, sep, small, &h);
		/* the separator cuts the name, nothing else */
		cut = *sep != '\0' ? strstr(name, sep) : NULL;
		ulen = cut != NULL ? (size_t)(cut - name) : strlen(name);
		head = strndup(name, ulen);
		if (fuzz_hash(t, head, NULL, small, &h2) != rc ||
		    (rc == 0 && h != h2))
			abort();
		free(head);
		userhash_template_free(&t);
		if (t != NULL)
			abort();
	}

	/* the default template is "%u" of the lowercased name */
	u = userhash_template_new("%u", &err);
	lu = userhash_template_new(USERHASH_DEFAULT_TEMPLATE, &err);
	if (u == NULL || lu == NULL)
		abort();
	/* lowercased after the cut: the separator is matched as it is */
	cut = *sep != '\0' ? strstr(name, sep) : NULL;
	lower = strndup(name, cut != NULL ? (size_t)(cut - name) : SIZE_MAX);
	for (i = 0; lower[i] != '\0'; i++)
		if (lower[i] >= 'A' && lower[i] <= 'Z')
			lower[i] = (char)(lower[i] - 'A' + 'a');
	rc = fuzz_hash(lu, name, sep, small, &h);
	if (fuzz_hash(u, lower, NULL, small, &h2) != rc || (rc == 0 && h != h2))
		abort();
	free(lower);
	userhash_template_free(&u);
	userhash_template_free(&lu);
}

static void
fuzz_strip(const char *addr, const char *delims, size_t size)
{
	const char *at = strchr(addr, '@');
	size_t local = at != NULL ? (size_t)(at - addr) : strlen(addr);
	size_t rest = at != NULL ? strlen(at) : 0, blen, i;
	char *buf = malloc(size > 0 ? size : 1), *again;

	if (userhash_strip_detail(addr, delims, buf, size) == -1) {
		/* only for want of room: the stripped form is never longer
		 * than the address and at least its domain and 1 byte */
		if (size > strlen(addr))
			abort();
		free(buf);
		return;
	}
	blen = strnlen(buf, size);
	if (blen >= size || blen < rest || blen > local + rest)
		abort();
	/* the domain part is kept as it is */
	if (memcmp(buf + blen - rest, addr + local, rest) != 0)
		abort();
	/* the local part is a prefix, cut only at a delimiter */
	if (memcmp(buf, addr, blen - rest) != 0)
		abort();
	if (blen - rest < local) {
		if (blen - rest == 0 || delims == NULL ||
		    strchr(delims, addr[blen - rest]) == NULL)
			abort();
		for (i = 0; i < blen - rest; i++)
			if (strchr(delims, addr[i]) != NULL)
				abort();
	}
	again = malloc(blen + 1);
	if (userhash_strip_detail(buf, delims, again, blen + 1) == -1 ||
	    strcmp(again, buf) != 0)
		abort();
	free(again);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy, *parts[FUZZ_PARTS];
	size_t i, small;
	char *p;

	if (size < 1)
		return 0;
	small = data[size - 1];
	copy = malloc(size + 1);
	memcpy(copy, data, size);
	copy[size] = '\0';
	/* missing parts are empty: they point at the final NUL */
	p = copy;
	for (i = 0; i < FUZZ_PARTS; i++) {
		parts[i] = p;
		p += strlen(p);
		if (p < copy + size)
			p++;
	}
	fuzz_templates(parts[0], parts[1], parts[2], small);
	fuzz_strip(parts[1], parts[3], small);
	fuzz_strip(parts[1], parts[3], strlen(parts[1]) + 1);
	free(copy);
	return 0;
}
