/*
 * test_vectors.c - golden vectors recorded from a real Dovecot 2.3
 * director by scripts/gen-golden-vectors.py: the username hash, the
 * backend a `dovecot`-method director picks, and the hosts_hash of SYNC.
 * Every line of tests/vectors/ must match.  Run from the repository root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"

#include "hosts.h"
#include "userhash.h"

#define MAX_FIELDS 8

/* One TSV file read line by line; comments and empty lines skipped. */
struct tsv {
	FILE *f;
	const char *path;
	unsigned int lineno;
	char *line;
	size_t cap;
	char *fields[MAX_FIELDS];
	size_t nfields;
};

static void
tsv_open(struct tsv *t, const char *path)
{
	memset(t, 0, sizeof(*t));
	t->path = path;
	t->f = fopen(path, "r");
	if (t->f == NULL)
		fail_msg("%s: %s (run from the repository root)", path,
		    strerror(errno));
}

static bool
tsv_next(struct tsv *t)
{
	ssize_t len;

	while ((len = getline(&t->line, &t->cap, t->f)) >= 0) {
		t->lineno++;
		if (len > 0 && t->line[len - 1] == '\n')
			t->line[--len] = '\0';
		if (len == 0 || t->line[0] == '#')
			continue;
		t->nfields = 0;
		for (char *p = t->line;;) {
			if (t->nfields == MAX_FIELDS)
				fail_msg("%s:%u: too many fields", t->path,
				    t->lineno);
			t->fields[t->nfields++] = p;
			p = strchr(p, '\t');
			if (p == NULL)
				break;
			*p++ = '\0';
		}
		return true;
	}
	return false;
}

static void
tsv_close(struct tsv *t)
{
	free(t->line);
	fclose(t->f);
}

static void
tsv_want_fields(const struct tsv *t, size_t n)
{
	if (t->nfields != n)
		fail_msg("%s:%u: %zu fields, want %zu", t->path, t->lineno,
		    t->nfields, n);
}

static uint32_t
parse_u32(const struct tsv *t, const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v > UINT32_MAX)
		fail_msg("%s:%u: bad number '%s'", t->path, t->lineno, s);
	return (uint32_t)v;
}

static void
test_userhash_vectors(void **state)
{
	struct tsv t;
	unsigned int n = 0;

	(void)state;
	tsv_open(&t, "tests/vectors/userhash.tsv");
	while (tsv_next(&t)) {
		struct userhash_template *tmpl;
		const char *err = NULL;
		uint32_t hash = 0, want;

		tsv_want_fields(&t, 3);
		want = parse_u32(&t, t.fields[2]);
		tmpl = userhash_template_new(t.fields[0], &err);
		if (tmpl == NULL)
			fail_msg("%s:%u: template '%s': %s", t.path, t.lineno,
			    t.fields[0], err);
		if (userhash_compute(tmpl, t.fields[1], NULL, &hash, &err) != 0)
			fail_msg("%s:%u: '%s': %s", t.path, t.lineno,
			    t.fields[1], err);
		if (hash != want)
			fail_msg("%s:%u: template '%s' user '%s': got %u, "
				 "want %u",
			    t.path, t.lineno, t.fields[0], t.fields[1], hash,
			    want);
		userhash_template_free(&tmpl);
		n++;
	}
	tsv_close(&t);
	assert_true(n > 1000);
}

/*
 * The hosts of the current set; a `host` line for a new SET name starts
 * a fresh list.
 */
struct set_state {
	char name[64];
	struct hosts *hosts;
};

static void
set_reset(struct set_state *s, const char *name)
{
	if (s->hosts != NULL)
		hosts_free(&s->hosts);
	s->hosts = hosts_new(SELECT_METHOD_DOVECOT, 900);
	assert_non_null(s->hosts);
	snprintf(s->name, sizeof(s->name), "%s", name);
}

