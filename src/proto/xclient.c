/*
 * xclient.c - the XCLIENT command builder (see xclient.h for the
 * escaping policy).
 *
 * Invariants: nothing but the policy's characters, single spaces and the
 * final CRLF ever reaches the line; an attribute is appended whole or not
 * at all; a line without attributes leaves out as it was.
 */
#include "compat.h"

#include <stdio.h>

#include "buf.h"
#include "xclient.h"

bool
xclient_value_ok(const char *value)
{
	size_t i;

	for (i = 0; value[i] != '\0'; i++) {
		unsigned char c = (unsigned char)value[i];

		if (i >= XCLIENT_VALUE_MAX || c < '!' || c > '~' || c == '+' ||
		    c == '=')
			return false;
	}
	return i > 0;
}

void
xclient_begin(struct xclient *x, struct buf *out)
{
	x->out = out;
	x->start = out->len;
	x->count = 0;
	x->full = buf_append_str(out, "XCLIENT") == -1;
}

bool
xclient_add(struct xclient *x, const char *name, const char *value)
{
	if (x->full || !xclient_value_ok(value))
		return false;
	if (buf_printf(x->out, " %s=%s", name, value) == -1) {
		x->full = true;
		return false;
	}
	x->count++;
	return true;
}

bool
xclient_add_uint(struct xclient *x, const char *name, unsigned int v)
{
	char num[16];

	(void)snprintf(num, sizeof(num), "%u", v);
	return xclient_add(x, name, num);
}

bool
xclient_add_addr(
    struct xclient *x, const char *name, const char *ip, bool smtp_form)
{
	char addr[XCLIENT_VALUE_MAX + 1];

	if (!xclient_value_ok(ip))
		return false;
	if (smtp_form && strchr(ip, ':') != NULL) {
		if ((size_t)snprintf(addr, sizeof(addr), "IPV6:%s", ip) >=
		    sizeof(addr))
			return false;
		return xclient_add(x, name, addr);
	}
	return xclient_add(x, name, ip);
}

bool
xclient_end(struct xclient *x)
{
	if (x->full || x->count == 0 || buf_append_str(x->out, "\r\n") == -1) {
		x->out->len = x->start;
		return false;
	}
	return true;
}
