/*
 * test_auth_spf - SPF (RFC 7208) on known values: record syntax, the macro examples of RFC 7208
 * 7.4, and check_host() over a table of records: each mechanism, qualifiers, include/redirect,
 * the 10-lookup and void-lookup limits, and errors.
 */
#include "scan/auth_spf.h"

#include "auth_zone.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static void test_record_parse(void **state)
{
	struct arena *a = arena_new(1 << 20);
	struct spf_record r;

	(void)state;
	assert_int_equal(
	    spf_record_parse("v=spf1 ip4:192.0.2.0/24 a mx:mail.example.com//64 "
	                     "-include:_spf.example.net ~all redirect=x.example exp=e.%{d}",
	                     a, &r),
	    0);
	assert_int_equal(r.n, 5);
	assert_int_equal(r.t[0].mech, SPF_M_IP4);
	assert_int_equal(r.t[0].cidr4, 24);
	assert_int_equal(r.t[1].mech, SPF_M_A);
	assert_null(r.t[1].domain);
	assert_int_equal(r.t[2].mech, SPF_M_MX);
	assert_string_equal(r.t[2].domain, "mail.example.com");
	assert_int_equal(r.t[2].cidr6, 64);
	assert_int_equal(r.t[3].qual, '-');
	assert_int_equal(r.t[4].qual, '~');
	assert_string_equal(r.redirect, "x.example");
	/* Unknown modifiers are ignored, unknown mechanisms are errors. */
	assert_int_equal(spf_record_parse("v=spf1 foo=bar -all", a, &r), 0);
	assert_int_equal(spf_record_parse("v=spf1 foo:bar -all", a, &r), -EINVAL);
	assert_int_equal(spf_record_parse("v=spf1 ip4:192.0.2.300", a, &r), -EINVAL);
	assert_int_equal(spf_record_parse("v=spf1 ip4:192.0.2.0/33", a, &r), -EINVAL);
	assert_int_equal(spf_record_parse("v=spf1 ip6:2001:db8::/129", a, &r), -EINVAL);
	assert_int_equal(spf_record_parse("v=spf1 a:%{z}.example", a, &r), -EINVAL);
	assert_int_equal(spf_record_parse("v=spf1 redirect=a.example redirect=b.example", a, &r),
	                 -EINVAL);
	assert_int_equal(spf_record_parse("v=spf1 include", a, &r), -EINVAL);
	assert_int_equal(spf_record_parse("v=spf10 -all", a, &r), -EINVAL);
	assert_int_equal(spf_record_parse("v=spf1 all/24", a, &r), -EINVAL);
	assert_int_equal(spf_record_parse("v=spf1", a, &r), 0);
	assert_int_equal(r.n, 0);
	arena_free(a);
}

