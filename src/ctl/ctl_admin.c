/*
 * ctl_admin.c - the admin connection of directorctl: connecting to a
 * running directord (or a Dovecot 2.3 director) over the director-doveadm
 * v1.0 protocol, the list requests of the reading verbs, the one-line
 * requests of the changing verbs, and the host names of arguments
 * resolved to the IPs the protocol takes.
 *
 * One connection per invocation: ctl_connect() opens it, ctl_main()
 * closes it.  adminclient.c explains every failure on stderr; the
 * functions here pass its exit status on.
 */
#include "compat.h"

#include <sys/socket.h>

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>

#include "conf.h"
#include "ctl.h"
#include "xmalloc.h"

int
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

int
ctl_show_list(struct ctl *ctl, const char *cmd, const char *const *args,
    size_t nargs, const struct ctl_table_kind *kind)
{
	struct adminwire_table *t;
	int ret;

	if ((ret = ctl_connect(ctl)) != 0)
		return ret;
	t = ctl_table_new(kind);
	if ((ret = adminclient_list(
		 &ctl->ac, cmd, args, nargs, kind->row, t)) != 0) {
		adminwire_table_free(&t);
		return ret;
	}
	return ctl_print_table(ctl, &t);
}

int
ctl_results_begin(struct ctl *ctl, struct ctl_results *res)
{
	int ret;

	res->t = NULL;
	res->ret = 0;
	if ((ret = ctl_connect(ctl)) != 0)
		return ret;
	res->t = ctl_table_new(&ctl_table_results);
	return 0;
}

void
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

int
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

int
ctl_resolve_hostport(int argc, char **argv, char ip_r[INET6_ADDRSTRLEN],
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
