/*
 * test_core - the core helpers: checked integer parsing, bounded buffers, config overrides and
 * secret masking, log escaping, the arena cap, and the tenant snapshot's recipient check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "core/parse.h"
#include "core/sort.h"
#include "store/tenant.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_parse_u64(void **state)
{
	static const struct {
		const char *in;
		uint64_t min, max;
		int ret;
		uint64_t out;
	} cases[] = {
		{"0", 0, 10, 0, 0},
		{"10", 0, 10, 0, 10},
		{"11", 0, 10, -ERANGE, 0},
		{"", 0, 10, -EINVAL, 0},
		{"-1", 0, 10, -EINVAL, 0},
		{" 1", 0, 10, -EINVAL, 0},
		{"1x", 0, 10, -EINVAL, 0},
		{"18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX},
		{"18446744073709551616", 0, UINT64_MAX, -ERANGE, 0},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint64_t v = 777;
		int r = parse_u64(cases[i].in, cases[i].min, cases[i].max, &v);

		assert_int_equal(r, cases[i].ret);
		assert_int_equal(v, r == 0 ? cases[i].out : 777);
	}
}

static void test_parse_size_duration(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(parse_size("64k", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(parse_size("10M", &v), 0);
	assert_int_equal(v, 10 * 1024 * 1024);
	assert_int_equal(parse_size("1500", &v), 0);
	assert_int_equal(v, 1500);
	assert_int_not_equal(parse_size("k", &v), 0);
	assert_int_equal(parse_duration("5m", &v), 0);
	assert_int_equal(v, 300);
	assert_int_equal(parse_duration("2d", &v), 0);
	assert_int_equal(v, 172800);
	assert_int_not_equal(parse_duration("5x", &v), 0);
}

static void test_parse_hostport(void **state)
{
	char host[64];
	uint16_t port;

	(void)state;
	assert_int_equal(parse_hostport("127.0.0.1:25", host, sizeof host, &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 25);
	assert_int_equal(parse_hostport("[::1]:2525", host, sizeof host, &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 2525);
	assert_int_not_equal(parse_hostport("host", host, sizeof host, &port), 0);
	assert_int_not_equal(parse_hostport("host:0", host, sizeof host, &port), 0);
	assert_int_not_equal(parse_hostport("host:65536", host, sizeof host, &port), 0);
	assert_int_not_equal(parse_hostport(":25", host, sizeof host, &port), 0);
}

static void test_buf_limit(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_puts(&b, "1234"), 0);
	assert_int_equal(buf_printf(&b, "%d", 5678), 0);
	assert_string_equal(b.p, "12345678");
	/* Past the maximum: refused, and the buffer is unchanged. */
	assert_int_equal(buf_puts(&b, "9"), -ENOSPC);
	assert_string_equal(b.p, "12345678");
	buf_consume(&b, 3);
	assert_string_equal(b.p, "45678");
	assert_int_equal(b.len, 5);
	buf_free(&b);
}

static void test_config_overrides(void **state)
{
	struct config c;
	char err[256];
	char *argv[] = {"x", "-o", "smtp.max_recipients=7", "--home", "/tmp/h", "rest", NULL};
	int argc = 6;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	config_defaults(&c);
	assert_int_equal(config_from_args(&c, &argc, argv), 0);
	assert_int_equal(argc, 2);
	assert_string_equal(argv[1], "rest");
	assert_int_equal(c.smtp.max_recipients, 7);
	assert_string_equal(c.home, "/tmp/h");
	assert_int_equal(config_set(&c, "smtp.max_message_size", "10M", err, sizeof err), 0);
	assert_int_equal(c.smtp.max_message_size, 10 * 1024 * 1024);
	assert_int_equal(config_set(&c, "queue.max_lifetime", "2d", err, sizeof err), 0);
	assert_int_equal(c.queue.max_lifetime, 172800);
	assert_int_equal(config_set(&c, "no.such", "1", err, sizeof err), -1);
	assert_non_null(strstr(err, "unknown"));
	assert_int_equal(config_set(&c, "smtp.max_recipients", "0", err, sizeof err), -1);
	/* Secrets never print. */
	assert_int_equal(config_set(&c, "cluster.redis_password", "hunter2", err, sizeof err), 0);
	f = open_memstream(&text, &len);
	config_print(&c, f);
	fclose(f);
	assert_null(strstr(text, "hunter2"));
	assert_non_null(strstr(text, "cluster.redis_password = (set)"));
	assert_non_null(strstr(text, "smtp.max_recipients = 7"));
	free(text);
}

static void test_log_escape(void **state)
{
	char out[32];

	(void)state;
	assert_string_equal(log_escape(out, sizeof out, "a\r\nb\"\\", 6), "a\\x0d\\x0ab\\x22\\x5c");
	/* Too long: cut with an ellipsis, still terminated. */
	log_escape(out, 12, "abcdefghijklmnopqrstuvwxyz", 26);
	assert_true(strlen(out) < 12);
	assert_non_null(strstr(out, "..."));
}

