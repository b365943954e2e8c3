/*
 * proto.c - helpers shared by the pre-auth protocol modules.
 */
#include "compat.h"

#include <strings.h>

#include "proto.h"

const char *
proto_creds_user(const struct proto_creds *creds)
{
	if (creds->authzid != NULL && creds->authzid[0] != '\0')
		return creds->authzid;
	return creds->authcid;
}

bool
proto_word_is(const char *word, size_t len, const char *name)
{
	return len == strlen(name) && strncasecmp(word, name, len) == 0;
}

const char *
proto_next_word(const char **pp, const char *end, size_t *len_r)
{
	const char *p = *pp, *q;

	while (p < end && *p == ' ')
		p++;
	if (p == end) {
		*pp = p;
		return NULL;
	}
	q = memchr(p, ' ', (size_t)(end - p));
	if (q == NULL)
		q = end;
	*len_r = (size_t)(q - p);
	*pp = q;
	return p;
}

bool
proto_auth_is_oauth(enum proto_auth_kind kind)
{
	return kind == PROTO_AUTH_SASL_OAUTHBEARER ||
	    kind == PROTO_AUTH_SASL_XOAUTH2;
}
