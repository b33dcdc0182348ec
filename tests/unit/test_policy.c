/*
 * test_policy - the client's policy, table-driven: verdict and score in, action out; allow and
 * block lists by address, domain, subdomain, IPv4/IPv6 address and CIDR; malware and suspects
 * are not waved through by the allow list.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "scan/policy.h"

#include <stdio.h>
#include <string.h>

static void env_set(struct scan_envelope *e, const char *from, const char *ip)
{
	memset(e, 0, sizeof *e);
	snprintf(e->mail_from, sizeof e->mail_from, "%s", from);
	snprintf(e->client_ip, sizeof e->client_ip, "%s", ip);
}

static void test_list_match(void **state)
{
	static const struct {
		const char *entry, *from, *ip;
		int match;
	} cases[] = {
		{"alice@friend.test", "alice@friend.test", "192.0.2.1", 1},
		{"alice@friend.test", "ALICE@Friend.Test", "192.0.2.1", 1},
		{"alice@friend.test", "bob@friend.test", "192.0.2.1", 0},
		{"friend.test", "bob@friend.test", "192.0.2.1", 1},
		{"friend.test", "bob@mail.friend.test", "192.0.2.1", 1},
		{"friend.test", "bob@notfriend.test", "192.0.2.1", 0},
		{"friend.test", "", "192.0.2.1", 0},
		{"192.0.2.1", "x@y.test", "192.0.2.1", 1},
		{"192.0.2.1", "x@y.test", "192.0.2.2", 0},
		{"192.0.2.0/24", "x@y.test", "192.0.2.200", 1},
		{"192.0.2.0/24", "x@y.test", "192.0.3.1", 0},
		{"10.0.0.0/8", "x@y.test", "10.255.1.1", 1},
		{"2001:db8::/32", "x@y.test", "2001:db8:1::5", 1},
		{"2001:db8::/32", "x@y.test", "2001:db9::5", 0},
		{"2001:db8::/32", "x@y.test", "192.0.2.1", 0},
		{"192.0.2.0/33", "x@y.test", "192.0.2.1", 0}, /* bad prefix never matches */
		{"", "x@y.test", "192.0.2.1", 0},
	};
	struct scan_envelope env;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *list[1] = {(char *)cases[i].entry};

		env_set(&env, cases[i].from, cases[i].ip);
		if (policy_list_match(list, 1, &env) != cases[i].match)
			fail_msg("case %zu: %s vs from=%s ip=%s", i, cases[i].entry, cases[i].from,
				 cases[i].ip);
	}
}

