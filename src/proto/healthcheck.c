/*
 * healthcheck.c - the dialogue of one health check (see healthcheck.h).
 *
 * One line at a time through a linebuf; the state says which answer is
 * awaited.  Once the verdict is in, the state is DONE and the verdict
 * sticks, whatever else arrives.
 */
#include "compat.h"

#include <ctype.h>
#include <stdio.h>
#include <strings.h>

#include "healthcheck.h"
#include "linebuf.h"
#include "log.h"
#include "xmalloc.h"

/* The output holds a login line at most (credentials are bounded by the
 * file that holds them). */
#define HEALTHCHECK_OUTPUT_MAX 4096
#define HEALTHCHECK_IMAP_TAG "hc1"

enum healthcheck_state {
	HC_GREETING,
	HC_IMAP_LOGIN, /* LOGIN sent, awaiting its tagged reply */
	HC_POP3_USER, /* USER sent */
	HC_POP3_PASS, /* PASS sent */
	HC_DONE,
};

struct healthcheck {
	enum healthcheck_proto proto;
	enum healthcheck_state state;
	enum healthcheck_status verdict;
	char *user, *password; /* NULL: greeting only */
	struct linebuf lb;
	struct buf out;
	char text[HEALTHCHECK_TEXT_MAX];
};

const char *
healthcheck_proto_name(enum healthcheck_proto proto)
{
	switch (proto) {
	case HEALTHCHECK_IMAP:
		return "imap";
	case HEALTHCHECK_POP3:
		return "pop3";
	case HEALTHCHECK_SIEVE:
		return "sieve";
	case HEALTHCHECK_LMTP:
		break;
	}
	return "lmtp";
}

struct healthcheck *
healthcheck_new(
    enum healthcheck_proto proto, const char *user, const char *password)
{
	struct healthcheck *hc = xcalloc(1, sizeof(*hc));

	hc->proto = proto;
	hc->state = HC_GREETING;
	hc->verdict = HEALTHCHECK_MORE;
	if (user != NULL && password != NULL && proto != HEALTHCHECK_LMTP &&
	    proto != HEALTHCHECK_SIEVE) {
		hc->user = xstrdup(user);
		hc->password = xstrdup(password);
	}
	linebuf_init(&hc->lb, HEALTHCHECK_LINE_MAX);
	buf_init(&hc->out, HEALTHCHECK_OUTPUT_MAX);
	return hc;
}

static void
healthcheck_wipe(char **s)
{
	if (*s != NULL)
		freezero(*s, strlen(*s) + 1);
	*s = NULL;
}

void
healthcheck_free(struct healthcheck **hcp)
{
	struct healthcheck *hc = *hcp;

	if (hc == NULL)
		return;
	*hcp = NULL;
	healthcheck_wipe(&hc->user);
	healthcheck_wipe(&hc->password);
	linebuf_deinit(&hc->lb);
	buf_deinit(&hc->out);
	free(hc);
}

struct buf *
healthcheck_output(struct healthcheck *hc)
{
	return &hc->out;
}

const char *
healthcheck_text(const struct healthcheck *hc)
{
	return hc->text;
}

/* The verdict, with what the line said (sanitised, cut) after prefix. */
static void
healthcheck_done(struct healthcheck *hc, enum healthcheck_status verdict,
    const char *prefix, const char *line, size_t len)
{
	char seen[HEALTHCHECK_TEXT_MAX];

	seen[0] = '\0';
	if (line != NULL)
		log_sanitize(seen, sizeof(seen) / 2, line, len);
	strlcpy(hc->text, healthcheck_proto_name(hc->proto), sizeof(hc->text));
	strlcat(hc->text, ": ", sizeof(hc->text));
	strlcat(hc->text, prefix, sizeof(hc->text));
	if (seen[0] != '\0') {
		strlcat(hc->text, ": ", sizeof(hc->text));
		strlcat(hc->text, seen, sizeof(hc->text));
	}
	hc->verdict = verdict;
	hc->state = HC_DONE;
	/* the goodbye; a full buffer only costs the politeness */
	buf_clear(&hc->out);
	(void)buf_append_str(&hc->out,
	    hc->proto == HEALTHCHECK_IMAP ? HEALTHCHECK_IMAP_TAG " LOGOUT\r\n"
		: hc->proto == HEALTHCHECK_SIEVE ? "LOGOUT\r\n"
						 : "QUIT\r\n");
}

