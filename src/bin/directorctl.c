/*
 * directorctl.c - the operator command line of the mail director.
 *
 *   directorctl [-c FILE] [-a PATH|HOST:PORT] [-t SECS] [--json] VERB
 *       [ARG...]
 *
 * The grammar is a table of verbs.  Verbs flagged CTL_NEEDS_SOCKET talk to
 * a running directord (or a Dovecot 2.3 director) over the
 * director-doveadm v1.0 admin protocol (adminwire.h); the others are
 * computed offline from the configuration with the routing core, so they
 * show what directord would do without touching a backend.
 *
 * Exit status (sysexits.h, documented in directorctl(8)): 0 success,
 * EX_USAGE (64) usage error, EX_DATAERR (65) a username that cannot be
 * hashed or a request the server refused, EX_NOHOST (68) NOTFOUND or a
 * host name that does not resolve, EX_UNAVAILABLE (69) no admin socket,
 * EX_TEMPFAIL (75) TRYAGAIN, refused connection, timeout or a connection
 * closed early, EX_PROTOCOL (76) a bad handshake or malformed reply, EX_NOPERM (77) permission
 * denied on the socket, EX_CONFIG (78) the configuration does not load.
 * Argument errors are reported before the configuration is read and
 * before connecting.
 */
#include "compat.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "adminclient.h"
#include "adminwire.h"
#include "buf.h"
#include "conf.h"
#include "hosts.h"
#include "strnum.h"
#include "userhash.h"
#include "xmalloc.h"

/* Synthetic users of `simulate` when -n is not given, and the most
 * accepted (users are named user0 .. userN-1). */
#define CTL_SIMULATE_USERS_DEFAULT 100000
#define CTL_SIMULATE_USERS_MAX 100000000
/* Buffer for a synthetic username, "user" plus a 64-bit number. */
#define CTL_SYNTH_NAME_MAX 32
/* User expiry handed to hosts_new(); simulate never routes, only selects. */
#define CTL_EXPIRE_SECS 900
#define CTL_METHOD_COUNT 2

/* Verb flags. */
#define CTL_NEEDS_SOCKET 0x01 /* talks to a running directord */

/* Admin connection: default -t, the most addresses a host name may
 * resolve to, and the most output kept before
 * printing (USER-LIST of a large director). */
#define CTL_TIMEOUT_SECS_DEFAULT 30
#define CTL_TIMEOUT_SECS_MAX 86400
#define CTL_ADDRS_MAX 16
#define CTL_OUTPUT_MAX ((size_t)1 << 30)
#define CTL_REQUEST_MAX (ADMINWIRE_LINE_MAX + 1)
/* Dovecot's limits on HOST-SET and HOST-RESET-USERS arguments. */
#define CTL_MAX_PARALLEL_MAX 100000
#define CTL_PORT_STR_MAX 8

/* State of one invocation; conf and tmpl are owned here, loaded by the
 * handler (ctl_load_conf) and freed by main().  ac is the admin
 * connection (ctl_connect), closed by main(). */
struct ctl {
	const char *conf_path;
	bool conf_given; /* -c was used (dump repeats it) */
	struct conf *conf;
	struct userhash_template *tmpl;

	const char *admin; /* -a, or NULL: admin_socket of the config */
	unsigned int timeout_secs; /* -t; 0 waits for ever */
	bool json; /* --json */
	bool connected; /* ac needs adminclient_close() */
	struct adminclient ac;
};

/* One line of the grammar: argv[0] of the handler is the verb itself, and
 * the handler returns the exit status. */
struct ctl_verb {
	const char *name;
	int (*handler)(struct ctl *ctl, int argc, char **argv);
	const char *usage;
	unsigned int flags;
};

