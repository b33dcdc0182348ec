/*
 * test_scan_client - the scan client and a real scan worker process over a SOCK_SEQPACKET
 * socket: a verdict comes back for a passed spool fd; silence past the deadline, a worker that
 * dies mid-request, and a missing socket each give "unscanned" exactly once; cancel means no
 * callback.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/config.h"
#include "scan/client.h"
#include "scan/worker.h"

#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

struct outcome {
	int calls;
	struct scan_result res;
};

static void on_result(void *arg, const struct scan_result *res)
{
	struct outcome *o = arg;

	o->calls++;
	o->res = *res;
}

static char home[] = "/tmp/test_scan_client.XXXXXX";

static void make_config(struct config *cfg, uint64_t deadline_ms)
{
	char run[1100];

	config_defaults(cfg);
	snprintf(cfg->home, sizeof cfg->home, "%s", home);
	cfg->scan.deadline_ms = deadline_ms;
	snprintf(run, sizeof run, "%s/run", home);
	mkdir(run, 0755);
}

static int listen_socket(const struct config *cfg)
{
	struct sockaddr_un sa;
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/run/scan.sock", home);
	unlink(sa.sun_path);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(s, 16), 0);
	return s;
}

static int spool_file(const char *text, uint64_t *off, uint64_t *len)
{
	char path[] = "/tmp/test_scan_spool.XXXXXX";
	int fd = mkstemp(path);
	const char *head = "ENVELOPE-HEAD\n";

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, head, strlen(head)), (ssize_t)strlen(head));
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	*off = strlen(head);
	*len = strlen(text);
	return fd;
}

static void run_until(uv_loop_t *loop, const struct outcome *o)
{
	for (int i = 0; i < 1000 && o->calls == 0; i++)
		uv_run(loop, UV_RUN_ONCE);
}

static void test_verdict_from_worker(void **state)
{
	struct config cfg;
	struct scan_envelope env;
	struct outcome o = {0};
	uv_loop_t loop;
	uint64_t off, len;
	pid_t pid;
	int ls, fd;

	make_config(&cfg, 5000);
	ls = listen_socket(&cfg);
	pid = fork();
	if (pid == 0)
		_exit(scan_worker_main(&cfg, ls, 0));
	close(ls);
	fd = spool_file("Subject: hi\r\n\r\nhello\r\n", &off, &len);
	uv_loop_init(&loop);
	struct scan_client *c = scan_client_new(&loop, &cfg);
	memset(&env, 0, sizeof env);
	snprintf(env.client_ip, sizeof env.client_ip, "127.0.0.1");
	assert_int_equal(scan_client_submit(c, fd, off, len, &env, on_result, &o), 0);
	close(fd); /* the client keeps its own copy */
	run_until(&loop, &o);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.res.unscanned, 0);
	assert_int_equal(o.res.verdict, VERDICT_CLEAN);
	assert_int_equal(o.res.action, POLICY_DELIVER);

	/* The worker dies: the next request is unscanned, reported once. */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	memset(&o, 0, sizeof o);
	fd = spool_file("x\r\n", &off, &len);
	assert_int_equal(scan_client_submit(c, fd, off, len, &env, on_result, &o), 0);
	close(fd);
	run_until(&loop, &o);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.res.unscanned, 1);
	assert_string_equal(o.res.sym[0].name, "SCAN_UNSCANNED");
	scan_client_free(c);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_deadline_when_nobody_accepts(void **state)
{
	struct config cfg;
	struct outcome o = {0};
	uv_loop_t loop;
	uint64_t off, len, t0;
	int ls, fd;

	make_config(&cfg, 200);
	ls = listen_socket(&cfg); /* bound, listening, never accepted */
	fd = spool_file("x\r\n", &off, &len);
	uv_loop_init(&loop);
	struct scan_client *c = scan_client_new(&loop, &cfg);
	t0 = uv_now(&loop);
	assert_int_equal(scan_client_submit(c, fd, off, len, NULL, on_result, &o), 0);
	run_until(&loop, &o);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.res.unscanned, 1);
	assert_true(uv_now(&loop) - t0 >= 190);
	assert_string_equal(o.res.sym[0].detail, "no scan worker answered in time");

	/* Cancel: the callback never runs. */
	struct outcome o2 = {0};
	assert_int_equal(scan_client_submit(c, fd, off, len, NULL, on_result, &o2), 0);
	scan_client_cancel(c, &o2);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(o2.calls, 0);
	close(fd);
	close(ls);
	scan_client_free(c);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_no_socket(void **state)
{
	struct config cfg;
	struct outcome o = {0};
	uv_loop_t loop;
	uint64_t off, len;
	char path[1200];
	int fd;

	make_config(&cfg, 60000);
	snprintf(path, sizeof path, "%s/run/scan.sock", home);
	unlink(path);
	fd = spool_file("x\r\n", &off, &len);
	uv_loop_init(&loop);
	struct scan_client *c = scan_client_new(&loop, &cfg);
	assert_int_equal(scan_client_submit(c, fd, off, len, NULL, on_result, &o), 0);
	assert_int_equal(o.calls, 0); /* never from inside submit */
	run_until(&loop, &o);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.res.unscanned, 1);
	close(fd);
	scan_client_free(c);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void write_sig(const char *name, const char *line)
{
	char path[1200], tmp[1300];
	FILE *f;

	snprintf(path, sizeof path, "%s/signatures", home);
	mkdir(path, 0755);
	snprintf(tmp, sizeof tmp, "%s/signatures/.%s.tmp", home, name);
	snprintf(path, sizeof path, "%s/signatures/%s", home, name);
	f = fopen(tmp, "w");
	assert_non_null(f);
	fputs(line, f);
	fclose(f);
	assert_int_equal(rename(tmp, path), 0);
}

