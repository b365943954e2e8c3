/*
 * conf_impl.h - what the files of src/conf share while a configuration is
 * built; no other module includes it.
 *
 *   conf.c        the table of settings, the defaults, the builder that
 *                 applies the items of the syntax reader, parse and load
 *   conf_apply.c  one value written into its field, by type (conf_apply)
 *   conf_check.c  the cross-field checks of a whole configuration
 *                 (conf_validate) and the comparisons of two of them
 *                 (listeners, reload)
 *
 * A struct conf under construction never leaves these files; callers get
 * one that has every default and has passed conf_validate().
 */
#ifndef DIRECTOR_CONF_IMPL_H
#define DIRECTOR_CONF_IMPL_H

#include "compat.h"

#include "conf.h"

/* Entries of director_servers / haproxy_trusted_networks. */
#define CONF_LIST_MAX 4096

enum conf_scope {
	CONF_SCOPE_TOP,
	CONF_SCOPE_LISTEN,
	CONF_SCOPE_BACKEND,
};

enum conf_type {
	CONF_TYPE_STRING,
	CONF_TYPE_PATH, /* absolute; min = 1: must not be empty */
	CONF_TYPE_TIME,
	CONF_TYPE_SIZE,
	CONF_TYPE_UINT,
	CONF_TYPE_BOOL,
	CONF_TYPE_PORT,
	CONF_TYPE_ENUM,
	CONF_TYPE_LOG_LEVEL,
	CONF_TYPE_ADDRESSES,
	CONF_TYPE_NETWORKS,
};

struct conf_setting {
	const char *name;
	enum conf_scope scope;
	enum conf_type type;
	size_t offset;
	uint64_t min; /* UINT, TIME (ms), SIZE; STRING, PATH: 1 = required */
	uint64_t max; /* 0: the type's default maximum */
	bool octal; /* UINT written in octal (file modes) */
	const char *const *names; /* ENUM */
	size_t name_count;
	bool has_loc;
	size_t loc_offset; /* char * in struct conf, when has_loc */
	size_t nets_offset; /* NETWORKS: struct conf_network * in struct conf */
	size_t count_offset; /* NETWORKS: its size_t count */
	/* top level only: a reload that changes it is refused (see
	 * conf_reload_check() in conf.h) */
	bool restart;
};

/* Every setting, in the order of the table; conf_setting_count of them. */
extern const struct conf_setting conf_settings[];
extern const size_t conf_setting_count;

/* Parsing state; dies with the parse. */
struct conf_builder {
	struct conf *conf;
	enum conf_scope scope;
	bool *protocol_set; /* per listener */
	char *backend_loc; /* NULL until a backend block was seen */
	char **locs; /* "file:line" of top settings, by table index */
};

/* Sets *error_r to a malloc'd message (NULL if out of memory) and
 * returns -1. */
int conf_err(char **error_r, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* Parses an IP literal into family (4 or 6) and addr_r (network byte
 * order).  Returns 0, or -1. */
int conf_ip_parse(const char *s, int *family_r, uint8_t addr_r[16]);
/* The canonical text of an address, malloc'd. */
char *conf_ip_text(int family, const uint8_t addr[16]);
/* Splits s at blanks and commas into a malloc'd array of malloc'd words;
 * conf_split_free() frees it. */
char **conf_split(const char *s, size_t *count_r);
void conf_split_free(char **words, size_t count);

/* Writes value into the field of s in base (struct conf, the current
 * listener or the backend block).  Returns 0, or -1 with *error_r set to
 * a message without location. */
int conf_apply(struct conf_builder *b, const struct conf_setting *s, void *base,
    const char *value, char **error_r);
/* "file:line" where the top-level or backend setting name was last set,
 * or the file's name when it keeps its default. */
const char *conf_builder_loc(const struct conf_builder *b, const char *name);
/* Whether the file sets the top-level or backend setting name. */
bool conf_builder_is_set(const struct conf_builder *b, const char *name);
/* The cross-field checks of the whole file, and the parsing of the lists
 * they need (director_servers, director_mail_servers).  last_line: the
 * number of lines of the top file.  Returns 0, or -1 with *error_r set to
 * a "file:line: message". */
int conf_validate(
    struct conf_builder *b, unsigned int last_line, char **error_r);

#endif
