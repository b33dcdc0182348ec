/*
 * test_smtp_address - the path parser: RFC 5321 syntax, limits, and every relay trick flagged.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "smtp/address.h"

struct addr_case {
	const char *in;
	int rc;
	const char *addr;
	unsigned flags;
	const char *rest;
};

static const struct addr_case cases[] = {
    {"<user@example.com>", 0, "user@example.com", 0, ""},
    {" <user@example.com> SIZE=10", 0, "user@example.com", 0, " SIZE=10"},
    {"<>", 0, "", SMTP_ADDR_NULL, ""},
    {"<a.b+c@sub.example-x.org>", 0, "a.b+c@sub.example-x.org", 0, ""},
    {"<@relay.example,@b.example:user@c.example>", 0, "user@c.example", SMTP_ADDR_ROUTE, ""},
    {"<user%victim.example@client.example>", 0, "user%victim.example@client.example",
     SMTP_ADDR_PERCENT, ""},
    {"<victim.example!user@client.example>", 0, "victim.example!user@client.example",
     SMTP_ADDR_BANG, ""},
    {"<\"user@victim.example\"@client.example>", 0, "\"user@victim.example\"@client.example",
     SMTP_ADDR_QUOTED | SMTP_ADDR_QUOTED_AT, ""},
    {"<\"a b\"@client.example>", 0, "\"a b\"@client.example", SMTP_ADDR_QUOTED, ""},
    {"<user@[192.0.2.1]>", 0, "user@[192.0.2.1]", SMTP_ADDR_LITERAL, ""},
    {"<postmaster>", 0, "postmaster", SMTP_ADDR_NODOMAIN, ""},
    {"<user@>", 0, "user", SMTP_ADDR_NODOMAIN, ""},
    {"<j\xc3\xb6rg@b\xc3\xbc"
     "cher.example>",
     0,
     "j\xc3\xb6rg@b\xc3\xbc"
     "cher.example",
     SMTP_ADDR_UTF8, ""},
    {"<j\xc3rg@example.com>", -EINVAL, NULL, 0, NULL}, /* broken UTF-8 */
    {"user@example.com", -EINVAL, NULL, 0, NULL},      /* no brackets */
    {"<user@example.com", -EINVAL, NULL, 0, NULL},
    {"<user@-bad.example>", -EINVAL, NULL, 0, NULL},
    {"<user@bad-.example>", -EINVAL, NULL, 0, NULL},
    {"<user@example..com>", -EINVAL, NULL, 0, NULL},
    {"<user@example.com.>", -EINVAL, NULL, 0, NULL},
    {"<.user@example.com>", -EINVAL, NULL, 0, NULL},
    {"<us..er@example.com>", -EINVAL, NULL, 0, NULL},
    {"<user name@example.com>", -EINVAL, NULL, 0, NULL},
    {"<\"unterminated@example.com>", -EINVAL, NULL, 0, NULL},
    {"<@relay.example:>", -EINVAL, NULL, 0, NULL},
    {"<user@[]>", -EINVAL, NULL, 0, NULL},
    {"<u\x01@example.com>", -EINVAL, NULL, 0, NULL},
    {"<1234567890123456789012345678901234567890123456789012345678901234567890@x.example>",
     -ENAMETOOLONG, NULL, 0, NULL},
};

static void test_addr_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct addr_case *c = &cases[i];
		struct smtp_addr a;
		struct slice rest;
		int rc = smtp_addr_parse((struct slice){c->in, strlen(c->in)}, &a, &rest);

		if (rc != c->rc)
			fail_msg("case %zu '%s': rc %d, want %d", i, c->in, rc, c->rc);
		if (rc < 0)
			continue;
		assert_string_equal(a.addr, c->addr);
		if (a.flags != c->flags)
			fail_msg("case %zu '%s': flags %#x, want %#x", i, c->in, a.flags, c->flags);
		assert_int_equal(rest.len, strlen(c->rest));
		assert_memory_equal(rest.p, c->rest, rest.len);
	}
}

static void test_addr_domain_pointer(void **state)
{
	struct smtp_addr a;
	struct slice rest;

	(void)state;
	assert_int_equal(smtp_addr_parse(SLICE_LIT("<Local@Example.COM>"), &a, &rest), 0);
	assert_string_equal(a.domain, "Example.COM");
	assert_int_equal(a.local_len, 5);
}

static void build_path(char *out, size_t last_label)
{
	size_t n = 0;

	out[n++] = '<';
	memset(out + n, 'a', 64);
	n += 64;
	out[n++] = '@';
	memset(out + n, 'b', 63);
	n += 63;
	out[n++] = '.';
	memset(out + n, 'c', 63);
	n += 63;
	out[n++] = '.';
	memset(out + n, 'd', last_label);
	n += last_label;
	out[n++] = '>';
	out[n] = '\0';
}

static void test_addr_path_limit(void **state)
{
	char in[400];
	struct smtp_addr a;
	struct slice rest;

	(void)state;
	/* A 64-octet local part and a domain that fill the 256-octet path exactly: accepted. */
	build_path(in, 61);
	assert_int_equal(strlen(in), SMTP_PATH_MAX);
	assert_int_equal(smtp_addr_parse((struct slice){in, strlen(in)}, &a, &rest), 0);
	assert_int_equal(strlen(a.addr), SMTP_PATH_MAX - 2);
	/* One more octet is too long. */
	build_path(in, 62);
	assert_int_equal(smtp_addr_parse((struct slice){in, strlen(in)}, &a, &rest), -ENAMETOOLONG);
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(smtp_utf8_valid("plain", 5));
	assert_true(smtp_utf8_valid("\xe2\x82\xac", 3));
	assert_true(smtp_utf8_valid("\xf0\x9f\x98\x80", 4));
	assert_false(smtp_utf8_valid("\xc0\xaf", 2));         /* overlong */
	assert_false(smtp_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	assert_false(smtp_utf8_valid("\xe2\x82", 2));         /* truncated */
	assert_false(smtp_utf8_valid("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addr_table),
	    cmocka_unit_test(test_addr_domain_pointer),
	    cmocka_unit_test(test_addr_path_limit),
	    cmocka_unit_test(test_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