static void scan_once(uv_loop_t *loop, struct scan_client *c, const char *text, struct outcome *o)
{
	uint64_t off, len;
	int fd = spool_file(text, &off, &len);

	memset(o, 0, sizeof *o);
	assert_int_equal(scan_client_submit(c, fd, off, len, NULL, on_result, o), 0);
	close(fd);
	run_until(loop, o);
	assert_int_equal(o->calls, 1);
}

/* A signature in place at start is used by the unprivileged worker; one added while it runs is
 * live within 5 s, and no scan in between fails. */
static void test_worker_signatures_and_reload(void **state)
{
	struct config cfg;
	struct outcome o;
	uv_loop_t loop;
	uint64_t t0;
	pid_t pid;
	int ls;

	make_config(&cfg, 10000);
	/* hex of "mxtower-test-one" and "mxtower-test-two" */
	write_sig("one.ndb", "Test.One:0:*:6d78746f7765722d746573742d6f6e65\n");
	ls = listen_socket(&cfg);
	pid = fork();
	if (pid == 0)
		_exit(scan_worker_main(&cfg, ls, 0));
	close(ls);
	uv_loop_init(&loop);
	struct scan_client *c = scan_client_new(&loop, &cfg);
	scan_once(&loop, c, "Subject: a\r\n\r\nxx mxtower-test-one yy\r\n", &o);
	assert_int_equal(o.res.unscanned, 0);
	assert_int_equal(o.res.verdict, VERDICT_MALWARE);
	assert_string_equal(o.res.virus, "Test.One");
	assert_int_equal(o.res.action, POLICY_REJECT);

	write_sig("two.ndb", "Test.Two:0:*:6d78746f7765722d746573742d74776f\n");
	t0 = uv_now(&loop);
	for (;;) {
		scan_once(&loop, c, "Subject: b\r\n\r\nxx mxtower-test-two yy\r\n", &o);
		assert_int_equal(o.res.unscanned, 0);
		if (o.res.verdict == VERDICT_MALWARE)
			break;
		uv_update_time(&loop);
		assert_true(uv_now(&loop) - t0 < 5000);
	}
	assert_string_equal(o.res.virus, "Test.Two");
	scan_client_free(c);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

static int connect_worker(void)
{
	struct sockaddr_un sa;
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/run/scan.sock", home);
	assert_int_equal(connect(s, (struct sockaddr *)&sa, sizeof sa), 0);
	return s;
}

/* Bad requests: the worker drops the connection (EOF, no reply) and keeps serving. */
static void test_worker_refuses_bad_requests(void **state)
{
	struct config cfg;
	struct outcome o;
	uv_loop_t loop;
	char buf[64];
	pid_t pid;
	int ls, s, st;

	make_config(&cfg, 10000);
	ls = listen_socket(&cfg);
	pid = fork();
	if (pid == 0)
		_exit(scan_worker_main(&cfg, ls, 0));
	close(ls);

	/* too short, no fd */
	s = connect_worker();
	assert_int_equal(send(s, "garbage", 7, 0), 7);
	assert_int_equal(recv(s, buf, sizeof buf, 0), 0);
	close(s);

	/* right size, wrong magic, no fd */
	{
		static char req[4096 * 4];

		s = connect_worker();
		memset(req, 0x41, sizeof req);
		send(s, req, sizeof req, 0);
		assert_int_equal(recv(s, buf, sizeof buf, 0), 0);
		close(s);
	}
	/* connected but silent: dropped after the worker's wait */
	s = connect_worker();
	assert_int_equal(recv(s, buf, sizeof buf, 0), 0);
	close(s);

	/* the worker is still there and answers a proper request */
	uv_loop_init(&loop);
	struct scan_client *c = scan_client_new(&loop, &cfg);
	scan_once(&loop, c, "Subject: ok\r\n\r\nfine\r\n", &o);
	assert_int_equal(o.res.unscanned, 0);
	scan_client_free(c);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_int_equal(waitpid(pid, &st, WNOHANG), 0);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

int main(void)
{
	int rc;

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdict_from_worker),
		cmocka_unit_test(test_deadline_when_nobody_accepts),
		cmocka_unit_test(test_no_socket),
		cmocka_unit_test(test_worker_signatures_and_reload),
		cmocka_unit_test(test_worker_refuses_bad_requests),
	};

	if (mkdtemp(home) == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	nftw(home, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
