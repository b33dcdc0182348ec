/*
 * test_colour - the colour rules, fed recorded metrics: sequences of history samples as the web
 * sampler records them (a quiet node, a busy one, a scanner crash and its restart, unscanned
 * mail, a stale node, a delayed queue, a growing queue, maintenance), through
 * history_colour_input() and colour_decide(). Each case states the colour and a word the reason
 * must carry. One real recording (a scan worker killed with kill -9) is replayed second by
 * second against the colours the web process decided while it was recorded.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/stats.h"
#include "web/colour.h"
#include "web/history.h"

#include <stdio.h>
#include <string.h>

#define T0 1800000000ULL /* a recorded run's first second */
#define NS 40
#define NM 12

/* A recording: per-second messages, crash counter, unscanned, queue depth, live scanners. */
struct recording {
	const char *name;
	uint64_t now;               /* when the decision is made */
	uint64_t msgs_per_sec;      /* steady flow during the recording */
	int crash_at;               /* second index where STAT_SCAN_CRASHES moved, -1 none */
	int64_t unscanned;          /* gauge in the last sample */
	uint32_t scan_live;         /* in the last sample */
	int64_t oldest_age;         /* gauge in the last sample */
	int64_t min_depth[NM];      /* queue depth per minute sample (active+deferred) */
	int nmins;
	uint64_t stopped_at;        /* last heartbeat if the node stopped, 0 = alive */
	int maintenance;
	enum colour want;
	const char *want_reason;
};

static void record(const struct recording *r, struct hist_sample *secs, size_t *nsecs,
		   struct hist_sample *mins, size_t *nmins)
{
	uint64_t msgs = 0, crashes = 3; /* a node that crashed before, long ago */

	memset(secs, 0, sizeof(struct hist_sample) * NS);
	memset(mins, 0, sizeof(struct hist_sample) * NM);
	for (int i = 0; i < NS; i++) {
		struct hist_sample *s = &secs[i];
		s->t = T0 + (uint64_t)i;
		msgs += r->msgs_per_sec;
		if (i == r->crash_at)
			crashes++;
		/* Accepted and rejected both count as flow: split the messages 3:1. */
		s->counters[STAT_MSG_ACCEPTED] = msgs - msgs / 4;
		s->counters[STAT_MSG_REJECTED] = msgs / 4;
		s->counters[STAT_SCAN_CRASHES] = crashes;
		s->scan_live = i == NS - 1 ? r->scan_live : 2;
		s->heartbeat = r->stopped_at && s->t > r->stopped_at ? r->stopped_at : s->t;
		s->gauges[STAT_G_QUEUE_ACTIVE] =
			r->nmins ? r->min_depth[r->nmins - 1] + 1 : 0;
	}
	secs[NS - 1].gauges[STAT_G_QUEUE_UNSCANNED] = r->unscanned;
	secs[NS - 1].gauges[STAT_G_OLDEST_AGE] = r->oldest_age;
	for (int m = 0; m < r->nmins; m++) {
		/* minute samples end one minute before the seconds start */
		mins[m].t = T0 - (uint64_t)(r->nmins - m) * 60;
		mins[m].gauges[STAT_G_QUEUE_ACTIVE] = r->min_depth[m] / 2;
		mins[m].gauges[STAT_G_QUEUE_DEFERRED] = r->min_depth[m] - r->min_depth[m] / 2;
		mins[m].heartbeat = mins[m].t;
	}
	*nsecs = NS;
	*nmins = (size_t)r->nmins;
}

static const uint64_t LAST = T0 + NS - 1;

