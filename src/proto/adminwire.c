/*
 * adminwire.c - client side of the director-doveadm v1.0 admin protocol:
 * tab-escaping, request lines, a bounded line reader, reply parsers, and
 * the text/JSON tables directorctl prints.
 *
 * Invariants: the reader never holds a line longer than
 * ADMINWIRE_LINE_MAX without failing; parsers never read past count
 * fields and reject what they cannot represent; rendered output is
 * either printable text (control bytes as \xHH) or valid JSON.
 */
#include "compat.h"

#include <stdio.h>
#include <time.h>

#include "adminwire.h"
#include "buf.h"
#include "linebuf.h"
#include "strnum.h"
#include "xmalloc.h"

#define ADMINWIRE_ESC 0x01
/* Initial capacity of the reader and of a table's row array. */
#define ADMINWIRE_READER_MIN_CAP 4096
#define ADMINWIRE_TABLE_MIN_ROWS 16
/* Widest date text: "YYYY-MM-DD HH:MM:SS" and a NUL, with headroom for
 * years beyond 9999. */
#define ADMINWIRE_DATE_MAX 64

int
adminwire_escape(struct buf *out, const char *s)
{
	char esc[2] = {ADMINWIRE_ESC, 0};
	const char *p;

	for (p = s; *p != '\0'; p++) {
		switch (*p) {
		case ADMINWIRE_ESC:
			esc[1] = '1';
			break;
		case '\t':
			esc[1] = 't';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		default:
			if (buf_append(out, p, 1) == -1)
				return -1;
			continue;
		}
		if (buf_append(out, esc, 2) == -1)
			return -1;
	}
	return 0;
}

int
adminwire_unescape(char *s)
{
	char *r, *w;

	for (r = w = s; *r != '\0'; r++) {
		if (*r != ADMINWIRE_ESC) {
			*w++ = *r;
			continue;
		}
		switch (*++r) {
		case '1':
			*w++ = ADMINWIRE_ESC;
			break;
		case 't':
			*w++ = '\t';
			break;
		case 'r':
			*w++ = '\r';
			break;
		case 'n':
			*w++ = '\n';
			break;
		default:
			/* '0' would be a NUL inside a C string; anything
			 * else (the end included) is not an escape */
			return -1;
		}
	}
	*w = '\0';
	return 0;
}

int
adminwire_request(
    struct buf *out, const char *cmd, const char *const *args, size_t nargs)
{
	size_t i;

	if (buf_append_str(out, cmd) == -1)
		return -1;
	for (i = 0; i < nargs; i++) {
		if (buf_append(out, "\t", 1) == -1 ||
		    adminwire_escape(out, args[i]) == -1)
			return -1;
	}
	return buf_append(out, "\n", 1);
}

int
adminwire_split(char *line, char **fields_r, size_t max, size_t *count_r)
{
	size_t n = 0;
	char *p = line, *tab;

	for (;;) {
		if (n == max)
			return -1;
		fields_r[n++] = p;
		tab = strchr(p, '\t');
		if (tab != NULL)
			*tab = '\0';
		if (adminwire_unescape(p) == -1)
			return -1;
		if (tab == NULL)
			break;
		p = tab + 1;
	}
	*count_r = n;
	return 0;
}

bool
adminwire_handshake_ok(const char *line)
{
	static const char prefix[] = "VERSION\tdirector-doveadm\t1\t";
	const char *minor;
	uint64_t v;

	if (strncmp(line, prefix, sizeof(prefix) - 1) != 0)
		return false;
	minor = line + sizeof(prefix) - 1;
	return str_to_uint64(minor, UINT32_MAX, &v) == 0;
}

void
adminwire_reader_init(struct adminwire_reader *r)
{
	memset(r, 0, sizeof(*r));
}

void
adminwire_reader_deinit(struct adminwire_reader *r)
{
	free(r->data);
	memset(r, 0, sizeof(*r));
}

