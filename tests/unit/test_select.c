/*
 * test_select.c - backend selection: the Dovecot vhost ring and the
 * integer-only weighted rendezvous hashing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include <math.h>

#include "md5.h"
#include "select.h"

static void
make_entries(struct select_entry *e, size_t n, uint32_t weight)
{
	size_t i;

	for (i = 0; i < n; i++) {
		memset(&e[i], 0, sizeof(e[i]));
		e[i].ip.family = IPADDR_FAMILY_V4;
		e[i].ip.a[0] = 10;
		e[i].ip.a[2] = (uint8_t)(i >> 8);
		e[i].ip.a[3] = (uint8_t)(i + 1);
		e[i].weight = weight;
		e[i].id = (uint32_t)i;
	}
}

static void
test_dovecot_point(void **state)
{
	struct ipaddr ip;

	assert_int_equal(ipaddr_parse("127.0.1.1", &ip), 0);
	assert_int_equal(
	    select_dovecot_point(&ip, 0), md5_get_u32_be("127.0.1.1-0", 11));
	assert_int_equal(select_dovecot_point(&ip, 0), 0x2e6f1e2du);
	assert_int_equal(
	    select_dovecot_point(&ip, 17), md5_get_u32_be("127.0.1.1-17", 12));
	assert_int_equal(ipaddr_parse("2001:db8::5", &ip), 0);
	assert_int_equal(
	    select_dovecot_point(&ip, 3), md5_get_u32_be("2001:db8::5-3", 13));
}

/* The vhost ring: successor search with wrap-around. */
static void
test_dovecot_ring(void **state)
{
	struct select *sel = select_new(SELECT_METHOD_DOVECOT);
	struct select_entry e[2];
	uint32_t id, p0, p1, lo, hi, id_lo, id_hi;

	assert_int_equal(select_pick(sel, 1, &id), -1);
	make_entries(e, 2, 1);
	select_build(sel, e, 2);
	p0 = select_dovecot_point(&e[0].ip, 0);
	p1 = select_dovecot_point(&e[1].ip, 0);
	lo = MIN_OF(p0, p1);
	hi = MAX_OF(p0, p1);
	id_lo = p0 < p1 ? 0 : 1;
	id_hi = 1 - id_lo;
	assert_int_equal(select_pick(sel, lo, &id), 0);
	assert_int_equal(id, id_lo);
	assert_int_equal(select_pick(sel, lo + 1, &id), 0);
	assert_int_equal(id, id_hi);
	assert_int_equal(select_pick(sel, hi, &id), 0);
	assert_int_equal(id, id_hi);
	/* past the last point wraps to the first */
	if (hi != UINT32_MAX) {
		assert_int_equal(select_pick(sel, hi + 1, &id), 0);
		assert_int_equal(id, id_lo);
	}
	assert_int_equal(select_pick(sel, 0, &id), 0);
	assert_int_equal(id, id_lo);
	/* weight 0 entries are not candidates */
	e[1].weight = 0;
	select_build(sel, e, 2);
	assert_int_equal(select_pick(sel, hi, &id), 0);
	assert_int_equal(id, 0);
	e[0].weight = 0;
	select_build(sel, e, 2);
	assert_int_equal(select_pick(sel, hi, &id), -1);
	select_free(&sel);
	assert_null(sel);
}

static void
check_order_independent(enum select_method method)
{
	struct select *a = select_new(method), *b = select_new(method);
	struct select_entry e[20], r[20];
	uint32_t i, h, ida, idb;

	make_entries(e, nitems(e), 100);
	for (i = 0; i < nitems(e); i++) {
		e[i].weight = 1 + (i % 3) * 50;
		r[nitems(e) - 1 - i] = e[i];
	}
	select_build(a, e, nitems(e));
	select_build(b, r, nitems(r));
	for (i = 0; i < 20000; i++) {
		h = i * 2654435761u;
		assert_int_equal(select_pick(a, h, &ida), 0);
		assert_int_equal(select_pick(b, h, &idb), 0);
		assert_int_equal(ida, idb);
	}
	select_free(&a);
	select_free(&b);
}

