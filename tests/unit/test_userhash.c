/*
 * test_userhash.c - director_username_hash templates.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include "md5.h"
#include "userhash.h"

static uint32_t
hash_of(const char *tmpl, const char *user, const char *sep)
{
	struct userhash_template *t;
	const char *err = NULL;
	uint32_t h = 0;

	t = userhash_template_new(tmpl, &err);
	assert_non_null(t);
	assert_int_equal(userhash_compute(t, user, sep, &h, &err), 0);
	userhash_template_free(&t);
	assert_null(t);
	return h;
}

static uint32_t
md5_be(const char *s)
{
	return md5_get_u32_be(s, strlen(s));
}

static void
test_known_values(void **state)
{
	/* observed on a real Dovecot 2.3 director */
	assert_int_equal(hash_of("%Lu", "user100", NULL), 708027221u);
	assert_int_equal(hash_of("%Lu", "USER100", NULL), 708027221u);
	assert_int_equal(
	    hash_of(USERHASH_DEFAULT_TEMPLATE, "User100", NULL), 708027221u);
	assert_int_equal(
	    hash_of("%Ld", "user1@Example.COM", NULL), 1522187616u);
	assert_int_equal(hash_of("%u", "user1@Example.COM", NULL), 1731491730u);
	assert_int_equal(
	    hash_of("%Un", "user1@Example.COM", NULL), 2674472817u);
	assert_int_equal(
	    hash_of("x%%%n-%Ld", "user1@Example.COM", NULL), 250211488u);
}

static void
test_variables(void **state)
{
	const char *u = "Alice@Mail.Example.org";

	assert_int_equal(hash_of("%u", u, NULL), md5_be(u));
	assert_int_equal(hash_of("%n", u, NULL), md5_be("Alice"));
	assert_int_equal(hash_of("%d", u, NULL), md5_be("Mail.Example.org"));
	assert_int_equal(hash_of("%Ln", u, NULL), md5_be("alice"));
	assert_int_equal(hash_of("%Ud", u, NULL), md5_be("MAIL.EXAMPLE.ORG"));
	assert_int_equal(hash_of("%{user}", u, NULL), md5_be(u));
	assert_int_equal(hash_of("%L{username}", u, NULL), md5_be("alice"));
	assert_int_equal(
	    hash_of("%{domain}", u, NULL), md5_be("Mail.Example.org"));
	assert_int_equal(
	    hash_of("%n/%d", u, NULL), md5_be("Alice/Mail.Example.org"));
	assert_int_equal(hash_of("lit", u, NULL), md5_be("lit"));
	/* no '@': %n is everything, %d is empty */
	assert_int_equal(hash_of("%n", "bob", NULL), md5_be("bob"));
	assert_int_equal(hash_of("[%d]", "bob", NULL), md5_be("[]"));
	/* %n/%d split at the first '@' */
	assert_int_equal(hash_of("%d", "a@b@c", NULL), md5_be("b@c"));
	assert_int_equal(hash_of("%n", "a@b@c", NULL), md5_be("a"));
	/* slow path equals the fast path */
	assert_int_equal(
	    hash_of("%L{user}", "MiXeD", NULL), hash_of("%Lu", "MiXeD", NULL));
}

static void
test_master_separator(void **state)
{
	assert_int_equal(hash_of("%Lu", "User100*master", "*"), 708027221u);
	assert_int_equal(hash_of("%Lu", "user100", "*"), 708027221u);
	assert_int_equal(
	    hash_of("%Ln", "user100@x.org**adm", "**"), 708027221u);
	assert_int_equal(hash_of("%u", "a*b", ""), md5_be("a*b"));
	assert_int_equal(hash_of("%u", "a*b", NULL), md5_be("a*b"));
}

