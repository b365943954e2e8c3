/*
 * conf_syntax.c - line reader for the Dovecot-like configuration syntax.
 *
 * Grammar, one construct per line (leading and trailing blanks ignored):
 *   # comment
 *   key = value            value: rest of line, or "quoted" with \ escapes;
 *                          an unquoted value ends at a '#' after a blank
 *   key [name] {           opens a block
 *   }                      closes the innermost block of this file
 *   !include PATH          PATH relative to the including file's directory
 *   !include_try PATH      the same, a missing file is not an error
 * Invariants: a file closes every block it opens; include nesting stops at
 * CONF_INCLUDE_DEPTH_MAX; every error carries the file and line it was
 * found at.  The reader holds no state between calls.
 */
#include "compat.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "conf.h"
#include "conf_syntax.h"
#include "xmalloc.h"

struct conf_syntax_block {
	char *key;
	char *value;
	const char *file; /* points into a caller's stack frame's name */
	unsigned int line;
};

struct conf_syntax_ctx {
	unsigned int flags;
	conf_syntax_callback_t *cb;
	void *context;
	struct conf_syntax_block blocks[CONF_SYNTAX_BLOCK_DEPTH_MAX];
	unsigned int depth;
	char *error; /* the first error, with location */
};

static int conf_syntax_parse_file(struct conf_syntax_ctx *ctx, const char *name,
    const char *buf, size_t len, unsigned int inc_depth);

static int ATTR_PRINTF(4, 5) conf_syntax_fail(struct conf_syntax_ctx *ctx,
    const char *file, unsigned int line, const char *fmt, ...)
{
	char *msg;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	if (ctx->error == NULL)
		ctx->error = xasprintf("%s:%u: %s", file, line,
		    msg != NULL ? msg : "out of memory");
	free(msg);
	return -1;
}

