/*
 * xclient.h - builds the XCLIENT command line that tells a POP3 or LMTP
 * backend who the real client is (Postfix's XCLIENT, as Dovecot reads
 * it).  Pure: it appends to a struct buf.
 *
 * Escaping policy, one for both protocols: a value is sent only if it is
 * its own RFC 3461 xtext encoding, i.e. 1 to XCLIENT_VALUE_MAX bytes of
 * printable ASCII from '!' to '~' other than '+' and '='.  Any other
 * value (empty, too long, with SP, CR, LF or other controls, '+', '=',
 * or non-ASCII bytes) is omitted, never escaped.  Why: Postfix specifies
 * attribute values as xtext, and Dovecot 2.3's LMTP server (lib-smtp)
 * xtext-decodes them, but Dovecot 2.3's pop3-login splits the line at
 * spaces and takes every value literally (no decoding).  A "+2B" escape
 * would reach one backend as "+" and the other as "+2B"; only values
 * needing no escape mean the same to both.  The addresses, ports, TTL
 * and session IDs we send always qualify; a value that does not is
 * hostile or broken, and leaving it out is safer than passing it on.
 */
#ifndef DIRECTOR_XCLIENT_H
#define DIRECTOR_XCLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct buf;

/* Longest attribute value sent (Dovecot keeps session IDs up to 64
 * bytes; host names fit in 255). */
#define XCLIENT_VALUE_MAX 255

/* One XCLIENT line being built on out (which the caller owns). */
struct xclient {
	struct buf *out;
	size_t start; /* out->len before the line */
	unsigned int count; /* attributes added */
	bool full; /* out ran out of room: the line is dropped */
};

/* True if value may be sent under the policy above. */
bool xclient_value_ok(const char *value);

/* Starts the line ("XCLIENT") at the end of out. */
void xclient_begin(struct xclient *x, struct buf *out);
/* Appends " name=value" if value is ok (and out has room); returns
 * whether it did.  name is ours: upper-case letters. */
bool xclient_add(struct xclient *x, const char *name, const char *value);
/* The same for a decimal number. */
bool xclient_add_uint(struct xclient *x, const char *name, unsigned int v);
/* The same for an IP address; smtp_form prefixes an IPv6 address with
 * "IPV6:" as Postfix's syntax has it (Dovecot's LMTP accepts both forms,
 * its pop3-login only the bare one). */
bool xclient_add_addr(
    struct xclient *x, const char *name, const char *ip, bool smtp_form);
/* Ends the line with CRLF and returns true, or, when no attribute was
 * added or out ran out of room, removes the line from out again and
 * returns false. */
bool xclient_end(struct xclient *x);

#endif
