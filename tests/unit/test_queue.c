/*
 * test_queue - the split directories and the spool: id -> path hashing for every depth/width,
 * spreading of ids over the directories, a spool written and group-committed through the
 * committer thread, loaded back, moved and deleted; per-recipient state surviving a reload;
 * incoming/ leftovers removed at recovery; an END-less file refused by the loader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/config.h"
#include "core/fsutil.h"
#include "queue/queue.h"
#include "queue/spool.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void make_home(struct config *cfg, unsigned depth, unsigned width)
{
	char tmpl[] = "/tmp/mxq-test-XXXXXX";

	config_defaults(cfg);
	assert_non_null(mkdtemp(tmpl));
	snprintf(cfg->home, sizeof cfg->home, "%s", tmpl);
	cfg->queue.hash_depth = depth;
	cfg->queue.hash_width = width;
}

static void rm_home(const struct config *cfg)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", cfg->home);
	assert_int_equal(system(cmd), 0);
}

static int exists(const char *p)
{
	return access(p, F_OK) == 0;
}

static void test_queue_paths(void **state)
{
	static const struct {
		unsigned depth, width;
		size_t hashlen;
	} cases[] = {{1, 1, 1}, {1, 2, 2}, {2, 1, 3}, {2, 2, 5}, {3, 2, 8}};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct config cfg;
		struct queue *q;
		char path[PATH_MAX], h[16], want[PATH_MAX], again[PATH_MAX];

		make_home(&cfg, cases[i].depth, cases[i].width);
		q = queue_open(&cfg);
		assert_non_null(q);
		queue_hash_dir(q, "0123456789ABCDEF0", h, sizeof h);
		assert_int_equal(strlen(h), cases[i].hashlen);
		assert_int_equal(
		    queue_path(q, QUEUE_ACTIVE, "0123456789ABCDEF0", path, sizeof path), 0);
		snprintf(want, sizeof want, "%s/queue/active/%s/0123456789ABCDEF0", cfg.home, h);
		assert_string_equal(path, want);
		/* Deterministic: the same id always maps to the same directory. */
		assert_int_equal(
		    queue_path(q, QUEUE_ACTIVE, "0123456789ABCDEF0", again, sizeof again), 0);
		assert_string_equal(path, again);
		/* Shallow trees are created up front. */
		if (cases[i].depth == 1) {
			snprintf(want, sizeof want, "%s/queue/deferred/%s", cfg.home, h);
			assert_true(exists(want));
		}
		assert_int_equal(queue_path(q, QUEUE_ACTIVE, "X", path, 10), -ENAMETOOLONG);
		queue_close(q);
		rm_home(&cfg);
	}
}

/* Time-ordered ids spread over all 256 directories of width 2 (none gets more than 3x its
 * share of 10000 sequential ids). */
static void test_queue_hash_spread(void **state)
{
	struct config cfg;
	struct queue *q;
	unsigned counts[256] = {0};

	(void)state;
	make_home(&cfg, 1, 2);
	q = queue_open(&cfg);
	assert_non_null(q);
	for (unsigned i = 0; i < 10000; i++) {
		char id[QUEUE_ID_MAX], h[16];

		snprintf(id, sizeof id, "6A000000%05X001234", i);
		queue_hash_dir(q, id, h, sizeof h);
		counts[strtoul(h, NULL, 16)]++;
	}
	for (unsigned i = 0; i < 256; i++) {
		assert_true(counts[i] > 0);
		assert_true(counts[i] < 3 * 10000 / 256);
	}
	queue_close(q);
	rm_home(&cfg);
}

struct commit_wait {
	int done, status;
};

static void on_commit(void *arg, int status)
{
	struct commit_wait *w = arg;

	w->done = 1;
	w->status = status;
}

static struct spool *new_spool(struct queue *q, const char *body)
{
	static const char *const rcpts[] = {"a@x.test", "b@y.test"};
	struct spool_envelope env = {
	    .tenant = "t1",
	    .client_ip = "127.0.0.1",
	    .client_host = "",
	    .helo = "h",
	    .proto = "ESMTP",
	    .mail_from = "s@z.test",
	    .rcpts = rcpts,
	    .nrcpts = 2,
	    .ret = "",
	    .envid = "",
	};
	struct spool *s = spool_new(q, &env);

