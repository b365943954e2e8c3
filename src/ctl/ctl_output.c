/*
 * ctl_output.c - everything directorctl prints on stdout, as text for a
 * person or (--json) as one JSON document for a program: the kinds of
 * table (their columns, and how a line of a list reply becomes a row),
 * `status USER`, the results of the changing verbs, and `dump`.
 *
 * Output is built in a struct buf and written in one go once the whole
 * reply was read, so that a failure half way prints nothing on stdout.
 * Text from the server is escaped by adminwire_text_str() or
 * adminwire_json_str() before it is printed.
 */
#include "compat.h"

#include <stdio.h>
#include <sysexits.h>

#include "conf.h"
#include "ctl.h"
#include "userhash.h"

/* Bytes of a backend word "IP@TAG" in a dump line. */
#define CTL_WORD_MAX (2 * (ADMINWIRE_LINE_MAX + 1))

int
ctl_print(struct buf *out)
{
	if (out->len > 0 && fwrite(out->data, 1, out->len, stdout) != out->len)
		return EX_IOERR;
	return fflush(stdout) == 0 ? 0 : EX_IOERR;
}

int
ctl_print_table(const struct ctl *ctl, struct adminwire_table **tp)
{
	struct buf out;
	int ret;

	buf_init(&out, CTL_OUTPUT_MAX);
	ret = ctl->json ? adminwire_table_json(*tp, &out)
			: adminwire_table_text(*tp, &out);
	ret = ret == -1 ? EX_SOFTWARE : ctl_print(&out);
	buf_deinit(&out);
	adminwire_table_free(tp);
	return ret;
}

struct adminwire_table *
ctl_table_new(const struct ctl_table_kind *kind)
{
	return adminwire_table_new(kind->cols, kind->ncols);
}

/* ---- the kinds of table ------------------------------------------- */

static const struct adminwire_col ctl_host_cols[] = {
    {"host", "host", ADMINWIRE_COL_STR},
    {"name", "name", ADMINWIRE_COL_OPT},
    {"tag", "tag", ADMINWIRE_COL_OPT},
    {"vhosts", "vhosts", ADMINWIRE_COL_NUM},
    {"users", "users", ADMINWIRE_COL_NUM},
    {"state", "state", ADMINWIRE_COL_STR},
    {"changed", "changed", ADMINWIRE_COL_TIME},
    {"health", "health", ADMINWIRE_COL_OPT},
    {"check", "check", ADMINWIRE_COL_OPT},
    {"latency_ms", "latency_ms", ADMINWIRE_COL_OPT},
};

static int
ctl_host_row(void *ctx, char **fields, size_t count)
{
	struct adminwire_table *t = ctx;
	struct adminwire_host h;

	if (adminwire_parse_host(fields, count, &h) == -1)
		return -1;
	/* fields[5] is the change time as sent; the rest is checked; a
	 * Dovecot director sends no health */
	const char *cells[] = {h.ip, h.name, h.tag, fields[1], fields[2],
	    h.up ? "up" : "down", fields[5], count > 7 ? fields[7] : "",
	    count > 8 ? fields[8] : "", count > 9 ? fields[9] : ""};
	adminwire_table_add(t, cells);
	return 0;
}

const struct ctl_table_kind ctl_table_hosts = {
    ctl_host_cols, nitems(ctl_host_cols), ctl_host_row};

static const struct adminwire_col ctl_health_cols[] = {
    {"host", "host", ADMINWIRE_COL_STR},
    {"health", "health", ADMINWIRE_COL_STR},
    {"check", "check", ADMINWIRE_COL_STR},
    {"latency_ms", "latency_ms", ADMINWIRE_COL_NUM},
    {"checked", "checked", ADMINWIRE_COL_TIME},
    {"text", "text", ADMINWIRE_COL_OPT},
};

/* HOST-HEALTH (directord only): ip health check latency when text. */
static int
ctl_health_row(void *ctx, char **fields, size_t count)
{
	struct adminwire_table *t = ctx;

	if (count != nitems(ctl_health_cols))
		return -1;
	const char *cells[] = {fields[0], fields[1], fields[2], fields[3],
	    strcmp(fields[4], "0") == 0 ? "" : fields[4], fields[5]};
	adminwire_table_add(t, cells);
	return 0;
}

const struct ctl_table_kind ctl_table_health = {
    ctl_health_cols, nitems(ctl_health_cols), ctl_health_row};

static const struct adminwire_col ctl_user_cols[] = {
    {"hash", "hash", ADMINWIRE_COL_NUM},
    {"host", "host", ADMINWIRE_COL_STR},
    {"expires", "expires", ADMINWIRE_COL_TIME},
};

static int
ctl_user_row(void *ctx, char **fields, size_t count)
{
	struct adminwire_table *t = ctx;
	struct adminwire_user u;

	if (adminwire_parse_user(fields, count, &u) == -1)
		return -1;
	const char *cells[] = {fields[0], u.ip, fields[1]};
	adminwire_table_add(t, cells);
	return 0;
}