static bool
conf_syntax_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool
conf_syntax_is_word(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

static const char *
conf_syntax_skip_blanks(const char *p, const char *end)
{
	while (p < end && conf_syntax_is_blank(*p))
		p++;
	return p;
}

/* True if [p, end) holds only blanks and an optional comment. */
static bool
conf_syntax_rest_empty(const char *p, const char *end)
{
	p = conf_syntax_skip_blanks(p, end);
	return p == end || *p == '#';
}

/* Parses the value in [p, end) into a malloc'd string.  Returns NULL and
 * sets *error_r (a static message) on a syntax error. */
static char *
conf_syntax_value(const char *p, const char *end, const char **error_r)
{
	const char *start, *q;
	char *out, *o;

	p = conf_syntax_skip_blanks(p, end);
	if (p < end && *p == '"') {
		out = o = xmalloc((size_t)(end - p) + 1);
		for (p++; p < end && *p != '"'; p++) {
			if (*p == '\\' && p + 1 < end)
				p++;
			*o++ = *p;
		}
		*o = '\0';
		if (p == end) {
			free(out);
			*error_r = "unterminated quoted value";
			return NULL;
		}
		if (!conf_syntax_rest_empty(p + 1, end)) {
			free(out);
			*error_r = "text after the closing quote";
			return NULL;
		}
		return out;
	}
	start = p;
	for (q = p; q < end; q++) {
		if (*q == '#' && q > start && conf_syntax_is_blank(q[-1]))
			break;
		if (*q == '#' && q == start)
			break;
	}
	while (q > start && conf_syntax_is_blank(q[-1]))
		q--;
	return xstrndup(start, (size_t)(q - start));
}

/* Returns the directory part of name joined with path, or a copy of path
 * when it is absolute or name has no directory. */
static char *
conf_syntax_include_path(const char *name, const char *path)
{
	const char *slash;

	if (path[0] == '/')
		return xstrdup(path);
	slash = strrchr(name, '/');
	if (slash == NULL)
		return xstrdup(path);
	return xasprintf("%.*s/%s", (int)(slash - name), name, path);
}

/*
 * Reads fd to its end into *buf_r, a malloc'd buffer of *cap_r bytes
 * (cap > 1 on entry) that grows as needed: one byte is always left for a
 * NUL, and a file still growing past its fstat() size is read on, up to
 * CONF_FILE_SIZE_MAX + 1 bytes.  Returns the length read, or -1 with
 * errno set (EFBIG: over CONF_FILE_SIZE_MAX); the buffer stays the
 * caller's either way.
 */
static ssize_t
conf_syntax_read_all(int fd, char **buf_r, size_t *cap_r)
{
	size_t len = 0;
	ssize_t n;

	for (;;) {
		if (len + 1 == *cap_r) {
			/* full: len <= CONF_FILE_SIZE_MAX, so this grows */
			*cap_r = MIN_OF(*cap_r * 2, CONF_FILE_SIZE_MAX + 2);
			*buf_r = xreallocarray(*buf_r, *cap_r, 1);
		}
		n = read(fd, *buf_r + len, *cap_r - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			return (ssize_t)len;
		len += (size_t)n;
		if (len > CONF_FILE_SIZE_MAX) {
			errno = EFBIG;
			return -1;
		}
	}
}

int
conf_syntax_read_file(const char *path, char **buf_r, size_t *len_r)
{
	struct stat st;
	char *buf;
	size_t cap;
	ssize_t len;
	int fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if (st.st_size > CONF_FILE_SIZE_MAX) {
		errno = EFBIG;
		goto fail;
	}
	/* the size fstat() saw, a NUL, and a byte to see the end in one go */
	cap = (size_t)st.st_size + 2;
	buf = xmalloc(cap);
	len = conf_syntax_read_all(fd, &buf, &cap);
	if (len == -1) {
		saved = errno;
		free(buf);
		errno = saved;
		goto fail;
	}
	close(fd);
	buf[len] = '\0';
	*buf_r = xreallocarray(buf, (size_t)len + 1, 1);
	*len_r = (size_t)len;
	return 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

static int
conf_syntax_include(struct conf_syntax_ctx *ctx, const char *name,
    unsigned int line, const char *arg, bool try_only, unsigned int inc_depth)
{
	char *path, *buf;
	size_t len;
	int ret;

	if ((ctx->flags & CONF_SYNTAX_NO_INCLUDE) != 0)
		return conf_syntax_fail(
		    ctx, name, line, "!include is not allowed here");
	if (arg[0] == '\0')
		return conf_syntax_fail(
		    ctx, name, line, "!include needs a file name");
	if (inc_depth >= CONF_INCLUDE_DEPTH_MAX)
		return conf_syntax_fail(ctx, name, line,
		    "!include %s: nested more than %d deep (include loop?)",
		    arg, CONF_INCLUDE_DEPTH_MAX);
	path = conf_syntax_include_path(name, arg);
	if (conf_syntax_read_file(path, &buf, &len) == -1) {
		if (try_only && errno == ENOENT) {
			free(path);
			return 0;
		}
		ret = conf_syntax_fail(
		    ctx, name, line, "!include %s: %s", path, strerror(errno));
		free(path);
		return ret;
	}
	ret = conf_syntax_parse_file(ctx, path, buf, len, inc_depth + 1);
	free(buf);
	free(path);
	return ret;
}

static int
conf_syntax_deliver(
    struct conf_syntax_ctx *ctx, const struct conf_syntax_item *item)
{
	char *msg = NULL;

	if (ctx->cb(item, ctx->context, &msg) == 0)
		return 0;
	conf_syntax_fail(
	    ctx, item->file, item->line, "%s", msg != NULL ? msg : "invalid");
	free(msg);
	return -1;
}

static int
conf_syntax_close(
    struct conf_syntax_ctx *ctx, const char *name, unsigned int line)
{
	struct conf_syntax_block *b = &ctx->blocks[ctx->depth - 1];
	struct conf_syntax_item item = {
	    .type = CONF_SYNTAX_BLOCK_CLOSE,
	    .file = name,
	    .line = line,
	    .key = b->key,
	    .value = b->value,
	    .depth = ctx->depth - 1,
	    .open_file = b->file,
	    .open_line = b->line,
	};
	int ret;

	ret = conf_syntax_deliver(ctx, &item);
	ctx->depth--;
	free(b->key);
	free(b->value);
	b->key = b->value = NULL;
	return ret;
}

/* Handles one line [p, end) with leading blanks already skipped. */
static int
conf_syntax_line(struct conf_syntax_ctx *ctx, const char *name,
    unsigned int line, const char *p, const char *end, unsigned int base,
    unsigned int inc_depth)
{
	struct conf_syntax_item item = {.file = name, .line = line};
	struct conf_syntax_block *b;
	const char *kstart, *nstart, *nend, *msg;
	char *key, *value, *arg;
	bool try_only;
	int ret;

	if (*p == '}') {
		if (!conf_syntax_rest_empty(p + 1, end))
			return conf_syntax_fail(
			    ctx, name, line, "text after '}'");
		if (ctx->depth <= base)
			return conf_syntax_fail(
			    ctx, name, line, "'}' without an open block");
		return conf_syntax_close(ctx, name, line);
	}
	if (*p == '!') {
		kstart = p + 1;
		for (p = kstart; p < end && conf_syntax_is_word(*p); p++)
			;
		if ((size_t)(p - kstart) == 7 &&
		    memcmp(kstart, "include", 7) == 0)
			try_only = false;
		else if ((size_t)(p - kstart) == 11 &&
		    memcmp(kstart, "include_try", 11) == 0)
			try_only = true;
		else
			return conf_syntax_fail(ctx, name, line,
			    "unknown directive '!%.*s'", (int)(p - kstart),
			    kstart);
		if (p < end && !conf_syntax_is_blank(*p))
			return conf_syntax_fail(
			    ctx, name, line, "unknown directive");
		arg = conf_syntax_value(p, end, &msg);
		if (arg == NULL)
			return conf_syntax_fail(ctx, name, line, "%s", msg);
		ret = conf_syntax_include(
		    ctx, name, line, arg, try_only, inc_depth);
		free(arg);
		return ret;
	}

	kstart = p;
	while (p < end && conf_syntax_is_word(*p))
		p++;
	if (p == kstart)
		return conf_syntax_fail(
		    ctx, name, line, "syntax error: expected a setting name");
	key = xstrndup(kstart, (size_t)(p - kstart));
	p = conf_syntax_skip_blanks(p, end);
	if (p < end && *p == '=') {
		value = conf_syntax_value(p + 1, end, &msg);
		if (value == NULL) {
			free(key);
			return conf_syntax_fail(ctx, name, line, "%s", msg);
		}
		item.type = CONF_SYNTAX_SETTING;
		item.key = key;
		item.value = value;
		item.depth = ctx->depth;
		ret = conf_syntax_deliver(ctx, &item);
		free(key);
		free(value);
		return ret;
	}

	/* A block: key [name] { */
	nstart = nend = p;
	while (nend < end && conf_syntax_is_word(*nend))
		nend++;
	p = conf_syntax_skip_blanks(nend, end);
	if (p == end || *p != '{') {
		ret = conf_syntax_fail(
		    ctx, name, line, "expected '=' or '{' after '%s'", key);
		free(key);
		return ret;
	}
	if (!conf_syntax_rest_empty(p + 1, end)) {
		free(key);
		return conf_syntax_fail(ctx, name, line,
		    "text after '{' (settings go on their own lines)");
	}
	if (ctx->depth >= CONF_SYNTAX_BLOCK_DEPTH_MAX) {
		free(key);
		return conf_syntax_fail(
		    ctx, name, line, "blocks nested too deeply");
	}
	b = &ctx->blocks[ctx->depth];
	b->key = key;
	b->value =
	    nend > nstart ? xstrndup(nstart, (size_t)(nend - nstart)) : NULL;
	b->file = name;
	b->line = line;
	item.type = CONF_SYNTAX_BLOCK_OPEN;
	item.key = b->key;
	item.value = b->value;
	item.depth = ctx->depth;
	ctx->depth++;
	return conf_syntax_deliver(ctx, &item);
}

static int
conf_syntax_parse_file(struct conf_syntax_ctx *ctx, const char *name,
    const char *buf, size_t len, unsigned int inc_depth)
{
	const char *p = buf, *end = buf + len, *eol, *nul;
	unsigned int line = 0, base = ctx->depth;
	struct conf_syntax_block *b;

	nul = memchr(buf, '\0', len);
	while (p < end) {
		line++;
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		if (nul != NULL && nul < eol)
			return conf_syntax_fail(
			    ctx, name, line, "NUL byte in the file");
		p = conf_syntax_skip_blanks(p, eol);
		if (p < eol && *p != '#' &&
		    conf_syntax_line(
			ctx, name, line, p, eol, base, inc_depth) == -1)
			return -1;
		p = eol + 1;
	}
	if (ctx->depth > base) {
		b = &ctx->blocks[ctx->depth - 1];
		return conf_syntax_fail(ctx, b->file, b->line,
		    "block '%s%s%s' is not closed", b->key,
		    b->value != NULL ? " " : "",
		    b->value != NULL ? b->value : "");
	}
	return 0;
}

int
conf_syntax_parse_buffer(const char *name, const char *buf, size_t len,
    unsigned int flags, conf_syntax_callback_t *cb, void *context,
    char **error_r)
{
	struct conf_syntax_ctx ctx = {
	    .flags = flags,
	    .cb = cb,
	    .context = context,
	};
	int ret;

	ret = conf_syntax_parse_file(&ctx, name, buf, len, 0);
	while (ctx.depth > 0) {
		ctx.depth--;
		free(ctx.blocks[ctx.depth].key);
		free(ctx.blocks[ctx.depth].value);
	}
	if (ret == -1)
		*error_r = ctx.error;
	else
		free(ctx.error);
	return ret;
}