static bool
healthcheck_starts(const char *line, size_t len, const char *word)
{
	size_t wlen = strlen(word);

	return len >= wlen && strncasecmp(line, word, wlen) == 0 &&
	    (len == wlen || line[wlen] == ' ');
}

/* Whether word occurs in line[0..len) (ASCII case-insensitive). */
static bool
healthcheck_contains(const char *line, size_t len, const char *word)
{
	size_t wlen = strlen(word), i;

	for (i = 0; i + wlen <= len; i++) {
		if (strncasecmp(line + i, word, wlen) == 0)
			return true;
	}
	return false;
}

/* Appends s as an IMAP quoted string.  Returns -1 if it cannot be one. */
static int
healthcheck_imap_quote(struct buf *b, const char *s)
{
	if (buf_append_str(b, "\"") == -1)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s == '\r' || *s == '\n')
			return -1;
		if ((*s == '"' || *s == '\\') && buf_append_str(b, "\\") == -1)
			return -1;
		if (buf_append(b, s, 1) == -1)
			return -1;
	}
	return buf_append_str(b, "\"");
}

static void
healthcheck_imap_login(struct healthcheck *hc)
{
	if (buf_append_str(&hc->out, HEALTHCHECK_IMAP_TAG " LOGIN ") == -1 ||
	    healthcheck_imap_quote(&hc->out, hc->user) == -1 ||
	    buf_append_str(&hc->out, " ") == -1 ||
	    healthcheck_imap_quote(&hc->out, hc->password) == -1 ||
	    buf_append_str(&hc->out, "\r\n") == -1) {
		buf_clear(&hc->out);
		healthcheck_done(hc, HEALTHCHECK_UP_WARN,
		    "greeting ok, test account not usable in IMAP", NULL, 0);
		return;
	}
	hc->state = HC_IMAP_LOGIN;
}

static void
healthcheck_imap_greeting(struct healthcheck *hc, const char *l, size_t len)
{
	if (healthcheck_starts(l, len, "* PREAUTH")) {
		healthcheck_done(hc, HEALTHCHECK_UP_WARN,
		    "preauthenticated greeting", l, len);
	} else if (!healthcheck_starts(l, len, "* OK"))
		healthcheck_done(hc, HEALTHCHECK_DOWN, "bad greeting", l, len);
	else if (healthcheck_contains(l, len, "LOGINDISABLED"))
		healthcheck_done(
		    hc, HEALTHCHECK_UP_WARN, "logins disabled", l, len);
	else if (hc->user != NULL)
		healthcheck_imap_login(hc);
	else
		healthcheck_done(hc, HEALTHCHECK_UP, "greeting ok", NULL, 0);
}

static void
healthcheck_imap_reply(struct healthcheck *hc, const char *l, size_t len)
{
	if (healthcheck_starts(l, len, "*"))
		return; /* untagged (CAPABILITY and the like) */
	if (healthcheck_starts(l, len, HEALTHCHECK_IMAP_TAG " OK"))
		healthcheck_done(hc, HEALTHCHECK_UP, "login ok", NULL, 0);
	else
		healthcheck_done(
		    hc, HEALTHCHECK_DOWN, "test login failed", l, len);
}

static bool
healthcheck_pop3_send(struct healthcheck *hc, const char *cmd, const char *arg)
{
	if (strpbrk(arg, "\r\n") != NULL ||
	    buf_printf(&hc->out, "%s %s\r\n", cmd, arg) == -1) {
		buf_clear(&hc->out);
		healthcheck_done(hc, HEALTHCHECK_UP_WARN,
		    "greeting ok, test account not usable in POP3", NULL, 0);
		return false;
	}
	return true;
}