static void
test_errors(void **state)
{
	static const char *bad[] = {
	    "%x",
	    "%",
	    "abc%",
	    "%L",
	    "%{nope}",
	    "%{user",
	    "%Lx",
	    "",
	};
	struct userhash_template *t;
	const char *err;
	char big[USERHASH_EXPANSION_MAX + 2];
	uint32_t h;
	size_t i;

	for (i = 0; i < nitems(bad); i++) {
		err = NULL;
		assert_null(userhash_template_new(bad[i], &err));
		assert_non_null(err);
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	t = userhash_template_new("%Lu", &err);
	assert_int_equal(userhash_compute(t, big, NULL, &h, &err), -1);
	userhash_template_free(&t);
	/* the expansion (not the input) is bounded */
	big[USERHASH_EXPANSION_MAX / 2 + 1] = '\0';
	t = userhash_template_new("%u%u", &err);
	assert_int_equal(userhash_compute(t, big, NULL, &h, &err), -1);
	userhash_template_free(&t);
	big[USERHASH_EXPANSION_MAX / 2] = '\0';
	t = userhash_template_new("%u%u", &err);
	assert_int_equal(userhash_compute(t, big, NULL, &h, &err), 0);
	userhash_template_free(&t);
	userhash_template_free(&t);
}

static void
test_zero_becomes_one(void **state)
{
	assert_int_equal(userhash_fix_zero(0), 1);
	assert_int_equal(userhash_fix_zero(1), 1);
	assert_int_equal(userhash_fix_zero(0xffffffffu), 0xffffffffu);
	assert_int_equal(userhash_from_expansion("user100", 7), 708027221u);
}

static void
test_expand_and_detail(void **state)
{
	static const struct {
		const char *addr, *delims, *want;
	} details[] = {
	    {"alice+lists@example.com", "+", "alice@example.com"},
	    {"alice+a+b@example.com", "+", "alice@example.com"},
	    {"alice-x@example.com", "+-", "alice@example.com"},
	    {"alice@ex+ample.com", "+", "alice@ex+ample.com"},
	    {"+alice@example.com", "+", "+alice@example.com"},
	    {"alice+x", "+", "alice"},
	    {"alice+x@example.com", "", "alice+x@example.com"},
	    {"alice+x@example.com", NULL, "alice+x@example.com"},
	};
	struct userhash_template *t;
	const char *err = NULL;
	uint32_t h1, h2;
	char buf[64];
	size_t i;

	for (i = 0; i < nitems(details); i++) {
		assert_int_equal(userhash_strip_detail(details[i].addr,
				     details[i].delims, buf, sizeof(buf)),
		    0);
		assert_string_equal(buf, details[i].want);
	}
	assert_int_equal(
	    userhash_strip_detail("alice+x@example.com", "+", buf, 17), -1);
	assert_int_equal(
	    userhash_strip_detail("alice+x@example.com", "+", buf, 18), 0);

	/* the expansion is what is hashed */
	t = userhash_template_new("%Ln@%{domain}", &err);
	assert_non_null(t);
	assert_int_equal(userhash_expand(t, "Alice@Example.COM*master", "*",
			     buf, sizeof(buf), &err),
	    0);
	assert_string_equal(buf, "alice@Example.COM");
	assert_int_equal(
	    userhash_compute(t, "Alice@Example.COM", NULL, &h1, &err), 0);
	assert_int_equal(h1, userhash_from_expansion(buf, strlen(buf)));
	assert_int_equal(
	    userhash_expand(t, "Alice@Example.COM", NULL, buf, 5, &err), -1);
	userhash_template_free(&t);
	/* the fast paths expand the same way */
	t = userhash_template_new("%Lu", &err);
	assert_int_equal(
	    userhash_expand(t, "Bob@X", NULL, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "bob@x");
	assert_int_equal(userhash_compute(t, "Bob@X", NULL, &h2, &err), 0);
	assert_int_equal(h2, userhash_from_expansion("bob@x", 5));
	userhash_template_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_values),
	    cmocka_unit_test(test_variables),
	    cmocka_unit_test(test_master_separator),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_zero_becomes_one),
	    cmocka_unit_test(test_expand_and_detail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
