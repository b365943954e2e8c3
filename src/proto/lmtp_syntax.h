/*
 * lmtp_syntax.h - LMTP/SMTP command and reply syntax shared by the LMTP
 * server's command parser and its state machine (RFC 5321, RFC 2033).
 * lmtp_reply_normalise() is declared in lmtp_server.h.  Not a public
 * interface: include from src/proto only.
 */
#ifndef DIRECTOR_LMTP_SYNTAX_H
#define DIRECTOR_LMTP_SYNTAX_H

#include <stdbool.h>
#include <stddef.h>

/* An ASCII digit. */
bool lmtp_is_digit(char c);

/* Checks the esmtp-params syntax (RFC 5321 4.1.2) of p[0..len). */
bool lmtp_params_valid(const char *p, size_t len);

/* Splits off "KEYWORD:" (case-insensitive) and the path "<...>" with
 * optional spaces in between: sets *addr_r (a new string without the
 * brackets and any source route; NULL on error) and returns the bytes up
 * to the parameters, or 0 on a syntax error. */
size_t lmtp_parse_arg(
    const char *args, size_t len, const char *keyword, char **addr_r);

#endif