void
adminwire_reader_feed(struct adminwire_reader *r, const void *data, size_t len)
{
	size_t cap;

	if (r->error != ADMINWIRE_MORE || len == 0)
		return;
	/* drop the lines already returned before growing */
	if (r->start > 0) {
		memmove(r->data, r->data + r->start, r->len - r->start);
		r->len -= r->start;
		r->start = 0;
	}
	if (len + 1 > r->cap - r->len || r->cap == 0) {
		cap = r->cap < ADMINWIRE_READER_MIN_CAP
		    ? ADMINWIRE_READER_MIN_CAP
		    : r->cap;
		while (cap - r->len < len + 1)
			cap *= 2;
		r->data = xreallocarray(r->data, cap, 1);
		r->cap = cap;
	}
	memcpy(r->data + r->len, data, len);
	r->len += len;
}

enum adminwire_status
adminwire_reader_next(struct adminwire_reader *r, char **line_r)
{
	char *line;
	size_t avail, n, used;
	enum linebuf_status st;

	if (r->error != ADMINWIRE_MORE)
		return r->error;
	avail = r->len - r->start;
	if (avail == 0)
		return ADMINWIRE_MORE;
	line = r->data + r->start;
	/* of a line already seen in part, only the bytes fed since can end
	 * it: a line that arrives in small pieces is scanned once, not once
	 * a piece */
	if (r->scanned > 0 &&
	    memchr(line + r->scanned, '\n', avail - r->scanned) == NULL) {
		if (memchr(line + r->scanned, '\0', avail - r->scanned) !=
		    NULL) {
			r->error = ADMINWIRE_BAD;
			return r->error;
		}
		if (avail <= ADMINWIRE_LINE_MAX) {
			r->scanned = avail;
			return ADMINWIRE_MORE;
		}
	}
	st = linebuf_scan(line, avail, ADMINWIRE_LINE_MAX, &n, &used);
	/* a NUL fails the line even before its end has arrived */
	if (memchr(line, '\0', st == LINEBUF_MORE ? avail : used) != NULL) {
		r->error = ADMINWIRE_BAD;
		return r->error;
	}
	if (st == LINEBUF_TOO_LONG) {
		r->error = ADMINWIRE_TOO_LONG;
		return r->error;
	}
	if (st == LINEBUF_MORE) {
		r->scanned = avail;
		return ADMINWIRE_MORE;
	}
	line[n] = '\0';
	r->start += used;
	r->scanned = 0;
	*line_r = line;
	return ADMINWIRE_LINE;
}

enum adminwire_reply
adminwire_reply_kind(const char *line)
{
	if (strcmp(line, "OK") == 0)
		return ADMINWIRE_REPLY_OK;
	if (strcmp(line, "NOTFOUND") == 0)
		return ADMINWIRE_REPLY_NOTFOUND;
	/* Dovecot's "host is already being updated - try again later" and
	 * "Ring sync timed out" are temporary like TRYAGAIN */
	if (strcmp(line, "TRYAGAIN") == 0 ||
	    strstr(line, "try again") != NULL ||
	    strstr(line, "timed out") != NULL)
		return ADMINWIRE_REPLY_TRYAGAIN;
	return ADMINWIRE_REPLY_ERROR;
}

/* A unix timestamp field: decimal, or a leading '-' (Dovecot prints
 * time_t with %ld); bounded to what fits a struct tm comfortably. */
static int
adminwire_parse_time(const char *s, int64_t *t_r)
{
	uint64_t v;

	if (*s == '-') {
		if (str_to_uint64(s + 1, INT32_MAX, &v) == -1)
			return -1;
		*t_r = -(int64_t)v;
		return 0;
	}
	if (str_to_uint64(s, (uint64_t)INT64_MAX / 2, &v) == -1)
		return -1;
	*t_r = (int64_t)v;
	return 0;
}

/* A time cell of a table: unix seconds, optionally with a ".fraction"
 * (Dovecot's DIRECTOR-LIST sends the last read and write as
 * "secs.msecs").  Returns 0 with the whole seconds in *t_r and the
 * fraction's digits (or "") in *frac_r, or -1. */