static void
healthcheck_pop3_line(struct healthcheck *hc, const char *l, size_t len)
{
	bool ok = healthcheck_starts(l, len, "+OK");

	switch (hc->state) {
	case HC_GREETING:
		if (!ok)
			healthcheck_done(
			    hc, HEALTHCHECK_DOWN, "bad greeting", l, len);
		else if (hc->user == NULL)
			healthcheck_done(
			    hc, HEALTHCHECK_UP, "greeting ok", NULL, 0);
		else if (healthcheck_pop3_send(hc, "USER", hc->user))
			hc->state = HC_POP3_USER;
		break;
	case HC_POP3_USER:
		if (!ok)
			healthcheck_done(
			    hc, HEALTHCHECK_DOWN, "test login failed", l, len);
		else if (healthcheck_pop3_send(hc, "PASS", hc->password))
			hc->state = HC_POP3_PASS;
		break;
	case HC_POP3_PASS:
		if (ok)
			healthcheck_done(
			    hc, HEALTHCHECK_UP, "login ok", NULL, 0);
		else
			healthcheck_done(
			    hc, HEALTHCHECK_DOWN, "test login failed", l, len);
		break;
	default:
		break;
	}
}

static void
healthcheck_lmtp_line(struct healthcheck *hc, const char *l, size_t len)
{
	/* 220-continued lines come before the last one, "220 text" */
	if (len >= 4 && strncmp(l, "220-", 4) == 0)
		return;
	if (len >= 3 && strncmp(l, "220", 3) == 0 && (len == 3 || l[3] == ' '))
		healthcheck_done(hc, HEALTHCHECK_UP, "greeting ok", NULL, 0);
	else
		healthcheck_done(hc, HEALTHCHECK_DOWN, "bad greeting", l, len);
}

static void
healthcheck_sieve_line(struct healthcheck *hc, const char *l, size_t len)
{
	/* capability lines ("NAME" "value") come first, then OK */
	if (len > 0 && (l[0] == '"' || l[0] == '{'))
		return;
	if (len >= 2 && strncasecmp(l, "OK", 2) == 0 &&
	    (len == 2 || l[2] == ' '))
		healthcheck_done(hc, HEALTHCHECK_UP, "greeting ok", NULL, 0);
	else
		healthcheck_done(hc, HEALTHCHECK_DOWN, "bad greeting", l, len);
}

static void
healthcheck_line(struct healthcheck *hc, const char *l, size_t len)
{
	switch (hc->proto) {
	case HEALTHCHECK_IMAP:
		if (hc->state == HC_GREETING)
			healthcheck_imap_greeting(hc, l, len);
		else
			healthcheck_imap_reply(hc, l, len);
		break;
	case HEALTHCHECK_POP3:
		healthcheck_pop3_line(hc, l, len);
		break;
	case HEALTHCHECK_LMTP:
		healthcheck_lmtp_line(hc, l, len);
		break;
	case HEALTHCHECK_SIEVE:
		healthcheck_sieve_line(hc, l, len);
		break;
	}
}

enum healthcheck_status
healthcheck_input(
    struct healthcheck *hc, const void *data, size_t len, size_t *used_r)
{
	const char *p = data, *line;
	size_t used, line_len;

	*used_r = 0;
	while (hc->state != HC_DONE && *used_r < len) {
		switch (linebuf_feed(&hc->lb, p + *used_r, len - *used_r, &used,
		    &line, &line_len)) {
		case LINEBUF_MORE:
			*used_r += used;
			return HEALTHCHECK_MORE;
		case LINEBUF_TOO_LONG:
			*used_r += used;
			healthcheck_done(
			    hc, HEALTHCHECK_DOWN, "line too long", NULL, 0);
			break;
		case LINEBUF_LINE:
			*used_r += used;
			healthcheck_line(hc, line, line_len);
			/* the login reply may echo nothing secret, but the
			 * line buffer is wiped anyway */
			linebuf_drop(&hc->lb);
			break;
		}
	}
	return hc->state == HC_DONE ? hc->verdict : HEALTHCHECK_MORE;
}
