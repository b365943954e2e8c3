/*
 * conf_routing.c - checks the settings that feed the routing core
 * (director_mail_servers, director_username_hash) at load time, so that
 * `directord -n` and a SIGHUP reload refuse what the daemon could not
 * use, with the file:line of the setting.
 */
#include "compat.h"

#include <stdlib.h>

#include "conf.h"
#include "hosts.h"
#include "userhash.h"
#include "xmalloc.h"

int
conf_validate_routing(struct conf *conf, char **error_r)
{
	struct userhash_template *tmpl;
	struct hosts_spec_entry *entries = NULL;
	const char *err = NULL;
	char msg[256];
	size_t count = 0;

	if (hosts_spec_parse(
		conf->mail_servers, &entries, &count, msg, sizeof(msg)) == -1) {
		*error_r = xasprintf("%s: director_mail_servers: %s",
		    conf->mail_servers_loc != NULL ? conf->mail_servers_loc
						   : conf->path,
		    msg);
		return -1;
	}
	free(conf->mail_server_entries);
	conf->mail_server_entries = entries;
	conf->mail_server_count = count;

	tmpl = userhash_template_new(conf->username_hash, &err);
	if (tmpl == NULL) {
		*error_r = xasprintf("%s: director_username_hash: %s",
		    conf->username_hash_loc != NULL ? conf->username_hash_loc
						    : conf->path,
		    err);
		return -1;
	}
	userhash_template_free(&tmpl);
	return 0;
}