static int
adminwire_cell_time(const char *cell, int64_t *t_r, const char **frac_r)
{
	char secs[ADMINWIRE_DATE_MAX];
	const char *dot = strchr(cell, '.');
	uint64_t v;
	size_t n;

	*frac_r = "";
	if (dot == NULL)
		return adminwire_parse_time(cell, t_r);
	n = (size_t)(dot - cell);
	if (n >= sizeof(secs) || str_to_uint64(dot + 1, UINT32_MAX, &v) == -1)
		return -1;
	memcpy(secs, cell, n);
	secs[n] = '\0';
	*frac_r = dot + 1;
	return adminwire_parse_time(secs, t_r);
}

int
adminwire_parse_host(
    char *const *fields, size_t count, struct adminwire_host *host_r)
{
	uint64_t v, u;

	if (count < 6 || fields[0][0] == '\0' ||
	    str_to_uint64(fields[1], UINT32_MAX, &v) == -1 ||
	    str_to_uint64(fields[2], UINT32_MAX, &u) == -1 ||
	    (strcmp(fields[4], "U") != 0 && strcmp(fields[4], "D") != 0) ||
	    adminwire_parse_time(fields[5], &host_r->changed) == -1)
		return -1;
	host_r->ip = fields[0];
	host_r->vhosts = (unsigned int)v;
	host_r->users = (unsigned int)u;
	host_r->tag = fields[3];
	host_r->up = fields[4][0] == 'U';
	host_r->name = count > 6 ? fields[6] : "";
	return 0;
}

int
adminwire_parse_lookup(
    char *const *fields, size_t count, struct adminwire_lookup *lookup_r)
{
	if (count < 4 ||
	    adminwire_parse_time(fields[1], &lookup_r->expires) == -1)
		return -1;
	lookup_r->current = fields[0];
	lookup_r->hashed = fields[2];
	lookup_r->initial = fields[3];
	return 0;
}

int
adminwire_parse_user(
    char *const *fields, size_t count, struct adminwire_user *user_r)
{
	uint64_t h;

	if (count < 3 || str_to_uint64(fields[0], UINT32_MAX, &h) == -1 ||
	    adminwire_parse_time(fields[1], &user_r->expires) == -1 ||
	    fields[2][0] == '\0')
		return -1;
	user_r->hash = (uint32_t)h;
	user_r->ip = fields[2];
	return 0;
}

/* ---- rendering ---------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t
adminwire_utf8_len(const unsigned char *s)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0; /* also stops at the NUL */
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/* Length of the run at p that is copied as it is: printable ASCII (but
 * the quote and the backslash in JSON) and valid UTF-8 sequences.  Runs
 * are appended whole, not a character at a time. */
static size_t
adminwire_plain_len(const unsigned char *p, bool json)
{
	size_t len = 0, n;

	for (;;) {
		if (p[len] < 0x20 || p[len] == 0x7f ||
		    (json && (p[len] == '"' || p[len] == '\\')))
			return len; /* also stops at the NUL */
		if (p[len] < 0x80) {
			len++;
			continue;
		}
		if ((n = adminwire_utf8_len(p + len)) == 0)
			return len;
		len += n;
	}
}

int
adminwire_json_str(struct buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;
	int ret;

	if (buf_append(out, "\"", 1) == -1)
		return -1;
	while (*p != '\0') {
		if ((n = adminwire_plain_len(p, true)) > 0) {
			if (buf_append(out, p, n) == -1)
				return -1;
			p += n;
			continue;
		}
		if (*p == '"' || *p == '\\')
			ret = buf_printf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			ret = buf_printf(out, "\\u%04x", *p);
		else
			ret = buf_append_str(out, "\\ufffd");
		if (ret == -1)
			return -1;
		p++;
	}
	return buf_append(out, "\"", 1);
}

