/*
 * ctl_verbs.c - the directorctl verbs that talk to a running director
 * over the admin socket: status, health, map and dump read its state; add,
 * update, up, down, remove, flush, move, kick and ring change it.
 *
 * Each handler parses its options and arguments first (a usage error
 * wins over a connection error), resolves host names to IPs (a name with
 * several addresses is one request per address), then connects.  A
 * changing verb goes on after a failed request and reports the first
 * failure's exit status; what succeeded is still printed.
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#include "ctl.h"
#include "xmalloc.h"

/* Dovecot's limit on the HOST-RESET-USERS argument. */
#define CTL_MAX_PARALLEL_MAX 100000

/* ---- status, map, dump -------------------------------------------- */

static int
ctl_status_user(struct ctl *ctl, const char *user, const char *tag)
{
	const char *args[] = {user, tag};
	char *fields[ADMINWIRE_FIELDS_MAX];
	struct adminwire_lookup lk;
	size_t count;
	char *line;
	int ret;

	if ((ret = ctl_connect(ctl)) != 0 ||
	    (ret = adminclient_request(
		 &ctl->ac, "USER-LOOKUP", args, tag != NULL ? 2 : 1)) != 0 ||
	    (ret = adminclient_read_line(&ctl->ac, "USER-LOOKUP", &line)) != 0)
		return ret;
	if (adminwire_reply_kind(line) != ADMINWIRE_REPLY_ERROR)
		return adminclient_reply_status(
		    &ctl->ac, "USER-LOOKUP", args, tag != NULL ? 2 : 1, line);
	if (adminwire_split(line, fields, nitems(fields), &count) == -1 ||
	    adminwire_parse_lookup(fields, count, &lk) == -1) {
		fprintf(stderr,
		    "directorctl: %s: USER-LOOKUP: malformed reply line\n",
		    ctl->ac.endpoint);
		return EX_PROTOCOL;
	}
	return ctl_print_lookup(ctl, user, tag, &lk);
}

int
ctl_cmd_status(struct ctl *ctl, int argc, char **argv)
{
	int ret;

	if ((ret = ctl_verb_opts(
		 argv[0], &argc, &argv, "+", NULL, ctl_no_opt, NULL)) != 0)
		return ret;
	if (argc > 2)
		return ctl_usage_of("status");
	if (argc > 0)
		return ctl_status_user(ctl, argv[0], argc > 1 ? argv[1] : NULL);
	return ctl_show_list(ctl, "HOST-LIST", NULL, 0, &ctl_table_hosts);
}

/* The health checker's view of every backend (our HOST-HEALTH; a
 * Dovecot director does not know it, and closes). */
int
ctl_cmd_health(struct ctl *ctl, int argc, char **argv)
{
	int ret;

	if ((ret = ctl_verb_opts(
		 argv[0], &argc, &argv, "+", NULL, ctl_no_opt, NULL)) != 0)
		return ret;
	if (argc > 0)
		return ctl_usage_of("health");
	return ctl_show_list(ctl, "HOST-HEALTH", NULL, 0, &ctl_table_health);
}

int
ctl_cmd_map(struct ctl *ctl, int argc, char **argv)
{
	char ips[CTL_ADDRS_MAX][INET6_ADDRSTRLEN];
	const char *args[1];
	int ret;

	if ((ret = ctl_verb_opts(
		 argv[0], &argc, &argv, "+", NULL, ctl_no_opt, NULL)) != 0)
		return ret;
	if (argc > 1)
		return ctl_usage_of("map");
	if (argc == 1) {
		if (ctl_resolve(argv[0], ips, 1) == -1)
			return EX_NOHOST;
		args[0] = ips[0];
	}
	return ctl_show_list(
	    ctl, "USER-LIST", args, (size_t)argc, &ctl_table_users);
}