	assert_non_null(s);
	assert_int_equal(spool_write(s, body, strlen(body)), 0);
	assert_int_equal(spool_end_body(s), 0);
	assert_int_equal(spool_body_length(s), strlen(body));
	return s;
}

static void test_spool_commit(void **state)
{
	static const char body[] = "Subject: x\r\n\r\nhello\r\n";
	struct config cfg;
	struct queue *q;
	struct spool *s[5];
	struct commit_wait w[5] = {{0}};
	struct scan_result v = {0};
	struct queue_msg m;
	char ids[5][QUEUE_ID_MAX], path[PATH_MAX], inc[PATH_MAX];
	uv_loop_t loop;
	enum queue_dir d;
	int fd;

	(void)state;
	make_home(&cfg, 2, 1); /* 256 leaf dirs: still created up front */
	q = queue_open(&cfg);
	assert_non_null(q);
	assert_int_equal(uv_loop_init(&loop), 0);
	/* Five concurrent commits: one batch or a few, every one must report success. */
	for (int i = 0; i < 5; i++) {
		s[i] = new_spool(q, body);
		snprintf(ids[i], sizeof ids[i], "%s", spool_id(s[i]));
		assert_true(queue_id_valid(ids[i]));
		assert_int_equal(queue_path(q, QUEUE_INCOMING, ids[i], inc, sizeof inc), 0);
		assert_true(exists(inc));
		v.score = i;
		assert_int_equal(spool_commit(s[i], &loop, i == 4 ? QUEUE_HOLD : QUEUE_ACTIVE, &v,
		                              on_commit, &w[i]),
		                 0);
	}
	for (int round = 0; round < 1000; round++) {
		int all = 1;

		for (int i = 0; i < 5; i++)
			all &= w[i].done;
		if (all)
			break;
		uv_run(&loop, UV_RUN_ONCE);
	}
	for (int i = 0; i < 5; i++) {
		assert_int_equal(w[i].done, 1);
		assert_int_equal(w[i].status, 0);
		assert_int_equal(queue_path(q, QUEUE_INCOMING, ids[i], inc, sizeof inc), 0);
		assert_false(exists(inc));
		assert_int_equal(queue_msg_find(q, ids[i], &d), 0);
		assert_int_equal(d, i == 4 ? QUEUE_HOLD : QUEUE_ACTIVE);
	}
	assert_int_equal(queue_dir_count(q, QUEUE_ACTIVE), 4);
	assert_int_equal(queue_dir_count(q, QUEUE_HOLD), 1);

	/* Load it back. */
	assert_int_equal(queue_msg_load(q, QUEUE_ACTIVE, ids[2], &m), 0);
	assert_string_equal(m.env.sender, "s@z.test");
	assert_string_equal(m.env.tenant, "t1");
	assert_int_equal(m.env.nrcpts, 2);
	assert_int_equal(m.env.body_len, strlen(body));
	assert_true(m.env.verdict.score > 1.99 && m.env.verdict.score < 2.01);

	/* Recipient state survives a reload (what a restart sees). */
	fd = open((queue_path(q, QUEUE_ACTIVE, ids[2], path, sizeof path), path), O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(queue_rcpt_set_state(fd, &m.env.rcpts[1], RCPT_DONE), 0);
	assert_int_equal(queue_msg_set_retry(fd, &m.env, 3, 12345, "451 later"), 0);
	close(fd);
	queue_msg_free(&m);
	assert_int_equal(queue_msg_load(q, QUEUE_ACTIVE, ids[2], &m), 0);
	assert_int_equal(m.env.rcpts[0].state, RCPT_PENDING);
	assert_int_equal(m.env.rcpts[1].state, RCPT_DONE);
	assert_int_equal(m.env.attempts, 3);
	assert_int_equal(m.env.next_try, 12345);
	assert_string_equal(m.env.last_error, "451 later");
	queue_msg_free(&m);

	/* Move, release, delete. */
	assert_int_equal(queue_msg_move(q, ids[2], QUEUE_ACTIVE, QUEUE_DEFERRED), 0);
	assert_int_equal(queue_msg_find(q, ids[2], &d), 0);
	assert_int_equal(d, QUEUE_DEFERRED);
	assert_int_equal(queue_msg_move(q, ids[2], QUEUE_ACTIVE, QUEUE_DEFERRED), -ENOENT);
	assert_int_equal(queue_msg_release(&cfg, q, ids[4], QUEUE_HOLD), 0);
	assert_int_equal(queue_msg_find(q, ids[4], &d), 0);
	assert_int_equal(d, QUEUE_ACTIVE);
	assert_int_equal(queue_msg_delete(q, QUEUE_DEFERRED, ids[2]), 0);
	assert_int_equal(queue_msg_find(q, ids[2], &d), -ENOENT);
	assert_int_equal(queue_msg_delete(q, QUEUE_DEFERRED, ids[2]), -ENOENT);
	assert_int_equal(queue_msg_load(q, QUEUE_ACTIVE, "../../etc", &m), -EINVAL);

	queue_close(q);
	uv_run(&loop, UV_RUN_DEFAULT); /* let the committer's handle close */
	assert_int_equal(uv_loop_close(&loop), 0);
	rm_home(&cfg);
}

/* An END-less file is never loadable, and incoming/ leftovers are removed at recovery. */
static void test_queue_endless_and_recovery(void **state)
{
	struct config cfg;
	struct queue *q;
	struct spool *s, *s2;
	struct queue_msg m;
	char path[PATH_MAX], dst[PATH_MAX], id[QUEUE_ID_MAX];

	(void)state;
	make_home(&cfg, 1, 2);
	q = queue_open(&cfg);
	assert_non_null(q);
	s = new_spool(q, "Subject: y\r\n\r\nbody\r\n");
	s2 = new_spool(q, "Subject: z\r\n\r\nbody\r\n");
	snprintf(id, sizeof id, "%s", spool_id(s));
	/* Simulate a crash-time file that got into active/ without its trailer. */
	assert_int_equal(queue_path(q, QUEUE_INCOMING, id, path, sizeof path), 0);
	assert_int_equal(queue_path(q, QUEUE_ACTIVE, id, dst, sizeof dst), 0);
	assert_int_equal(link(path, dst), 0);
	assert_int_equal(queue_msg_load(q, QUEUE_ACTIVE, id, &m), -EBADMSG);
	assert_int_equal(queue_recover_incoming(q), 2);
	assert_false(exists(path));
	assert_int_equal(queue_dir_count(q, QUEUE_INCOMING), 0);
	spool_abort(s); /* the file is gone already: abort must cope */
	spool_abort(s2);
	queue_close(q);
	rm_home(&cfg);
}

static void test_spool_limits(void **state)
{
	struct config cfg;
	struct queue *q;
	struct spool *s;
	char big[2048];
	struct commit_wait w = {0};
	uv_loop_t loop;
	struct scan_result v = {0};

	(void)state;
	make_home(&cfg, 1, 1);
	cfg.smtp.max_message_size = 3000;
	q = queue_open(&cfg);
	assert_non_null(q);
	memset(big, 'a', sizeof big);
	s = new_spool(q, "x");
	assert_int_equal(spool_write(s, big, sizeof big), 0);
	assert_int_equal(spool_write(s, big, sizeof big), -EFBIG);
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(spool_commit(s, &loop, QUEUE_DEFERRED, &v, on_commit, &w), -EINVAL);
	spool_abort(s);
	assert_int_equal(queue_dir_count(q, QUEUE_INCOMING), 0);
	queue_close(q);
	uv_loop_close(&loop);
	rm_home(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_queue_paths),  cmocka_unit_test(test_queue_hash_spread),
	    cmocka_unit_test(test_spool_commit), cmocka_unit_test(test_queue_endless_and_recovery),
	    cmocka_unit_test(test_spool_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