int
adminwire_text_str(struct buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	while (*p != '\0') {
		if ((n = adminwire_plain_len(p, false)) > 0) {
			if (buf_append(out, p, n) == -1)
				return -1;
			p += n;
			continue;
		}
		if (buf_printf(out, "\\x%02x", *p) == -1)
			return -1;
		p++;
	}
	return 0;
}

int
adminwire_text_time(struct buf *out, int64_t t)
{
	char date[ADMINWIRE_DATE_MAX];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || localtime_r(&tt, &tm) == NULL ||
	    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm) == 0)
		return buf_append_str(out, "-");
	return buf_append_str(out, date);
}

struct adminwire_table {
	const struct adminwire_col *cols;
	size_t ncols;
	char **cells; /* rows * ncols strings */
	size_t rows;
	size_t cap_rows;
};

struct adminwire_table *
adminwire_table_new(const struct adminwire_col *cols, size_t ncols)
{
	struct adminwire_table *t;

	assert(ncols > 0 && ncols <= ADMINWIRE_TABLE_COLS_MAX);
	t = xcalloc(1, sizeof(*t));
	t->cols = cols;
	t->ncols = ncols;
	return t;
}

void
adminwire_table_free(struct adminwire_table **tp)
{
	struct adminwire_table *t = *tp;
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->rows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
	*tp = NULL;
}

void
adminwire_table_add(struct adminwire_table *t, const char *const *cells)
{
	size_t i;

	if (t->rows == t->cap_rows) {
		t->cap_rows = t->cap_rows == 0 ? ADMINWIRE_TABLE_MIN_ROWS
					       : t->cap_rows * 2;
		t->cells = xreallocarray(
		    t->cells, t->cap_rows * t->ncols, sizeof(*t->cells));
	}
	for (i = 0; i < t->ncols; i++)
		t->cells[t->rows * t->ncols + i] =
		    xstrdup(cells[i] != NULL ? cells[i] : "");
	t->rows++;
}

size_t
adminwire_table_rows(const struct adminwire_table *t)
{
	return t->rows;
}

const char *
adminwire_table_cell(const struct adminwire_table *t, size_t row, size_t col)
{
	assert(row < t->rows && col < t->ncols);
	return t->cells[row * t->ncols + col];
}

/* Appends the text form of one cell to out (no padding). */
static int
adminwire_cell_text(
    struct buf *out, const struct adminwire_col *col, const char *cell)
{
	const char *frac;
	int64_t ts;

	switch (col->kind) {
	case ADMINWIRE_COL_TIME:
		if (adminwire_cell_time(cell, &ts, &frac) == -1)
			return adminwire_text_str(
			    out, *cell == '\0' ? "-" : cell);
		return adminwire_text_time(out, ts);
	case ADMINWIRE_COL_OPT:
	case ADMINWIRE_COL_NUM:
		if (*cell == '\0')
			return buf_append_str(out, "-");
		return adminwire_text_str(out, cell);
	case ADMINWIRE_COL_STR:
	default:
		return adminwire_text_str(out, cell);
	}
}

/* Display width of the text in out[from..]: UTF-8 continuation bytes take
 * no column. */
static size_t
adminwire_width(const struct buf *out, size_t from)
{
	size_t i, w = 0;

	for (i = from; i < out->len; i++)
		if (((unsigned char)out->data[i] & 0xc0) != 0x80)
			w++;
	return w;
}

/* Appends cell padded to width; right-aligned for numbers.  The last
 * column of a line gets no trailing blanks.  tmp is scratch space, kept
 * by the caller across cells (one allocation for the whole table). */
static int
adminwire_cell_pad(struct buf *out, struct buf *tmp,
    const struct adminwire_col *col, const char *cell, size_t width, bool last)
{
	size_t w;
	int ret = 0;

	buf_clear(tmp);
	if (adminwire_cell_text(tmp, col, cell) == -1)
		return -1;
	w = adminwire_width(tmp, 0);
	if (col->kind == ADMINWIRE_COL_NUM)
		ret = buf_printf(out, "%*s", (int)(width - w), "");
	if (ret == 0 && tmp->len > 0)
		ret = buf_append(out, tmp->data, tmp->len);
	if (ret == 0 && col->kind != ADMINWIRE_COL_NUM && !last)
		ret = buf_printf(out, "%*s", (int)(width - w), "");
	return ret;
}

