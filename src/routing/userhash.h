/*
 * userhash.h - Dovecot 2.3's director_username_hash.
 *
 * A template (default "%Lu") is compiled once at configuration time and
 * then expanded per login: %u (user), %n (part before the first '@'),
 * %d (part after the first '@', empty if none), with the modifiers L
 * (ASCII lowercase) and U (ASCII uppercase), the long forms %{user},
 * %{username}, %{domain} (e.g. %L{user}) and %% for a literal '%'.
 * The hash is MD5 of the expansion, first 4 bytes big-endian, 0 -> 1.
 */
#ifndef DIRECTOR_USERHASH_H
#define DIRECTOR_USERHASH_H

#include <stddef.h>
#include <stdint.h>

/* Longest expansion hashed; longer usernames are refused. */
#define USERHASH_EXPANSION_MAX 1024
#define USERHASH_TEMPLATE_MAX 256
#define USERHASH_DEFAULT_TEMPLATE "%Lu"

struct userhash_template;

/*
 * Compiles tmpl.  Returns the template (free with userhash_template_free)
 * or NULL with *err_r set to a static message on a syntax error or an
 * unknown variable.
 */
struct userhash_template *userhash_template_new(
    const char *tmpl, const char **err_r);
void userhash_template_free(struct userhash_template **tmpl);

/*
 * Hashes username.  If master_sep is non-NULL and non-empty, username is
 * first cut at the first occurrence of master_sep ("user*master" ->
 * "user").  Returns 0 with *hash_r (never 0), or -1 with *err_r if the
 * expansion would exceed USERHASH_EXPANSION_MAX bytes.  No allocation.
 */
int userhash_compute(const struct userhash_template *tmpl, const char *username,
    const char *master_sep, uint32_t *hash_r, const char **err_r);

/*
 * The expansion that userhash_compute() hashes, NUL-terminated in
 * buf[size] (for operators: which key a name maps to).  Returns 0, or -1
 * with *err_r.
 */
int userhash_expand(const struct userhash_template *tmpl, const char *username,
    const char *master_sep, char *buf, size_t size, const char **err_r);

/*
 * Dovecot's recipient_delimiter: copies addr to buf[size] without the
 * detail of its local part, which starts at the first of the delimiter
 * characters ("alice+lists@example.com" -> "alice@example.com").  A
 * delimiter that would leave an empty local part is not one; NULL or ""
 * delimiters copy addr as it is.  Returns 0, or -1 if buf is too small.
 */
int userhash_strip_detail(
    const char *addr, const char *delimiters, char *buf, size_t size);

/* Hash of already-expanded bytes: MD5, first 4 bytes big-endian, 0 -> 1. */
uint32_t userhash_from_expansion(const void *data, size_t len);
/* The 0 -> 1 rule alone (exposed for tests). */
uint32_t userhash_fix_zero(uint32_t hash);

#endif
