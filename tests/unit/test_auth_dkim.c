/*
 * test_auth_dkim - DKIM on known values: the canonicalisation example of RFC 6376 3.4.6, the
 * tag-list parsers, and two signatures made by an independent signer (dkimpy 1.1.4: RSA-SHA256
 * relaxed/relaxed and Ed25519-SHA256 simple/simple with l=) verified against their keys, then
 * broken by changing a signed header, the body, and the key.
 */
#include "scan/auth_dkim.h"

#include "auth_zone.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void test_canon_rfc6376_example(void **state)
{
	const char *h1 = "A: X", *h2 = "B : Y\t\r\n\tZ  ";
	const char *body = " C \r\nD \t E\r\n\r\n\r\n";
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(dkim_canon_header(&b, h1, strlen(h1), 1, 1), 0);
	assert_int_equal(dkim_canon_header(&b, h2, strlen(h2), 1, 1), 0);
	assert_string_equal(b.p, "a:X\r\nb:Y Z\r\n");
	buf_reset(&b);
	assert_int_equal(dkim_canon_header(&b, h1, strlen(h1), 0, 1), 0);
	assert_int_equal(dkim_canon_header(&b, h2, strlen(h2), 0, 1), 0);
	assert_string_equal(b.p, "A: X\r\nB : Y\t\r\n\tZ  \r\n");
	buf_reset(&b);
	assert_int_equal(dkim_canon_body(&b, body, strlen(body), 1), 0);
	assert_string_equal(b.p, " C\r\nD E\r\n");
	buf_reset(&b);
	assert_int_equal(dkim_canon_body(&b, body, strlen(body), 0), 0);
	assert_string_equal(b.p, " C \r\nD \t E\r\n");
	/* Empty bodies: one CRLF in simple, nothing in relaxed. */
	buf_reset(&b);
	assert_int_equal(dkim_canon_body(&b, "", 0, 0), 0);
	assert_string_equal(b.p, "\r\n");
	buf_reset(&b);
	assert_int_equal(dkim_canon_body(&b, "\r\n\r\n", 4, 1), 0);
	assert_int_equal(b.len, 0);
	/* A last line without CRLF gets one. */
	buf_reset(&b);
	assert_int_equal(dkim_canon_body(&b, "x", 1, 0), 0);
	assert_string_equal(b.p, "x\r\n");
	buf_free(&b);
}