int
ctl_cmd_dump(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_dump d = {.ctl = ctl};
	int ret;

	if ((ret = ctl_verb_opts(
		 argv[0], &argc, &argv, "+", NULL, ctl_no_opt, NULL)) != 0)
		return ret;
	if (argc > 0)
		return ctl_usage_of("dump");
	if ((ret = ctl_connect(ctl)) != 0)
		return ret;
	buf_init(&d.adds, CTL_OUTPUT_MAX);
	buf_init(&d.downs, CTL_OUTPUT_MAX);
	d.hosts = ctl_table_new(&ctl_table_hosts);
	d.removed = ctl_table_new(&ctl_table_removed);
	ret =
	    adminclient_list(&ctl->ac, "HOST-LIST", NULL, 0, ctl_dump_host, &d);
	if (ret == 0)
		ret = adminclient_list(&ctl->ac, "HOST-LIST-REMOVED", NULL, 0,
		    ctl_table_removed.row, d.removed);
	if (ret == 0)
		ret = ctl_print_dump(&d);
	buf_deinit(&d.adds);
	buf_deinit(&d.downs);
	adminwire_table_free(&d.hosts);
	adminwire_table_free(&d.removed);
	return ret;
}

/* ---- add, update, up, down, remove, flush, move, kick ------------- */

/* Options of `add`. */
struct ctl_add_opts {
	const char *tag;
};

static int
ctl_add_opt(void *ctx, int ch, const char *arg)
{
	struct ctl_add_opts *o = ctx;

	if (ch != 't')
		return -1;
	o->tag = arg;
	return 0;
}

/* add [-t TAG] HOST[@TAG] [VHOSTS] and update HOST VHOSTS: HOST-SET or
 * HOST-UPDATE for every address of HOST. */
int
ctl_cmd_add(struct ctl *ctl, int argc, char **argv)
{
	char ips[CTL_ADDRS_MAX][INET6_ADDRSTRLEN];
	struct ctl_add_opts o = {NULL};
	const char *verb = argv[0], *args[2];
	bool update = strcmp(verb, "update") == 0;
	struct ctl_results res = {NULL, 0};
	char *host, *at, *spec;
	uint64_t vhosts;
	int i, n, ret;

	if ((ret = ctl_verb_opts(verb, &argc, &argv, update ? "+" : "+t:", NULL,
		 ctl_add_opt, &o)) != 0)
		return ret;
	if (argc < (update ? 2 : 1) || argc > 2)
		return ctl_usage_of(verb);
	if (argc == 2 &&
	    ctl_arg_uint("vhost count", argv[1], UINT32_MAX, &vhosts) == -1)
		return ctl_usage_of(verb);
	host = xstrdup(argv[0]);
	if ((at = strchr(host, '@')) != NULL) {
		*at++ = '\0';
		if (update || o.tag != NULL) {
			free(host);
			fprintf(stderr,
			    "directorctl: %s: give the tag once, "
			    "and only to add\n",
			    argv[0]);
			return ctl_usage_of(verb);
		}
		o.tag = at;
	}
	n = ctl_resolve(host, ips, nitems(ips));
	if (n == -1) {
		free(host);
		return EX_NOHOST;
	}
	if ((ret = ctl_results_begin(ctl, &res)) != 0) {
		free(host);
		return ret;
	}
	for (i = 0; i < n; i++) {
		spec = o.tag != NULL && *o.tag != '\0'
		    ? xasprintf("%s@%s", ips[i], o.tag)
		    : xstrdup(ips[i]);
		args[0] = spec;
		args[1] = argc == 2 ? argv[1] : NULL;
		ctl_change(ctl, &res, update ? "HOST-UPDATE" : "HOST-SET", args,
		    (size_t)argc, ips[i], update ? "updated" : "added");
		free(spec);
	}
	free(host);
	return ctl_results_end(ctl, &res);
}

