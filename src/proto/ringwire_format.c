/*
 * ringwire_format.c - the writing half of the ring codec: a struct
 * ringwire_msg into one line for a peer of a given minor version, as a
 * 2.3 director writes it (director.c, director-connection.c), and the
 * table of command names and the minor versions that brought them.
 *
 * Invariants: a line is appended whole or not at all; text fields are
 * tab-escaped, so a line never holds a raw TAB, LF or CR in a field.
 */
#include "compat.h"

#include <inttypes.h>

#include "adminwire.h"
#include "buf.h"
#include "ringwire.h"

struct ringwire_cmd_def {
	const char *name;
	unsigned int min_minor;
};

/* In enum ringwire_cmd order. */
static const struct ringwire_cmd_def ringwire_cmds[RINGWIRE_CMD_COUNT] = {
    [RINGWIRE_VERSION] = {"VERSION", 0},
    [RINGWIRE_ME] = {"ME", 0},
    [RINGWIRE_DONE] = {"DONE", 0},
    [RINGWIRE_OPTIONS] = {"OPTIONS", RINGWIRE_MINOR_OPTIONS},
    [RINGWIRE_HOST_HAND_START] = {"HOST-HAND-START", 0},
    [RINGWIRE_HOST_HAND_END] = {"HOST-HAND-END", 0},
    [RINGWIRE_HOST_HAND] = {"HOST", 0},
    [RINGWIRE_U] = {"U", 0},
    [RINGWIRE_DIRECTOR] = {"DIRECTOR", 0},
    [RINGWIRE_DIRECTOR_REMOVE] = {"DIRECTOR-REMOVE",
	RINGWIRE_MINOR_RING_REMOVE},
    [RINGWIRE_HOST] = {"HOST", 0},
    [RINGWIRE_HOST_REMOVE] = {"HOST-REMOVE", 0},
    [RINGWIRE_HOST_FLUSH] = {"HOST-FLUSH", 0},
    [RINGWIRE_USER] = {"USER", 0},
    [RINGWIRE_USER_WEAK] = {"USER-WEAK", RINGWIRE_MINOR_WEAK_USERS},
    [RINGWIRE_USER_MOVE] = {"USER-MOVE", 0},
    [RINGWIRE_USER_KILLED] = {"USER-KILLED", 0},
    [RINGWIRE_USER_KILLED_EVERYWHERE] = {"USER-KILLED-EVERYWHERE", 0},
    [RINGWIRE_USER_KICK] = {"USER-KICK", RINGWIRE_MINOR_USER_KICK},
    [RINGWIRE_USER_KICK_ALT] = {"USER-KICK-ALT", RINGWIRE_MINOR_USER_KICK_ALT},
    [RINGWIRE_USER_KICK_HASH] = {"USER-KICK-HASH", RINGWIRE_MINOR_USER_KICK},
    [RINGWIRE_SYNC] = {"SYNC", 0},
    [RINGWIRE_CONNECT] = {"CONNECT", 0},
    [RINGWIRE_PING] = {"PING", 0},
    [RINGWIRE_PONG] = {"PONG", 0},
    [RINGWIRE_QUIT] = {"QUIT", RINGWIRE_MINOR_QUIT},
    [RINGWIRE_X_USER_KILLED] = {"X-USER-KILLED", 0},
    [RINGWIRE_X_USER_KILLED_EVERYWHERE] = {"X-USER-KILLED-EVERYWHERE", 0},
    [RINGWIRE_X_HOST_KILLED] = {"X-HOST-KILLED", 0},
    [RINGWIRE_X_HOST_KILLED_EVERYWHERE] = {"X-HOST-KILLED-EVERYWHERE", 0},
    [RINGWIRE_X_HOST_HEALTH] = {"X-HOST-HEALTH", 0},
};

const char *
ringwire_cmd_name(enum ringwire_cmd cmd)
{
	assert(cmd < RINGWIRE_CMD_COUNT);
	return ringwire_cmds[cmd].name;
}

bool
ringwire_cmd_is_ours(enum ringwire_cmd cmd)
{
	return cmd >= RINGWIRE_X_USER_KILLED && cmd < RINGWIRE_CMD_COUNT;
}

unsigned int
ringwire_cmd_min_minor(enum ringwire_cmd cmd)
{
	assert(cmd < RINGWIRE_CMD_COUNT);
	return ringwire_cmds[cmd].min_minor;
}

/* Appends "\t<ip>". */
static int
ringwire_put_ip(struct buf *out, const struct ipaddr *ip)
{
	char text[IPADDR_STR_MAX];

	return buf_printf(out, "\t%s", ipaddr_format(ip, text));
}

/* Appends "\t" and s, tab-escaped. */
static int
ringwire_put_text(struct buf *out, const char *s)
{
	if (buf_append(out, "\t", 1) == -1)
		return -1;
	return adminwire_escape(out, s);
}

