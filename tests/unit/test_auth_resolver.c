/*
 * test_auth_resolver - the real c-ares resolver against servers that misbehave on loopback: one
 * that never answers (every query ends as a timeout when the message's budget runs out, and
 * the next message starts a fresh budget) and one that is not there at all (a temporary
 * failure); no dns.resolver means no resolver; the per-message query limit.
 */
#include "scan/auth_dns.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

/* A bound UDP socket that nobody reads: a resolver that never answers. Returns its port. */
static int silent_server(int *fd)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof sa;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(*fd >= 0);
	assert_int_equal(bind(*fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(*fd, (struct sockaddr *)&sa, &sl), 0);
	return ntohs(sa.sin_port);
}

static void test_no_resolver_configured(void **state)
{
	struct config cfg;

	(void)state;
	config_defaults(&cfg);
	assert_null(resolver_get(&cfg));
	snprintf(cfg.dns.resolver, sizeof cfg.dns.resolver, "not-an-address:53");
	assert_null(resolver_get(&cfg));
	resolver_shutdown();
}

static void test_silent_server_times_out_within_budget(void **state)
{
	struct config cfg;
	struct resolver *r;
	struct arena *a = arena_new(1 << 20);
	struct dns_query q[3] = {{"example.com", DNS_T_TXT, {0}},
				 {"_dmarc.example.com", DNS_T_TXT, {0}},
				 {"2.0.0.127.zen.test", DNS_T_A, {0}}};
	int fd, port = silent_server(&fd);

	(void)state;
	config_defaults(&cfg);
	snprintf(cfg.dns.resolver, sizeof cfg.dns.resolver, "127.0.0.1:%d", port);
	r = resolver_get(&cfg);
	assert_non_null(r);
	struct auth_dns dns = resolver_dns(r);
	resolver_begin(r, 200);
	assert_int_equal(dns.lookup(dns.ctx, q, 3, a), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(q[i].ans.status, DNS_TIMEOUT);
	assert_int_equal(resolver_sent(r), 3);
	/* The budget is spent: nothing more leaves for this message. */
	assert_int_equal(dns.lookup(dns.ctx, q, 1, a), 0);
	assert_int_equal(q[0].ans.status, DNS_TIMEOUT);
	assert_int_equal(resolver_sent(r), 3);
	/* The next message has a budget of its own; its queries go out again. */
	resolver_begin(r, 100);
	assert_int_equal(dns.lookup(dns.ctx, q, 1, a), 0);
	assert_int_equal(q[0].ans.status, DNS_TIMEOUT);
	assert_int_equal(resolver_sent(r), 4);
	resolver_shutdown();
	close(fd);
	arena_free(a);
}

static void test_query_limit(void **state)
{
	struct config cfg;
	struct resolver *r;
	struct arena *a = arena_new(1 << 20);
	struct dns_query q[DNS_MAX_QUERIES_PER_MSG + 2];
	char names[DNS_MAX_QUERIES_PER_MSG + 2][32];
	int fd, port = silent_server(&fd);

	(void)state;
	config_defaults(&cfg);
	snprintf(cfg.dns.resolver, sizeof cfg.dns.resolver, "127.0.0.1:%d", port);
	r = resolver_get(&cfg);
	assert_non_null(r);
	for (int i = 0; i < DNS_MAX_QUERIES_PER_MSG + 2; i++) {
		snprintf(names[i], sizeof names[i], "n%d.example", i);
		q[i] = (struct dns_query){names[i], DNS_T_A, {0}};
	}
	struct auth_dns dns = resolver_dns(r);
	resolver_begin(r, 50);
	assert_int_equal(dns.lookup(dns.ctx, q, DNS_MAX_QUERIES_PER_MSG + 2, a), 0);
	assert_int_equal(resolver_sent(r), DNS_MAX_QUERIES_PER_MSG);
	assert_int_equal(q[DNS_MAX_QUERIES_PER_MSG].ans.status, DNS_LIMIT);
	assert_int_equal(q[0].ans.status, DNS_TIMEOUT);
	resolver_shutdown();
	close(fd);
	arena_free(a);
}

static void test_absent_server_is_tempfail(void **state)
{
	struct config cfg;
	struct resolver *r;
	struct arena *a = arena_new(1 << 20);
	struct dns_query q = {"example.com", DNS_T_TXT, {0}};
	int fd, port = silent_server(&fd);

	(void)state;
	close(fd); /* nobody on that port now: ICMP port unreachable */
	config_defaults(&cfg);
	snprintf(cfg.dns.resolver, sizeof cfg.dns.resolver, "127.0.0.1:%d", port);
	r = resolver_get(&cfg);
	assert_non_null(r);
	struct auth_dns dns = resolver_dns(r);
	resolver_begin(r, 5000);
	assert_int_equal(dns.lookup(dns.ctx, &q, 1, a), 0);
	assert_true(q.ans.status == DNS_TEMPFAIL || q.ans.status == DNS_TIMEOUT);
	resolver_shutdown();
	arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_resolver_configured),
	    cmocka_unit_test(test_silent_server_times_out_within_budget),
	    cmocka_unit_test(test_query_limit),
	    cmocka_unit_test(test_absent_server_is_tempfail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
