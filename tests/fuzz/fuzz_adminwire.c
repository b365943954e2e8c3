/*
 * fuzz_adminwire.c - libFuzzer target for the admin protocol client
 * (adminwire): the line reader fed whole and one byte at a time gives the
 * same lines; split, the reply parsers, escaping round trips and the
 * text/JSON tables never crash, and rendered output holds no control
 * bytes but newlines.
 */
#include "compat.h"
#include <stdio.h>
#include "adminwire.h"
#include "buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_json(const struct buf *b)
{
	size_t i;
	for (i = 0; i < b->len; i++)
		if ((unsigned char)b->data[i] < 0x20 && b->data[i] != '\n')
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct adminwire_col cols[] = {
	    {"a", "a", ADMINWIRE_COL_STR}, {"b", "b", ADMINWIRE_COL_OPT},
	    {"c", "c", ADMINWIRE_COL_NUM}, {"d", "d", ADMINWIRE_COL_TIME}};
	struct adminwire_reader r, r1;
	struct adminwire_table *t = adminwire_table_new(cols, 4);
	char *line, *f[ADMINWIRE_FIELDS_MAX];
	enum adminwire_status st, st1;
	struct buf b, esc;
	size_t n, i, pos = 0;
	char *line1;
	char copy[ADMINWIRE_LINE_MAX + 1];

	adminwire_reader_init(&r);
	adminwire_reader_init(&r1);
	adminwire_reader_feed(&r, data, size);
	buf_init(&b, 1 << 24);
	buf_init(&esc, 1 << 24);
	while ((st = adminwire_reader_next(&r, &line)) == ADMINWIRE_LINE) {
		/* byte-at-a-time reader yields the same line */
		do {
			st1 = adminwire_reader_next(&r1, &line1);
			if (st1 == ADMINWIRE_MORE) {
				if (pos >= size)
					abort();
				adminwire_reader_feed(&r1, data + pos++, 1);
			}
		} while (st1 == ADMINWIRE_MORE);
		if (st1 != ADMINWIRE_LINE || strcmp(line, line1) != 0)
			abort();
		if (strlen(line) > ADMINWIRE_LINE_MAX)
			abort();
		adminwire_handshake_ok(line);
		adminwire_reply_kind(line);
		strcpy(copy, line);
		if (adminwire_split(copy, f, nitems(f), &n) == 0) {
			struct adminwire_host h;
			struct adminwire_lookup lk;
			struct adminwire_user u;
			const char *cells[4];
			(void)adminwire_parse_host(f, n, &h);
			(void)adminwire_parse_lookup(f, n, &lk);
			(void)adminwire_parse_user(f, n, &u);
			for (i = 0; i < 4; i++)
				cells[i] = i < n ? f[i] : NULL;
			adminwire_table_add(t, cells);
			/* escape round trip of every field */
			for (i = 0; i < n; i++) {
				char *e;
				buf_clear(&esc);
				if (adminwire_escape(&esc, f[i]) == -1)
					abort();
				buf_append(&esc, "", 1);
				if (strchr(esc.data, '\t') ||
				    strchr(esc.data, '\n'))
					abort();
				e = strdup(esc.data);
				if (adminwire_unescape(e) != 0 ||
				    strcmp(e, f[i]) != 0)
					abort();
				free(e);
			}
		}
	}
	if (adminwire_table_text(t, &b) == -1)
		abort();
	for (i = 0; i < b.len; i++)
		if ((unsigned char)b.data[i] < 0x20 && b.data[i] != '\n')
			abort();
	buf_clear(&b);
	if (adminwire_table_json(t, &b) == -1)
		abort();
	check_json(&b);
	adminwire_table_free(&t);
	buf_deinit(&b);
	buf_deinit(&esc);
	adminwire_reader_deinit(&r);
	adminwire_reader_deinit(&r1);
	return 0;
}
