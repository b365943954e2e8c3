/*
 * ctl_grammar.c - the grammar of directorctl: the table of verbs (their
 * handlers, usage lines and flags), the usage text, the options of a verb,
 * numeric arguments, and ctl_main(), which parses the global options,
 * runs one verb and frees what it left behind.
 *
 *   directorctl [-c FILE] [-a PATH|HOST:PORT] [-t SECS] [--json] VERB
 *       [ARG...]
 *
 * Global options come before the verb, except --json, which is accepted
 * anywhere before a "--".  A usage error prints the usage and is EX_USAGE.
 */
#include "compat.h"

#include <getopt.h>
#include <stdio.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf.h"
#include "ctl.h"
#include "strnum.h"
#include "userhash.h"

/* Admin connection: default -t, and the largest accepted. */
#define CTL_TIMEOUT_SECS_DEFAULT 30
#define CTL_TIMEOUT_SECS_MAX 86400

/* The grammar; the usage text lists the verbs in this order. */
static const struct ctl_verb ctl_verbs[] = {
    {"hash", ctl_cmd_hash, "hash USER...", 0},
    {"simulate", ctl_cmd_simulate,
	"simulate [-m dovecot|rendezvous|both] [-n N] [USER...]", 0},
    {"status", ctl_cmd_status, "status [USER [TAG]]", CTL_NEEDS_SOCKET},
    {"health", ctl_cmd_health, "health", CTL_NEEDS_SOCKET},
    {"map", ctl_cmd_map, "map [HOST]", CTL_NEEDS_SOCKET},
    {"add", ctl_cmd_add, "add [-t TAG] HOST[@TAG] [VHOSTS]", CTL_NEEDS_SOCKET},
    {"update", ctl_cmd_add, "update HOST VHOSTS", CTL_NEEDS_SOCKET},
    {"up", ctl_cmd_host, "up HOST", CTL_NEEDS_SOCKET},
    {"down", ctl_cmd_host, "down HOST", CTL_NEEDS_SOCKET},
    {"remove", ctl_cmd_host, "remove HOST", CTL_NEEDS_SOCKET},
    {"move", ctl_cmd_move, "move USER HOST", CTL_NEEDS_SOCKET},
    {"kick", ctl_cmd_kick, "kick [-f FIELD] USER", CTL_NEEDS_SOCKET},
    {"flush", ctl_cmd_flush, "flush [-F|--force] [--max-parallel N] HOST|all",
	CTL_NEEDS_SOCKET},
    {"dump", ctl_cmd_dump, "dump", CTL_NEEDS_SOCKET},
    {"ring", ctl_cmd_ring, "ring status | ring add|remove IP[:PORT]",
	CTL_NEEDS_SOCKET},
};

static const struct ctl_verb *
ctl_verb_find(const char *name)
{
	size_t i;

	for (i = 0; i < nitems(ctl_verbs); i++)
		if (strcmp(name, ctl_verbs[i].name) == 0)
			return &ctl_verbs[i];
	return NULL;
}

static void
ctl_usage(FILE *out)
{
	size_t i;

	fprintf(out,
	    "usage: directorctl [-c FILE] [-a PATH|HOST:PORT] [-t SECS] "
	    "[--json] VERB [ARG...]\n"
	    "  -c FILE  configuration file (default %s)\n"
	    "  -a ADDR  admin socket path or HOST:PORT (default: "
	    "admin_socket of FILE)\n"
	    "  -t SECS  connect and reply timeout, 0 = none (default %d)\n"
	    "  --json   print one JSON document instead of text\n"
	    "verbs:\n",
	    DIRECTORD_CONF, CTL_TIMEOUT_SECS_DEFAULT);
	for (i = 0; i < nitems(ctl_verbs); i++)
		fprintf(out, "  directorctl %s\n", ctl_verbs[i].usage);
}

static int
ctl_verb_usage(const struct ctl_verb *verb)
{
	fprintf(stderr, "usage: directorctl %s\n", verb->usage);
	return EX_USAGE;
}

int
ctl_usage_of(const char *name)
{
	return ctl_verb_usage(ctl_verb_find(name));
}

int
ctl_verb_opts(const char *verb, int *argc, char ***argv, const char *optstring,
    const struct option *longopts, ctl_opt_fn *fn, void *ctx)
{
	int ch;

	static const struct option none[] = {{NULL, 0, NULL, 0}};

	optind = 0;
	while ((ch = getopt_long(*argc, *argv, optstring,
		    longopts != NULL ? longopts : none, NULL)) != -1) {
		if (ch == '?' || ch == ':' || fn(ctx, ch, optarg) == -1)
			return ctl_usage_of(verb);
	}
	*argc -= optind;
	*argv += optind;
	return 0;
}

int
ctl_no_opt(void *ctx, int ch, const char *arg)
{
	return -1;
}

int
ctl_arg_uint(const char *what, const char *s, uint64_t max, uint64_t *v_r)
{
	if (str_to_uint64(s, max, v_r) == -1) {
		fprintf(stderr,
		    "directorctl: %s '%s': expected a number 0..%llu\n", what,
		    s, (unsigned long long)max);
		return -1;
	}
	return 0;
}

/* Removes every "--json" before a "--" from argv (it is accepted
 * anywhere on the line) and returns the new argc. */
static int
ctl_take_json(int argc, char **argv, bool *json_r)
{
	int i, n = 1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (i < argc)
				argv[n++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], "--json") == 0)
			*json_r = true;
		else
			argv[n++] = argv[i];
	}
	argv[n] = NULL;
	return n;
}

int
ctl_main(int argc, char **argv)
{
	struct ctl ctl = {.conf_path = DIRECTORD_CONF,
	    .timeout_secs = CTL_TIMEOUT_SECS_DEFAULT};
	const struct ctl_verb *verb = NULL;
	const char *errstr = NULL;
	int ch, ret;

	argc = ctl_take_json(argc, argv, &ctl.json);
	/* "+": options after the verb belong to the verb */
	while ((ch = getopt(argc, argv, "+a:c:ht:")) != -1) {
		switch (ch) {
		case 'a':
			ctl.admin = optarg;
			break;
		case 'c':
			ctl.conf_path = optarg;
			ctl.conf_given = true;
			break;
		case 'h':
			ctl_usage(stdout);
			return 0;
		case 't':
			ctl.timeout_secs = (unsigned int)strtonum(
			    optarg, 0, CTL_TIMEOUT_SECS_MAX, &errstr);
			if (errstr != NULL) {
				fprintf(stderr, "directorctl: -t %s: %s\n",
				    optarg, errstr);
				ctl_usage(stderr);
				return EX_USAGE;
			}
			break;
		default:
			ctl_usage(stderr);
			return EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		ctl_usage(stderr);
		return EX_USAGE;
	}
	verb = ctl_verb_find(argv[0]);
	if (verb == NULL) {
		fprintf(stderr, "directorctl: unknown verb '%s'\n", argv[0]);
		ctl_usage(stderr);
		return EX_USAGE;
	}
	/* Handlers check their arguments first and then load the
	 * configuration or connect (CTL_NEEDS_SOCKET: ctl_connect), so that
	 * a usage error wins over a config or connection error. */
	ret = verb->handler(&ctl, argc, argv);
	if (ctl.connected)
		adminclient_close(&ctl.ac);
	userhash_template_free(&ctl.tmpl);
	conf_free(&ctl.conf);
	return ret;
}
