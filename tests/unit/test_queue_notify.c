/*
 * test_queue_notify - smtpd's notes to qmgr. The input that found the bug: 50 messages
 * committed in one loop turn, each announced by its own datagram, while qmgr had not yet read
 * any. Linux queues only net.unix.max_dgram_qlen (10) datagrams on the socket, so 40 notes were
 * dropped and those messages waited for qmgr's next directory scan (5 s). The notifier must
 * bring every id across, however many arrive in one turn.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/config.h"
#include "core/fsutil.h"
#include "queue/notify.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int bind_qmgr(const struct config *cfg)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[PATH_MAX], path[PATH_MAX];
	int fd;

	assert_int_equal(config_path(cfg, "run", dir, sizeof dir), 0);
	assert_int_equal(config_path(cfg, "run/qmgr.sock", path, sizeof path), 0);
	fs_mkdir_p(dir, 0700);
	assert_true(strlen(path) < sizeof sa.sun_path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	return fd;
}

/* Read every datagram waiting; count the ids (one per line) and check their names. */
static size_t drain(int fd, size_t *seen, size_t n)
{
	char buf[8192];
	size_t ids = 0;
	ssize_t r;

	while ((r = recv(fd, buf, sizeof buf - 1, 0)) > 0) {
		char *save = NULL;

		buf[r] = '\0';
		for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			unsigned k;

			assert_int_equal(sscanf(l, "ID%u", &k), 1);
			assert_true(k < n);
			seen[k]++;
			ids++;
		}
	}
	return ids;
}

static void never(uv_timer_t *h)
{
	(void)h;
	fail();
}

static void test_notifier_many_in_one_turn(void **state)
{
	char tmpl[] = "/tmp/mxq-notify-XXXXXX", cmd[PATH_MAX + 16], id[32];
	size_t seen[300] = {0}, got = 0;
	struct qmgr_notifier *n;
	struct config cfg;
	uv_loop_t loop;
	uv_timer_t server; /* stands for smtpd's sockets: the notifier's handles are unref'd */
	int fd;

	(void)state;
	config_defaults(&cfg);
	assert_non_null(mkdtemp(tmpl));
	snprintf(cfg.home, sizeof cfg.home, "%s", tmpl);
	fd = bind_qmgr(&cfg);
	assert_int_equal(uv_loop_init(&loop), 0);
	uv_timer_init(&loop, &server);
	assert_int_equal(uv_timer_start(&server, never, 3600 * 1000, 0), 0);
	n = qmgr_notifier_new(&cfg, &loop);
	assert_non_null(n);

	/* 50 in one turn, nobody reading: the turn's end must carry them all. */
	for (unsigned i = 0; i < 50; i++) {
		snprintf(id, sizeof id, "ID%u", i);
		qmgr_notifier_add(n, id);
	}
	uv_run(&loop, UV_RUN_NOWAIT);
	got += drain(fd, seen, 300);
	assert_int_equal(got, 50);

	/* 250 more with a full socket queue on the way: what cannot go now goes on retry. */
	for (unsigned i = 50; i < 300; i++) {
		snprintf(id, sizeof id, "ID%u", i);
		qmgr_notifier_add(n, id);
		if (i % 10 == 0)
			uv_run(&loop, UV_RUN_NOWAIT); /* a turn each ten, still nobody reading */
	}
	for (int tries = 0; tries < 200 && got < 300; tries++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		got += drain(fd, seen, 300);
		usleep(2000);
	}
	assert_int_equal(got, 300);
	for (size_t i = 0; i < 300; i++)
		assert_int_equal(seen[i], 1);

	qmgr_notifier_free(n);
	uv_close((uv_handle_t *)&server, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	close(fd);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", cfg.home);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_notifier_many_in_one_turn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
