/*
 * fuzz_conf_include.c - libFuzzer target for the configuration with
 * !include and !include_try.
 *
 * The input is split at NUL bytes into a main file and up to
 * FUZZ_FILES_MAX more files, written as "0" ... "7" into a temporary
 * directory made once per process and removed at exit (files of earlier
 * inputs are removed, so a missing name tests !include_try).  The main
 * file is loaded with conf_load_file() and parsed again from memory with
 * conf_parse_buffer() under the same name; both must agree.  A parsed
 * configuration passes fuzz_check_conf() (fuzz_conf.h); an error names a
 * file and a line.
 *
 * The directory is on tmpfs (/dev/shm) when there is one, and a file is
 * unlinked and created anew rather than truncated: ext4 writes a
 * truncated file back to disk on close, which made the target crawl.
 */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "conf.h"
#include "fuzz_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Included files besides the main one. */
#define FUZZ_FILES_MAX 8

static char fuzz_dir[64];

static void
fuzz_unlink(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", fuzz_dir, name);
	if (unlink(path) == -1 && errno != ENOENT)
		abort();
}

static void
fuzz_write(const char *name, const uint8_t *data, size_t len)
{
	char path[128];
	int fd;

	fuzz_unlink(name);
	snprintf(path, sizeof(path), "%s/%s", fuzz_dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1 || write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
}

static void
fuzz_remove_dir(void)
{
	char name[2] = {'\0', '\0'};
	size_t i;

	fuzz_unlink("main.conf");
	for (i = 0; i < FUZZ_FILES_MAX; i++) {
		name[0] = (char)('0' + i);
		fuzz_unlink(name);
	}
	(void)rmdir(fuzz_dir);
}

static void
fuzz_make_dir(void)
{
	strlcpy(
	    fuzz_dir, "/dev/shm/fuzz_conf_include.XXXXXX", sizeof(fuzz_dir));
	if (mkdtemp(fuzz_dir) == NULL) {
		strlcpy(fuzz_dir, "/tmp/fuzz_conf_include.XXXXXX",
		    sizeof(fuzz_dir));
		if (mkdtemp(fuzz_dir) == NULL)
			abort();
	}
	atexit(fuzz_remove_dir);
}

static void
fuzz_check(struct conf *conf, char *error)
{
	if (conf == NULL) {
		/* "file:line: message" */
		if (error == NULL || strstr(error, ": ") == NULL ||
		    strchr(error, ':') == error)
			abort();
		return;
	}
	fuzz_check_conf(conf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size, *nul;
	struct conf *a, *b;
	char *ea = NULL, *eb = NULL, main_path[128], name[2];
	size_t mlen, len, i;

	if (fuzz_dir[0] == '\0')
		fuzz_make_dir();
	nul = memchr(p, '\0', size);
	mlen = nul != NULL ? (size_t)(nul - p) : size;
	fuzz_write("main.conf", p, mlen);
	p += nul != NULL ? mlen + 1 : mlen;
	name[1] = '\0';
	for (i = 0; i < FUZZ_FILES_MAX; i++) {
		name[0] = (char)('0' + i);
		if (p >= end) {
			fuzz_unlink(name);
			continue;
		}
		nul = memchr(p, '\0', (size_t)(end - p));
		len = nul != NULL ? (size_t)(nul - p) : (size_t)(end - p);
		fuzz_write(name, p, len);
		p += nul != NULL ? len + 1 : len;
	}

	snprintf(main_path, sizeof(main_path), "%s/main.conf", fuzz_dir);
	a = conf_load_file(main_path, &ea);
	b = conf_parse_buffer(main_path, (const char *)data, mlen, 0, &eb);
	fuzz_check(a, ea);
	fuzz_check(b, eb);
	if ((a == NULL) != (b == NULL))
		abort();
	if (a == NULL && strcmp(ea, eb) != 0)
		abort();
	if (a != NULL &&
	    (a->listener_count != b->listener_count ||
		a->mail_server_count != b->mail_server_count))
		abort();
	free(ea);
	free(eb);
	conf_free(&a);
	conf_free(&b);
	return 0;
}