static const struct recording recordings[] = {
	{.name = "quiet", .now = LAST, .msgs_per_sec = 2, .crash_at = -1, .scan_live = 2,
	 .want = COLOUR_GREEN, .want_reason = "healthy"},
	{.name = "busy at 80% of spec 10", .now = LAST, .msgs_per_sec = 8, .crash_at = -1,
	 .scan_live = 2, .want = COLOUR_YELLOW, .want_reason = "mail flow 8.0 msg/s"},
	{.name = "just under yellow", .now = LAST, .msgs_per_sec = 7, .crash_at = -1,
	 .scan_live = 2, .want = COLOUR_GREEN, .want_reason = "healthy"},
	{.name = "scanner crashed 4 s ago", .now = LAST, .msgs_per_sec = 2, .crash_at = NS - 5,
	 .scan_live = 1, .want = COLOUR_RED, .want_reason = "scan worker crashed 4 s ago"},
	{.name = "crash outside the window, restarted", .now = LAST, .msgs_per_sec = 2,
	 .crash_at = NS - 1 - COLOUR_CRASH_WINDOW, .scan_live = 2, .want = COLOUR_GREEN,
	 .want_reason = "healthy"},
	{.name = "crash and busy: red wins", .now = LAST, .msgs_per_sec = 9, .crash_at = NS - 2,
	 .scan_live = 2, .want = COLOUR_RED, .want_reason = "crashed"},
	{.name = "mail waits unscanned", .now = LAST, .msgs_per_sec = 1, .crash_at = -1,
	 .unscanned = 3, .scan_live = 2, .want = COLOUR_RED,
	 .want_reason = "3 messages waiting unscanned"},
	{.name = "no live scan worker", .now = LAST, .msgs_per_sec = 1, .crash_at = -1,
	 .scan_live = 0, .want = COLOUR_RED, .want_reason = "no live scan worker"},
	{.name = "oldest message past delay_red", .now = LAST, .msgs_per_sec = 1, .crash_at = -1,
	 .scan_live = 2, .oldest_age = 1801, .want = COLOUR_RED,
	 .want_reason = "oldest queued message 1801 s old"},
	{.name = "oldest message at delay_red exactly", .now = LAST, .msgs_per_sec = 1,
	 .crash_at = -1, .scan_live = 2, .oldest_age = 1800, .want = COLOUR_GREEN,
	 .want_reason = "healthy"},
	{.name = "stopped reporting 20 s ago", .now = LAST, .msgs_per_sec = 0, .crash_at = -1,
	 .scan_live = 2, .stopped_at = LAST - 20, .want = COLOUR_RED,
	 .want_reason = "stopped reporting 20 s ago"},
	{.name = "no report for 10 minutes", .now = LAST + 600, .msgs_per_sec = 0, .crash_at = -1,
	 .scan_live = 2, .want = COLOUR_PURPLE, .want_reason = "no report for 600 s"},
	{.name = "queue grew 6 minutes in a row", .now = LAST, .msgs_per_sec = 1, .crash_at = -1,
	 .scan_live = 2, .min_depth = {10, 20, 30, 40, 50, 60}, .nmins = 6,
	 .want = COLOUR_YELLOW, .want_reason = "queue grew for 6 minutes"},
	{.name = "queue grew, then shrank once", .now = LAST, .msgs_per_sec = 1, .crash_at = -1,
	 .scan_live = 2, .min_depth = {10, 20, 30, 25, 40, 50}, .nmins = 6,
	 .want = COLOUR_GREEN, .want_reason = "healthy"},
	{.name = "maintenance beats everything", .now = LAST, .msgs_per_sec = 9, .crash_at = NS - 2,
	 .scan_live = 0, .maintenance = 1, .want = COLOUR_BLUE, .want_reason = "maintenance"},
};

static void test_recordings(void **state)
{
	struct hist_sample secs[NS], mins[NM];
	size_t nsecs, nmins;

	(void)state;
	for (size_t i = 0; i < sizeof recordings / sizeof recordings[0]; i++) {
		const struct recording *r = &recordings[i];
		struct colour_input in;
		struct colour_result out;
		record(r, secs, &nsecs, mins, &nmins);
		history_colour_input(&in, r->now, secs, nsecs, mins, nmins);
		in.maintenance = r->maintenance;
		in.spec_msgs = 10;
		in.yellow_at = 80;
		in.scan_configured = 2;
		in.delay_red = 1800;
		colour_decide(&in, &out);
		if (out.colour != r->want || strstr(out.reason, r->want_reason) == NULL)
			fail_msg("%s: got %s (%s), want %s (%s)", r->name, colour_name(out.colour),
				 out.reason, colour_name(r->want), r->want_reason);
	}
}

static void test_no_samples_is_purple(void **state)
{
	struct colour_input in;
	struct colour_result out;

	(void)state;
	history_colour_input(&in, T0, NULL, 0, NULL, 0);
	in.maintenance = 0;
	in.spec_msgs = 10;
	in.yellow_at = 80;
	in.scan_configured = 1;
	in.delay_red = 1800;
	colour_decide(&in, &out);
	assert_int_equal(out.colour, COLOUR_PURPLE);
	assert_string_equal(out.reason, "never reported");
}

/* The master restarted and zeroed the segment: no negative flow, no phantom crash. */
static void test_counter_reset(void **state)
{
	struct hist_sample secs[8];
	struct colour_input in;
	struct colour_result out;

	(void)state;
	memset(secs, 0, sizeof secs);
	for (int i = 0; i < 8; i++) {
		secs[i].t = T0 + (uint64_t)i;
		secs[i].heartbeat = secs[i].t;
		secs[i].scan_live = 1;
		/* 1000 messages and 5 crashes before the reset at i = 4, then 1 msg/s */
		secs[i].counters[STAT_MSG_ACCEPTED] = i < 4 ? 1000 + (uint64_t)i : (uint64_t)i - 3;
		secs[i].counters[STAT_SCAN_CRASHES] = i < 4 ? 5 : 0;
	}
	history_colour_input(&in, T0 + 7, secs, 8, NULL, 0);
	assert_true(in.flow >= 0.0 && in.flow < 2.0);
	assert_int_equal(in.crash_age, COLOUR_NEVER);
	in.maintenance = 0;
	in.spec_msgs = 10;
	in.yellow_at = 80;
	in.scan_configured = 1;
	in.delay_red = 1800;
	colour_decide(&in, &out);
	assert_int_equal(out.colour, COLOUR_GREEN);
}

