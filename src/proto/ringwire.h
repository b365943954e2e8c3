/*
 * ringwire.h - the wire codec of Dovecot 2.3's director ring protocol,
 * version 1.9 (pure: no I/O, no allocation per line).
 *
 * Framing: one message per LF-terminated line, fields separated by TAB
 * and tab-escaped the Dovecot way (shared with the admin protocol, see
 * adminwire_escape()).  A line may take at most RING_LINE_MAX bytes with
 * its LF, like the 1024-byte input buffer of a 2.3 director; a longer
 * one is a protocol error.
 *
 * A line parses into a struct ringwire_msg with typed fields, strictly:
 * an unknown command, a wrong number of fields, a number that is not
 * plain decimal or out of range, a bad IP address or escape is an error
 * whose text names the command and shows the (sanitised) input, in the
 * spirit of Dovecot's "Command X: ... (input: ...)".
 *
 * A message formats for one peer's minor version the way 2.3 does (see
 * ringwire_format()).  Parsing what ringwire_format() wrote for minor 9
 * gives back the same message, field for field.
 *
 * The codec knows which command a line is, not whether it is welcome
 * now: which commands a handshake allows, and that a pre-1.9 peer's
 * "USER hash ip ts" during its handshake is a handshake user, is the
 * ring engine's business.
 */
#ifndef DIRECTOR_RINGWIRE_H
#define DIRECTOR_RINGWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipaddr.h"
#include "linebuf.h"

struct buf;

/* Most bytes of one line, its LF (and a CR before it) included: the
 * MAX_INBUF_SIZE of 2.3's director-connection.c. */
#define RING_LINE_MAX 1024
/* The protocol version we speak: "VERSION\tdirector\t1\t9". */
#define RINGWIRE_NAME "director"
#define RINGWIRE_MAJOR 1
#define RINGWIRE_MINOR 9
/* Most fields of one line, the command included. */
#define RINGWIRE_FIELDS_MAX 16
/* Most options of one OPTIONS line, and the longest option. */
#define RINGWIRE_OPTIONS_MAX 8
#define RINGWIRE_OPTION_MAX 64
/* Longest backend tag and host name; the same as HOST_TAG_MAX and
 * HOST_NAME_MAX_LEN of src/routing/hosts.h (test_ringwire.c checks). */
#define RINGWIRE_TAG_MAX 64
#define RINGWIRE_HOSTNAME_MAX 255
/* Room for any one text field (user name, alt field or value, QUIT
 * reason) with its NUL: a field is never longer than its line. */
#define RINGWIRE_TEXT_MAX RING_LINE_MAX
/* The one option 2.3 sends, and requires, in OPTIONS. */
#define RINGWIRE_OPT_CONSISTENT_HASHING "consistent-hashing"

/* The minor versions that brought features (2.3's director.h). */
#define RINGWIRE_MINOR_WEAK_USERS 1 /* USER-WEAK; SYNC extra fields */
#define RINGWIRE_MINOR_RING_REMOVE 2 /* DIRECTOR-REMOVE */
#define RINGWIRE_MINOR_QUIT 3 /* QUIT */
#define RINGWIRE_MINOR_USER_KICK 4 /* USER-KICK, USER-KICK-HASH */
#define RINGWIRE_MINOR_OPTIONS 5 /* OPTIONS; tags v1 */
#define RINGWIRE_MINOR_UPDOWN 6 /* HOST carries up/down and name */
#define RINGWIRE_MINOR_TAGS_V2 7 /* HOST always carries the tag */
#define RINGWIRE_MINOR_USER_KICK_ALT 8 /* USER-KICK-ALT */
#define RINGWIRE_MINOR_HANDSHAKE_U 9 /* handshake users as U */
#define RINGWIRE_MINOR_USER_TIMESTAMP 9 /* USER carries a timestamp */

