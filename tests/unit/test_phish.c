/*
 * test_phish - the pure checks of the phish scanner on known names: punycode, confusable
 * skeletons, edit distance, look-alike classes against client and brand domains, address
 * parsing, link-text domains, credential forms.
 */
#include "scan/phish.h"

#include "core/arena.h"
#include "mime/mime.h"
#include "store/tenant.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void test_punycode(void **state)
{
	char out[128];

	(void)state;
	/* "pаypal" with a Cyrillic a (U+0430), as Python's idna codec encodes it */
	assert_int_equal(phish_punycode_decode("pypal-4ve", 9, out, sizeof out), 0);
	assert_string_equal(out, "p\xd0\xb0ypal");
	/* RFC 3492 sample (B): Chinese (simplified) */
	assert_int_equal(phish_punycode_decode("ihqwcrb4cv8a8dqg056pqjye", 24, out, sizeof out), 0);
	assert_string_equal(out, "\xe4\xbb\x96\xe4\xbb\xac\xe4\xb8\xba\xe4\xbb\x80\xe4\xb9\x88"
				 "\xe4\xb8\x8d\xe8\xaf\xb4\xe4\xb8\xad\xe6\x96\x87");
	assert_int_equal(phish_punycode_decode("!!", 2, out, sizeof out), -EINVAL);
	assert_int_equal(phish_punycode_decode("99999999999", 11, out, sizeof out), -EINVAL);
}

static void test_skeleton(void **state)
{
	char out[256];

	(void)state;
	assert_int_equal(phish_skeleton("xn--pypal-4ve.com", out, sizeof out), 0);
	assert_string_equal(out, "paypal.com");
	assert_int_equal(phish_skeleton("PAYPA1.COM", out, sizeof out), 0);
	assert_string_equal(out, "paypal.com");
	assert_int_equal(phish_skeleton("rnicrosoft.com", out, sizeof out), 0);
	assert_string_equal(out, "microsoft.com");
	assert_int_equal(phish_skeleton("xn--ggle-55da.com", out, sizeof out), 0); /* gооgle */
	assert_string_equal(out, "google.com");
	assert_int_equal(phish_skeleton("\xe4\xbb\x96.com", out, sizeof out), 0);
	assert_string_equal(out, "?.com");
	assert_int_equal(phish_skeleton("", out, sizeof out), -EINVAL);
}

static void test_edit_distance(void **state)
{
	(void)state;
	assert_int_equal(phish_edit_distance("paypal", 6, "paypal", 6, 2), 0);
	assert_int_equal(phish_edit_distance("paypal", 6, "paypall", 7, 2), 1);
	assert_int_equal(phish_edit_distance("paypal", 6, "paypla", 6, 2), 1); /* swap */
	assert_int_equal(phish_edit_distance("kitten", 6, "sitting", 7, 5), 3);
	assert_int_equal(phish_edit_distance("abc", 3, "xyzxyz", 6, 1), 2); /* capped */
}

static void test_lookalike(void **state)
{
	static const struct {
		const char *dom, *prot;
		enum phish_look want;
	} cases[] = {
		{"paypal.com", "paypal.com", PHISH_LOOK_SAME},
		{"mail.paypal.com", "paypal.com", PHISH_LOOK_SAME},
		{"xn--pypal-4ve.com", "paypal.com", PHISH_LOOK_HOMOGLYPH},
		{"paypa1.com", "paypal.com", PHISH_LOOK_HOMOGLYPH},
		{"rnicrosoft.com", "microsoft.com", PHISH_LOOK_HOMOGLYPH},
		{"acme-c0rp.com", "acme-corp.com", PHISH_LOOK_HOMOGLYPH},
		{"paypall.com", "paypal.com", PHISH_LOOK_TYPO},
		{"micorsoft.com", "microsoft.com", PHISH_LOOK_TYPO},
		{"wellsfarg0-secure.com", "wellsfargo.com", PHISH_LOOK_NONE},
		{"paypal-login.com", "paypal.com", PHISH_LOOK_EMBED},
		{"paypal.com.evil.example", "paypal.com", PHISH_LOOK_EMBED},
		{"paypalobjects.com", "paypal.com", PHISH_LOOK_NONE},
		{"amazon.co.uk", "amazon.com", PHISH_LOOK_NONE},
		{"ample.com", "apple.com", PHISH_LOOK_NONE},   /* too short for a typo */
		{"example.org", "paypal.com", PHISH_LOOK_NONE},
		{"ups.com.", "ups.com", PHISH_LOOK_SAME},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum phish_look got = phish_lookalike(cases[i].dom, cases[i].prot);

		if (got != cases[i].want)
			fail_msg("%s vs %s: %s, want %s", cases[i].dom, cases[i].prot,
				 phish_look_name(got), phish_look_name(cases[i].want));
	}
}

