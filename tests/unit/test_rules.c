/*
 * test_rules - the rule file format (good files, each kind of error with its line), matching
 * every target through Hyperscan and through the PCRE2 fallback, later rules replacing
 * earlier ones, and the on-disk cache being used by the second build.
 */
#include "scan/rules.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char good[] =
	"# comment\n"
	"rule GTUBE\n"
	"target body\n"
	"match /XJS\\*C4JDBQADN1\\.NSBN3\\*2IDNEN\\*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL\\*C\\.34X/\n"
	"score 1000\n"
	"desc GTUBE\n"
	"\n"
	"rule SUBJ_WIN\n"
	"  target header:Subject\n"
	"  match /you have won/i\n"
	"  score 2.5\n"
	"rule BACKREF\n"
	"  target body\n"
	"  match /\\b(\\w+) \\1\\b/\n"
	"  score 0.5\n"
	"  desc repeated word (Hyperscan cannot: back-reference)\n"
	"rule IP_LINK\n"
	"  target uri\n"
	"  match /^https?:\\/\\/\\d+\\.\\d+\\.\\d+\\.\\d+\\//m\n"
	"  score 1\n"
	"rule RAW_B64\n"
	"  target rawbody\n"
	"  match /^[A-Za-z0-9+\\/]{76}$/m\n"
	"  score 0.1\n"
	"rule FULL_XMAILER\n"
	"  target full\n"
	"  match /^X-Mailer: spamtool/mi\n"
	"  score 3\n";

struct hits {
	char names[16][RULE_NAME_MAX];
	unsigned n;
};

static void on_hit(void *arg, const struct rule *r)
{
	struct hits *h = arg;

	if (h->n < 16)
		snprintf(h->names[h->n++], RULE_NAME_MAX, "%s", r->name);
}

static int hit(const struct hits *h, const char *name)
{
	for (unsigned i = 0; i < h->n; i++)
		if (strcmp(h->names[i], name) == 0)
			return 1;
	return 0;
}

static struct rule_set *build(const char *text, const char *cache)
{
	struct rule_list l = {NULL, 0, 0};
	char err[256];
	struct rule_set *s;

	assert_int_equal(rules_parse(&l, text, strlen(text), "t.rules", err, sizeof err), 0);
	s = rule_set_build(&l, cache, err, sizeof err);
	if (s == NULL)
		fail_msg("%s", err);
	rule_list_free(&l);
	return s;
}

static void test_match_targets(void **state)
{
	struct rule_set *s = build(good, NULL);
	const char *hn[] = {"SUBJECT", "From"};
	const char *hv[] = {"YOU HAVE WON a prize", "x@y"};
	const char body[] = "hello XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X "
			    "the the end";
	const char uris[] = "https://example.com/a\nhttp://10.0.0.1/login\n";
	const char full[] = "From: x@y\nX-Mailer: SpamTool 2\n\nbody\n";
	struct rule_input in;
	struct hits h = {.n = 0};

	(void)state;
	assert_int_equal(rule_set_count(s), 6);
	assert_int_equal(rule_set_pcre_count(s), 1); /* the back-reference */
	memset(&in, 0, sizeof in);
	in.body = body;
	in.body_len = strlen(body);
	in.hname = hn;
	in.hvalue = hv;
	in.nheaders = 2;
	in.uris = uris;
	in.uris_len = strlen(uris);
	in.full = full;
	in.full_len = strlen(full);
	in.rawbody = "short\n";
	in.rawbody_len = 6;
	assert_int_equal(rule_set_match(s, &in, on_hit, &h), 0);
	assert_true(hit(&h, "GTUBE"));
	assert_true(hit(&h, "SUBJ_WIN"));
	assert_true(hit(&h, "BACKREF"));
	assert_true(hit(&h, "IP_LINK"));
	assert_true(hit(&h, "FULL_XMAILER"));
	assert_false(hit(&h, "RAW_B64"));
	assert_int_equal(h.n, 5);

	/* nothing matches an empty message; a rule hits once however often it matches */
	memset(&in, 0, sizeof in);
	h.n = 0;
	assert_int_equal(rule_set_match(s, &in, on_hit, &h), 0);
	assert_int_equal(h.n, 0);
	in.body = "the the and and";
	in.body_len = strlen(in.body);
	assert_int_equal(rule_set_match(s, &in, on_hit, &h), 0);
	assert_int_equal(h.n, 1);
	rule_set_free(s);
}

