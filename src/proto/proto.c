/*
 * proto.c - helpers shared by the pre-auth protocol modules.
 */
#include "compat.h"

#include "proto.h"

const char *
proto_creds_user(const struct proto_creds *creds)
{
	if (creds->authzid != NULL && creds->authzid[0] != '\0')
		return creds->authzid;
	return creds->authcid;
}
