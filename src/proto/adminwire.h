/*
 * adminwire.h - the client side of Dovecot 2.3's director-doveadm v1.0
 * admin protocol (pure, no I/O), and the tables directorctl prints from
 * its replies.
 *
 * Wire format: one command or reply per LF-terminated line, fields
 * separated by TAB, each field tab-escaped the Dovecot way (0x01 -> 0x01
 * '1', TAB -> 0x01 't', CR -> 0x01 'r', LF -> 0x01 'n', NUL -> 0x01 '0').
 * Both sides open with "VERSION\tdirector-doveadm\t1\t0"; a list reply
 * ends with an empty line.
 *
 * Everything that comes from the server is treated as hostile: lines are
 * bounded (ADMINWIRE_LINE_MAX), fields are counted (ADMINWIRE_FIELDS_MAX),
 * numbers are range-checked, and a parser answers -1 instead of trusting a
 * malformed line.  Rendered text never carries raw control characters
 * from the server to the terminal.
 */
#ifndef DIRECTOR_ADMINWIRE_H
#define DIRECTOR_ADMINWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

/* Longest reply line accepted, in bytes without the LF. */
#define ADMINWIRE_LINE_MAX 65536
/* Most fields in one reply line (DIRECTOR-LIST has 12). */
#define ADMINWIRE_FIELDS_MAX 32
/* The handshake line we send (the only major version is 1). */
#define ADMINWIRE_HANDSHAKE "VERSION\tdirector-doveadm\t1\t0\n"
/* Most columns of an adminwire_table. */
#define ADMINWIRE_TABLE_COLS_MAX 16

/* Appends s, tab-escaped, to out.  Returns 0, or -1 when out is full. */
int adminwire_escape(struct buf *out, const char *s);

/* Undoes the tab-escaping of s in place.  Returns 0, or -1 (s is then
 * unspecified) when s has a 0x01 not followed by one of "1trn0", or when
 * it would decode to a NUL byte (fields are C strings here). */
int adminwire_unescape(char *s);

/* Appends the request line "cmd[\targ]...\n", every arg escaped.
 * Returns 0, or -1 when out is full. */
int adminwire_request(
    struct buf *out, const char *cmd, const char *const *args, size_t nargs);

/* Splits line at TABs in place and unescapes every field; fields_r[i]
 * point into line.  An empty line is one empty field.  Returns 0 and sets
 * *count_r, or -1 for more than max fields or a bad escape. */
int adminwire_split(char *line, char **fields_r, size_t max, size_t *count_r);

/* Whether line (unescaped fields) is the server's handshake: VERSION,
 * director-doveadm, major 1, any decimal minor. */
bool adminwire_handshake_ok(const char *line);

enum adminwire_status {
	ADMINWIRE_MORE, /* no complete line yet: feed more */
	ADMINWIRE_LINE, /* *line_r is the next line */
	ADMINWIRE_TOO_LONG, /* a line exceeded ADMINWIRE_LINE_MAX */
	ADMINWIRE_BAD, /* a raw NUL byte inside a line */
};

/* Collects bytes from the server and cuts them into lines.  Owns its
 * buffer; adminwire_reader_deinit() frees it. */
struct adminwire_reader {
	char *data;
	size_t start; /* first byte not yet returned as a line */
	size_t len; /* bytes held, from data[0] */
	size_t scanned; /* bytes from start known to hold no LF and no NUL */
	size_t cap;
	/* MORE while healthy; TOO_LONG or BAD once failed, for good */
	enum adminwire_status error;
};

void adminwire_reader_init(struct adminwire_reader *r);
void adminwire_reader_deinit(struct adminwire_reader *r);
/* Appends len bytes read from the server. */
void adminwire_reader_feed(
    struct adminwire_reader *r, const void *data, size_t len);
/* Returns the next complete line, NUL-terminated without its LF (and
 * without a CR before it), in *line_r.  The line lives in r and stays
 * valid until the next feed.  Once TOO_LONG or BAD has been returned,
 * every later call returns it again. */
enum adminwire_status adminwire_reader_next(
    struct adminwire_reader *r, char **line_r);