static int ctl_cmd_hash(struct ctl *ctl, int argc, char **argv);
static int ctl_cmd_simulate(struct ctl *ctl, int argc, char **argv);
static int ctl_cmd_status(struct ctl *ctl, int argc, char **argv);
static int ctl_cmd_map(struct ctl *ctl, int argc, char **argv);
static int ctl_cmd_add(struct ctl *ctl, int argc, char **argv);
static int ctl_cmd_host(struct ctl *ctl, int argc, char **argv);
static int ctl_cmd_move(struct ctl *ctl, int argc, char **argv);
static int ctl_cmd_kick(struct ctl *ctl, int argc, char **argv);
static int ctl_cmd_flush(struct ctl *ctl, int argc, char **argv);
static int ctl_cmd_dump(struct ctl *ctl, int argc, char **argv);
static int ctl_cmd_ring(struct ctl *ctl, int argc, char **argv);

static const struct ctl_verb ctl_verbs[] = {
    {"hash", ctl_cmd_hash, "hash USER...", 0},
    {"simulate", ctl_cmd_simulate,
	"simulate [-m dovecot|rendezvous|both] [-n N] [USER...]", 0},
    {"status", ctl_cmd_status, "status [USER [TAG]]", CTL_NEEDS_SOCKET},
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

/* Loads the configuration and compiles its username hash template.
 * Returns 0, or EX_CONFIG after printing the error. */
static int
ctl_load_conf(struct ctl *ctl)
{
	const char *tmpl_err = NULL;
	char *error = NULL;

	ctl->conf = conf_load_file(ctl->conf_path, &error);
	if (ctl->conf == NULL) {
		fprintf(stderr, "directorctl: %s\n", error);
		free(error);
		return EX_CONFIG;
	}
	/* conf_load_file() has already checked the template; a failure here
	 * would be a disagreement between the two modules. */
	ctl->tmpl = userhash_template_new(ctl->conf->username_hash, &tmpl_err);
	if (ctl->tmpl == NULL) {
		fprintf(stderr, "directorctl: %s: director_username_hash: %s\n",
		    ctl->conf->username_hash_loc != NULL
			? ctl->conf->username_hash_loc
			: ctl->conf_path,
		    tmpl_err);
		return EX_CONFIG;
	}
	return 0;
}

/* Hashes username the way directord does.  Returns 0 or -1 after
 * printing why. */
static int
ctl_user_hash(const struct ctl *ctl, const char *username, uint32_t *hash_r)
{
	const char *err = NULL;

	if (userhash_compute(ctl->tmpl, username,
		ctl->conf->auth_master_user_separator, hash_r, &err) == -1) {
		fprintf(stderr, "directorctl: %s: %s\n", username, err);
		return -1;
	}
	return 0;
}

static int
ctl_cmd_hash(struct ctl *ctl, int argc, char **argv)
{
	uint32_t hash;
	int i, ret = 0;

	if (argc < 2)
		return ctl_verb_usage(&ctl_verbs[0]);
	if ((ret = ctl_load_conf(ctl)) != 0)
		return ret;
	for (i = 1; i < argc; i++) {
		if (ctl_user_hash(ctl, argv[i], &hash) == -1) {
			ret = EX_DATAERR;
			continue;
		}
		printf("%s\t%u\n", argv[i], hash);
	}
	return ret;
}

/* The backend list of the configuration under one method. */
struct ctl_sim {
	enum select_method method;
	struct hosts *hosts;
};

/* Builds the hosts of conf->mail_server_entries (vhost count
 * HOST_VHOST_COUNT_DEFAULT each, tags kept).  Returns NULL after printing
 * an error. */
static struct hosts *
ctl_build_hosts(const struct conf *conf, enum select_method method)
{
	struct hosts *hosts;
	const char *err = NULL;
	size_t i;

	hosts = hosts_new(method, CTL_EXPIRE_SECS);
	for (i = 0; i < conf->mail_server_count; i++) {
		const struct hosts_spec_entry *e =
		    &conf->mail_server_entries[i];

		if (hosts_add(hosts, &e->ip, e->tag, HOST_VHOST_COUNT_DEFAULT,
			&err) == NULL) {
			fprintf(stderr, "directorctl: %s: %s\n",
			    conf->mail_servers_loc != NULL
				? conf->mail_servers_loc
				: conf->path,
			    err);
			hosts_free(&hosts);
			return NULL;
		}
	}
	return hosts;
}

static const char *
ctl_host_str(const struct host *host)
{
	return host != NULL ? host->ip_str : "-";
}

/* Width of the widest backend IP of hosts, at least min. */
static int
ctl_ip_width(const struct hosts *hosts, int min)
{
	size_t i, n = hosts_count(hosts);
	int w = min;

	for (i = 0; i < n; i++) {
		int len = (int)strlen(hosts_get(hosts, i)->ip_str);

		if (len > w)
			w = len;
	}
	return w;
}

/* Part (1): the backend each named user gets in the default tag. */
static int
ctl_sim_users(const struct ctl *ctl, struct ctl_sim *sims, size_t nsims,
    int argc, char **argv)
{
	int i, uw = (int)strlen("user"), hw;
	size_t m;
	uint32_t hash;
	int ret = 0;

	for (i = 0; i < argc; i++) {
		int len = (int)strlen(argv[i]);

		if (len > uw)
			uw = len;
	}
	hw = ctl_ip_width(sims[0].hosts, (int)strlen("rendezvous"));
	printf("%-*s  %10s", uw, "user", "hash");
	for (m = 0; m < nsims; m++)
		printf("  %-*s", m + 1 < nsims ? hw : 0,
		    select_method_name(sims[m].method));
	printf("\n");
	for (i = 0; i < argc; i++) {
		if (ctl_user_hash(ctl, argv[i], &hash) == -1) {
			ret = EX_DATAERR;
			continue;
		}
		printf("%-*s  %10u", uw, argv[i], hash);
		for (m = 0; m < nsims; m++)
			printf("  %-*s", m + 1 < nsims ? hw : 0,
			    ctl_host_str(
				hosts_select(sims[m].hosts, "", hash)));
		printf("\n");
	}
	return ret;
}

/* Per host of one tag and method, how many of the synthetic users land
 * there; counts[m] is indexed like hosts_get() (the IP order, the same for
 * every method because all sims hold the same hosts). */
struct ctl_balance {
	size_t *counts[CTL_METHOD_COUNT];
	size_t same; /* users both methods put on the same host */
	size_t placed; /* users that got a host at all */
};

/* Part (2) and (3) for tag: counts N synthetic users and prints the
 * balance table. */
static int
ctl_sim_balance(const struct ctl *ctl, struct ctl_sim *sims, size_t nsims,
    const char *tag, unsigned long nusers)
{
	struct ctl_balance bal;
	size_t nhosts = hosts_count(sims[0].hosts), i, m, ntag = 0;
	char name[CTL_SYNTH_NAME_MAX];
	unsigned int weight_total = 0;
	unsigned long u;
	uint32_t hash;
	int hw;

	memset(&bal, 0, sizeof(bal));
	for (m = 0; m < nsims; m++) {
		bal.counts[m] = calloc(nhosts, sizeof(*bal.counts[m]));
		if (bal.counts[m] == NULL) {
			fprintf(stderr, "directorctl: out of memory\n");
			for (i = 0; i < m; i++)
				free(bal.counts[i]);
			return 1;
		}
	}
	for (u = 0; u < nusers; u++) {
		const struct host *picked[CTL_METHOD_COUNT] = {NULL, NULL};

		snprintf(name, sizeof(name), "user%lu", u);
		if (ctl_user_hash(ctl, name, &hash) == -1)
			continue;
		for (m = 0; m < nsims; m++) {
			picked[m] = hosts_select(sims[m].hosts, tag, hash);
			if (picked[m] == NULL)
				continue;
			/* the host's index in IP order: same in every sim */
			for (i = 0; i < nhosts; i++) {
				if (ipaddr_equals(
					&hosts_get(sims[m].hosts, i)->ip,
					&picked[m]->ip)) {
					bal.counts[m][i]++;
					break;
				}
			}
		}
		if (picked[0] != NULL)
			bal.placed++;
		if (nsims == 2 && picked[0] != NULL && picked[1] != NULL &&
		    ipaddr_equals(&picked[0]->ip, &picked[1]->ip))
			bal.same++;
	}

	for (i = 0; i < nhosts; i++) {
		const struct host *h = hosts_get(sims[0].hosts, i);

		if (strcmp(hosts_tag_name(h->tag), tag) == 0) {
			weight_total += h->vhost_count;
			ntag++;
		}
	}
	hw = ctl_ip_width(sims[0].hosts, (int)strlen("peak/mean"));
	printf("\nbalance of %lu users (user0..user%lu), tag %s%s%s:\n", nusers,
	    nusers > 0 ? nusers - 1 : 0, *tag == '\0' ? "(default)" : "\"", tag,
	    *tag == '\0' ? "" : "\"");
	printf("%-*s  %7s", hw, "backend", "ideal");
	for (m = 0; m < nsims; m++)
		printf(
		    "  %10s %7s", select_method_name(sims[m].method), "share");
	printf("\n");
	for (i = 0; i < nhosts; i++) {
		const struct host *h = hosts_get(sims[0].hosts, i);

		if (strcmp(hosts_tag_name(h->tag), tag) != 0)
			continue;
		printf("%-*s  %6.2f%%", hw, h->ip_str,
		    weight_total > 0 ? 100.0 * h->vhost_count / weight_total
				     : 0.0);
		for (m = 0; m < nsims; m++)
			printf("  %10zu %6.2f%%", bal.counts[m][i],
			    nusers > 0 ? 100.0 * (double)bal.counts[m][i] /
				    (double)nusers
				       : 0.0);
		printf("\n");
	}
	printf("%-*s  %7s", hw, "peak/mean", "1.000");
	for (m = 0; m < nsims; m++) {
		size_t peak = 0;

		for (i = 0; i < nhosts; i++)
			if (bal.counts[m][i] > peak)
				peak = bal.counts[m][i];
		printf("  %10.3f%s",
		    nusers > 0 && ntag > 0
			? (double)peak * (double)ntag / (double)nusers
			: 0.0,
		    m + 1 < nsims ? "        " : "");
	}
	printf("\n");
	if (nsims == 2 && nusers > 0)
		printf("same backend under both methods: %zu of %lu users "
		       "(%.2f%%)\n",
		    bal.same, nusers,
		    100.0 * (double)bal.same / (double)nusers);
	for (m = 0; m < nsims; m++)
		free(bal.counts[m]);
	return 0;
}

static int
ctl_cmd_simulate(struct ctl *ctl, int argc, char **argv)
{
	const struct ctl_verb *verb = &ctl_verbs[1];
	struct ctl_sim sims[CTL_METHOD_COUNT];
	unsigned long nusers = CTL_SIMULATE_USERS_DEFAULT;
	const char *errstr = NULL;
	size_t nsims = 0, t, m;
	bool both = false;
	int ch, ret = 0, r;

	optind = 0;
	while ((ch = getopt(argc, argv, "+m:n:")) != -1) {
		switch (ch) {
		case 'm':
			if (strcmp(optarg, "both") == 0) {
				both = true;
			} else if (select_method_parse(
				       optarg, &sims[0].method) == 0) {
				both = false;
				nsims = 1;
			} else {
				fprintf(stderr,
				    "directorctl: unknown method "
				    "'%s'\n",
				    optarg);
				return ctl_verb_usage(verb);
			}
			break;
		case 'n':
			nusers = (unsigned long)strtonum(
			    optarg, 0, CTL_SIMULATE_USERS_MAX, &errstr);
			if (errstr != NULL) {
				fprintf(stderr, "directorctl: -n %s: %s\n",
				    optarg, errstr);
				return ctl_verb_usage(verb);
			}
			break;
		default:
			return ctl_verb_usage(verb);
		}
	}
	argc -= optind;
	argv += optind;
	if ((ret = ctl_load_conf(ctl)) != 0)
		return ret;
	if (both || nsims == 0) {
		/* default: both, the configured method first */
		sims[0].method = ctl->conf->hashing == CONF_HASHING_DOVECOT
		    ? SELECT_METHOD_DOVECOT
		    : SELECT_METHOD_RENDEZVOUS;
		sims[1].method = sims[0].method == SELECT_METHOD_DOVECOT
		    ? SELECT_METHOD_RENDEZVOUS
		    : SELECT_METHOD_DOVECOT;
		nsims = 2;
	}
	for (m = 0; m < nsims; m++)
		sims[m].hosts = NULL;
	for (m = 0; m < nsims; m++) {
		sims[m].hosts = ctl_build_hosts(ctl->conf, sims[m].method);
		if (sims[m].hosts == NULL) {
			ret = EX_CONFIG;
			goto out;
		}
	}
	printf("%zu backends from %s (vhost count %u each), configured "
	       "method %s\n",
	    hosts_count(sims[0].hosts), ctl->conf->path,
	    HOST_VHOST_COUNT_DEFAULT, conf_hashing_name(ctl->conf->hashing));
	if (argc > 0) {
		printf("\n");
		ret = ctl_sim_users(ctl, sims, nsims, argc, argv);
	}
	if (nusers > 0) {
		for (t = 0; t < hosts_tag_count(sims[0].hosts); t++) {
			r = ctl_sim_balance(ctl, sims, nsims,
			    hosts_tag_name(hosts_tag_get(sims[0].hosts, t)),
			    nusers);
			if (r != 0)
				ret = r;
		}
	}
out:
	for (m = 0; m < nsims; m++)
		hosts_free(&sims[m].hosts);
	return ret;
}

/* ---- the admin connection ----------------------------------------- */

/* Connects to the admin endpoint (-a, else admin_socket of the
 * configuration) and does the handshake.  Returns 0, or an exit status
 * after printing why. */
static int
ctl_connect(struct ctl *ctl)
{
	const char *endpoint = ctl->admin;
	int ret;

	if (endpoint == NULL) {
		if ((ret = ctl_load_conf(ctl)) != 0)
			return ret;
		endpoint = ctl->conf->admin_socket;
	}
	ctl->connected = true;
	return adminclient_open(&ctl->ac, endpoint, ctl->timeout_secs);
}
/* Writes out to stdout.  Returns 0, or EX_IOERR. */
static int
ctl_print(struct buf *out)
{
	if (out->len > 0 && fwrite(out->data, 1, out->len, stdout) != out->len)
		return EX_IOERR;
	return fflush(stdout) == 0 ? 0 : EX_IOERR;
}

/* Prints t as text or JSON (--json) and frees it.  Returns 0 or an exit
 * status. */
static int
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

/* The listing verbs: connects, sends cmd, turns each reply line into a
 * row of a table of cols with fn, and prints the table.  Returns the exit
 * status. */
static int
ctl_show_list(struct ctl *ctl, const char *cmd, const char *const *args,
    size_t nargs, const struct adminwire_col *cols, size_t ncols,
    adminclient_row_fn *fn)
{
	struct adminwire_table *t;
	int ret;

	if ((ret = ctl_connect(ctl)) != 0)
		return ret;
	t = adminwire_table_new(cols, ncols);
	if ((ret = adminclient_list(&ctl->ac, cmd, args, nargs, fn, t)) != 0) {
		adminwire_table_free(&t);
		return ret;
	}
	return ctl_print_table(ctl, &t);
}

/* ---- arguments ---------------------------------------------------- */

/* Resolves a backend or director name to at most max IP strings (an IP
 * literal stays itself).  Returns the count (>= 1), or -1 after printing
 * why. */
static int
ctl_resolve(const char *name, char ips_r[][INET6_ADDRSTRLEN], size_t max)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct in6_addr a6;
	size_t n = 0, i;
	int gai;

	if (inet_pton(AF_INET, name, &a6) == 1 ||
	    inet_pton(AF_INET6, name, &a6) == 1) {
		strlcpy(ips_r[0], name, INET6_ADDRSTRLEN);
		return 1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	gai = getaddrinfo(name, NULL, &hints, &res);
	if (gai != 0) {
		fprintf(
		    stderr, "directorctl: %s: %s\n", name, gai_strerror(gai));
		return -1;
	}
	for (ai = res; ai != NULL && n < max; ai = ai->ai_next) {
		const void *addr = ai->ai_family == AF_INET
		    ? (const void *)&((struct sockaddr_in *)ai->ai_addr)
			  ->sin_addr
		    : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)
			  ->sin6_addr;

		if (inet_ntop(ai->ai_family, addr, ips_r[n],
			INET6_ADDRSTRLEN) == NULL)
			continue;
		for (i = 0; i < n; i++)
			if (strcmp(ips_r[i], ips_r[n]) == 0)
				break;
		if (i == n)
			n++;
	}
	freeaddrinfo(res);
	if (n == 0) {
		fprintf(stderr, "directorctl: %s: no address\n", name);
		return -1;
	}
	return (int)n;
}