static void
test_order_independent(void **state)
{
	check_order_independent(SELECT_METHOD_DOVECOT);
	check_order_independent(SELECT_METHOD_RENDEZVOUS);
}

static void
test_only_candidates(void **state)
{
	struct select *sel = select_new(SELECT_METHOD_RENDEZVOUS);
	struct select_entry e[8];
	uint32_t i, id, seen = 0;

	assert_int_equal(select_pick(sel, 5, &id), -1);
	make_entries(e, nitems(e), 10);
	e[2].weight = 0;
	e[5].weight = 0;
	for (i = 0; i < nitems(e); i++)
		e[i].id = 100 + i;
	select_build(sel, e, nitems(e));
	for (i = 0; i < 10000; i++) {
		assert_int_equal(select_pick(sel, i, &id), 0);
		assert_true(id >= 100 && id < 108 && id != 102 && id != 105);
		seen |= 1u << (id - 100);
	}
	assert_int_equal(seen, 0xffu & ~0x24u);
	select_build(sel, e, 0);
	assert_int_equal(select_pick(sel, 5, &id), -1);
	select_free(&sel);
}

static double
ref_neglog2(uint64_t x)
{
	if (x >= (1ull << 63))
		return -log1p(-(double)(~x + 1) / 18446744073709551616.0) /
		    log(2.0);
	return 64.0 - log2((double)x);
}

static double
q64_to_double(unsigned __int128 v)
{
	return (double)(uint64_t)(v >> 64) +
	    (double)(uint64_t)v / 18446744073709551616.0;
}

static uint64_t
splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static void
check_log(uint64_t x, double *worst)
{
	double want = ref_neglog2(x),
	       got = q64_to_double(select_neglog2_q64(x));
	double rel = fabs(got - want) / want;

	if (rel > *worst)
		*worst = rel;
	if (rel >= 1e-6)
		fail_msg("x=%llu got %.17g want %.17g", (unsigned long long)x,
		    got, want);
}

static void
test_neglog2_accuracy(void **state)
{
	uint64_t s = 1, x;
	double worst = 0;
	unsigned int i, j;

	check_log(1, &worst);
	check_log(2, &worst);
	check_log(1ull << 63, &worst);
	check_log(0xB504F333F9DE6484ull, &worst);
	check_log(0xB504F333F9DE6485ull, &worst);
	for (i = 0; i < 200000; i++)
		check_log(splitmix(&s) | 1, &worst);
	/* all magnitudes: x = random >> j */
	for (j = 1; j < 63; j++) {
		for (i = 0; i < 2000; i++) {
			x = (splitmix(&s) >> j) | 1;
			check_log(x, &worst);
		}
	}
	/* u close to 1: results down to about 2^-38 */
	for (j = 26; j < 64; j++) {
		for (i = 0; i < 2000; i++) {
			x = ~((splitmix(&s) >> (64 - j)) | (1ull << (j - 1)));
			check_log(x, &worst);
		}
	}
	print_message("worst relative error %.3g\n", worst);
	assert_true(worst < 1e-6);
	/* monotonic non-increasing on a dense walk */
	for (x = 1ull << 40, i = 0; i < 100000; i++, x += 1234567) {
		assert_true(
		    select_neglog2_q64(x) >= select_neglog2_q64(x + 1234567));
	}
}

static void
test_method_names(void **state)
{
	enum select_method m;

	assert_int_equal(select_method_parse("dovecot", &m), 0);
	assert_int_equal(m, SELECT_METHOD_DOVECOT);
	assert_int_equal(select_method_parse("rendezvous", &m), 0);
	assert_int_equal(m, SELECT_METHOD_RENDEZVOUS);
	assert_int_equal(select_method_parse("random", &m), -1);
	assert_string_equal(
	    select_method_name(SELECT_METHOD_DOVECOT), "dovecot");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dovecot_point),
	    cmocka_unit_test(test_dovecot_ring),
	    cmocka_unit_test(test_order_independent),
	    cmocka_unit_test(test_only_candidates),
	    cmocka_unit_test(test_neglog2_accuracy),
	    cmocka_unit_test(test_method_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