static void test_parse_errors(void **state)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{"rule A\ntarget body\nscore 1\n", "t.rules:1: rule A lacks match"},
		{"rule A\ntarget nowhere\n", "t.rules:2: unknown target"},
		{"rule a-b\n", "t.rules:1: rule name"},
		{"target body\n", "t.rules:1: 'target' outside a rule"},
		{"rule A\ntarget body\nmatch /x/q\n", "t.rules:3: unknown flag 'q'"},
		{"rule A\ntarget body\nmatch x\n", "t.rules:3: match must be /pattern/flags"},
		{"rule A\ntarget body\nmatch /x/\nscore lots\n", "t.rules:4: score must be"},
		{"rule A\ntarget body\nmatch /x/\nscore 1\ncolour red\n", "t.rules:5: unknown field"},
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct rule_list l = {NULL, 0, 0};

		err[0] = '\0';
		assert_int_equal(rules_parse(&l, bad[i].text, strlen(bad[i].text), "t.rules", err,
					     sizeof err), -EINVAL);
		if (strncmp(err, bad[i].want, strlen(bad[i].want)) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s...\"", i, err, bad[i].want);
		rule_list_free(&l);
	}
}

static void test_bad_regex_named(void **state)
{
	const char text[] = "rule BROKEN\ntarget body\nmatch /(unclosed/\nscore 1\n";
	struct rule_list l = {NULL, 0, 0};
	char err[256];

	(void)state;
	assert_int_equal(rules_parse(&l, text, strlen(text), "t.rules", err, sizeof err), 0);
	assert_null(rule_set_build(&l, NULL, err, sizeof err));
	assert_non_null(strstr(err, "BROKEN"));
	assert_non_null(strstr(err, "t.rules:1"));
	rule_list_free(&l);
}

static void test_override(void **state)
{
	const char text[] = "rule A\ntarget body\nmatch /x/\nscore 1\n"
			    "rule A\ntarget body\nmatch /y/\nscore 0\n";
	struct rule_list l = {NULL, 0, 0};
	char err[256];

	(void)state;
	assert_int_equal(rules_parse(&l, text, strlen(text), "t.rules", err, sizeof err), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].pattern, "y");
	assert_float_equal(l.v[0].score, 0, 1e-12);
	rule_list_free(&l);
}

static void test_cache(void **state)
{
	char dir[64] = "/tmp/test_rules.XXXXXX", cmd[128];
	struct rule_set *s;

	(void)state;
	assert_non_null(mkdtemp(dir));
	s = build(good, dir);
	assert_false(rule_set_from_cache(s));
	rule_set_free(s);
	s = build(good, dir);
	assert_true(rule_set_from_cache(s));
	assert_int_equal(rule_set_pcre_count(s), 1);
	/* the cached set matches like the compiled one */
	struct rule_input in;
	struct hits h = {.n = 0};

	memset(&in, 0, sizeof in);
	in.uris = "http://10.0.0.1/x\n";
	in.uris_len = strlen(in.uris);
	assert_int_equal(rule_set_match(s, &in, on_hit, &h), 0);
	assert_true(hit(&h, "IP_LINK"));
	rule_set_free(s);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_shipped_rules_compile(void **state)
{
	char dir[1024], err[256];
	struct rule_list l = {NULL, 0, 0};
	struct rule_set *s;
	const char *files[] = {"00-gtube.rules", "10-phish.rules", "20-spam.rules"};

	(void)state;
	/* the test binary runs from the repository root */
	for (size_t i = 0; i < 3; i++) {
		snprintf(dir, sizeof dir, "rules/%s", files[i]);
		if (rules_parse_file(&l, dir, err, sizeof err) < 0)
			fail_msg("%s", err);
	}
	s = rule_set_build(&l, NULL, err, sizeof err);
	if (s == NULL)
		fail_msg("%s", err);
	assert_true(rule_set_count(s) > 20);
	rule_set_free(s);
	rule_list_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_targets), cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_bad_regex_named), cmocka_unit_test(test_override),
		cmocka_unit_test(test_cache),          cmocka_unit_test(test_shipped_rules_compile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