/* Parses a decimal argument in [0, max].  Returns 0, or -1 after printing
 * why. */
static int
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

/* Looks verb name up in the table (it is there: called by handlers). */
static const struct ctl_verb *ctl_verb_find(const char *name);

static int
ctl_usage_of(const char *name)
{
	return ctl_verb_usage(ctl_verb_find(name));
}

/* Parses the options of a verb from optstring/longopts (getopt_long from
 * argv[1]); each option found is handed to fn.  Returns 0 with
 * argc and argv moved past the options, or EX_USAGE after printing the
 * usage. */
typedef int ctl_opt_fn(void *ctx, int ch, const char *arg);

static int
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

/* Handlers of verbs without options still reject "-x" (and skip "--"). */
static int
ctl_no_opt(void *ctx, int ch, const char *arg)
{
	return -1;
}

/* ---- status, map, dump -------------------------------------------- */

static const struct adminwire_col ctl_host_cols[] = {
    {"host", "host", ADMINWIRE_COL_STR},
    {"name", "name", ADMINWIRE_COL_OPT},
    {"tag", "tag", ADMINWIRE_COL_OPT},
    {"vhosts", "vhosts", ADMINWIRE_COL_NUM},
    {"users", "users", ADMINWIRE_COL_NUM},
    {"state", "state", ADMINWIRE_COL_STR},
    {"changed", "changed", ADMINWIRE_COL_TIME},
};