static void test_no_brand_lookalike_for_common_senders(void **state)
{
	static const char *const honest[] = {"gmail.com", "example.com", "linux.ie", "xent.com",
					     "sourceforge.net", "yahoo.co.uk", "lists.debian.org",
					     "github.com", NULL};

	(void)state;
	for (size_t i = 0; honest[i]; i++)
		for (size_t j = 0; phish_brands[j]; j++) {
			enum phish_look l = phish_lookalike(honest[i], phish_brands[j]);

			if (l == PHISH_LOOK_HOMOGLYPH || l == PHISH_LOOK_TYPO)
				fail_msg("%s flagged as %s of %s", honest[i], phish_look_name(l),
					 phish_brands[j]);
		}
}

static void test_parse_address(void **state)
{
	char d[128], a[128], dom[128];

	(void)state;
	phish_parse_address("\"Bob Smith\" <Bob@Mail.Example.COM>", d, sizeof d, a, sizeof a, dom,
			    sizeof dom);
	assert_string_equal(d, "Bob Smith");
	assert_string_equal(a, "Bob@Mail.Example.COM");
	assert_string_equal(dom, "mail.example.com");
	phish_parse_address("bob@example.org (Bob)", d, sizeof d, a, sizeof a, dom, sizeof dom);
	assert_string_equal(d, "Bob");
	assert_string_equal(dom, "example.org");
	phish_parse_address("undisclosed", d, sizeof d, a, sizeof a, dom, sizeof dom);
	assert_string_equal(dom, "");
}

static void test_text_domain(void **state)
{
	char out[128];

	(void)state;
	assert_true(phish_text_domain(" https://www.Bank.com/login ", out, sizeof out));
	assert_string_equal(out, "www.bank.com");
	assert_true(phish_text_domain("paypal.com", out, sizeof out));
	assert_false(phish_text_domain("Click here", out, sizeof out));
	assert_false(phish_text_domain("see example.com for more", out, sizeof out));
	assert_false(phish_text_domain("v1.2", out, sizeof out));
}

static void test_credform(void **state)
{
	const char *yes = "<html><FORM action=x><input TYPE=\"password\" name=p></form>";
	const char *no = "<html><form><input type=text></form>";
	const char *nf = "<input type=password>";

	(void)state;
	assert_true(phish_html_credform(yes, strlen(yes)));
	assert_false(phish_html_credform(no, strlen(no)));
	assert_false(phish_html_credform(nf, strlen(nf)));
}

/* Scan msg with the phish scanner (tenant tn, may be NULL) into res. */
static void phish_scan_msg(const char *msg, const struct tenant *tn, struct scan_result *res)
{
	struct arena *a = arena_new(1 << 20);
	struct scan_task t;

	assert_non_null(a);
	memset(res, 0, sizeof *res);
	memset(&t, 0, sizeof t);
	t.msg = msg;
	t.len = strlen(msg);
	t.arena = a;
	t.mime = mime_parse(a, msg, t.len, &mime_limits_default);
	t.tenant = tn;
	t.res = res;
	assert_non_null(t.mime);
	assert_int_equal(phish_scanner.scan(&t), 0);
	arena_free(a);
}

static const struct scan_symbol *find_sym(const struct scan_result *r, const char *name)
{
	for (unsigned i = 0; i < r->nsym; i++)
		if (strcmp(r->sym[i].name, name) == 0)
			return &r->sym[i];
	return NULL;
}

/*
 * The brands' verdict on a host is kept per process (brand_look's table): the second scan of a
 * host answers from it and must say what the first one computed, with and without a client
 * whose own domains are checked first (a client's lookalike and a brand's are merged as the
 * single loop did). A brand lookalike sender, a brand itself, an unrelated host.
 */
