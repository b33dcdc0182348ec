/*
 * test_auth_dmarc - DMARC (RFC 7489) on known values: record tags, the organisational domain
 * from our small public-suffix list, relaxed and strict alignment, record discovery with the
 * organisational fallback, pct sampling and sp= for subdomains.
 */
#include "scan/auth_dmarc.h"

#include "auth_zone.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static void test_record_parse(void **state)
{
	struct dmarc_record r;

	(void)state;
	assert_int_equal(dmarc_record_parse("v=DMARC1; p=reject; sp=none; pct=20; adkim=s; "
	                                    "aspf=s; rua=mailto:d@example.com",
	                                    &r),
	                 0);
	assert_int_equal(r.p, DMARC_P_REJECT);
	assert_int_equal(r.sp, DMARC_P_NONE);
	assert_int_equal(r.pct, 20);
	assert_int_equal(r.adkim, 's');
	assert_int_equal(r.aspf, 's');
	assert_int_equal(dmarc_record_parse("v=DMARC1;p=quarantine", &r), 0);
	assert_int_equal(r.p, DMARC_P_QUARANTINE);
	assert_int_equal(r.sp, DMARC_P_QUARANTINE); /* sp defaults to p */
	assert_int_equal(r.pct, 100);
	assert_int_equal(r.adkim, 'r');
	/* No valid p= but rua=: p=none (RFC 7489 6.6.3); neither: no record. */
	assert_int_equal(dmarc_record_parse("v=DMARC1; p=bogus; rua=mailto:a@b.c", &r), 0);
	assert_int_equal(r.p, DMARC_P_NONE);
	assert_int_equal(dmarc_record_parse("v=DMARC1; p=bogus", &r), -EINVAL);
	assert_int_equal(dmarc_record_parse("p=reject; v=DMARC1", &r), -EINVAL);
	assert_int_equal(dmarc_record_parse("v=DMARC2; p=reject", &r), -EINVAL);
	assert_int_equal(dmarc_record_parse("", &r), -EINVAL);
}

static void test_org_domain(void **state)
{
	static const struct {
		const char *in, *out;
	} t[] = {
	    {"example.com", "example.com"},
	    {"mail.example.com", "example.com"},
	    {"a.b.c.Example.COM", "example.com"},
	    {"example.co.uk", "example.co.uk"},
	    {"news.bbc.co.uk", "bbc.co.uk"},
	    {"shop.example.com.au", "example.com.au"},
	    {"a.b.example.de", "example.de"},
	    {"user.github.io", "user.github.io"},
	    {"com", "com"},
	    {"example.com.", "example.com"},
	};
	char out[256];

	(void)state;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		assert_int_equal(dmarc_org_domain(t[i].in, out, sizeof out), 0);
		assert_string_equal(out, t[i].out);
	}
	assert_true(dmarc_aligned("mail.example.com", "example.com", 'r'));
	assert_false(dmarc_aligned("mail.example.com", "example.com", 's'));
	assert_true(dmarc_aligned("EXAMPLE.com", "example.com", 's'));
	assert_false(dmarc_aligned("a.co.uk", "b.co.uk", 'r'));
	assert_false(dmarc_aligned("example.com", "example.net", 'r'));
}

static const struct zrec zone[] = {
    {"_dmarc.example.com", DNS_T_TXT, "v=DMARC1; p=reject; sp=quarantine"},
    {"_dmarc.example.com", DNS_T_TXT, "google-site-verification=abc"},
    {"_dmarc.half.example", DNS_T_TXT, "v=DMARC1; p=reject; pct=50"},
    {"_dmarc.strict.example", DNS_T_TXT, "v=DMARC1; p=reject; aspf=s"},
    {"_dmarc.two.example", DNS_T_TXT, "v=DMARC1; p=reject"},
    {"_dmarc.two.example", DNS_T_TXT, "v=DMARC1; p=none"},
    {"_dmarc.temp.example", DNS_T_TXT, "TEMPFAIL"},
    {NULL, 0, NULL},
};

static void run(const char *from, int spf_pass, const char *spf_dom, const char *dkim_d,
                unsigned sample, struct dmarc_outcome *o)
{
	struct zone z = {zone, 0};
	struct auth_dns dns = {zone_lookup, &z};
	struct arena *a = arena_new(1 << 20);
	const char *dk[1] = {dkim_d};
	struct dmarc_input in = {from, spf_pass, spf_dom, dk, dkim_d ? 1 : 0, sample};

	dmarc_check(&dns, a, &in, o);
	arena_free(a);
}

static void test_check(void **state)
{
	struct dmarc_outcome o;

	(void)state;
	run("example.com", 1, "bounce.example.com", NULL, 0, &o);
	assert_int_equal(o.result, DMARC_PASS);
	assert_true(o.spf_aligned);
	run("example.com", 0, "example.com", "example.com", 0, &o);
	assert_int_equal(o.result, DMARC_PASS);
	assert_true(o.dkim_aligned);
	run("example.com", 1, "evil.example", "evil.example", 0, &o);
	assert_int_equal(o.result, DMARC_FAIL);
	assert_int_equal(o.policy, DMARC_P_REJECT);
	assert_string_equal(o.record_domain, "example.com");
	/* A subdomain without its own record: the organisational record's sp=. */
	run("news.example.com", 0, "evil.example", NULL, 0, &o);
	assert_int_equal(o.result, DMARC_FAIL);
	assert_int_equal(o.policy, DMARC_P_QUARANTINE);
	assert_string_equal(o.record_domain, "example.com");
	/* pct=50: inside the sample reject, outside quarantine. */
	run("half.example", 0, "evil.example", NULL, 10, &o);
	assert_int_equal(o.policy, DMARC_P_REJECT);
	run("half.example", 0, "evil.example", NULL, 70, &o);
	assert_int_equal(o.policy, DMARC_P_QUARANTINE);
	assert_int_equal(o.asked, DMARC_P_REJECT);
	/* aspf=s: a subdomain's SPF pass does not align. */
	run("strict.example", 1, "mail.strict.example", NULL, 0, &o);
	assert_int_equal(o.result, DMARC_FAIL);
	run("two.example", 0, "x", NULL, 0, &o);
	assert_int_equal(o.result, DMARC_NONE);
	run("nothing.example", 0, "x", NULL, 0, &o);
	assert_int_equal(o.result, DMARC_NONE);
	run("temp.example", 0, "x", NULL, 0, &o);
	assert_int_equal(o.result, DMARC_TEMPERROR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_record_parse),
	    cmocka_unit_test(test_org_domain),
	    cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