/* Appends "\t<ip>\t<port>", and "\t<seq>" for an origin. */
static int
ringwire_put_director(
    struct buf *out, const struct ringwire_director *dir, bool seq)
{
	if (ringwire_put_ip(out, &dir->ip) == -1 ||
	    buf_printf(out, "\t%u", (unsigned int)dir->port) == -1)
		return -1;
	return seq ? buf_printf(out, "\t%" PRIu32, dir->seq) : 0;
}

/* Appends "\t<hash>\t<ip>". */
static int
ringwire_put_hash_ip(struct buf *out, const struct ringwire_user *user)
{
	if (buf_printf(out, "\t%" PRIu32, user->hash) == -1)
		return -1;
	return ringwire_put_ip(out, &user->ip);
}

/* Appends a backend: <ip> <vhosts> [<tag>] [<U|D><ts> <name>]; the tag
 * field from minor 6 (even when empty), up/down and name from 6. */
static enum ringwire_fmt
ringwire_put_host(
    struct buf *out, const struct ringwire_host *host, unsigned int minor)
{
	/* 2.3 refuses a peer below 7 while it has tagged backends, and
	 * drops a tagged backend from a ring below 7 */
	if (host->tag[0] != '\0' && minor < RINGWIRE_MINOR_TAGS_V2)
		return RINGWIRE_FMT_UNSUPPORTED;
	if (ringwire_put_ip(out, &host->ip) == -1 ||
	    buf_printf(out, "\t%" PRIu32, host->vhost_count) == -1)
		return RINGWIRE_FMT_FULL;
	if (minor < RINGWIRE_MINOR_UPDOWN)
		return RINGWIRE_FMT_OK;
	if (ringwire_put_text(out, host->tag) == -1 ||
	    buf_printf(out, "\t%c%" PRId64, host->down ? 'D' : 'U',
		host->updown_ts) == -1 ||
	    ringwire_put_text(out, host->name) == -1)
		return RINGWIRE_FMT_FULL;
	return RINGWIRE_FMT_OK;
}

/* Appends a user line's arguments. */
static int
ringwire_put_user(
    struct buf *out, const struct ringwire_msg *msg, unsigned int minor)
{
	const struct ringwire_user *user = &msg->user;

	if (ringwire_put_hash_ip(out, user) == -1)
		return -1;
	if (msg->cmd == RINGWIRE_USER &&
	    (!user->has_ts || minor < RINGWIRE_MINOR_USER_TIMESTAMP))
		return 0;
	if (buf_printf(out, "\t%" PRIu32, user->ts) == -1)
		return -1;
	return user->weak ? buf_append_str(out, "\tw") : 0;
}

static int
ringwire_put_options(struct buf *out, const struct ringwire_msg *msg)
{
	unsigned int i;

	for (i = 0; i < msg->options_count && i < RINGWIRE_OPTIONS_MAX; i++) {
		if (ringwire_put_text(out, msg->options[i]) == -1)
			return -1;
	}
	return 0;
}

/* Appends the arguments of msg (everything after the command name). */
static enum ringwire_fmt
ringwire_put_args(
    struct buf *out, const struct ringwire_msg *msg, unsigned int minor)
{
	int ret = 0;

