/*
 * test_stats - the shared-memory counter segment: create/map, claim and re-claim of slots,
 * counters, gauges, the latency histogram's bucket edges, release by pid and the summing reader.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/config.h"
#include "core/stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static struct config cfg;

static int setup(void **state)
{
	char tmpl[] = "/tmp/test_stats.XXXXXX";

	(void)state;
	config_defaults(&cfg);
	if (mkdtemp(tmpl) == NULL)
		return -1;
	snprintf(cfg.home, sizeof cfg.home, "%s", tmpl);
	return 0;
}

static int teardown(void **state)
{
	char cmd[CONFIG_PATH + 16];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", cfg.home);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_map_requires_creation(void **state)
{
	(void)state;
	assert_null(stats_map(&cfg, 0));
	struct stat_segment *seg = stats_map(&cfg, 1);
	assert_non_null(seg);
	assert_true(seg->boot > 0);
	struct stat_segment *ro = stats_map(&cfg, 0);
	assert_non_null(ro);
	munmap(ro, sizeof *ro);
	munmap(seg, sizeof *seg);
}

static void test_counters_and_reclaim(void **state)
{
	(void)state;
	struct stat_segment *seg = stats_map(&cfg, 1);
	assert_non_null(seg);

	stats_inc(STAT_CONNECTIONS); /* before a claim: a no-op, not a crash */
	assert_int_equal(stats_sum(seg, NULL, STAT_CONNECTIONS), 0);

	struct stat_slot *a = stats_claim(seg, "smtpd", 0);
	assert_non_null(a);
	assert_string_equal(a->kind, "smtpd");
	assert_int_equal(a->pid, getpid());
	assert_int_equal(a->alive, 1);
	stats_inc(STAT_CONNECTIONS);
	stats_add(STAT_BYTES_IN, 1000);
	stats_gauge(STAT_G_SESSIONS, 7);
	assert_int_equal(a->counters[STAT_CONNECTIONS], 1);
	assert_int_equal(a->counters[STAT_BYTES_IN], 1000);
	assert_int_equal(a->gauges[STAT_G_SESSIONS], 7);

	struct stat_slot *b = stats_claim(seg, "qmgr", 0);
	assert_non_null(b);
	assert_ptr_not_equal(a, b);
	stats_inc(STAT_MSG_DELIVERED);
	stats_add(STAT_BYTES_IN, 5);

	assert_int_equal(stats_sum(seg, NULL, STAT_BYTES_IN), 1005);
	assert_int_equal(stats_sum(seg, "smtpd", STAT_BYTES_IN), 1000);
	assert_int_equal(stats_sum(seg, "qmgr", STAT_MSG_DELIVERED), 1);
	assert_int_equal(stats_sum(seg, "scan", STAT_BYTES_IN), 0);

	/* The master sees the smtpd die; its restart continues in the same slot. */
	stats_release_pid(seg, getpid());
	assert_int_equal(a->alive, 0);
	assert_int_equal(a->pid, 0);
	struct stat_slot *again = stats_claim(seg, "smtpd", 0);
	assert_ptr_equal(again, a);
	assert_int_equal(again->alive, 1);
	assert_int_equal(again->restarts, 1);
	assert_int_equal(again->counters[STAT_CONNECTIONS], 1);

	/* Out-of-range names and bad kinds. */
	assert_string_equal(stats_counter_name(STAT_BYTES_OUT), "bytes_out");
	assert_string_equal(stats_gauge_name(STAT_G_OLDEST_AGE), "oldest_age_seconds");
	assert_string_equal(stats_counter_name((enum stat_counter)99), "unknown");
	assert_null(stats_claim(seg, "", 0));
	assert_null(stats_claim(seg, "a-kind-name-that-is-too-long", 0));
	munmap(seg, sizeof *seg);
}

static void test_latency_buckets(void **state)
{
	(void)state;
	struct stat_segment *seg = stats_map(&cfg, 1);
	struct stat_slot *s = stats_claim(seg, "scan", 0);
	assert_non_null(s);
	stats_latency(0);        /* <= 1 ms */
	stats_latency(1000);     /* exactly on the first bound: still bucket 0 */
	stats_latency(1001);     /* bucket 1 */
	stats_latency(30000000); /* last finite bound */
	stats_latency(30000001); /* +Inf */
	assert_int_equal(s->latency[0], 2);
	assert_int_equal(s->latency[1], 1);
	assert_int_equal(s->latency[STAT_LAT_BUCKETS - 2], 1);
	assert_int_equal(s->latency[STAT_LAT_BUCKETS - 1], 1);
	assert_int_equal(s->latency_sum_us, 0 + 1000 + 1001 + 30000000 + 30000001);
	munmap(seg, sizeof *seg);
}

/* Many children claiming at once each get their own slot; the rest get NULL, none share. */
static void test_concurrent_claims(void **state)
{
	(void)state;
	struct stat_segment *seg = stats_map(&cfg, 1);
	assert_non_null(seg);
	const int n = STAT_SLOTS + 8;
	int got = 0, none = 0;
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct stat_slot *s = stats_claim(seg, "scan", i);
			if (s == NULL)
				_exit(3);
			stats_add(STAT_SCANS, (uint64_t)i + 1);
			_exit(0);
		}
	}
	for (int i = 0; i < n; i++) {
		int st;
		assert_true(wait(&st) > 0);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			got++;
		else if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
			none++;
	}
	assert_int_equal(got, STAT_SLOTS);
	assert_int_equal(none, n - STAT_SLOTS);
	int named = 0;
	for (int i = 0; i < STAT_SLOTS; i++) {
		assert_string_equal(seg->slot[i].kind, "scan");
		for (int j = 0; j < i; j++)
			assert_int_not_equal(seg->slot[i].index, seg->slot[j].index);
		/* Each slot holds exactly its own child's addition. */
		assert_int_equal(seg->slot[i].counters[STAT_SCANS], (uint64_t)seg->slot[i].index + 1);
		named++;
	}
	assert_int_equal(named, STAT_SLOTS);
	munmap(seg, sizeof *seg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_requires_creation),
		cmocka_unit_test(test_counters_and_reclaim),
		cmocka_unit_test(test_latency_buckets),
		cmocka_unit_test(test_concurrent_claims),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