static void test_macros_rfc7208_7_4(void **state)
{
	static const struct {
		const char *in, *out;
	} v4[] = {
	    {"%{s}", "strong-bad@email.example.com"},
	    {"%{o}", "email.example.com"},
	    {"%{d}", "email.example.com"},
	    {"%{d4}", "email.example.com"},
	    {"%{d3}", "email.example.com"},
	    {"%{d2}", "example.com"},
	    {"%{d1}", "com"},
	    {"%{dr}", "com.example.email"},
	    {"%{d2r}", "example.email"},
	    {"%{l}", "strong-bad"},
	    {"%{l-}", "strong.bad"},
	    {"%{lr}", "strong-bad"},
	    {"%{lr-}", "bad.strong"},
	    {"%{l1r-}", "strong"},
	    {"%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
	    {"%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
	    {"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
	    {"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"},
	    {"%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"},
	    {"%{h}.%%.%_", "mx.example.org.%. "},
	};
	struct dns_addr ip;
	struct spf_macro_ctx c = {"strong-bad@email.example.com", "email.example.com",
	                          "mx.example.org", &ip};
	char out[300];

	(void)state;
	assert_int_equal(dns_addr_parse("192.0.2.3", &ip), 0);
	for (size_t i = 0; i < sizeof v4 / sizeof v4[0]; i++) {
		assert_int_equal(spf_macro_expand(v4[i].in, &c, out, sizeof out), 0);
		assert_string_equal(out, v4[i].out);
	}
	assert_int_equal(dns_addr_parse("2001:db8::cb01", &ip), 0);
	assert_int_equal(spf_macro_expand("%{ir}.%{v}._spf.%{d2}", &c, out, sizeof out), 0);
	assert_string_equal(out, "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
	                         ".ip6._spf.example.com");
	/* Errors: a bare %, an unknown letter, %{d0}, exp-only letters. */
	assert_int_equal(spf_macro_expand("%x", &c, out, sizeof out), -EINVAL);
	assert_int_equal(spf_macro_expand("%{q}", &c, out, sizeof out), -EINVAL);
	assert_int_equal(spf_macro_expand("%{d0}", &c, out, sizeof out), -EINVAL);
	assert_int_equal(spf_macro_expand("%{c}", &c, out, sizeof out), -EINVAL);
	assert_int_equal(spf_macro_expand("%{d", &c, out, sizeof out), -EINVAL);
}

static const struct zrec zone1[] = {
    {"example.com", DNS_T_TXT,
     "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a:host.example.com "
     "mx include:partner.example -all"},
    {"example.com", DNS_T_TXT, "some other text record"},
    {"example.com", DNS_T_MX, "mx1.example.com"},
    {"mx1.example.com", DNS_T_A, "198.51.100.7"},
    {"host.example.com", DNS_T_A, "203.0.113.9"},
    {"partner.example", DNS_T_TXT, "v=spf1 ip4:100.64.1.1 ?all"},
    {"soft.example", DNS_T_TXT, "v=spf1 ~all"},
    {"neutral.example", DNS_T_TXT, "v=spf1 ?ip4:10.0.0.1"},
    {"redir.example", DNS_T_TXT, "v=spf1 redirect=example.com"},
    {"redirnone.example", DNS_T_TXT, "v=spf1 redirect=nothing.example"},
    {"two.example", DNS_T_TXT, "v=spf1 -all"},
    {"two.example", DNS_T_TXT, "v=spf1 +all"},
    {"syntax.example", DNS_T_TXT, "v=spf1 ip4:1.2.3 -all"},
    {"temp.example", DNS_T_TXT, "TEMPFAIL"},
    {"incltemp.example", DNS_T_TXT, "v=spf1 include:temp.example -all"},
    {"inclnone.example", DNS_T_TXT, "v=spf1 include:nothing.example -all"},
    {"exists.example", DNS_T_TXT, "v=spf1 exists:%{ir}.%{l}._spf.%{d} -all"},
    {"1.2.0.192.alice._spf.exists.example", DNS_T_A, "127.0.0.2"},
    {"loop.example", DNS_T_TXT, "v=spf1 include:loop.example -all"},
    {"voids.example", DNS_T_TXT, "v=spf1 a:v1.example a:v2.example a:v3.example -all"},
    {"many.example", DNS_T_TXT,
     "v=spf1 a:h1.example a:h2.example a:h3.example a:h4.example a:h5.example a:h6.example "
     "a:h7.example a:h8.example a:h9.example a:h10.example a:h11.example -all"},
    {"h1.example", DNS_T_A, "10.9.9.9"},
    {"h2.example", DNS_T_A, "10.9.9.9"},
    {"h3.example", DNS_T_A, "10.9.9.9"},
    {"h4.example", DNS_T_A, "10.9.9.9"},
    {"h5.example", DNS_T_A, "10.9.9.9"},
    {"h6.example", DNS_T_A, "10.9.9.9"},
    {"h7.example", DNS_T_A, "10.9.9.9"},
    {"h8.example", DNS_T_A, "10.9.9.9"},
    {"h9.example", DNS_T_A, "10.9.9.9"},
    {"h10.example", DNS_T_A, "10.9.9.9"},
    {"h11.example", DNS_T_A, "10.9.9.9"},
    {"ptr.example", DNS_T_TXT, "v=spf1 ptr -all"},
    {"5.2.0.192.in-addr.arpa", DNS_T_PTR, "mail.ptr.example"},
    {"mail.ptr.example", DNS_T_A, "192.0.2.5"},
    {"cidr.example", DNS_T_TXT, "v=spf1 a/24 -all"},
    {"cidr.example", DNS_T_A, "203.0.113.1"},
    {"helo.example", DNS_T_TXT, "v=spf1 ip4:192.0.2.77 -all"},
    {NULL, 0, NULL},
};

static enum spf_result check(const char *ip, const char *sender, const char *helo,
                             struct spf_outcome *o)
{
	struct zone z = {zone1, 0};
	struct auth_dns dns = {zone_lookup, &z};
	struct arena *a = arena_new(1 << 20);
	struct spf_request rq = {ip, helo, sender};

	spf_check(&dns, a, &rq, o);
	arena_free(a);
	return o->result;
}

static void test_check_host(void **state)
{
	struct spf_outcome o;

	(void)state;
	assert_int_equal(check("192.0.2.10", "a@example.com", "h", &o), SPF_PASS);
	assert_string_equal(o.domain, "example.com");
	assert_int_equal(check("2001:db8:1::5", "a@example.com", "h", &o), SPF_PASS);
	assert_int_equal(check("::ffff:192.0.2.10", "a@example.com", "h", &o), SPF_PASS);
	assert_int_equal(check("203.0.113.9", "a@example.com", "h", &o), SPF_PASS);  /* a: */
	assert_int_equal(check("198.51.100.7", "a@example.com", "h", &o), SPF_PASS); /* mx */
	assert_int_equal(check("100.64.1.1", "a@example.com", "h", &o), SPF_PASS);   /* include */
	assert_int_equal(check("100.64.1.2", "a@example.com", "h", &o), SPF_FAIL);
	assert_int_equal(check("100.64.1.2", "a@soft.example", "h", &o), SPF_SOFTFAIL);
	assert_int_equal(check("100.64.1.2", "a@neutral.example", "h", &o), SPF_NEUTRAL);
	assert_int_equal(check("100.64.1.2", "a@nothing.example", "h", &o), SPF_NONE);
	assert_int_equal(check("192.0.2.10", "a@redir.example", "h", &o), SPF_PASS);
	assert_int_equal(check("100.64.1.2", "a@redir.example", "h", &o), SPF_FAIL);
	assert_int_equal(check("1.1.1.1", "a@redirnone.example", "h", &o), SPF_PERMERROR);
	assert_int_equal(check("1.1.1.1", "a@two.example", "h", &o), SPF_PERMERROR);
	assert_int_equal(check("1.1.1.1", "a@syntax.example", "h", &o), SPF_PERMERROR);
	assert_int_equal(check("1.1.1.1", "a@temp.example", "h", &o), SPF_TEMPERROR);
	assert_int_equal(check("1.1.1.1", "a@incltemp.example", "h", &o), SPF_TEMPERROR);
	assert_int_equal(check("1.1.1.1", "a@inclnone.example", "h", &o), SPF_PERMERROR);
	assert_int_equal(check("192.0.2.1", "alice@exists.example", "h", &o), SPF_PASS);
	assert_int_equal(check("192.0.2.1", "bob@exists.example", "h", &o), SPF_FAIL);
	assert_int_equal(check("1.1.1.1", "a@loop.example", "h", &o), SPF_PERMERROR);
	assert_true(o.lookups > 10);
	assert_int_equal(check("1.1.1.1", "a@voids.example", "h", &o), SPF_PERMERROR);
	assert_int_equal(o.voids, 3);
	assert_int_equal(check("1.1.1.1", "a@many.example", "h", &o), SPF_PERMERROR);
	assert_non_null(strstr(o.why, "10 DNS lookups"));
	assert_int_equal(check("192.0.2.5", "a@ptr.example", "h", &o), SPF_PASS);
	assert_int_equal(check("192.0.2.6", "a@ptr.example", "h", &o), SPF_FAIL);
	assert_int_equal(check("203.0.113.200", "a@cidr.example", "h", &o), SPF_PASS);
	assert_int_equal(check("203.0.114.1", "a@cidr.example", "h", &o), SPF_FAIL);
	/* The null sender is checked as postmaster@HELO. */
	assert_int_equal(check("192.0.2.77", "", "helo.example", &o), SPF_PASS);
	assert_string_equal(o.domain, "helo.example");
	assert_int_equal(check("192.0.2.78", "", "helo.example", &o), SPF_FAIL);
	/* Not a domain: none, without a lookup. */
	assert_int_equal(check("192.0.2.78", "a@localhost", "h", &o), SPF_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_record_parse),
	    cmocka_unit_test(test_macros_rfc7208_7_4),
	    cmocka_unit_test(test_check_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
