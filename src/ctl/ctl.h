/*
 * ctl.h - directorctl, the operator command line of the mail director:
 * what its files in src/ctl share.  Only src/ctl and src/bin include it.
 *
 *   ctl_grammar.c  the verb table, usage, verb options, numeric arguments,
 *                  and ctl_main() (global options, dispatch, cleanup)
 *   ctl_offline.c  the verbs computed from the configuration alone: hash,
 *                  simulate
 *   ctl_admin.c    the admin connection: connecting, list and change
 *                  requests, host names resolved to IPs
 *   ctl_output.c   everything printed on stdout, as text or --json: the
 *                  tables' columns, the rows of list replies, results
 *   ctl_verbs.c    the verbs that talk to a director: status, map, dump,
 *                  add, update, up, down, remove, flush, move, kick, ring
 *
 * Every handler checks its arguments before it loads the configuration or
 * connects, so that a usage error wins over a configuration or connection
 * error, and returns a sysexits.h exit status (directorctl(8)).  Errors
 * go to stderr in one line that starts with "directorctl: ".
 */
#ifndef DIRECTOR_CTL_H
#define DIRECTOR_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <getopt.h>

#include "adminclient.h"
#include "adminwire.h"
#include "buf.h"

/* Verb flags. */
#define CTL_NEEDS_SOCKET 0x01 /* talks to a running directord */

/* The most addresses a host name may resolve to, and the most output
 * kept before printing (USER-LIST of a large director). */
#define CTL_ADDRS_MAX 16
#define CTL_OUTPUT_MAX ((size_t)1 << 30)
/* A port number as text, with its NUL. */
#define CTL_PORT_STR_MAX 8

struct conf;
struct userhash_template;

/* State of one invocation; conf and tmpl are owned here, loaded by the
 * handler (ctl_load_conf) and freed by ctl_main().  ac is the admin
 * connection (ctl_connect), closed by ctl_main(). */
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

/* A kind of table: its columns (text headings, JSON keys) and the
 * function that turns one line of a list reply into a row (NULL: rows are
 * added directly). */
struct ctl_table_kind {
	const struct adminwire_col *cols;
	size_t ncols;
	adminclient_row_fn *row;
};

/* Results of the changing verbs: one row (target, result) per target,
 * and the exit status of the first failure. */
struct ctl_results {
	struct adminwire_table *t;
	int ret;
};

/* What `dump` collects: the replay commands as text, and the same hosts
 * as tables for --json.  Owned by ctl_cmd_dump(). */
struct ctl_dump {
	const struct ctl *ctl;
	struct buf adds; /* add commands */
	struct buf downs; /* down commands, after every add */
	struct adminwire_table *hosts;
	struct adminwire_table *removed;
};

/* ---- ctl_grammar.c ---- */

/* The whole program: parses the global options, runs the verb and frees
 * what it left.  Returns the exit status. */
int ctl_main(int argc, char **argv);
/* Prints the usage of verb name (which is in the table) on stderr and
 * returns EX_USAGE. */
int ctl_usage_of(const char *name);

/* Called for each option of a verb; returns 0, or -1 for a bad one. */
typedef int ctl_opt_fn(void *ctx, int ch, const char *arg);
/* Parses the options of a verb from optstring/longopts (getopt_long from
 * argv[1]); each option found is handed to fn.  Returns 0 with argc and
 * argv moved past the options, or EX_USAGE after printing the usage. */
int ctl_verb_opts(const char *verb, int *argc, char ***argv,
    const char *optstring, const struct option *longopts, ctl_opt_fn *fn,
    void *ctx);
/* The ctl_opt_fn of verbs without options: still rejects "-x" (and
 * "--" is skipped). */
int ctl_no_opt(void *ctx, int ch, const char *arg);
/* Parses a decimal argument in [0, max].  Returns 0, or -1 after printing
 * why. */
int ctl_arg_uint(const char *what, const char *s, uint64_t max, uint64_t *v_r);

