/*
 * test_backoff - the retry schedule: doubling from retry_min, capped at retry_max, no overflow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "queue/backoff.h"

static void test_backoff_schedule(void **state)
{
	static const struct {
		uint32_t attempts;
		uint64_t min, max, want;
	} cases[] = {
	    {0, 60, 4000, 60},
	    {1, 60, 4000, 60},
	    {2, 60, 4000, 120},
	    {3, 60, 4000, 240},
	    {6, 60, 4000, 1920},
	    {7, 60, 4000, 3840},
	    {8, 60, 4000, 4000},
	    {1000, 60, 4000, 4000},
	    {1, 1, 4, 1},
	    {2, 1, 4, 2},
	    {3, 1, 4, 4},
	    {4, 1, 4, 4},
	    {3, 1, 5, 4},
	    {4, 1, 5, 5},
	    {2, 10, 5, 10},
	    {UINT32_MAX, 1, UINT64_MAX, UINT64_MAX},
	    {64, 1, UINT64_MAX, 1ULL << 63},
	    {64, 3, UINT64_MAX, UINT64_MAX},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint64_t got = queue_backoff(cases[i].attempts, cases[i].min, cases[i].max);

		if (got != cases[i].want)
			print_error("case %zu: attempts=%u min=%llu max=%llu got %llu want %llu\n",
			            i, cases[i].attempts, (unsigned long long)cases[i].min,
			            (unsigned long long)cases[i].max, (unsigned long long)got,
			            (unsigned long long)cases[i].want);
		assert_int_equal(got, cases[i].want);
	}
}

/* The schedule never shrinks as attempts grow. */
static void test_backoff_monotonic(void **state)
{
	(void)state;
	for (uint64_t min = 1; min < 50; min += 7)
		for (uint64_t max = 1; max < 5000; max += 333) {
			uint64_t prev = 0;

			for (uint32_t a = 1; a < 40; a++) {
				uint64_t d = queue_backoff(a, min, max);

				assert_true(d >= prev);
				assert_true(d <= (max > min ? max : min));
				prev = d;
			}
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backoff_schedule),
	    cmocka_unit_test(test_backoff_monotonic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