enum ringwire_cmd {
	/* handshake */
	RINGWIRE_VERSION, /* VERSION director <major> <minor> */
	RINGWIRE_ME, /* ME <ip> <port> [<unix time>] */
	RINGWIRE_DONE, /* DONE */
	RINGWIRE_OPTIONS, /* OPTIONS <option>... */
	RINGWIRE_HOST_HAND_START, /* HOST-HAND-START <0|1> */
	RINGWIRE_HOST_HAND_END, /* HOST-HAND-END <0|1> */
	/* HOST <ip> <vhosts> [<tag> [<U|D><ts> <name>]] (in the host list) */
	RINGWIRE_HOST_HAND,
	/* U <hash> <ip> <ts> [w], or "USER <hash> <ip> <ts> w" (below 9) */
	RINGWIRE_U,
	/* flooded; <orig> is <orig ip> <orig port> <seq> */
	RINGWIRE_DIRECTOR, /* DIRECTOR <ip> <port> */
	RINGWIRE_DIRECTOR_REMOVE, /* DIRECTOR-REMOVE <ip> <port> */
	/* HOST <orig> <ip> <vhosts> [<tag>] [<U|D><ts> <name>] */
	RINGWIRE_HOST,
	RINGWIRE_HOST_REMOVE, /* HOST-REMOVE <orig> <ip> */
	RINGWIRE_HOST_FLUSH, /* HOST-FLUSH <orig> <ip> */
	RINGWIRE_USER, /* USER <hash> <ip> [<ts>] (not flooded: no orig) */
	RINGWIRE_USER_WEAK, /* USER-WEAK <orig> <hash> <ip> */
	RINGWIRE_USER_MOVE, /* USER-MOVE <orig> <hash> <ip> */
	RINGWIRE_USER_KILLED, /* USER-KILLED <hash> (to the right only) */
	RINGWIRE_USER_KILLED_EVERYWHERE, /* ...-EVERYWHERE <orig> <hash> */
	RINGWIRE_USER_KICK, /* USER-KICK <orig> <username> */
	RINGWIRE_USER_KICK_ALT, /* USER-KICK-ALT <orig> <field> <value> */
	RINGWIRE_USER_KICK_HASH, /* USER-KICK-HASH <orig> <hash> <except> */
	/* SYNC <orig> [<minor> <ts> <hosts_hash>] (to the right only) */
	RINGWIRE_SYNC,
	/* point to point */
	RINGWIRE_CONNECT, /* CONNECT <ip> <port> */
	RINGWIRE_PING, /* PING <unix time> <output buffer bytes> */
	RINGWIRE_PONG, /* PONG <unix time> <output buffer bytes> */
	RINGWIRE_QUIT, /* QUIT <reason> */
	/* ours, sent only to peers that offered OPTIONS x-fence-rounds:
	 * kill tokens named by their round, the <orig> (with seq) of the
	 * USER-MOVE or HOST-REMOVE that started them, to the right only;
	 * and their ends, flooded, naming the round as <round> */
	/* X-USER-KILLED <round> <hash> [<target backend>] */
	RINGWIRE_X_USER_KILLED,
	/* X-USER-KILLED-EVERYWHERE <orig> <hash> <round> */
	RINGWIRE_X_USER_KILLED_EVERYWHERE,
	RINGWIRE_X_HOST_KILLED, /* X-HOST-KILLED <round> <backend> */
	/* X-HOST-KILLED-EVERYWHERE <orig> <backend> <round> */
	RINGWIRE_X_HOST_KILLED_EVERYWHERE,
	/* a backend's health, flooded: X-HOST-HEALTH <orig> <backend>
	 * <up|down> <owner ip> <owner port> (host.down, round: the director
	 * whose checker marked it down) */
	RINGWIRE_X_HOST_HEALTH,
	RINGWIRE_CMD_COUNT
};

/* A director: ME, DIRECTOR, DIRECTOR-REMOVE, CONNECT; and the origin of
 * a flooded command (with its sequence number) or of a SYNC. */
struct ringwire_director {
	struct ipaddr ip;
	uint16_t port; /* 1..65535 */
	uint32_t seq; /* origins only */
};

/* A backend in HOST, either form.  Fields a line leaves out take 2.3's
 * defaults: no tag, up, changed at 0, no name. */
struct ringwire_host {
	struct ipaddr ip;
	uint32_t vhost_count;
	char tag[RINGWIRE_TAG_MAX + 1];
	bool down;
	int64_t updown_ts; /* unix time of the last up/down change */
	char name[RINGWIRE_HOSTNAME_MAX + 1];
};

/* A user assignment: U, USER, USER-WEAK, USER-MOVE; the hash alone in
 * USER-KILLED and USER-KILLED-EVERYWHERE; USER-KICK-HASH's ip is the
 * backend to spare. */
struct ringwire_user {
	uint32_t hash;
	struct ipaddr ip;
	bool has_ts; /* always for U; for USER from minor 9 */
	uint32_t ts; /* unix time of the last refresh */
	bool weak; /* U only */
};

struct ringwire_sync {
	bool has_extra; /* the last three fields are there */
	uint32_t minor; /* the lowest minor version seen on the way */
	uint32_t ts;
	uint32_t hosts_hash;
};

/* One message.  ringwire_parse() zeroes it first, so two parses of the
 * same message compare equal with memcmp(). */
