/*
 * test_http.c - the metrics endpoint's request parser (statuses for good
 * and bad heads, the size bound, the same answer whole and byte by byte)
 * and its response head; the Prometheus text writer (escaping, integer
 * and float values, families).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include <math.h>

#include "buf.h"
#include "http.h"
#include "promtext.h"

static const struct {
	const char *in;
	int status; /* 0: MORE */
	bool head;
} requests[] = {
    {"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", 200, false},
    {"GET /metrics HTTP/1.0\n\n", 200, false},
    {"HEAD /metrics HTTP/1.1\r\n\r\n", 200, true},
    {"GET /metrics?name[]=x HTTP/1.1\r\n\r\n", 200, false},
    {"GET / HTTP/1.1\r\n\r\n", 404, false},
    {"GET /metricsx HTTP/1.1\r\n\r\n", 404, false},
    {"POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\n", 405, false},
    {"GET /metrics HTTP/2.0\r\n\r\n", 505, false},
    {"GET /metrics HTTP/1.1 extra\r\n\r\n", 400, false},
    {"GET  /metrics HTTP/1.1\r\n\r\n", 400, false},
    {"GET /metrics\r\n\r\n", 400, false},
    {"\r\n\r\n", 400, false},
    {"GET /metrics HTTP/1.1\r\nNo colon here\r\n\r\n", 400, false},
    {"GET /metrics HTTP/1.1\r\nBad Name: x\r\n\r\n", 400, false},
    {"G\x01T /metrics HTTP/1.1\r\n\r\n", 400, false},
    {"GET /metrics HTTP/1.1\r\nHost: x\r\n", 0, false},
    {"GET /metr", 0, false},
};

static int
parse(const char *in, size_t len, bool *head_r)
{
	int status = -1;

	if (http_parse(in, len, &status, head_r) == HTTP_PARSE_MORE)
		return 0;
	return status;
}

static void
test_requests(void **state)
{
	size_t i, n;
	bool head;
	int st;

	for (i = 0; i < nitems(requests); i++) {
		const char *in = requests[i].in;

		assert_int_equal(
		    parse(in, strlen(in), &head), requests[i].status);
		if (requests[i].status == 200)
			assert_int_equal(head, requests[i].head);
		/* a byte at a time: MORE until the whole head is there, then
		 * the same answer */
		for (n = 0; n < strlen(in); n++) {
			st = parse(in, n, &head);
			if (st != 0) {
				assert_int_equal(st, requests[i].status);
				break;
			}
		}
	}
}

static void
test_bounds(void **state)
{
	char big[HTTP_REQUEST_MAX + 64];
	struct buf b;
	size_t i, len;
	bool head;

	/* no end of the head within the bound */
	memset(big, 'a', sizeof(big));
	assert_int_equal(parse(big, HTTP_REQUEST_MAX, &head), 0);
	assert_int_equal(parse(big, HTTP_REQUEST_MAX + 1, &head), 431);
	/* too many headers */
	buf_init(&b, SIZE_MAX);
	(void)buf_append_str(&b, "GET /metrics HTTP/1.1\r\n");
	for (i = 0; i <= HTTP_HEADERS_MAX; i++)
		(void)buf_append_str(&b, "X-A: b\r\n");
	(void)buf_append_str(&b, "\r\n");
	assert_int_equal(parse(b.data, b.len, &head), 431);
	buf_deinit(&b);
	/* the response head */
	buf_init(&b, 1024);
	assert_int_equal(http_format_head(&b, 405, "text/plain", 7), 0);
	(void)buf_append(&b, "", 1);
	assert_string_equal(b.data,
	    "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 7\r\nAllow: GET, HEAD\r\nConnection: close\r\n"
	    "\r\n");
	buf_deinit(&b);
	len = strlen(http_reason(431));
	assert_true(len > 0);
	assert_string_equal(http_reason(999), "Error");
}

static void
test_promtext(void **state)
{
	const char *l1[] = {"backend", "10.0.0.1", "tag", "a\"b\\c\nd", NULL};
	struct promtext p;
	struct buf b;

	buf_init(&b, 4096);
	promtext_init(&p, &b);
	promtext_family(&p, "director_x_total", PROMTEXT_COUNTER,
	    "Help with \\ and\nnewline.");
	promtext_sample(&p, "director_x_total", l1, 3);
	promtext_sample(&p, "director_x_total", NULL, 0.25);
	promtext_sample(&p, "director_x_total", NULL, NAN);
	promtext_sample(&p, "director_x_total", NULL, -INFINITY);
	promtext_sample_u64(&p, "director_x_total", NULL, UINT64_MAX);
	assert_false(promtext_failed(&p));
	(void)buf_append(&b, "", 1);
	assert_string_equal(b.data,
	    "# HELP director_x_total Help with \\\\ and\\nnewline.\n"
	    "# TYPE director_x_total counter\n"
	    "director_x_total{backend=\"10.0.0.1\",tag=\"a\\\"b\\\\c\\nd\"} 3\n"
	    "director_x_total 0.25\n"
	    "director_x_total NaN\n"
	    "director_x_total -Inf\n"
	    "director_x_total 18446744073709551615\n");
	buf_deinit(&b);
	/* a full buffer is reported, not overrun */
	buf_init(&b, 16);
	promtext_init(&p, &b);
	promtext_family(&p, "director_y", PROMTEXT_GAUGE, "A gauge.");
	assert_true(promtext_failed(&p));
	assert_true(b.len <= 16);
	buf_deinit(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_requests),
	    cmocka_unit_test(test_bounds),
	    cmocka_unit_test(test_promtext),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
