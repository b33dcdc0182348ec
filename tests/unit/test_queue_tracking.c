/*
 * test_queue_tracking - the tracking database: a received message, its attempts and its fate
 * come back from a search by id, sender, recipient and time; a second "received" does not
 * duplicate; searches that should miss do. In batch mode (qmgr's), another reader (the
 * dashboard) sees the records once the batch is flushed, and the batch survives a failed
 * "received" inside it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/config.h"
#include "queue/tracking.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void fill(struct envelope *e, char *sender, struct envelope_rcpt *r, size_t n,
                 uint64_t arrival)
{
	memset(e, 0, sizeof *e);
	e->sender = sender;
	e->rcpts = r;
	e->nrcpts = n;
	e->arrival_sec = arrival;
	e->body_len = 1234;
	e->verdict.verdict = VERDICT_SPAM;
	e->verdict.score = 6.5;
}

static void test_tracking(void **state)
{
	char tmpl[] = "/tmp/mxq-trk-XXXXXX", cmd[PATH_MAX];
	static char s1[] = "Alice@Sender.test", s2[] = "eve@other.test";
	static char a1[] = "bob@example.test", a2[] = "carol@example.test", a3[] = "dan@x.test";
	struct envelope_rcpt r1[2] = {{.addr = a1}, {.addr = a2}}, r2[1] = {{.addr = a3}};
	struct tracking_record *recs;
	struct tracking *t;
	struct envelope e;
	struct config cfg;
	size_t n;

	(void)state;
	config_defaults(&cfg);
	assert_non_null(mkdtemp(tmpl));
	snprintf(cfg.home, sizeof cfg.home, "%s", tmpl);
	t = tracking_open(&cfg);
	assert_non_null(t);
	fill(&e, s1, r1, 2, 1000);
	assert_int_equal(tracking_received(t, "ID1", &e), 0);
	assert_int_equal(tracking_received(t, "ID1", &e), 0); /* a restart sees it again */
	fill(&e, s2, r2, 1, 2000);
	assert_int_equal(tracking_received(t, "ID2", &e), 0);
	assert_int_equal(tracking_attempt(t, "ID1", a1, "127.0.0.1:25", "delivered", "250 ok"), 0);
	assert_int_equal(tracking_attempt(t, "ID1", a2, "127.0.0.1:25", "deferred", "451 later"),
	                 0);
	assert_int_equal(tracking_fate(t, "ID1", "partial"), 0);

	assert_int_equal(tracking_search(t, &(struct tracking_query){.id = "ID1"}, &recs, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(recs[0].sender, "Alice@Sender.test");
	assert_string_equal(recs[0].rcpts, "bob@example.test,carol@example.test");
	assert_string_equal(recs[0].verdict, "spam");
	assert_string_equal(recs[0].fate, "partial");
	assert_int_equal(recs[0].size, 1234);
	assert_int_equal(recs[0].nevents, 2);
	assert_string_equal(recs[0].events[0].result, "delivered");
	assert_string_equal(recs[0].events[1].reply, "451 later");
	tracking_records_free(recs, n);

	/* Sender substring, case-insensitive. */
	assert_int_equal(
	    tracking_search(t, &(struct tracking_query){.sender = "alice@sender"}, &recs, &n), 0);
	assert_int_equal(n, 1);
	tracking_records_free(recs, n);
	/* By recipient. */
	assert_int_equal(tracking_search(t, &(struct tracking_query){.rcpt = "DAN@"}, &recs, &n),
	                 0);
	assert_int_equal(n, 1);
	assert_string_equal(recs[0].id, "ID2");
	assert_string_equal(recs[0].fate, "");
	tracking_records_free(recs, n);
	/* Time range and newest first. */
	assert_int_equal(tracking_search(t, &(struct tracking_query){0}, &recs, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(recs[0].id, "ID2");
	tracking_records_free(recs, n);
	assert_int_equal(tracking_search(t, &(struct tracking_query){.since = 1500}, &recs, &n), 0);
	assert_int_equal(n, 1);
	tracking_records_free(recs, n);
	assert_int_equal(tracking_search(t, &(struct tracking_query){.until = 500}, &recs, &n), 0);
	assert_int_equal(n, 0);
	tracking_records_free(recs, n);
	assert_int_equal(tracking_search(t, &(struct tracking_query){.rcpt = "nobody"}, &recs, &n),
	                 0);
	assert_int_equal(n, 0);
	tracking_records_free(recs, n);
	tracking_close(t);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
	assert_int_equal(system(cmd), 0);
}

static void test_tracking_batch(void **state)
{
	char tmpl[] = "/tmp/mxq-trkb-XXXXXX", cmd[PATH_MAX];
	static char s1[] = "a@b.test", a1[] = "c@d.test";
	struct envelope_rcpt r1[1] = {{.addr = a1}};
	struct tracking_record *recs;
	struct tracking *w, *r;
	struct envelope e;
	struct config cfg;
	size_t n;

	(void)state;
	config_defaults(&cfg);
	assert_non_null(mkdtemp(tmpl));
	snprintf(cfg.home, sizeof cfg.home, "%s", tmpl);
	w = tracking_open(&cfg);
	r = tracking_open(&cfg);
	assert_non_null(w);
	assert_non_null(r);
	tracking_batch(w, 1);
	fill(&e, s1, r1, 1, 1000);
	for (int i = 0; i < 20; i++) {
		char id[16];

		snprintf(id, sizeof id, "B%d", i);
		assert_int_equal(tracking_received(w, id, &e), 0);
		assert_int_equal(tracking_attempt(w, id, a1, "127.0.0.1:25", "delivered", "250"), 0);
		assert_int_equal(tracking_fate(w, id, "delivered"), 0);
	}
	/* Not flushed: the reader sees none of it. */
	assert_int_equal(tracking_search(r, &(struct tracking_query){0}, &recs, &n), 0);
	assert_int_equal(n, 0);
	tracking_records_free(recs, n);
	assert_int_equal(tracking_flush(w), 0);
	assert_int_equal(tracking_search(r, &(struct tracking_query){0}, &recs, &n), 0);
	assert_int_equal(n, 20);
	assert_string_equal(recs[0].fate, "delivered");
	assert_int_equal(recs[0].nevents, 1);
	tracking_records_free(recs, n);
	/* A second batch, then close: closing flushes. */
	assert_int_equal(tracking_received(w, "LAST", &e), 0);
	tracking_close(w);
	assert_int_equal(tracking_search(r, &(struct tracking_query){.id = "LAST"}, &recs, &n), 0);
	assert_int_equal(n, 1);
	tracking_records_free(recs, n);
	tracking_close(r);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_tracking),
	                                   cmocka_unit_test(test_tracking_batch)};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