	switch (msg->cmd) {
	case RINGWIRE_VERSION:
		ret = buf_printf(out,
		    "\t" RINGWIRE_NAME "\t%" PRIu32 "\t%" PRIu32, msg->major,
		    msg->minor);
		break;
	case RINGWIRE_ME:
		ret = ringwire_put_director(out, &msg->dir, false);
		if (ret == 0 && msg->has_time)
			ret = buf_printf(out, "\t%" PRId64, msg->time);
		break;
	case RINGWIRE_DONE:
		break;
	case RINGWIRE_OPTIONS:
		ret = ringwire_put_options(out, msg);
		break;
	case RINGWIRE_HOST_HAND_START:
	case RINGWIRE_HOST_HAND_END:
		ret = buf_printf(out, "\t%d", msg->ring_handshaked ? 1 : 0);
		break;
	case RINGWIRE_HOST:
		if (ringwire_put_director(out, &msg->dir, true) == -1)
			return RINGWIRE_FMT_FULL;
		return ringwire_put_host(out, &msg->host, minor);
	case RINGWIRE_HOST_HAND:
		return ringwire_put_host(out, &msg->host, minor);
	case RINGWIRE_U:
	case RINGWIRE_USER:
		ret = ringwire_put_user(out, msg, minor);
		break;
	case RINGWIRE_DIRECTOR:
	case RINGWIRE_DIRECTOR_REMOVE:
	case RINGWIRE_CONNECT:
		ret = ringwire_put_director(out, &msg->dir, false);
		break;
	case RINGWIRE_HOST_REMOVE:
	case RINGWIRE_HOST_FLUSH:
	case RINGWIRE_X_HOST_KILLED:
	case RINGWIRE_X_HOST_KILLED_EVERYWHERE:
		ret = ringwire_put_director(out, &msg->dir, true);
		if (ret == 0)
			ret = ringwire_put_ip(out, &msg->host.ip);
		if (ret == 0 && msg->cmd == RINGWIRE_X_HOST_KILLED_EVERYWHERE)
			ret = ringwire_put_director(out, &msg->round, true);
		break;
	case RINGWIRE_X_HOST_HEALTH:
		ret = ringwire_put_director(out, &msg->dir, true);
		if (ret == 0)
			ret = ringwire_put_ip(out, &msg->host.ip);
		if (ret == 0)
			ret = buf_printf(
			    out, "\t%s", msg->host.down ? "down" : "up");
		if (ret == 0)
			ret = ringwire_put_director(out, &msg->round, false);
		break;
	case RINGWIRE_X_USER_KILLED:
	case RINGWIRE_X_USER_KILLED_EVERYWHERE:
		ret = ringwire_put_director(out, &msg->dir, true);
		if (ret == 0)
			ret = buf_printf(out, "\t%" PRIu32, msg->user.hash);
		if (ret == 0 && msg->cmd == RINGWIRE_X_USER_KILLED_EVERYWHERE)
			ret = ringwire_put_director(out, &msg->round, true);
		else if (ret == 0 && msg->user.ip.family != 0)
			ret = ringwire_put_ip(out, &msg->user.ip);
		break;
	case RINGWIRE_USER_WEAK:
	case RINGWIRE_USER_MOVE:
	case RINGWIRE_USER_KICK_HASH:
		ret = ringwire_put_director(out, &msg->dir, true);
		if (ret == 0)
			ret = ringwire_put_hash_ip(out, &msg->user);
		break;
	case RINGWIRE_USER_KILLED:
		ret = buf_printf(out, "\t%" PRIu32, msg->user.hash);
		break;
	case RINGWIRE_USER_KILLED_EVERYWHERE:
		ret = ringwire_put_director(out, &msg->dir, true);
		if (ret == 0)
			ret = buf_printf(out, "\t%" PRIu32, msg->user.hash);
		break;
	case RINGWIRE_USER_KICK:
		ret = ringwire_put_director(out, &msg->dir, true);
		if (ret == 0)
			ret = ringwire_put_text(out, msg->username);
		break;
	case RINGWIRE_USER_KICK_ALT:
		ret = ringwire_put_director(out, &msg->dir, true);
		if (ret == 0)
			ret = ringwire_put_text(out, msg->alt_field);
		if (ret == 0)
			ret = ringwire_put_text(out, msg->alt_value);
		break;
	case RINGWIRE_SYNC:
		ret = ringwire_put_director(out, &msg->dir, true);
		if (ret == 0 && msg->sync.has_extra && minor > 0)
			ret = buf_printf(out,
			    "\t%" PRIu32 "\t%" PRIu32 "\t%" PRIu32,
			    msg->sync.minor, msg->sync.ts,
			    msg->sync.hosts_hash);
		break;
	case RINGWIRE_PING:
	case RINGWIRE_PONG:
		if (msg->has_time)
			ret = buf_printf(out, "\t%" PRId64 "\t%" PRIu64,
			    msg->time, msg->outbuf_size);
		break;
	case RINGWIRE_QUIT:
		ret = ringwire_put_text(out, msg->reason);
		break;
	case RINGWIRE_CMD_COUNT:
	default:
		return RINGWIRE_FMT_UNSUPPORTED;
	}
	return ret == 0 ? RINGWIRE_FMT_OK : RINGWIRE_FMT_FULL;
}

enum ringwire_fmt
ringwire_format(
    const struct ringwire_msg *msg, unsigned int peer_minor, struct buf *out)
{
	const char *name;
	enum ringwire_fmt ret;
	size_t start = out->len;

	if (msg->cmd >= RINGWIRE_CMD_COUNT)
		return RINGWIRE_FMT_UNSUPPORTED;
	if (peer_minor < ringwire_cmds[msg->cmd].min_minor)
		return RINGWIRE_FMT_SKIP;
	name = ringwire_cmds[msg->cmd].name;
	/* 2.2.34 sent handshake users as U so that they can be told apart
	 * from USER with its new timestamp; older peers expect USER */
	if (msg->cmd == RINGWIRE_U && peer_minor < RINGWIRE_MINOR_HANDSHAKE_U)
		name = "USER";
	if (buf_append_str(out, name) == -1)
		return RINGWIRE_FMT_FULL;
	ret = ringwire_put_args(out, msg, peer_minor);
	if (ret == RINGWIRE_FMT_OK && buf_append(out, "\n", 1) == -1)
		ret = RINGWIRE_FMT_FULL;
	if (ret != RINGWIRE_FMT_OK)
		out->len = start;
	return ret;
}