static int
ctl_host_row(void *ctx, char **fields, size_t count)
{
	struct adminwire_table *t = ctx;
	struct adminwire_host h;

	if (adminwire_parse_host(fields, count, &h) == -1)
		return -1;
	/* fields[5] is the change time as sent; the rest is checked */
	const char *cells[] = {h.ip, h.name, h.tag, fields[1], fields[2],
	    h.up ? "up" : "down", fields[5]};
	adminwire_table_add(t, cells);
	return 0;
}

/* Appends one "key: value" line of `status USER`; value is escaped. */
static void
ctl_lookup_line(struct buf *out, const char *key, const char *value)
{
	(void)buf_printf(out, "%-16s", key);
	(void)adminwire_text_str(out, *value != '\0' ? value : "none");
}

static int
ctl_status_user(struct ctl *ctl, const char *user, const char *tag)
{
	const char *args[] = {user, tag};
	char *fields[ADMINWIRE_FIELDS_MAX];
	struct adminwire_lookup lk;
	struct buf out;
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
	buf_init(&out, CTL_OUTPUT_MAX);
	if (ctl->json) {
		(void)buf_append_str(&out, "{\"user\": ");
		(void)adminwire_json_str(&out, user);
		(void)buf_append_str(&out, ", \"tag\": ");
		if (tag != NULL && *tag != '\0')
			(void)adminwire_json_str(&out, tag);
		else
			(void)buf_append_str(&out, "null");
		(void)buf_append_str(&out, ", \"current\": ");
		if (*lk.current != '\0') {
			(void)adminwire_json_str(&out, lk.current);
			(void)buf_printf(
			    &out, ", \"expires\": %lld", (long long)lk.expires);
		} else
			(void)buf_append_str(&out, "null, \"expires\": null");
		(void)buf_append_str(&out, ", \"hashed\": ");
		(void)adminwire_json_str(&out, lk.hashed);
		(void)buf_append_str(&out, ", \"initial_config\": ");
		(void)adminwire_json_str(&out, lk.initial);
		(void)buf_append_str(&out, "}\n");
	} else {
		ctl_lookup_line(&out, "user:", user);
		(void)buf_append_str(&out, "\n");
		ctl_lookup_line(&out, "current:", lk.current);
		if (*lk.current != '\0') {
			(void)buf_append_str(&out, " (expires ");
			(void)adminwire_text_time(&out, lk.expires);
			(void)buf_append_str(&out, ")");
		}
		(void)buf_append_str(&out, "\n");
		ctl_lookup_line(&out, "hashed:", lk.hashed);
		(void)buf_append_str(&out, "\n");
		ctl_lookup_line(&out, "initial config:", lk.initial);
		(void)buf_append_str(&out, "\n");
	}
	ret = ctl_print(&out);
	buf_deinit(&out);
	return ret;
}