int
adminwire_table_text(const struct adminwire_table *t, struct buf *out)
{
	size_t widths[ADMINWIRE_TABLE_COLS_MAX];
	struct buf tmp;
	size_t r, c, w;
	int ret = -1;

	buf_init(&tmp, out->max);
	for (c = 0; c < t->ncols; c++) {
		widths[c] = strlen(t->cols[c].header);
		for (r = 0; r < t->rows; r++) {
			buf_clear(&tmp);
			if (adminwire_cell_text(&tmp, &t->cols[c],
				t->cells[r * t->ncols + c]) == -1)
				goto out;
			w = adminwire_width(&tmp, 0);
			if (w > widths[c])
				widths[c] = w;
		}
	}
	for (c = 0; c < t->ncols; c++) {
		bool last = c + 1 == t->ncols;
		int pad = (int)(widths[c] - strlen(t->cols[c].header));

		if (t->cols[c].kind == ADMINWIRE_COL_NUM) {
			if (buf_printf(
				out, "%*s%s", pad, "", t->cols[c].header) == -1)
				goto out;
		} else if (buf_printf(out, "%s%*s", t->cols[c].header,
			       last ? 0 : pad, "") == -1)
			goto out;
		if (buf_append_str(out, last ? "\n" : "  ") == -1)
			goto out;
	}
	for (r = 0; r < t->rows; r++) {
		for (c = 0; c < t->ncols; c++) {
			bool last = c + 1 == t->ncols;

			if (adminwire_cell_pad(out, &tmp, &t->cols[c],
				t->cells[r * t->ncols + c], widths[c],
				last) == -1 ||
			    buf_append_str(out, last ? "\n" : "  ") == -1)
				goto out;
		}
	}
	ret = 0;
out:
	buf_deinit(&tmp);
	return ret;
}

/* Appends the JSON value of one cell. */
static int
adminwire_cell_json(
    struct buf *out, const struct adminwire_col *col, const char *cell)
{
	const char *frac;
	uint64_t v;
	int64_t ts;

	switch (col->kind) {
	case ADMINWIRE_COL_NUM:
		if (str_to_uint64(cell, UINT64_MAX, &v) == 0)
			return buf_printf(out, "%llu", (unsigned long long)v);
		if (*cell == '\0')
			return buf_append_str(out, "null");
		return adminwire_json_str(out, cell);
	case ADMINWIRE_COL_TIME:
		if (adminwire_cell_time(cell, &ts, &frac) == -1 || ts == 0)
			return buf_append_str(out, "null");
		return buf_printf(out, "%lld%s%s", (long long)ts,
		    *frac != '\0' ? "." : "", frac);
	case ADMINWIRE_COL_OPT:
		if (*cell == '\0')
			return buf_append_str(out, "null");
		return adminwire_json_str(out, cell);
	case ADMINWIRE_COL_STR:
	default:
		return adminwire_json_str(out, cell);
	}
}

int
adminwire_table_json(const struct adminwire_table *t, struct buf *out)
{
	size_t r, c;

	if (buf_append_str(out, "[") == -1)
		return -1;
	for (r = 0; r < t->rows; r++) {
		if (buf_append_str(out, r == 0 ? "\n  {" : ",\n  {") == -1)
			return -1;
		for (c = 0; c < t->ncols; c++) {
			if ((c > 0 && buf_append_str(out, ", ") == -1) ||
			    adminwire_json_str(out, t->cols[c].key) == -1 ||
			    buf_append_str(out, ": ") == -1 ||
			    adminwire_cell_json(out, &t->cols[c],
				t->cells[r * t->ncols + c]) == -1)
				return -1;
		}
		if (buf_append_str(out, "}") == -1)
			return -1;
	}
	return buf_append_str(out, t->rows > 0 ? "\n]\n" : "]\n");
}
