/*
 * privdrop.h - directories owned by the service user, and the switch from
 * root to that user.
 */
#ifndef DIRECTOR_PRIVDROP_H
#define DIRECTOR_PRIVDROP_H

/* Creates directory path (and missing parents, mode 0755) if it does not
 * exist; a directory created here gets mode 0750 and, when running as
 * root, is owned by user.  An existing directory is left alone.  Returns
 * 0, or -1 with *error_r set to a malloc'd message. */
int privdrop_make_dir(const char *path, const char *user, char **error_r);

/* Checks that directory path may hold files root reads back (the state
 * file): owned by root or user and writable by neither group nor others,
 * so nobody else can place or swap a file there.  Returns 0, or -1 with
 * *error_r set to a malloc'd message naming what to change. */
int privdrop_check_dir(const char *path, const char *user, char **error_r);

/* Switches the process to user: supplementary groups (initgroups), gid
 * and uid, then verifies that root cannot be regained.  Running as root
 * with user = root keeps root (a warning is logged); not running as root
 * is fine when user is the current user and an error otherwise.  Returns
 * 0, or -1 with *error_r set to a malloc'd message. */
int privdrop_to_user(const char *user, char **error_r);

#endif