static int
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
	return ctl_show_list(ctl, "HOST-LIST", NULL, 0, ctl_host_cols,
	    nitems(ctl_host_cols), ctl_host_row);
}

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

static int
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
	return ctl_show_list(ctl, "USER-LIST", args, (size_t)argc,
	    ctl_user_cols, nitems(ctl_user_cols), ctl_user_row);
}

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

/* Collects the removed hosts of HOST-LIST-REMOVED. */
static int
ctl_removed_row(void *ctx, char **fields, size_t count)
{
	struct adminwire_table *t = ctx;

	if (count != 1 || fields[0][0] == '\0')
		return -1;
	adminwire_table_add(t, (const char *const *)fields);
	return 0;
}

static const struct adminwire_col ctl_removed_cols[] = {
    {"host", "host", ADMINWIRE_COL_STR},
};

/* What `dump` collects: the replay commands as text, and the same
 * hosts as tables for --json. */
struct ctl_dump {
	const struct ctl *ctl;
	struct buf adds; /* add commands */
	struct buf downs; /* down commands, after every add */
	struct adminwire_table *hosts;
	struct adminwire_table *removed;
};

static int
ctl_dump_host(void *ctx, char **fields, size_t count)
{
	struct ctl_dump *d = ctx;
	struct adminwire_host h;
	struct buf word;

	if (ctl_host_row(d->hosts, fields, count) == -1 ||
	    adminwire_parse_host(fields, count, &h) == -1)
		return -1;
	buf_init(&word, CTL_REQUEST_MAX * 2);
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

static int
ctl_cmd_dump(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_dump d = {.ctl = ctl};
	struct buf out;
	size_t i;
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
	buf_init(&out, CTL_OUTPUT_MAX);
	d.hosts = adminwire_table_new(ctl_host_cols, nitems(ctl_host_cols));
	d.removed =
	    adminwire_table_new(ctl_removed_cols, nitems(ctl_removed_cols));
	ret =
	    adminclient_list(&ctl->ac, "HOST-LIST", NULL, 0, ctl_dump_host, &d);
	if (ret == 0)
		ret = adminclient_list(&ctl->ac, "HOST-LIST-REMOVED", NULL, 0,
		    ctl_removed_row, d.removed);
	if (ret == 0 && ctl->json) {
		(void)buf_append_str(&out, "{\"hosts\": ");
		(void)adminwire_table_json(d.hosts, &out);
		(void)buf_append_str(&out, ", \"removed\": [");
		for (i = 0; i < adminwire_table_rows(d.removed); i++) {
			if (i > 0)
				(void)buf_append_str(&out, ", ");
			(void)adminwire_json_str(
			    &out, adminwire_table_cell(d.removed, i, 0));
		}
		(void)buf_append_str(&out, "]}\n");
	} else if (ret == 0) {
		(void)buf_append(&out, d.adds.data, d.adds.len);
		(void)buf_append(&out, d.downs.data, d.downs.len);
		for (i = 0; i < adminwire_table_rows(d.removed); i++) {
			ctl_dump_prefix(ctl, &out);
			(void)buf_append_str(&out, "remove ");
			ctl_shell_word(
			    &out, adminwire_table_cell(d.removed, i, 0));
			(void)buf_append_str(&out, "\n");
		}
	}
	if (ret == 0)
		ret = ctl_print(&out);
	buf_deinit(&out);
	buf_deinit(&d.adds);
	buf_deinit(&d.downs);
	adminwire_table_free(&d.hosts);
	adminwire_table_free(&d.removed);
	return ret;
}

/* ---- changes: add, update, up, down, remove, flush, move, kick ---- */

/* Results of the write verbs: one row per target, printed as
 * "target: done" lines or as a JSON array. */
static const struct adminwire_col ctl_result_cols[] = {
    {"target", "target", ADMINWIRE_COL_STR},
    {"result", "result", ADMINWIRE_COL_STR},
};

struct ctl_results {
	struct adminwire_table *t;
	int ret; /* the first failure's exit status */
};

/* Connects for a changing verb and starts its results.  Returns 0, or an
 * exit status. */
static int
ctl_results_begin(struct ctl *ctl, struct ctl_results *res)
{
	int ret;

	res->t = NULL;
	res->ret = 0;
	if ((ret = ctl_connect(ctl)) != 0)
		return ret;
	res->t = adminwire_table_new(ctl_result_cols, nitems(ctl_result_cols));
	return 0;
}

/* Runs one simple command for target and records its outcome. */
static void
ctl_change(struct ctl *ctl, struct ctl_results *res, const char *cmd,
    const char *const *args, size_t nargs, const char *target, const char *done)
{
	int ret = adminclient_simple(&ctl->ac, cmd, args, nargs);

	if (ret == 0) {
		const char *cells[] = {target, done};

		adminwire_table_add(res->t, cells);
	} else if (res->ret == 0)
		res->ret = ret;
}

/* Prints the results (text "target: done" or JSON) and frees them.
 * Returns the exit status of the whole verb. */
static int
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
static int
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
static int
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
static int
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
static int
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

static int
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

/* Parses IP[:PORT], [IP]:PORT or IP PORT into ip_r and port_r ("" when
 * none).  Returns 0, or -1 after printing why. */
static int
ctl_ring_target(int argc, char **argv, char ip_r[INET6_ADDRSTRLEN],
    char port_r[CTL_PORT_STR_MAX])
{
	char ips[1][INET6_ADDRSTRLEN];
	const char *port = argc > 1 ? argv[1] : "";
	char *host = NULL;
	uint64_t v;
	int ret;

	if (argc == 1 && strchr(argv[0], '[') != NULL) {
		if (adminclient_split_hostport(argv[0], &host, &port) == -1)
			return -1;
	} else if (argc == 1 && strchr(argv[0], ':') != NULL &&
	    strchr(argv[0], ':') == strrchr(argv[0], ':')) {
		if (adminclient_split_hostport(argv[0], &host, &port) == -1)
			return -1;
	} else
		host = xstrdup(argv[0]);
	if (*port != '\0' &&
	    (ctl_arg_uint("port", port, UINT16_MAX, &v) == -1 || v == 0)) {
		free(host);
		return -1;
	}
	strlcpy(port_r, port, CTL_PORT_STR_MAX);
	ret = ctl_resolve(host, ips, 1);
	free(host);
	if (ret == -1)
		return -1;
	strlcpy(ip_r, ips[0], INET6_ADDRSTRLEN);
	return 0;
}

static int
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
		return ctl_show_list(ctl, "DIRECTOR-LIST", NULL, 0,
		    ctl_ring_cols, nitems(ctl_ring_cols), ctl_ring_row);
	if (argc < 2 || argc > 3 ||
	    (strcmp(argv[0], "add") != 0 && strcmp(argv[0], "remove") != 0))
		return ctl_usage_of("ring");
	add = strcmp(argv[0], "add") == 0;
	if (ctl_ring_target(argc - 1, argv + 1, ip, port) == -1)
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
main(int argc, char **argv)
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