static void test_brand_memo(void **state)
{
	static const char *const froms[] = {"service@paypa1.com", "service@paypal.com",
					    "news@lists.example.org", "it@examp1e-corp.test"};
	char *doms[] = {"example-corp.test"};
	struct tenant tn;
	struct scan_result first[4][2], again;
	char msg[1024];

	(void)state;
	memset(&tn, 0, sizeof tn);
	snprintf(tn.name, sizeof tn.name, "example");
	tn.domains = doms;
	tn.ndomains = 1;
	for (int round = 0; round < 3; round++) {
		for (unsigned i = 0; i < 4; i++) {
			snprintf(msg, sizeof msg,
				 "From: \"Billing\" <%s>\r\nTo: bob@example-corp.test\r\n"
				 "Subject: your account\r\nContent-Type: text/html\r\n\r\n"
				 "<p>Please <a href=\"http://%s/login\">sign in at paypal.com</a>"
				 "</p>\r\n", froms[i], strchr(froms[i], '@') + 1);
			for (int k = 0; k < 2; k++) {
				const struct tenant *tp = k ? &tn : NULL;
				struct scan_result *r = round == 0 ? &first[i][k] : &again;

				phish_scan_msg(msg, tp, r);
				if (round == 0)
					continue;
				assert_int_equal(again.nsym, first[i][k].nsym);
				for (unsigned j = 0; j < again.nsym; j++) {
					assert_string_equal(again.sym[j].name, first[i][k].sym[j].name);
					assert_string_equal(again.sym[j].detail,
							    first[i][k].sym[j].detail);
				}
			}
		}
	}
	/* and the verdicts are the expected ones, not merely repeatable */
	assert_non_null(find_sym(&first[0][0], "PHISH_LOOKALIKE_BRAND"));
	assert_null(find_sym(&first[1][0], "PHISH_LOOKALIKE_BRAND"));
	assert_null(find_sym(&first[2][0], "PHISH_LOOKALIKE_BRAND"));
	assert_non_null(find_sym(&first[3][1], "PHISH_LOOKALIKE_CLIENT"));
	assert_null(find_sym(&first[3][0], "PHISH_LOOKALIKE_CLIENT"));
}

/* The whole optimal-string-alignment table, uncapped: the reference for the banded one. */
static unsigned osa_full(const char *a, size_t al, const char *b, size_t bl)
{
	unsigned d[8][8];

	for (size_t i = 0; i <= al; i++)
		for (size_t j = 0; j <= bl; j++) {
			unsigned v;

			if (i == 0 || j == 0) {
				d[i][j] = (unsigned)(i + j);
				continue;
			}
			v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + (a[i - 1] != b[j - 1]) < v)
				v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[al][bl];
}

/* Every pair of strings of up to 5 letters over {a, b, c}, caps 0 to 3: the banded distance
 * is the full table's when within the cap, cap + 1 otherwise. */
static void test_edit_distance_exhaustive(void **state)
{
	char s[364][6];
	size_t len[364], n = 0;

	(void)state;
	for (size_t l = 0; l <= 5; l++) {
		size_t count = 1;

		for (size_t k = 0; k < l; k++)
			count *= 3;
		for (size_t c = 0; c < count; c++) {
			size_t x = c;

			for (size_t k = 0; k < l; k++, x /= 3)
				s[n][k] = (char)('a' + x % 3);
			s[n][l] = '\0';
			len[n++] = l;
		}
	}
	assert_int_equal(n, 364);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			unsigned want = osa_full(s[i], len[i], s[j], len[j]);

			for (unsigned max = 0; max <= 3; max++) {
				unsigned got = phish_edit_distance(s[i], len[i], s[j], len[j], max);

				if (got != (want <= max ? want : max + 1))
					fail_msg("%s %s max %u: %u, want %u", s[i], s[j], max, got,
						 want);
			}
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_punycode),      cmocka_unit_test(test_skeleton),
		cmocka_unit_test(test_edit_distance), cmocka_unit_test(test_lookalike),
		cmocka_unit_test(test_edit_distance_exhaustive),
		cmocka_unit_test(test_no_brand_lookalike_for_common_senders),
		cmocka_unit_test(test_parse_address), cmocka_unit_test(test_text_domain),
		cmocka_unit_test(test_credform),      cmocka_unit_test(test_brand_memo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
