/*
 * imap_parse.h - IMAP lexical helpers shared by imap_client (the server
 * side facing clients) and imap_backend (the client side facing backends):
 * character classes, quoting, literal announcements at the end of a line,
 * capability lists, response codes and the ID field list.
 *
 * Everything here is pure and bounded; no function allocates except
 * imap_id_fields_copy().
 */
#ifndef DIRECTOR_IMAP_PARSE_H
#define DIRECTOR_IMAP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

/* RFC 2971 limits on ID parameters. */
#define IMAP_ID_FIELDS_MAX 30
#define IMAP_ID_NAME_MAX 30
#define IMAP_ID_VALUE_MAX 1024

/* One field of an ID parameter list.  value NULL stands for NIL. */
struct imap_id_field {
	char *name;
	char *value;
};

/* True for what an unquoted astring may contain: ATOM-CHAR, resp-specials
 * (']') and, as Dovecot accepts them, the list wildcards '%' and '*' (a
 * master login "user*master" is commonly sent unquoted). */
bool imap_is_astring_char(unsigned char c);
/* True for characters allowed in a tag: astring chars except '+' and the
 * wildcards, so a tag can never look like an untagged reply. */
bool imap_is_tag_char(unsigned char c);

/* True if the len bytes of s can be written as a quoted string: only
 * printable US-ASCII (0x20-0x7e).  Anything else needs a literal. */
bool imap_is_quotable(const char *s, size_t len);

/* Appends s (len bytes, imap_is_quotable()) as a quoted string, escaping
 * '"' and '\'.  Returns 0 or -1 (buffer limit). */
int imap_append_quoted(struct buf *out, const char *s, size_t len);

/* Result of looking for a literal announcement at the end of a line. */
enum imap_literal_spec {
	IMAP_LITERAL_NONE, /* the line does not end in '}' */
	IMAP_LITERAL_SYNC, /* {n} */
	IMAP_LITERAL_NONSYNC, /* {n+} */
	IMAP_LITERAL_INVALID, /* ends in '}' but is no valid {n} / {n+} */
};

/* Checks whether line (len bytes, without CRLF) ends with a literal
 * announcement.  For SYNC/NONSYNC, *size_r is n (clamped to UINT64_MAX when
 * it does not fit; callers compare it with their limit) and *start_r the
 * offset of the '{'. */
enum imap_literal_spec imap_literal_spec_find(
    const char *line, size_t len, uint64_t *size_r, size_t *start_r);

/* True if the space-separated capability list caps (NUL-terminated; NULL
 * is an empty list) contains name, compared case-insensitively. */
bool imap_caps_has(const char *caps, const char *name);

/* If text begins with "[CAPABILITY ...]", returns the capability list in
 * a newly allocated string (the caller frees it); otherwise NULL. */
char *imap_resp_code_caps(const char *text, size_t len);

/* Copies len bytes of remote text into a new NUL-terminated string with
 * CR, LF, NUL and other control bytes replaced by spaces, so it can be
 * relayed on one protocol line.  At most max bytes are kept. */
char *imap_text_dup_oneline(const char *text, size_t len, size_t max);

/* Deep-copies count fields (the copy is freed with imap_id_fields_free). */
struct imap_id_field *imap_id_fields_copy(
    const struct imap_id_field *fields, size_t count);
/* Frees count fields and the array; clears *fields. */
void imap_id_fields_free(struct imap_id_field **fields, size_t count);

#endif
