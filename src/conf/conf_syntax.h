/*
 * conf_syntax.h - the Dovecot-like file syntax under the configuration,
 * without any knowledge of setting names.
 *
 * The reader turns text into a stream of items (a setting, a block opening,
 * a block closing), follows !include / !include_try, and guarantees that the
 * blocks opened in a file are closed in the same file.  Only conf.c uses it.
 */
#ifndef DIRECTOR_CONF_SYNTAX_H
#define DIRECTOR_CONF_SYNTAX_H

#include <stddef.h>

/* Deepest block nesting the syntax accepts. */
#define CONF_SYNTAX_BLOCK_DEPTH_MAX 8

enum conf_syntax_type {
	CONF_SYNTAX_SETTING, /* key = value */
	CONF_SYNTAX_BLOCK_OPEN, /* key [value] { */
	CONF_SYNTAX_BLOCK_CLOSE, /* } ; key/value repeat the opening */
};

/* One item; every pointer is valid only during the callback. */
struct conf_syntax_item {
	enum conf_syntax_type type;
	const char *file;
	unsigned int line;
	const char *key; /* setting name, or block type */
	const char *value; /* value (unquoted), or block name (NULL: none) */
	unsigned int depth; /* blocks open around this item */
	const char *open_file; /* BLOCK_CLOSE: where the block opened */
	unsigned int open_line;
};

/* Called for each item.  Returns 0, or -1 with *error_r set to a malloc'd
 * message without location (the reader prefixes "file:line: "). */
typedef int conf_syntax_callback_t(
    const struct conf_syntax_item *item, void *context, char **error_r);

/* Flag: !include and !include_try are errors. */
#define CONF_SYNTAX_NO_INCLUDE 0x01

/* Reads len bytes of buf as the file called name and calls cb for each
 * item, in order, including the items of included files.  Returns 0, or
 * -1 with *error_r set to a malloc'd "file:line: message"; items already
 * delivered are not taken back. */
int conf_syntax_parse_buffer(const char *name, const char *buf, size_t len,
    unsigned int flags, conf_syntax_callback_t *cb, void *context,
    char **error_r);

/* Reads the file at path into a malloc'd NUL-terminated buffer (*buf_r,
 * *len_r).  Returns 0, or -1 with errno set (EFBIG: over
 * CONF_FILE_SIZE_MAX, EINVAL: not a regular file). */
int conf_syntax_read_file(const char *path, char **buf_r, size_t *len_r);

#endif