const struct ctl_table_kind ctl_table_users = {
    ctl_user_cols, nitems(ctl_user_cols), ctl_user_row};

static const struct adminwire_col ctl_removed_cols[] = {
    {"host", "host", ADMINWIRE_COL_STR},
};

/* HOST-LIST-REMOVED: one removed host per line. */
static int
ctl_removed_row(void *ctx, char **fields, size_t count)
{
	struct adminwire_table *t = ctx;

	if (count != 1 || fields[0][0] == '\0')
		return -1;
	adminwire_table_add(t, (const char *const *)fields);
	return 0;
}

const struct ctl_table_kind ctl_table_removed = {
    ctl_removed_cols, nitems(ctl_removed_cols), ctl_removed_row};

static const struct adminwire_col ctl_ring_cols[] = {
    {"director", "director", ADMINWIRE_COL_STR},
    {"port", "port", ADMINWIRE_COL_NUM},
    {"type", "type", ADMINWIRE_COL_OPT},
    {"last failed", "last_failed", ADMINWIRE_COL_TIME},
    {"status", "status", ADMINWIRE_COL_OPT},
    {"ping ms", "ping_ms", ADMINWIRE_COL_NUM},
    {"input", "input", ADMINWIRE_COL_NUM},
    {"output", "output", ADMINWIRE_COL_NUM},
    {"buffered", "buffered", ADMINWIRE_COL_NUM},
    {"peak", "buffered_peak", ADMINWIRE_COL_NUM},
    {"last read", "last_read", ADMINWIRE_COL_TIME},
    {"last write", "last_write", ADMINWIRE_COL_TIME},
};

/* DIRECTOR-LIST rows have up to 12 columns; shorter ones (Dovecot's
 * pending incoming connections) leave the rest empty. */
static int
ctl_ring_row(void *ctx, char **fields, size_t count)
{
	const char *cells[nitems(ctl_ring_cols)];
	size_t i;

	for (i = 0; i < nitems(cells); i++)
		cells[i] = i < count ? fields[i] : "";
	adminwire_table_add(ctx, cells);
	return 0;
}

const struct ctl_table_kind ctl_table_ring = {
    ctl_ring_cols, nitems(ctl_ring_cols), ctl_ring_row};

/* Results of the changing verbs: one row per target, printed as
 * "target: done" lines or as a JSON array. */
static const struct adminwire_col ctl_result_cols[] = {
    {"target", "target", ADMINWIRE_COL_STR},
    {"result", "result", ADMINWIRE_COL_STR},
};

const struct ctl_table_kind ctl_table_results = {
    ctl_result_cols, nitems(ctl_result_cols), NULL};

/* ---- status USER -------------------------------------------------- */

/* Appends one "key: value" line of `status USER`; value is escaped. */
static void
ctl_lookup_line(struct buf *out, const char *key, const char *value)
{
	(void)buf_printf(out, "%-16s", key);
	(void)adminwire_text_str(out, *value != '\0' ? value : "none");
}

int
ctl_print_lookup(const struct ctl *ctl, const char *user, const char *tag,
    const struct adminwire_lookup *lk)
{
	char key[USERHASH_EXPANSION_MAX + 1];
	const char *err = NULL;
	bool have_key;
	struct buf out;
	int ret;

	/* the key a name is hashed as, when the configuration is known */
	have_key = ctl->tmpl != NULL && ctl->conf != NULL &&
	    userhash_expand(ctl->tmpl, user,
		ctl->conf->auth_master_user_separator, key, sizeof(key),
		&err) == 0;

	buf_init(&out, CTL_OUTPUT_MAX);
	if (ctl->json) {
		(void)buf_append_str(&out, "{\"user\": ");
		(void)adminwire_json_str(&out, user);
		if (have_key) {
			(void)buf_append_str(&out, ", \"key\": ");
			(void)adminwire_json_str(&out, key);
		}
		(void)buf_append_str(&out, ", \"tag\": ");
		if (tag != NULL && *tag != '\0')
			(void)adminwire_json_str(&out, tag);
		else
			(void)buf_append_str(&out, "null");
		(void)buf_append_str(&out, ", \"current\": ");
		if (*lk->current != '\0') {
			(void)adminwire_json_str(&out, lk->current);
			(void)buf_printf(&out, ", \"expires\": %lld",
			    (long long)lk->expires);
		} else
			(void)buf_append_str(&out, "null, \"expires\": null");
		(void)buf_append_str(&out, ", \"hashed\": ");
		(void)adminwire_json_str(&out, lk->hashed);
		(void)buf_append_str(&out, ", \"initial_config\": ");
		(void)adminwire_json_str(&out, lk->initial);
		(void)buf_append_str(&out, "}\n");
	} else {
		ctl_lookup_line(&out, "user:", user);
		(void)buf_append_str(&out, "\n");
		if (have_key) {
			ctl_lookup_line(&out, "hashed as:", key);
			(void)buf_append_str(&out, "\n");
		}
		ctl_lookup_line(&out, "current:", lk->current);
		if (*lk->current != '\0') {
			(void)buf_append_str(&out, " (expires ");
			(void)adminwire_text_time(&out, lk->expires);
			(void)buf_append_str(&out, ")");
		}
		(void)buf_append_str(&out, "\n");
		ctl_lookup_line(&out, "hashed:", lk->hashed);
		(void)buf_append_str(&out, "\n");
		ctl_lookup_line(&out, "initial config:", lk->initial);
		(void)buf_append_str(&out, "\n");
	}
	ret = ctl_print(&out);
	buf_deinit(&out);
	return ret;
}