static void test_arena_cap(void **state)
{
	struct arena *a = arena_new(100 * 1024);
	void *p;

	(void)state;
	assert_non_null(a);
	p = arena_alloc(a, 1000);
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % 16, 0);
	assert_string_equal(arena_strdup(a, "hello"), "hello");
	/* Past the cap: NULL and the exhausted flag, never a crash. */
	assert_null(arena_alloc(a, 200 * 1024));
	assert_true(arena_exhausted(a));
	arena_reset(a);
	assert_false(arena_exhausted(a));
	assert_non_null(arena_alloc(a, 10));
	arena_free(a);
}

static void test_tenant_map(void **state)
{
	char dir[] = "/tmp/mxtest-tenant-XXXXXX";
	struct config c;
	struct tenant_db *db;
	struct tenant_map *m;
	struct tenant t = {0};
	const struct tenant *found;
	char *doms[] = {"acme.test", "Acme.Example"};
	char *rcpts[] = {"bob@acme.example"};

	(void)state;
	assert_non_null(mkdtemp(dir));
	config_defaults(&c);
	snprintf(c.home, sizeof c.home, "%s", dir);
	log_set_level(LOG_LEVEL_WARN);
	db = tenant_db_open(&c);
	assert_non_null(db);
	snprintf(t.name, sizeof t.name, "acme");
	snprintf(t.route, sizeof t.route, "127.0.0.1:2600");
	tenant_policy_defaults(&t.policy);
	t.domains = doms;
	t.ndomains = 2;
	assert_int_equal(tenant_add(db, &t), 0);
	/* The same domain for a second client is refused. */
	snprintf(t.name, sizeof t.name, "other");
	assert_int_equal(tenant_add(db, &t), -EEXIST);

	m = tenant_map_load(db);
	assert_non_null(m);
	assert_int_equal(tenant_map_rcpt(m, "anyone@ACME.test", &found), 0);
	assert_string_equal(found->name, "acme");
	assert_int_equal(tenant_map_rcpt(m, "x@elsewhere.test", &found), -ENOENT);
	assert_int_equal(tenant_map_rcpt(m, "x@", &found), -ENOENT);
	assert_int_equal(tenant_map_rcpt(m, "nodomain", &found), -ENOENT);
	/* Unchanged database: the same snapshot comes back. */
	assert_ptr_equal(tenant_map_refresh(db, m), m);

	/* A recipient list turns other local parts into -ESRCH, after a refresh. */
	{
		struct tenant_db *db2 = tenant_db_open(&c);
		struct tenant t2;

		assert_int_equal(tenant_get(db2, "acme", &t2), 0);
		tenant_free(&t2);
		assert_int_equal(tenant_get(db2, "acme", &t2), 0);
		t2.recipients = malloc(sizeof(char *));
		t2.recipients[0] = strdup(rcpts[0]);
		t2.nrecipients = 1;
		assert_int_equal(tenant_update(db2, &t2), 0);
		tenant_free(&t2);
		tenant_db_close(db2);
	}
	m = tenant_map_refresh(db, m);
	assert_int_equal(tenant_map_rcpt(m, "bob@acme.example", &found), 0);
	assert_int_equal(tenant_map_rcpt(m, "eve@acme.example", &found), -ESRCH);
	tenant_map_free(m);
	tenant_db_close(db);
	{
		char cmd[128];

		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		assert_int_equal(system(cmd), 0);
	}
}

static int u64_order(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* sort_u64 against qsort: random arrays of every length up to 300 (both sides of the
 * insertion-sort cut), few distinct values, sorted, reversed, all equal; and the insertion
 * pass alone on an almost sorted array. */
static void test_sort_u64(void **state)
{
	uint64_t a[300], b[300], x = 88172645463325252ULL;

	(void)state;
	for (size_t n = 0; n <= 300; n++)
		for (int kind = 0; kind < 5; kind++) {
			for (size_t i = 0; i < n; i++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				a[i] = kind == 0   ? x
				       : kind == 1 ? x % 3
				       : kind == 2 ? i
				       : kind == 3 ? n - i
				                   : 42;
			}
			memcpy(b, a, n * sizeof *a);
			sort_u64(a, n);
			qsort(b, n, sizeof *b, u64_order);
			assert_memory_equal(a, b, n * sizeof *a);
		}
	for (size_t i = 0; i < 300; i++)
		a[i] = b[i] = i ^ 3; /* each at most three places from its own */
	sort_u64_insertion(a, 300);
	qsort(b, 300, sizeof *b, u64_order);
	assert_memory_equal(a, b, sizeof a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_u64),    cmocka_unit_test(test_parse_size_duration),
		cmocka_unit_test(test_parse_hostport), cmocka_unit_test(test_buf_limit),
		cmocka_unit_test(test_config_overrides), cmocka_unit_test(test_log_escape),
		cmocka_unit_test(test_arena_cap),    cmocka_unit_test(test_sort_u64),
		cmocka_unit_test(test_tenant_map),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