static void
set_add_host(struct set_state *s, const struct tsv *t)
{
	struct ipaddr ip;
	struct host *host;
	const char *err = NULL;

	tsv_want_fields(t, 6);
	if (strcmp(s->name, t->fields[1]) != 0 || s->hosts == NULL)
		set_reset(s, t->fields[1]);
	if (ipaddr_parse(t->fields[2], &ip) != 0)
		fail_msg("%s:%u: bad ip", t->path, t->lineno);
	host = hosts_add(
	    s->hosts, &ip, t->fields[3], parse_u32(t, t->fields[4]), &err);
	if (host == NULL)
		fail_msg("%s:%u: hosts_add: %s", t->path, t->lineno, err);
	if (strcmp(t->fields[5], "down") == 0)
		hosts_set_down(s->hosts, host, true, 1);
	else if (strcmp(t->fields[5], "up") != 0)
		fail_msg("%s:%u: bad state", t->path, t->lineno);
}

static void
test_dovecot_select_vectors(void **state)
{
	struct set_state s = {.hosts = NULL};
	struct userhash_template *tmpl;
	const char *err = NULL;
	struct tsv t;
	unsigned int users = 0, none = 0;

	(void)state;
	tmpl = userhash_template_new("%Lu", &err);
	assert_non_null(tmpl);
	tsv_open(&t, "tests/vectors/dovecot_select.tsv");
	while (tsv_next(&t)) {
		struct host *host;
		uint32_t hash = 0, want;
		char buf[IPADDR_STR_MAX];

		if (strcmp(t.fields[0], "host") == 0) {
			set_add_host(&s, &t);
			continue;
		}
		if (strcmp(t.fields[0], "user") != 0)
			fail_msg("%s:%u: unknown record", t.path, t.lineno);
		tsv_want_fields(&t, 6);
		if (strcmp(s.name, t.fields[1]) != 0)
			set_reset(&s, t.fields[1]); /* a set with no hosts */
		want = parse_u32(&t, t.fields[4]);
		assert_int_equal(
		    userhash_compute(tmpl, t.fields[3], NULL, &hash, &err), 0);
		if (hash != want)
			fail_msg("%s:%u: hash of '%s' %u, want %u", t.path,
			    t.lineno, t.fields[3], hash, want);
		host = hosts_select(s.hosts, t.fields[2], hash);
		if (t.fields[5][0] == '\0') {
			if (host != NULL)
				fail_msg("%s:%u: got %s, want no host", t.path,
				    t.lineno, host->ip_str);
			none++;
		} else {
			struct ipaddr ip;

			assert_int_equal(ipaddr_parse(t.fields[5], &ip), 0);
			if (host == NULL || !ipaddr_equals(&host->ip, &ip))
				fail_msg("%s:%u: set %s tag '%s' user '%s': "
					 "got %s, want %s",
				    t.path, t.lineno, s.name, t.fields[2],
				    t.fields[3],
				    host == NULL ? "none" : host->ip_str,
				    ipaddr_format(&ip, buf));
		}
		users++;
	}
	tsv_close(&t);
	if (s.hosts != NULL)
		hosts_free(&s.hosts);
	userhash_template_free(&tmpl);
	assert_true(users > 4000);
	assert_true(none > 0);
}

static void
test_hosts_hash_vectors(void **state)
{
	struct set_state s = {.hosts = NULL};
	struct tsv t;
	unsigned int n = 0;

	(void)state;
	tsv_open(&t, "tests/vectors/hosts_hash.tsv");
	while (tsv_next(&t)) {
		uint32_t want, got;

		if (strcmp(t.fields[0], "host") == 0) {
			set_add_host(&s, &t);
			continue;
		}
		if (strcmp(t.fields[0], "hostshash") != 0)
			fail_msg("%s:%u: unknown record", t.path, t.lineno);
		tsv_want_fields(&t, 3);
		if (strcmp(s.name, t.fields[1]) != 0)
			set_reset(&s, t.fields[1]); /* the empty list */
		want = parse_u32(&t, t.fields[2]);
		got = hosts_hash(s.hosts);
		if (got != want)
			fail_msg("%s:%u: set %s: hosts_hash %u, want %u",
			    t.path, t.lineno, s.name, got, want);
		n++;
	}
	tsv_close(&t);
	if (s.hosts != NULL)
		hosts_free(&s.hosts);
	assert_true(n > 100);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_userhash_vectors),
	    cmocka_unit_test(test_dovecot_select_vectors),
	    cmocka_unit_test(test_hosts_hash_vectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
