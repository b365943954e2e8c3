/*
 * sasl_oauth.c - the user of an OAUTHBEARER or XOAUTH2 message (see
 * sasl_oauth.h).
 *
 * Invariants: never reads past len; the user written is NUL-terminated,
 * NUL-, CR- and LF-free and fits user_size; nothing but the user leaves
 * (the token is never copied).
 */
#include "compat.h"

#include <stdbool.h>
#include <string.h>

#include "sasl.h"
#include "sasl_oauth.h"

#define SASL_OAUTH_KVSEP 0x01

struct sasl_oauth_cursor {
	const unsigned char *p, *end;
};

static bool
sasl_oauth_at(const struct sasl_oauth_cursor *c, const char *s)
{
	size_t n = strlen(s);

	return (size_t)(c->end - c->p) >= n && memcmp(c->p, s, n) == 0;
}

static bool
sasl_oauth_alpha(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* One key "=" value kvsep (RFC 7628: key 1*ALPHA, value of VCHAR, SP,
 * HTAB, CR, LF); key and value are returned as pointers into the
 * message.  Returns false if malformed. */
static bool
sasl_oauth_kvpair(struct sasl_oauth_cursor *c, const unsigned char **key_r,
    size_t *key_len_r, const unsigned char **value_r, size_t *value_len_r)
{
	const unsigned char *k = c->p, *v;

	while (c->p < c->end && sasl_oauth_alpha(*c->p))
		c->p++;
	if (c->p == k || c->p == c->end || *c->p != '=')
		return false;
	*key_r = k;
	*key_len_r = (size_t)(c->p - k);
	v = ++c->p;
	while (c->p < c->end && *c->p != SASL_OAUTH_KVSEP) {
		unsigned char ch = *c->p;

		if (!((ch >= 0x20 && ch <= 0x7e) || ch == '\t' || ch == '\r' ||
			ch == '\n'))
			return false;
		c->p++;
	}
	if (c->p == c->end)
		return false;
	*value_r = v;
	*value_len_r = (size_t)(c->p - v);
	c->p++; /* the kvsep */
	return true;
}

static bool
sasl_oauth_key_is(const unsigned char *key, size_t len, const char *name)
{
	return len == strlen(name) && memcmp(key, name, len) == 0;
}

/* The pairs up to the final kvsep, which must end the message; whether
 * an "auth" pair was among them (and, for XOAUTH2, the user). */
static bool
sasl_oauth_pairs(struct sasl_oauth_cursor *c, const unsigned char **user_r,
    size_t *user_len_r)
{
	const unsigned char *key, *value;
	size_t key_len, value_len;
	bool auth = false;

	while (c->p < c->end && *c->p != SASL_OAUTH_KVSEP) {
		if (!sasl_oauth_kvpair(c, &key, &key_len, &value, &value_len))
			return false;
		if (sasl_oauth_key_is(key, key_len, "auth"))
			auth = value_len > 0;
		else if (user_r != NULL &&
		    sasl_oauth_key_is(key, key_len, "user")) {
			*user_r = value;
			*user_len_r = value_len;
		}
	}
	/* the final kvsep, and nothing after it */
	return auth && c->p < c->end && c->p + 1 == c->end;
}

/* Copies the user (already unescaped, or raw) checking it: not empty,
 * no NUL, CR or LF, fits. */
static int
sasl_oauth_put_user(const unsigned char *u, size_t len, char *user,
    size_t user_size, const char **error_r)
{
	size_t i;

	if (len == 0 || len > SASL_IDENTITY_MAX || len >= user_size) {
		*error_r = "Invalid user name";
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (u[i] == '\0' || u[i] == '\r' || u[i] == '\n') {
			*error_r = "Invalid user name";
			return -1;
		}
	}
	memcpy(user, u, len);
	user[len] = '\0';
	return 0;
}

/* "a=" saslname "," with "=2C" and "=3D" unescaped into user. */
static int
sasl_oauth_authzid(struct sasl_oauth_cursor *c, char *user, size_t user_size,
    const char **error_r)
{
	unsigned char buf[SASL_IDENTITY_MAX];
	size_t n = 0;

	c->p += 2; /* "a=" */
	while (c->p < c->end && *c->p != ',') {
		unsigned char ch = *c->p;

		if (n == sizeof(buf))
			break;
		if (ch == '=') {
			if (sasl_oauth_at(c, "=2C"))
				ch = ',';
			else if (sasl_oauth_at(c, "=3D"))
				ch = '=';
			else
				break;
			c->p += 2;
		}
		buf[n++] = ch;
		c->p++;
	}
	if (c->p == c->end || *c->p != ',') {
		*error_r = "Invalid GS2 header";
		return -1;
	}
	c->p++;
	return sasl_oauth_put_user(buf, n, user, user_size, error_r);
}

static int
sasl_oauth_bearer(struct sasl_oauth_cursor *c, char *user, size_t user_size,
    const char **error_r)
{
	bool have_user = false;

	if (c->end - c->p == 1 && *c->p == SASL_OAUTH_KVSEP) {
		*error_r = "Unexpected dummy response";
		return -1;
	}
	/* gs2-cbind-flag: "n", "y" or "p=" cb-name */
	if (sasl_oauth_at(c, "n,") || sasl_oauth_at(c, "y,"))
		c->p += 2;
	else if (sasl_oauth_at(c, "p=")) {
		const unsigned char *name = c->p + 2;

		c->p = name;
		while (c->p < c->end &&
		    (sasl_oauth_alpha(*c->p) ||
			(*c->p >= '0' && *c->p <= '9') || *c->p == '.' ||
			*c->p == '-'))
			c->p++;
		if (c->p == name || c->p == c->end || *c->p != ',') {
			*error_r = "Invalid GS2 header";
			return -1;
		}
		c->p++;
	} else {
		*error_r = "Invalid GS2 header";
		return -1;
	}
	if (sasl_oauth_at(c, "a=")) {
		if (sasl_oauth_authzid(c, user, user_size, error_r) == -1)
			return -1;
		have_user = true;
	} else if (sasl_oauth_at(c, ","))
		c->p++;
	else {
		*error_r = "Invalid GS2 header";
		return -1;
	}
	if (c->p == c->end || *c->p != SASL_OAUTH_KVSEP) {
		*error_r = "Invalid OAUTHBEARER message";
		return -1;
	}
	c->p++;
	if (!sasl_oauth_pairs(c, NULL, NULL)) {
		*error_r = "Invalid OAUTHBEARER message";
		return -1;
	}
	if (!have_user) {
		*error_r = "No user name (a=) to route by";
		return -1;
	}
	return 0;
}

static int
sasl_oauth_xoauth2(struct sasl_oauth_cursor *c, char *user, size_t user_size,
    const char **error_r)
{
	const unsigned char *u = NULL;
	size_t ulen = 0;

	if (!sasl_oauth_pairs(c, &u, &ulen) || u == NULL) {
		*error_r = "Invalid XOAUTH2 message";
		return -1;
	}
	return sasl_oauth_put_user(u, ulen, user, user_size, error_r);
}

int
sasl_oauth_user(enum sasl_oauth_mech mech, const unsigned char *msg, size_t len,
    char *user, size_t user_size, const char **error_r)
{
	struct sasl_oauth_cursor c = {msg, msg + len};
	int ret;

	*error_r = NULL;
	if (user_size > 0)
		user[0] = '\0';
	if (len > SASL_OAUTH_MESSAGE_MAX) {
		*error_r = "Message too long";
		return -1;
	}
	if (mech == SASL_OAUTH_BEARER)
		ret = sasl_oauth_bearer(&c, user, user_size, error_r);
	else
		ret = sasl_oauth_xoauth2(&c, user, user_size, error_r);
	if (ret == -1 && user_size > 0)
		user[0] = '\0';
	return ret;
}
