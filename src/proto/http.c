/*
 * http.c - the metrics endpoint's HTTP/1.x request head parser and
 * response head formatter (see http.h).
 *
 * The head is looked at only once it is complete (an empty line ends
 * it), so the verdict cannot depend on how the bytes were split; until
 * then only the bound is checked.
 */
#include "compat.h"

#include <stdio.h>

#include "buf.h"
#include "http.h"

/* Finds the end of the head: the index just past the empty line, or 0. */
static size_t
http_head_end(const char *data, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (data[i] != '\n')
			continue;
		if (i + 1 < len && data[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && data[i + 1] == '\r' && data[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* Length of the line at p (up to LF, without a CR before it). */
static size_t
http_line_len(const char *p, const char *end, const char **next_r)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p));
	size_t n;

	if (lf == NULL) {
		*next_r = end;
		return (size_t)(end - p);
	}
	*next_r = lf + 1;
	n = (size_t)(lf - p);
	if (n > 0 && p[n - 1] == '\r')
		n--;
	return n;
}

static bool
http_is_token_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Checks the header lines between p and end (the empty line excluded). */
static int
http_check_headers(const char *p, const char *end, int *status_r)
{
	const char *next, *colon;
	unsigned int count = 0;
	size_t n, i;

	while (p < end) {
		n = http_line_len(p, end, &next);
		if (n == 0)
			break;
		if (++count > HTTP_HEADERS_MAX) {
			*status_r = 431;
			return -1;
		}
		colon = memchr(p, ':', n);
		if (colon == NULL || colon == p) {
			*status_r = 400;
			return -1;
		}
		for (i = 0; p + i < colon; i++) {
			if (!http_is_token_char(p[i])) {
				*status_r = 400;
				return -1;
			}
		}
		for (i = 0; i < n; i++) {
			if (p[i] == '\0' || p[i] == '\r') {
				*status_r = 400;
				return -1;
			}
		}
		p = next;
	}
	return 0;
}

/* The request line: METHOD SP TARGET SP HTTP/1.x */
static int
http_request_line(const char *p, size_t n, int *status_r, bool *head_r)
{
	const char *sp1, *sp2, *target, *version;
	size_t mlen, tlen, vlen, i;

	sp1 = memchr(p, ' ', n);
	if (sp1 == NULL || sp1 == p)
		return *status_r = 400;
	mlen = (size_t)(sp1 - p);
	for (i = 0; i < mlen; i++) {
		if (!http_is_token_char(p[i]))
			return *status_r = 400;
	}
	target = sp1 + 1;
	sp2 = memchr(target, ' ', n - mlen - 1);
	if (sp2 == NULL || sp2 == target)
		return *status_r = 400;
	tlen = (size_t)(sp2 - target);
	for (i = 0; i < tlen; i++) {
		if ((unsigned char)target[i] <= ' ' ||
		    (unsigned char)target[i] >= 0x7f)
			return *status_r = 400;
	}
	version = sp2 + 1;
	vlen = n - mlen - tlen - 2;
	if (vlen != 8 || strncmp(version, "HTTP/", 5) != 0 ||
	    version[6] != '.' || version[5] < '0' || version[5] > '9' ||
	    version[7] < '0' || version[7] > '9')
		return *status_r = 400;
	if (version[5] != '1')
		return *status_r = 505;
	*head_r = mlen == 4 && strncmp(p, "HEAD", 4) == 0;
	if (!*head_r && !(mlen == 3 && strncmp(p, "GET", 3) == 0))
		return *status_r = 405;
	/* a query string changes nothing */
	for (i = 0; i < tlen && target[i] != '?'; i++)
		;
	if (i != strlen(HTTP_METRICS_PATH) ||
	    strncmp(target, HTTP_METRICS_PATH, i) != 0)
		return *status_r = 404;
	return *status_r = 200;
}

enum http_parse_result
http_parse(const char *data, size_t len, int *status_r, bool *head_r)
{
	const char *next, *end;
	size_t n, head_len;

	*head_r = false;
	head_len = http_head_end(data, len);
	if (head_len == 0 || head_len > HTTP_REQUEST_MAX) {
		if (len <= HTTP_REQUEST_MAX && head_len == 0)
			return HTTP_PARSE_MORE;
		*status_r = 431;
		return HTTP_PARSE_DONE;
	}
	end = data + head_len;
	n = http_line_len(data, end, &next);
	if (n == 0 || memchr(data, '\0', n) != NULL) {
		*status_r = 400;
		return HTTP_PARSE_DONE;
	}
	if (http_check_headers(next, end, status_r) == -1)
		return HTTP_PARSE_DONE;
	(void)http_request_line(data, n, status_r, head_r);
	return HTTP_PARSE_DONE;
}

const char *
http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 431:
		return "Request Header Fields Too Large";
	case 505:
		return "HTTP Version Not Supported";
	}
	return "Error";
}

int
http_format_head(
    struct buf *out, int status, const char *content_type, size_t body_len)
{
	return buf_printf(out,
	    "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "%s"
	    "Connection: close\r\n"
	    "\r\n",
	    status, http_reason(status), content_type, body_len,
	    status == 405 ? "Allow: GET, HEAD\r\n" : "");
}