/* up, down, remove HOST: one command per address of HOST. */
int
ctl_cmd_host(struct ctl *ctl, int argc, char **argv)
{
	static const struct {
		const char *verb, *cmd, *done;
	} map[] = {
	    {"up", "HOST-UP", "up"},
	    {"down", "HOST-DOWN", "down"},
	    {"remove", "HOST-REMOVE", "removed"},
	};
	char ips[CTL_ADDRS_MAX][INET6_ADDRSTRLEN];
	struct ctl_results res = {NULL, 0};
	const char *verb = argv[0], *args[1];
	size_t m;
	int i, n, ret;

	for (m = 0; strcmp(map[m].verb, verb) != 0; m++)
		;
	if ((ret = ctl_verb_opts(
		 verb, &argc, &argv, "+", NULL, ctl_no_opt, NULL)) != 0)
		return ret;
	if (argc != 1)
		return ctl_usage_of(verb);
	if ((n = ctl_resolve(argv[0], ips, nitems(ips))) == -1)
		return EX_NOHOST;
	if ((ret = ctl_results_begin(ctl, &res)) != 0)
		return ret;
	for (i = 0; i < n; i++) {
		args[0] = ips[i];
		ctl_change(ctl, &res, map[m].cmd, args, 1, ips[i], map[m].done);
	}
	return ctl_results_end(ctl, &res);
}

/* Options of `flush`. */
struct ctl_flush_opts {
	bool force;
	const char *max_parallel;
};

static int
ctl_flush_opt(void *ctx, int ch, const char *arg)
{
	struct ctl_flush_opts *o = ctx;
	uint64_t v;

	switch (ch) {
	case 'F':
		o->force = true;
		return 0;
	case 'm':
		/* 0 is refused by the director: ask for at least one */
		if (ctl_arg_uint("--max-parallel", arg, CTL_MAX_PARALLEL_MAX,
			&v) == -1 ||
		    v == 0)
			return -1;
		o->max_parallel = arg;
		return 0;
	default:
		return -1;
	}
}

/* flush [--force] [--max-parallel N] HOST|all: HOST-RESET-USERS (moves
 * the users whose hash now maps elsewhere, with kicks) or, with --force,
 * HOST-FLUSH (forgets the mappings without kicks). */
int
ctl_cmd_flush(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"force", no_argument, NULL, 'F'},
	    {"max-parallel", required_argument, NULL, 'm'},
	    {NULL, 0, NULL, 0},
	};
	char ips[CTL_ADDRS_MAX][INET6_ADDRSTRLEN];
	struct ctl_flush_opts o = {false, NULL};
	struct ctl_results res = {NULL, 0};
	const char *args[2];
	bool all;
	int i, n = 1, ret;

	if ((ret = ctl_verb_opts(argv[0], &argc, &argv, "+F", longopts,
		 ctl_flush_opt, &o)) != 0)
		return ret;
	if (argc != 1 || (o.force && o.max_parallel != NULL))
		return ctl_usage_of("flush");
	all = strcmp(argv[0], "all") == 0;
	if (!all && (n = ctl_resolve(argv[0], ips, nitems(ips))) == -1)
		return EX_NOHOST;
	if ((ret = ctl_results_begin(ctl, &res)) != 0)
		return ret;
	for (i = 0; i < n; i++) {
		const char *target = all ? "all" : ips[i];

		/* an empty IP means every host, as Dovecot's doveadm sends
		 * it ("HOST-RESET-USERS\t\tN") */
		args[0] = all ? "" : ips[i];
		args[1] = o.max_parallel;
		if (o.force)
			ctl_change(ctl, &res, "HOST-FLUSH", args, all ? 0 : 1,
			    target, "flushed (unsafe, no kicks)");
		else
			ctl_change(ctl, &res, "HOST-RESET-USERS", args,
			    o.max_parallel != NULL ? 2 : (all ? 0 : 1), target,
			    "flushed");
	}
	return ctl_results_end(ctl, &res);
}

