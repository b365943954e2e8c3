/*
 * privdrop.c - create service directories and drop root privileges.
 *
 * Invariant: after privdrop_to_user() returns 0 as root with a non-root
 * user, real, effective and saved uids and gids are the user's and
 * setuid(0) fails; otherwise the process does not continue.
 */
#include "compat.h"

#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "log.h"
#include "privdrop.h"
#include "xmalloc.h"

static int
privdrop_lookup(const char *user, struct passwd **pw_r, char **error_r)
{
	errno = 0;
	*pw_r = getpwnam(user);
	if (*pw_r == NULL) {
		*error_r = xasprintf("user '%s': %s", user,
		    errno != 0 ? strerror(errno) : "no such user");
		return -1;
	}
	return 0;
}

int
privdrop_make_dir(const char *path, const char *user, char **error_r)
{
	struct passwd *pw;
	struct stat st;
	char *copy, *p;

	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		*error_r = xasprintf("%s exists and is not a directory", path);
		return -1;
	}
	copy = xstrdup(path);
	for (p = copy + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(copy, 0755) == -1 && errno != EEXIST) {
			*error_r =
			    xasprintf("mkdir %s: %s", copy, strerror(errno));
			free(copy);
			return -1;
		}
		*p = '/';
	}
	free(copy);
	if (mkdir(path, 0750) == -1 && errno != EEXIST) {
		*error_r = xasprintf("mkdir %s: %s", path, strerror(errno));
		return -1;
	}
	if (geteuid() != 0)
		return 0;
	if (privdrop_lookup(user, &pw, error_r) == -1)
		return -1;
	if (chown(path, pw->pw_uid, pw->pw_gid) == -1) {
		*error_r = xasprintf("chown %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
privdrop_check_dir(const char *path, const char *user, char **error_r)
{
	struct passwd *pw;
	struct stat st;

	if (stat(path, &st) == -1) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		*error_r = xasprintf("%s is not a directory", path);
		return -1;
	}
	if (privdrop_lookup(user, &pw, error_r) == -1)
		return -1;
	if (st.st_uid != 0 && st.st_uid != pw->pw_uid) {
		*error_r = xasprintf("%s is owned by uid %ld, neither root nor "
				     "%s; chown it",
		    path, (long)st.st_uid, user);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		*error_r = xasprintf("%s is writable by group or others (mode "
				     "%04o); chmod go-w it",
		    path, (unsigned int)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

int
privdrop_to_user(const char *user, char **error_r)
{
	struct passwd *pw;
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;

	if (privdrop_lookup(user, &pw, error_r) == -1)
		return -1;
	if (geteuid() != 0) {
		if (pw->pw_uid == geteuid())
			return 0;
		*error_r = xasprintf("cannot switch to user '%s': not "
				     "running as root",
		    user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		log_warn("user = %s: keeping root privileges", user);
		return 0;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
		*error_r = xasprintf(
		    "cannot switch to user '%s': %s", user, strerror(errno));
		return -1;
	}
	if (getresuid(&ruid, &euid, &suid) == -1 ||
	    getresgid(&rgid, &egid, &sgid) == -1 || ruid != pw->pw_uid ||
	    euid != pw->pw_uid || suid != pw->pw_uid || rgid != pw->pw_gid ||
	    egid != pw->pw_gid || sgid != pw->pw_gid || setuid(0) != -1) {
		*error_r = xasprintf("privilege drop to '%s' did not take "
				     "effect",
		    user);
		return -1;
	}
	return 0;
}
