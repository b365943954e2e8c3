/*
 * directord.c - command line of the mail director daemon.
 *
 *   directord [-F] [-n] [-c FILE] [-h] [-V]
 *
 * -n checks the configuration and exits; otherwise daemon_run() does the
 * work.  Exit status: 0 success, 1 configuration or startup error, 2 usage.
 */
#include "compat.h"

#include <stdio.h>
#include <unistd.h>

#include "conf.h"
#include "daemon.h"
#include "log.h"

#ifndef DIRECTOR_VERSION
#define DIRECTOR_VERSION "0.1"
#endif

static void
directord_usage(FILE *out)
{
	fprintf(out,
	    "usage: directord [-F] [-n] [-c FILE] [-h] [-V]\n"
	    "  -c FILE  configuration file (default %s)\n"
	    "  -F       stay in the foreground and log to stderr\n"
	    "  -n       check the configuration and exit\n"
	    "  -h       show this help\n"
	    "  -V       show the version\n",
	    DIRECTORD_CONF);
}

static int
directord_check(const char *path)
{
	struct conf *conf;
	char *error = NULL;

	conf = conf_load_file(path, &error);
	if (conf == NULL) {
		fprintf(stderr, "%s\n", error);
		free(error);
		return 1;
	}
	conf_free(&conf);
	printf("%s: configuration OK\n", path);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *path = DIRECTORD_CONF;
	bool foreground = false, check = false;
	int ch;

	while ((ch = getopt(argc, argv, "Fnc:hV")) != -1) {
		switch (ch) {
		case 'F':
			foreground = true;
			break;
		case 'n':
			check = true;
			break;
		case 'c':
			path = optarg;
			break;
		case 'h':
			directord_usage(stdout);
			return 0;
		case 'V':
			printf("directord %s\n", DIRECTOR_VERSION);
			return 0;
		default:
			directord_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		directord_usage(stderr);
		return 2;
	}
	if (check)
		return directord_check(path);
	log_init("directord", 1);
	return daemon_run(path, foreground);
}
