/*
 * hoststate.h - the state file that keeps runtime changes to the backend
 * list (admin HOST-SET/UPDATE/UP/DOWN/REMOVE) across restarts (pure: the
 * shell reads and writes the file).
 *
 * Format, one record per line:
 *   director-hosts 1
 *   host IP VHOSTS up|down LAST_UPDOWN_CHANGE [TAG]
 *   removed IP
 * "host" lines are the whole backend list at the time of writing;
 * "removed" lines name configured backends (director_mail_servers) that
 * were removed at runtime, so a restart does not bring them back.
 */
#ifndef DIRECTOR_HOSTSTATE_H
#define DIRECTOR_HOSTSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hosts.h"

struct buf;

#define HOSTSTATE_HEADER "director-hosts 1"
/* Longest line and most records accepted. */
#define HOSTSTATE_LINE_MAX 256
#define HOSTSTATE_RECORDS_MAX (2 * HOSTS_MAX)

struct hoststate_entry {
	bool removed; /* a "removed" line: only ip is set */
	struct ipaddr ip;
	char tag[HOST_TAG_MAX + 1];
	unsigned int vhost_count;
	bool down;
	uint32_t last_updown_change;
};

/* Appends the state file text for hosts; config (count entries) is the
 * configured list, for the "removed" lines.  Returns 0, or -1 if out is
 * full. */
int hoststate_encode(struct hosts *hosts, const struct hosts_spec_entry *config,
    size_t count, struct buf *out);

/*
 * Parses a state file of len bytes.  Returns 0 with a malloc'ed array in
 * *entries_r (free() it; NULL when empty) and its length in *count_r, or
 * -1 with "line N: what" in err[errsize].  Nothing is trusted: bad
 * addresses, counts over HOST_VHOST_COUNT_MAX, bad tags, duplicates,
 * unknown versions, NUL bytes and over-long lines are errors.
 */
int hoststate_decode(const char *text, size_t len,
    struct hoststate_entry **entries_r, size_t *count_r, char *err,
    size_t errsize);

#endif