/* ---- the changing verbs ------------------------------------------- */

int
ctl_results_end(const struct ctl *ctl, struct ctl_results *res)
{
	struct buf out;
	size_t i;
	int ret;

	if (adminwire_table_rows(res->t) == 0 && res->ret != 0) {
		/* nothing was done: the error on stderr says it all */
		adminwire_table_free(&res->t);
		return res->ret;
	}
	if (ctl->json)
		ret = ctl_print_table(ctl, &res->t);
	else {
		buf_init(&out, CTL_OUTPUT_MAX);
		for (i = 0; i < adminwire_table_rows(res->t); i++) {
			(void)adminwire_text_str(
			    &out, adminwire_table_cell(res->t, i, 0));
			(void)buf_printf(
			    &out, ": %s\n", adminwire_table_cell(res->t, i, 1));
		}
		ret = ctl_print(&out);
		buf_deinit(&out);
		adminwire_table_free(&res->t);
	}
	return res->ret != 0 ? res->ret : ret;
}

/* ---- dump --------------------------------------------------------- */

/* Appends word to out, single-quoted for sh(1) unless it is plain. */
static void
ctl_shell_word(struct buf *out, const char *word)
{
	const char *p;

	if (*word != '\0' &&
	    strspn(word,
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"0123456789@%+=:,./_-") == strlen(word)) {
		(void)buf_append_str(out, word);
		return;
	}
	(void)buf_append_str(out, "'");
	for (p = word; *p != '\0'; p++) {
		if (*p == '\'')
			(void)buf_append_str(out, "'\\''");
		else
			(void)buf_append(out, p, 1);
	}
	(void)buf_append_str(out, "'");
}

/* The start of every dump line: the program and the global options. */
static void
ctl_dump_prefix(const struct ctl *ctl, struct buf *out)
{
	(void)buf_append_str(out, "directorctl ");
	if (ctl->conf_given) {
		(void)buf_append_str(out, "-c ");
		ctl_shell_word(out, ctl->conf_path);
		(void)buf_append_str(out, " ");
	}
	if (ctl->admin != NULL) {
		(void)buf_append_str(out, "-a ");
		ctl_shell_word(out, ctl->admin);
		(void)buf_append_str(out, " ");
	}
}

int
ctl_dump_host(void *ctx, char **fields, size_t count)
{
	struct ctl_dump *d = ctx;
	struct adminwire_host h;
	struct buf word;

	if (ctl_host_row(d->hosts, fields, count) == -1 ||
	    adminwire_parse_host(fields, count, &h) == -1)
		return -1;
	buf_init(&word, CTL_WORD_MAX);
	(void)buf_append_str(&word, h.ip);
	if (*h.tag != '\0') {
		(void)buf_append_str(&word, "@");
		(void)buf_append_str(&word, h.tag);
	}
	(void)buf_append(&word, "", 1);
	ctl_dump_prefix(d->ctl, &d->adds);
	(void)buf_append_str(&d->adds, "add ");
	ctl_shell_word(&d->adds, word.data);
	(void)buf_printf(&d->adds, " %u\n", h.vhosts);
	buf_deinit(&word);
	if (!h.up) {
		ctl_dump_prefix(d->ctl, &d->downs);
		(void)buf_printf(&d->downs, "down %s\n", h.ip);
	}
	return 0;
}

int
ctl_print_dump(const struct ctl_dump *d)
{
	struct buf out;
	size_t i;
	int ret;

	buf_init(&out, CTL_OUTPUT_MAX);
	if (d->ctl->json) {
		(void)buf_append_str(&out, "{\"hosts\": ");
		(void)adminwire_table_json(d->hosts, &out);
		(void)buf_append_str(&out, ", \"removed\": [");
		for (i = 0; i < adminwire_table_rows(d->removed); i++) {
			if (i > 0)
				(void)buf_append_str(&out, ", ");
			(void)adminwire_json_str(
			    &out, adminwire_table_cell(d->removed, i, 0));
		}
		(void)buf_append_str(&out, "]}\n");
	} else {
		(void)buf_append(&out, d->adds.data, d->adds.len);
		(void)buf_append(&out, d->downs.data, d->downs.len);
		for (i = 0; i < adminwire_table_rows(d->removed); i++) {
			ctl_dump_prefix(d->ctl, &out);
			(void)buf_append_str(&out, "remove ");
			ctl_shell_word(
			    &out, adminwire_table_cell(d->removed, i, 0));
			(void)buf_append_str(&out, "\n");
		}
	}
	ret = ctl_print(&out);
	buf_deinit(&out);
	return ret;
}