/* Several red reasons are all listed, and a long list is cut, not overflowed. */
static void test_reasons_join_and_fit(void **state)
{
	struct colour_input in = {
		.now = T0, .last_report = T0 - 30, .crash_age = 1, .unscanned = 123456789,
		.scan_live = 0, .scan_configured = 4, .oldest_age = 999999, .delay_red = 60,
	};
	struct colour_result out;

	(void)state;
	colour_decide(&in, &out);
	assert_int_equal(out.colour, COLOUR_RED);
	assert_non_null(strstr(out.reason, "stopped reporting 30 s ago; scan worker crashed"));
	assert_non_null(strstr(out.reason, "no live scan worker"));
	assert_true(strlen(out.reason) < COLOUR_REASON_MAX);
	assert_string_equal(colour_name(COLOUR_BLUE), "blue");
	assert_string_equal(colour_name((enum colour)42), "unknown");
}

/*
 * A real recording: the seconds ring of a node (tests/integration, spec 4 msg/s) that took
 * three messages, then had its scan worker killed with kill -9; the master restarted it at
 * once. Columns: second, accepted, scan crashes, live scan workers, and the colour the web
 * process decided then. Replaying it second by second must give the same colours: red for
 * COLOUR_CRASH_WINDOW seconds from the crash, green before and after.
 */
static const struct {
	uint64_t dt, accepted, crashes;
	uint32_t scan_live, colour;
} recorded_crash[] = {
	{0, 0, 0, 1, 0}, {1, 0, 0, 1, 0}, {2, 0, 0, 1, 0}, {3, 0, 0, 1, 0},
	{4, 0, 0, 1, 0}, {5, 0, 0, 1, 0}, {6, 0, 0, 1, 0}, {7, 0, 0, 1, 0},
	{8, 0, 0, 1, 0}, {9, 0, 0, 1, 0}, {10, 0, 0, 1, 0}, {11, 0, 0, 1, 0},
	{12, 2, 0, 1, 0}, {13, 3, 0, 1, 0}, {14, 3, 0, 1, 0}, {15, 3, 0, 1, 0},
	{16, 3, 1, 1, 2}, {17, 3, 1, 1, 2}, {18, 3, 1, 1, 2}, {19, 3, 1, 1, 2},
	{20, 3, 1, 1, 2}, {21, 3, 1, 1, 2}, {22, 3, 1, 1, 2}, {23, 3, 1, 1, 2},
	{24, 3, 1, 1, 2}, {25, 3, 1, 1, 2}, {26, 3, 1, 1, 2}, {27, 3, 1, 1, 2},
	{28, 3, 1, 1, 2}, {29, 3, 1, 1, 2}, {30, 3, 1, 1, 2}, {31, 3, 1, 1, 2},
	{32, 3, 1, 1, 2}, {33, 3, 1, 1, 2}, {34, 3, 1, 1, 2}, {35, 3, 1, 1, 2},
	{36, 3, 1, 1, 0}, {37, 3, 1, 1, 0}, {38, 3, 1, 1, 0},
};

static void test_replay_recorded_crash(void **state)
{
	const size_t n = sizeof recorded_crash / sizeof recorded_crash[0];
	struct hist_sample secs[sizeof recorded_crash / sizeof recorded_crash[0]];
	size_t reds = 0;

	(void)state;
	memset(secs, 0, sizeof secs);
	for (size_t i = 0; i < n; i++) {
		secs[i].t = T0 + recorded_crash[i].dt;
		secs[i].heartbeat = secs[i].t;
		secs[i].counters[STAT_MSG_ACCEPTED] = recorded_crash[i].accepted;
		secs[i].counters[STAT_SCAN_CRASHES] = recorded_crash[i].crashes;
		secs[i].scan_live = recorded_crash[i].scan_live;
	}
	for (size_t i = 0; i < n; i++) {
		struct colour_input in;
		struct colour_result out;
		history_colour_input(&in, secs[i].t, secs, i + 1, NULL, 0);
		in.maintenance = 0;
		in.spec_msgs = 4;
		in.yellow_at = 50;
		in.scan_configured = 1;
		in.delay_red = 1800;
		colour_decide(&in, &out);
		if (out.colour != (enum colour)recorded_crash[i].colour)
			fail_msg("second %zu: got %s (%s), recorded %s", i, colour_name(out.colour),
				 out.reason, colour_name((enum colour)recorded_crash[i].colour));
		reds += out.colour == COLOUR_RED;
	}
	assert_int_equal(reds, COLOUR_CRASH_WINDOW);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recordings),
		cmocka_unit_test(test_no_samples_is_purple),
		cmocka_unit_test(test_counter_reset),
		cmocka_unit_test(test_reasons_join_and_fit),
		cmocka_unit_test(test_replay_recorded_crash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