static void test_sig_and_key_parse(void **state)
{
	struct arena *a = arena_new(1 << 16);
	struct dkim_sig s;
	struct dkim_key k;
	const char *why = "";
	const char *ok = " v=1; a=rsa-sha256; c=relaxed; d=example.com; s=sel;\r\n h=From:To; "
	                 "bh=YWJj; b=ZG Vm\r\n Zw==; l=10; i=joe@mail.example.com";

	(void)state;
	assert_int_equal(dkim_sig_parse(ok, strlen(ok), a, &s, &why), 0);
	assert_int_equal(s.alg, DKIM_RSA_SHA256);
	assert_int_equal(s.hdr_relaxed, 1);
	assert_int_equal(s.body_relaxed, 0);
	assert_string_equal(s.d, "example.com");
	assert_string_equal(s.b, "ZGVmZw==");
	assert_int_equal(s.nh, 2);
	assert_string_equal(s.h[1], "To");
	assert_int_equal(s.has_l, 1);
	assert_int_equal(s.l, 10);
	static const char *const bad[] = {
	    "v=1; a=rsa-sha1; d=e.com; s=s; h=from; bh=YQ==; b=YQ==", /* RFC 8301 */
	    "v=1; a=rsa-sha256; d=e.com; s=s; h=to; bh=YQ==; b=YQ==", /* From not signed */
	    "v=1; a=rsa-sha256; d=e.com; s=s; h=from; bh=YQ==",       /* no b= */
	    "v=1; a=rsa-sha256; d=e.com; d=f.com; s=s; h=from; bh=YQ==; b=YQ==",
	    "v=1; a=rsa-sha256; d=e.com; s=s; h=from; bh=YQ==; b=YQ==; i=x@other.com",
	    "v=1; a=rsa-sha256; d=e.com; s=s; h=from; bh=YQ==; b=YQ==; l=abc",
	    "v=2; a=rsa-sha256; d=e.com; s=s; h=from; bh=YQ==; b=YQ==",
	    "v=1; a=rsa-sha256; d=e.com; s=s; h=from; bh=YQ==; b=YQ==; c=fancy",
	    "garbage",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(dkim_sig_parse(bad[i], strlen(bad[i]), a, &s, &why), -EINVAL);
	assert_int_equal(dkim_key_parse("v=DKIM1; k=ed25519; p=AAAA", a, &k), 0);
	assert_int_equal(k.ed25519, 1);
	assert_int_equal(dkim_key_parse("p=", a, &k), 0); /* revoked */
	assert_string_equal(k.p, "");
	assert_int_equal(dkim_key_parse("v=DKIM1; h=sha1; p=AAAA", a, &k), 0);
	assert_int_equal(k.sha256_ok, 0);
	assert_int_equal(dkim_key_parse("k=rsa; v=DKIM1; p=AAAA", a, &k), -EINVAL);
	assert_int_equal(dkim_key_parse("v=DKIM1; k=dsa; p=AAAA", a, &k), -EINVAL);
	assert_int_equal(dkim_key_parse("v=DKIM1; k=rsa", a, &k), -EINVAL);
	arena_free(a);
}

#define MSG_HEAD                                                                                   \
	"From: Alice <alice@example.com>\r\nTo: bob@example.net\r\nSubject: Hello  there\r\n"      \
	"Date: Sat, 28 Nov 2026 20:00:00 +0000\r\nMessage-ID: <1@example.com>\r\n\r\n"
#define MSG_BODY "Hi Bob,  \r\n\r\nsee you\t at  noon.\r\n\r\n\r\n"

/* Made by dkimpy (see the file comment) over MSG_HEAD MSG_BODY; keys in the zone below. */
#define SIG_RSA                                                                                    \
	"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com;\r\n"                 \
	" i=@example.com; q=dns/txt; s=sel1; t=1795897931; h=from : to : subject\r\n"              \
	" : date : message-id; bh=1YcJyVQBFF+O2FefpF5mnu2gmxOpBkFE8SLsxi/s0/E=;\r\n"               \
	" b=sthcgWvu9U9x/OrOHZ0bGrOZHUZsCE6TAn5zm1cpx4OydNYbUQjNYLOOq03l73OSPzuGF\r\n"             \
	" IaXX7acv3vE1HM6f8ESTn/cenWTgmolf+FvIX2c8XEbeK5Zb5WznTeasQevFpNQlqm3atxE\r\n"             \
	" Ag8CuAWjSglwjkjzQYC+qXC+pBKcX2s=\r\n"
#define SIG_ED                                                                                     \
	"DKIM-Signature: v=1; a=ed25519-sha256; c=simple/simple; d=example.com;\r\n"               \
	" i=@example.com; l=33; q=dns/txt; s=ed1; t=1795897931; h=from : to :\r\n"                 \
	" subject; bh=fdU4aS4AcL1npX7+qN1lD5wv0gA//JVACNI3Gb3lmz4=;\r\n"                           \
	" b=HBt2D0Gk0ES+KIu55rHjbWP/OsfFP5NciIXT5tsuMPne2eqJ9fgm7zqGtgcuvKLQlb6Qj\r\n"             \
	" cPZKpePCI1W+8eZBQ==\r\n"

static const struct zrec dkim_zone[] = {
    {"sel1._domainkey.example.com", DNS_T_TXT,
     "v=DKIM1; k=rsa; "
     "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDIUU4U47hEiesLHkrnFhDjt2Q/"
     "f3C6bM9xdRh8q97OX3S7SA7r4re2RJXxKz5jofcE+s/dzyaWT/"
     "I3lLrORJNnnqQMI61cmQ6Z5rwvEGfxhn1ekwjqiE+zvnEroypuoAEinGv6h1Oez90fUnwGQm9cm/rnh4j8/"
     "TX18ZBZyyzVswIDAQAB"},
    {"ed1._domainkey.example.com", DNS_T_TXT,
     "v=DKIM1; k=ed25519; p=HSKynJMuzTWtdiAs8bHQEaklsXYGPB9q6Ftzz3ANhTM="},
    {"sel1._domainkey.revoked.example", DNS_T_TXT, "v=DKIM1; p="},
    {NULL, 0, NULL},
};

/* Verify msg's signatures against dkim_zone; statuses into st[], returns the count. */
static unsigned verify(const char *msg, struct dkim_result *res)
{
	struct zone z = {dkim_zone, 0};
	struct auth_dns dns = {zone_lookup, &z};
	struct arena *a = arena_new(4 << 20);
	struct mime_msg *m = mime_parse(a, msg, strlen(msg), &mime_limits_default);
	unsigned n;

	assert_non_null(m);
	n = dkim_verify(&dns, a, m->root, msg, strlen(msg), res, DKIM_MAX_SIGS);
	arena_free(a);
	return n;
}

static void test_verify_dkimpy_signatures(void **state)
{
	struct dkim_result r[DKIM_MAX_SIGS];

	(void)state;
	assert_int_equal(verify(SIG_RSA MSG_HEAD MSG_BODY, r), 1);
	assert_int_equal(r[0].status, DKIM_PASS);
	assert_string_equal(r[0].d, "example.com");
	assert_string_equal(r[0].s, "sel1");
	assert_int_equal(verify(SIG_ED MSG_HEAD MSG_BODY, r), 1);
	assert_int_equal(r[0].status, DKIM_PASS);
	/* Both at once; with l=33 text added after the signed length still passes Ed25519. */
	assert_int_equal(verify(SIG_ED SIG_RSA MSG_HEAD MSG_BODY "P.S. added later\r\n", r), 2);
	assert_int_equal(r[0].status, DKIM_PASS);
	assert_int_equal(r[1].status, DKIM_FAIL);
	assert_string_equal(r[1].why, "body hash mismatch");
	/* Relaxed header canonicalisation tolerates whitespace changes in a signed header... */
	{
		char buf[2048];
		snprintf(buf, sizeof buf, "%s", SIG_RSA MSG_HEAD MSG_BODY);
		char *subj = strstr(buf, "Hello  there");
		memcpy(subj, "Hello\t there", 12);
		assert_int_equal(verify(buf, r), 1);
		assert_int_equal(r[0].status, DKIM_PASS);
		/* ... but not a changed word. */
		memcpy(subj, "Hellu  there", 12);
		assert_int_equal(verify(buf, r), 1);
		assert_int_equal(r[0].status, DKIM_FAIL);
		assert_string_equal(r[0].why, "signature does not verify");
		/* Simple/simple: the same whitespace change breaks the Ed25519 signature. */
		snprintf(buf, sizeof buf, "%s", SIG_ED MSG_HEAD MSG_BODY);
		subj = strstr(buf, "Hello  there");
		memcpy(subj, "Hello\t there", 12);
		assert_int_equal(verify(buf, r), 1);
		assert_int_equal(r[0].status, DKIM_FAIL);
		/* The same signature claimed for a domain without that key: permerror (no key). */
		snprintf(buf, sizeof buf, "%s", SIG_RSA MSG_HEAD MSG_BODY);
		char *d = strstr(buf, "d=example.com");
		memcpy(d, "d=example.org", 13);
		assert_int_equal(verify(buf, r), 1);
		assert_int_equal(r[0].status, DKIM_PERMERROR);
	}
	/* An unsigned message has no results. */
	assert_int_equal(verify(MSG_HEAD MSG_BODY, r), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_canon_rfc6376_example),
	    cmocka_unit_test(test_sig_and_key_parse),
	    cmocka_unit_test(test_verify_dkimpy_signatures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