/* move USER HOST: USER-MOVE with the user name (the director hashes it;
 * a decimal name is taken as a user hash, as in Dovecot). */
int
ctl_cmd_move(struct ctl *ctl, int argc, char **argv)
{
	char ips[1][INET6_ADDRSTRLEN];
	struct ctl_results res = {NULL, 0};
	const char *args[2];
	char *done;
	int ret;

	if ((ret = ctl_verb_opts(
		 argv[0], &argc, &argv, "+", NULL, ctl_no_opt, NULL)) != 0)
		return ret;
	if (argc != 2)
		return ctl_usage_of("move");
	if (ctl_resolve(argv[1], ips, 1) == -1)
		return EX_NOHOST;
	if ((ret = ctl_results_begin(ctl, &res)) != 0)
		return ret;
	args[0] = argv[0];
	args[1] = ips[0];
	done = xasprintf("moved to %s", ips[0]);
	ctl_change(ctl, &res, "USER-MOVE", args, 2, argv[0], done);
	free(done);
	return ctl_results_end(ctl, &res);
}

/* kick [-f FIELD] VALUE: USER-KICK, or USER-KICK-ALT by a passdb field. */
static int
ctl_kick_opt(void *ctx, int ch, const char *arg)
{
	const char **field = ctx;

	if (ch != 'f' || *arg == '\0')
		return -1;
	*field = arg;
	return 0;
}

int
ctl_cmd_kick(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_results res = {NULL, 0};
	const char *field = NULL, *args[2];
	int ret;

	if ((ret = ctl_verb_opts(argv[0], &argc, &argv, "+f:", NULL,
		 ctl_kick_opt, &field)) != 0)
		return ret;
	if (argc != 1)
		return ctl_usage_of("kick");
	if ((ret = ctl_results_begin(ctl, &res)) != 0)
		return ret;
	if (field != NULL) {
		args[0] = field;
		args[1] = argv[0];
		ctl_change(
		    ctl, &res, "USER-KICK-ALT", args, 2, argv[0], "kicked");
	} else {
		args[0] = argv[0];
		ctl_change(ctl, &res, "USER-KICK", args, 1, argv[0], "kicked");
	}
	return ctl_results_end(ctl, &res);
}

/* ---- ring --------------------------------------------------------- */

int
ctl_cmd_ring(struct ctl *ctl, int argc, char **argv)
{
	char ip[INET6_ADDRSTRLEN], port[CTL_PORT_STR_MAX], *target;
	struct ctl_results res = {NULL, 0};
	const char *args[2];
	bool add;
	int ret;

	if ((ret = ctl_verb_opts(
		 argv[0], &argc, &argv, "+", NULL, ctl_no_opt, NULL)) != 0)
		return ret;
	if (argc == 1 && strcmp(argv[0], "status") == 0)
		return ctl_show_list(
		    ctl, "DIRECTOR-LIST", NULL, 0, &ctl_table_ring);
	if (argc < 2 || argc > 3 ||
	    (strcmp(argv[0], "add") != 0 && strcmp(argv[0], "remove") != 0))
		return ctl_usage_of("ring");
	add = strcmp(argv[0], "add") == 0;
	if (ctl_resolve_hostport(argc - 1, argv + 1, ip, port) == -1)
		return ctl_usage_of("ring");
	if ((ret = ctl_results_begin(ctl, &res)) != 0)
		return ret;
	args[0] = ip;
	args[1] = port;
	target = *port != '\0'
	    ? xasprintf(strchr(ip, ':') != NULL ? "[%s]:%s" : "%s:%s", ip, port)
	    : xstrdup(ip);
	ctl_change(ctl, &res, add ? "DIRECTOR-ADD" : "DIRECTOR-REMOVE", args,
	    *port != '\0' ? 2 : 1, target, add ? "added" : "removed");
	free(target);
	return ctl_results_end(ctl, &res);
}