static void test_actions(void **state)
{
	static const struct {
		enum scan_verdict verdict;
		double score;
		int allow, block;
		enum scan_verdict want_verdict;
		enum policy_action want;
	} cases[] = {
		{VERDICT_CLEAN, 0, 0, 0, VERDICT_CLEAN, POLICY_DELIVER},
		{VERDICT_CLEAN, 4.9, 0, 0, VERDICT_CLEAN, POLICY_DELIVER},
		{VERDICT_CLEAN, 5, 0, 0, VERDICT_SPAM, POLICY_TAG},
		{VERDICT_CLEAN, 10, 0, 0, VERDICT_SPAM, POLICY_QUARANTINE},
		{VERDICT_CLEAN, 15, 0, 0, VERDICT_SPAM, POLICY_REJECT},
		{VERDICT_MALWARE, 0, 0, 0, VERDICT_MALWARE, POLICY_REJECT},
		{VERDICT_SUSPECT, 0, 0, 0, VERDICT_SUSPECT, POLICY_QUARANTINE},
		{VERDICT_PHISH, 0, 0, 0, VERDICT_PHISH, POLICY_QUARANTINE},
		/* allow: deliver regardless of score, but not malware or suspects */
		{VERDICT_CLEAN, 30, 1, 0, VERDICT_SPAM, POLICY_DELIVER},
		{VERDICT_PHISH, 0, 1, 0, VERDICT_PHISH, POLICY_DELIVER},
		{VERDICT_MALWARE, 0, 1, 0, VERDICT_MALWARE, POLICY_REJECT},
		{VERDICT_SUSPECT, 0, 1, 0, VERDICT_SUSPECT, POLICY_QUARANTINE},
		/* block: reject, even a clean message */
		{VERDICT_CLEAN, 0, 0, 1, VERDICT_CLEAN, POLICY_REJECT},
		{VERDICT_CLEAN, 0, 1, 1, VERDICT_CLEAN, POLICY_REJECT},
	};
	struct scan_envelope env;
	struct scan_result res;
	struct tenant t;
	char *allow[1] = {"friend.test"}, *block[1] = {"friend.test"};

	env_set(&env, "a@friend.test", "192.0.2.1");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		memset(&t, 0, sizeof t);
		policy_defaults(&t.policy);
		if (cases[i].allow) {
			t.allow = allow;
			t.nallow = 1;
		}
		if (cases[i].block) {
			t.block = block;
			t.nblock = 1;
		}
		memset(&res, 0, sizeof res);
		res.verdict = cases[i].verdict;
		res.score = cases[i].score;
		policy_apply(&t, &env, &res);
		if (res.action != cases[i].want || res.verdict != cases[i].want_verdict)
			fail_msg("case %zu: action %d verdict %d, want %d %d", i, res.action, res.verdict,
				 cases[i].want, cases[i].want_verdict);
	}
}

static void test_tenant_choices_and_thresholds(void **state)
{
	struct scan_envelope env;
	struct scan_result res;
	struct tenant t;

	env_set(&env, "a@b.test", "192.0.2.1");
	memset(&t, 0, sizeof t);
	policy_defaults(&t.policy);
	t.policy.on_malware = POLICY_QUARANTINE;
	t.policy.on_suspect = POLICY_TAG;
	t.policy.tag_at = 2;
	t.policy.quarantine_at = 3;
	t.policy.reject_at = 100;

	memset(&res, 0, sizeof res);
	res.verdict = VERDICT_MALWARE;
	policy_apply(&t, &env, &res);
	assert_int_equal(res.action, POLICY_QUARANTINE);

	memset(&res, 0, sizeof res);
	res.verdict = VERDICT_SUSPECT;
	policy_apply(&t, &env, &res);
	assert_int_equal(res.action, POLICY_TAG);

	memset(&res, 0, sizeof res);
	res.score = 50;
	policy_apply(&t, &env, &res);
	assert_int_equal(res.action, POLICY_QUARANTINE);

	/* No tenant: the defaults. */
	memset(&res, 0, sizeof res);
	res.score = 15;
	policy_apply(NULL, &env, &res);
	assert_int_equal(res.action, POLICY_REJECT);
}

static void test_verdict_order_and_symbols(void **state)
{
	struct scan_result res;

	memset(&res, 0, sizeof res);
	scan_raise_verdict(&res, VERDICT_SUSPECT);
	scan_raise_verdict(&res, VERDICT_PHISH);
	assert_int_equal(res.verdict, VERDICT_SUSPECT);
	scan_raise_verdict(&res, VERDICT_MALWARE);
	assert_int_equal(res.verdict, VERDICT_MALWARE);
	assert_string_equal(scan_verdict_name(res.verdict), "malware");

	memset(&res, 0, sizeof res);
	for (int i = 0; i < SCAN_MAX_SYMBOLS + 5; i++)
		scan_add_symbol(&res, "SYM", 1.0, "n=%d", i);
	assert_int_equal(res.nsym, SCAN_MAX_SYMBOLS);
	assert_true(res.score == (double)SCAN_MAX_SYMBOLS);
	assert_string_equal(res.sym[3].detail, "n=3");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_match),
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_tenant_choices_and_thresholds),
		cmocka_unit_test(test_verdict_order_and_symbols),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