/* The kinds of a one-line command reply. */
enum adminwire_reply {
	ADMINWIRE_REPLY_OK,
	ADMINWIRE_REPLY_NOTFOUND,
	ADMINWIRE_REPLY_TRYAGAIN, /* TRYAGAIN, or an error text that says
				     to retry ("try again", "timed out") */
	ADMINWIRE_REPLY_ERROR, /* any other text: a refused request */
};

/* Classifies a one-line reply of a command that answers OK. */
enum adminwire_reply adminwire_reply_kind(const char *line);

/* One HOST-LIST line: ip vhosts users tag U|D last_updown_change, and
 * optionally the host name as a seventh field.  Strings point into the
 * split fields. */
struct adminwire_host {
	const char *ip;
	unsigned int vhosts;
	unsigned int users;
	const char *tag;
	bool up;
	int64_t changed; /* unix time of the last up/down change, 0 = never */
	const char *name; /* "" when the server sends none */
};

/* Parses the split fields of a HOST-LIST line.  Returns 0, or -1. */
int adminwire_parse_host(
    char *const *fields, size_t count, struct adminwire_host *host_r);

/* A USER-LOOKUP reply: current_ip expire_ts hashed_ip initial_config_ip.
 * current is "" and expires 0 when the user has no live assignment. */
struct adminwire_lookup {
	const char *current;
	int64_t expires;
	const char *hashed;
	const char *initial;
};

int adminwire_parse_lookup(
    char *const *fields, size_t count, struct adminwire_lookup *lookup_r);

/* A USER-LIST line: hash expire_ts ip. */
struct adminwire_user {
	uint32_t hash;
	int64_t expires;
	const char *ip;
};

int adminwire_parse_user(
    char *const *fields, size_t count, struct adminwire_user *user_r);

/*
 * A table of strings printed either aligned for people or as a JSON array
 * of objects for scripts.  Column kinds decide both renderings.
 */
enum adminwire_col_kind {
	ADMINWIRE_COL_STR, /* text; JSON string */
	ADMINWIRE_COL_OPT, /* text, "-" when empty; JSON string or null */
	ADMINWIRE_COL_NUM, /* right-aligned; JSON number when decimal */
	ADMINWIRE_COL_TIME, /* unix seconds, maybe with ".fraction": local
			       date, "-" for 0 or empty, other text as is;
			       JSON number or null */
};

struct adminwire_col {
	const char *header; /* text header */
	const char *key; /* JSON member name */
	enum adminwire_col_kind kind;
};

/* Owns copies of every cell. */
struct adminwire_table;

/* Creates a table of ncols (<= ADMINWIRE_TABLE_COLS_MAX) columns; cols
 * must outlive the table. */
struct adminwire_table *adminwire_table_new(
    const struct adminwire_col *cols, size_t ncols);
/* Frees *tp and clears it; NULL is fine. */
void adminwire_table_free(struct adminwire_table **tp);
/* Appends a row of ncols cells (copied; NULL is taken as ""). */
void adminwire_table_add(struct adminwire_table *t, const char *const *cells);
size_t adminwire_table_rows(const struct adminwire_table *t);
/* The cell at row, col (both in range), owned by t. */
const char *adminwire_table_cell(
    const struct adminwire_table *t, size_t row, size_t col);

/* Appends the aligned text form: a header line, then one line per row,
 * columns separated by two spaces, cells as adminwire_text_str() shows
 * them.
 * Returns 0, or -1 when out is full. */
int adminwire_table_text(const struct adminwire_table *t, struct buf *out);
/* Appends the JSON array form and a newline.  Returns 0, or -1. */
int adminwire_table_json(const struct adminwire_table *t, struct buf *out);

/* Appends s as a JSON string (quoted; invalid UTF-8 becomes U+FFFD).
 * Returns 0, or -1 when out is full. */
int adminwire_json_str(struct buf *out, const char *s);
/* Appends s with control characters and bytes that are not UTF-8 shown
 * as \xHH.  Returns 0, or -1. */
int adminwire_text_str(struct buf *out, const char *s);
/* Appends unix time t as local "YYYY-MM-DD HH:MM:SS", or "-" for 0.
 * Returns 0, or -1. */
int adminwire_text_time(struct buf *out, int64_t t);

#endif