/* ---- ctl_offline.c ---- */

/* Loads the configuration and compiles its username hash template.
 * Returns 0, or EX_CONFIG after printing the error. */
int ctl_load_conf(struct ctl *ctl);
int ctl_cmd_hash(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_simulate(struct ctl *ctl, int argc, char **argv);

/* ---- ctl_admin.c ---- */

/* Connects to the admin endpoint (-a, else admin_socket of the
 * configuration) and does the handshake.  Returns 0, or an exit status
 * after printing why. */
int ctl_connect(struct ctl *ctl);
/* The listing verbs: connects, sends cmd, turns each reply line into a
 * row of a table of kind, and prints the table.  Returns the exit
 * status. */
int ctl_show_list(struct ctl *ctl, const char *cmd, const char *const *args,
    size_t nargs, const struct ctl_table_kind *kind);
/* Resolves a backend or director name to at most max IP strings (an IP
 * literal stays itself).  Returns the count (>= 1), or -1 after printing
 * why. */
int ctl_resolve(const char *name, char ips_r[][INET6_ADDRSTRLEN], size_t max);
/* Parses IP[:PORT], [IP]:PORT or IP PORT (argc 1 or 2) into ip_r
 * (resolved) and port_r ("" when none).  Returns 0, or -1 after printing
 * why. */
int ctl_resolve_hostport(int argc, char **argv, char ip_r[INET6_ADDRSTRLEN],
    char port_r[CTL_PORT_STR_MAX]);
/* Connects for a changing verb and starts its results.  Returns 0, or an
 * exit status. */
int ctl_results_begin(struct ctl *ctl, struct ctl_results *res);
/* Runs one simple command for target and records its outcome: done in
 * the results, or the exit status if it is the first failure. */
void ctl_change(struct ctl *ctl, struct ctl_results *res, const char *cmd,
    const char *const *args, size_t nargs, const char *target,
    const char *done);

/* ---- ctl_output.c ---- */

/* HOST-LIST, USER-LIST, DIRECTOR-LIST, HOST-LIST-REMOVED, and the
 * results of the changing verbs. */
extern const struct ctl_table_kind ctl_table_hosts;
extern const struct ctl_table_kind ctl_table_users;
extern const struct ctl_table_kind ctl_table_health;
extern const struct ctl_table_kind ctl_table_ring;
extern const struct ctl_table_kind ctl_table_removed;
extern const struct ctl_table_kind ctl_table_results;

/* A new empty table of kind; the caller frees it. */
struct adminwire_table *ctl_table_new(const struct ctl_table_kind *kind);

/* Writes out to stdout.  Returns 0, or EX_IOERR. */
int ctl_print(struct buf *out);
/* Prints *tp as text or JSON (--json) and frees it.  Returns 0 or an exit
 * status. */
int ctl_print_table(const struct ctl *ctl, struct adminwire_table **tp);
/* Prints the USER-LOOKUP reply lk of user (and tag, or NULL).  Returns 0
 * or an exit status. */
int ctl_print_lookup(const struct ctl *ctl, const char *user, const char *tag,
    const struct adminwire_lookup *lk);
/* Prints the results (text "target: done" or JSON) and frees them.
 * Returns the exit status of the whole verb. */
int ctl_results_end(const struct ctl *ctl, struct ctl_results *res);
/* The adminclient_row_fn of HOST-LIST under `dump` (ctx: the struct
 * ctl_dump): a row of d->hosts and the replay commands of the host. */
int ctl_dump_host(void *ctx, char **fields, size_t count);
/* Prints what d collected: the replay commands, or --json the hosts and
 * the removed hosts.  Returns 0 or an exit status. */
int ctl_print_dump(const struct ctl_dump *d);

/* ---- ctl_verbs.c ---- */

int ctl_cmd_status(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_health(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_map(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_dump(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_add(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_host(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_flush(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_move(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_kick(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_ring(struct ctl *ctl, int argc, char **argv);

#endif
