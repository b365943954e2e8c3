/*
 * ctl_offline.c - the directorctl verbs computed from the configuration
 * alone, with the routing core: `hash` prints the user hash directord
 * computes for a login name, `simulate` the backend each user gets and
 * the balance of many synthetic users under either selection method.
 *
 * Nothing here connects to a director or a backend: the output shows what
 * directord would do with this configuration, not what it does now.
 */
#include "compat.h"

#include <getopt.h>
#include <stdio.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf.h"
#include "ctl.h"
#include "hosts.h"
#include "userhash.h"

/* Synthetic users of `simulate` when -n is not given, and the most
 * accepted (users are named user0 .. userN-1). */
#define CTL_SIMULATE_USERS_DEFAULT 100000
#define CTL_SIMULATE_USERS_MAX 100000000
/* Buffer for a synthetic username, "user" plus a 64-bit number. */
#define CTL_SYNTH_NAME_MAX 32
/* User expiry handed to hosts_new(); simulate never routes, only selects. */
#define CTL_EXPIRE_SECS 900
#define CTL_METHOD_COUNT 2

int
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

int
ctl_cmd_hash(struct ctl *ctl, int argc, char **argv)
{
	uint32_t hash;
	int i, ret = 0;

	if (argc < 2)
		return ctl_usage_of("hash");
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

int
ctl_cmd_simulate(struct ctl *ctl, int argc, char **argv)
{
	const char *verb = "simulate";
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
				return ctl_usage_of(verb);
			}
			break;
		case 'n':
			nusers = (unsigned long)strtonum(
			    optarg, 0, CTL_SIMULATE_USERS_MAX, &errstr);
			if (errstr != NULL) {
				fprintf(stderr, "directorctl: -n %s: %s\n",
				    optarg, errstr);
				return ctl_usage_of(verb);
			}
			break;
		default:
			return ctl_usage_of(verb);
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