struct ringwire_msg {
	enum ringwire_cmd cmd;
	/* VERSION */
	uint32_t major, minor;
	/* ME, DIRECTOR, DIRECTOR-REMOVE, CONNECT: the director;
	 * flooded commands and SYNC: their origin */
	struct ringwire_director dir;
	/* ME (has_time says whether it came), PING, PONG */
	bool has_time;
	int64_t time;
	uint64_t outbuf_size; /* PING, PONG */
	bool ring_handshaked; /* HOST-HAND-START, HOST-HAND-END */
	struct ringwire_host host; /* HOST, both forms */
	struct ringwire_user user;
	struct ringwire_sync sync;
	unsigned int options_count; /* OPTIONS */
	char options[RINGWIRE_OPTIONS_MAX][RINGWIRE_OPTION_MAX + 1];
	char username[RINGWIRE_TEXT_MAX]; /* USER-KICK */
	char alt_field[RINGWIRE_TEXT_MAX]; /* USER-KICK-ALT */
	char alt_value[RINGWIRE_TEXT_MAX];
	char reason[RINGWIRE_TEXT_MAX]; /* QUIT; fields joined by spaces */
	/* X-*-KILLED-EVERYWHERE: the round (X-*-KILLED: in dir) */
	struct ringwire_director round;
};

/* The command's name on the wire ("USER-KICK"); U for RINGWIRE_U and
 * HOST for RINGWIRE_HOST_HAND. */
const char *ringwire_cmd_name(enum ringwire_cmd cmd);

/* Whether cmd is one of our X- extensions (never sent to 2.3). */
bool ringwire_cmd_is_ours(enum ringwire_cmd cmd);

/* The lowest peer minor version that is sent cmd at all (0 for most). */
unsigned int ringwire_cmd_min_minor(enum ringwire_cmd cmd);

/*
 * Parses one line (without its LF; len bytes, which may hold NULs) into
 * *msg_r.  HOST is the flooded form when its fifth field is an IP
 * address or it has more than five, else the handshake form; USER
 * with four fields is a pre-1.9 handshake user (RINGWIRE_U).  Returns 0,
 * or -1 with a NUL-terminated, printable message in err (errsize > 0)
 * and *msg_r unspecified.
 */
int ringwire_parse(const char *line, size_t len, struct ringwire_msg *msg_r,
    char *err, size_t errsize);

enum ringwire_fmt {
	RINGWIRE_FMT_OK, /* the line (with its LF) was appended */
	/* nothing appended: the peer's minor is below the command's
	 * minimum, and 2.3 does not send it to such a peer */
	RINGWIRE_FMT_SKIP,
	/* nothing appended: the message cannot be said at that minor (a
	 * backend tag below 7, where 2.3 drops the host or the peer) */
	RINGWIRE_FMT_UNSUPPORTED,
	/* out is full (out keeps what it held) */
	RINGWIRE_FMT_FULL,
};

/*
 * Appends msg as one line for a peer of minor version peer_minor, as
 * 2.3 would write it:
 * - U is "USER" below 9; USER carries its timestamp (if has_ts) from 9;
 * - HOST (both forms) carries its tag from 7 and up/down with the host
 *   name from 6, a host name field even when empty, and from 6 always
 *   a tag field (empty below 7) so that up/down stays the fourth field
 *   (2.3's flooded HOST leaves it out at ring minor 6, which its own
 *   parser then misreads; we don't copy that).  For the flooded form
 *   pass the ring's lowest minor (2.3's ring_min_version);
 * - SYNC carries its extra fields when has_extra and peer_minor > 0
 *   (2.3 also leaves them out when the SYNC's own minor is 0: the caller
 *   clears has_extra then);
 * - commands newer than the peer are skipped (ringwire_cmd_min_minor()).
 * Text fields are tab-escaped.  ringwire_format(..., RINGWIRE_MINOR, ...)
 * of a parsed line gives back the line, byte for byte, for every line a
 * 2.3 director sends.
 */
enum ringwire_fmt ringwire_format(
    const struct ringwire_msg *msg, unsigned int peer_minor, struct buf *out);

enum ringwire_status {
	RINGWIRE_MORE, /* no complete line yet */
	RINGWIRE_LINE, /* a line is complete */
	RINGWIRE_TOO_LONG, /* a line is over RING_LINE_MAX: close */
};

/* Cuts a peer's input into lines of at most RING_LINE_MAX bytes.  Owns
 * the linebuf's buffer. */
struct ringwire_reader {
	struct linebuf lb;
	size_t line_bytes; /* bytes of the current line taken so far */
};

void ringwire_reader_init(struct ringwire_reader *r);
/* Frees the buffer; r may be initialised again. */
void ringwire_reader_deinit(struct ringwire_reader *r);
/* Takes bytes from data[0..len) up to the end of the next line, like
 * linebuf_feed(): *used_r bytes were taken; on LINE *line_r (valid until
 * the next call) and *line_len_r are the line without CR/LF, ready for
 * ringwire_parse().  TOO_LONG is sticky.  Fed whole or a byte at a time,
 * the same input gives the same lines and verdict. */
enum ringwire_status ringwire_reader_feed(struct ringwire_reader *r,
    const void *data, size_t len, size_t *used_r, const char **line_r,
    size_t *line_len_r);

#endif
