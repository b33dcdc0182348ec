/*
 * test_queue_dsn - DSN status codes from replies (table), and the report's structure: a
 * multipart/report with the delivery-status fields per failed recipient and the original
 * headers; expiry gives 4.4.7.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/buf.h"
#include "queue/dsn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_dsn_status(void **state)
{
	static const struct {
		const char *diag;
		int expired;
		const char *want;
	} cases[] = {
	    {"550 5.1.1 no such user", 0, "5.1.1"},
	    {"552 5.3.4 message too big", 0, "5.3.4"},
	    {"554 transaction failed", 0, "5.0.0"},
	    {"451 4.3.0 try later", 1, "4.4.7"},
	    {"connect to 127.0.0.1:1: Connection refused", 1, "4.4.7"},
	    {"550 5.7.1 refused by the content filter (spam)", 0, "5.7.1"},
	    {"", 0, "5.0.0"},
	    {NULL, 0, "5.0.0"},
	    {"550 5.1.1234 long", 0, "5.0.0"}, /* not an enhanced code: the class only */
	    {"450 4.7.25 PTR", 0, "4.7.25"},
	    {"550 5.1", 0, "5.0.0"},
	    {"550 5.1.1", 0, "5.1.1"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct dsn_rcpt r = {
		    .addr = "a@b", .diag = cases[i].diag, .expired = cases[i].expired};
		char st[16];

		dsn_status(&r, st);
		assert_true(strlen(st) < 16);
		if (strcmp(st, cases[i].want) != 0)
			print_error("case %zu: got %s want %s\n", i, st, cases[i].want);
		assert_string_equal(st, cases[i].want);
	}
}

static void test_dsn_build(void **state)
{
	static char sender[] = "alice@sender.test", envid[] = "E-42";
	static const char hdrs[] = "Subject: hello\r\nFrom: <alice@sender.test>\r\n";
	struct queue_msg m;
	struct dsn_rcpt r[2] = {
	    {.addr = "bad@example.test",
	     .diag = "550 5.1.1 no such user",
	     .remote = "mx.example.test"},
	    {.addr = "slow@example.test", .diag = "451 4.4.1 timeout", .expired = 1},
	};
	struct buf b;

	(void)state;
	memset(&m, 0, sizeof m);
	snprintf(m.id, sizeof m.id, "6B0B0DF655F9700381D");
	m.env.sender = sender;
	m.env.envid = envid;
	m.env.arrival_sec = 1790000000;
	buf_init(&b, 1 << 20);
	assert_int_equal(dsn_build(&b, "mx.test", &m, hdrs, strlen(hdrs), r, 2, 1790000100), 0);
	assert_non_null(strstr(b.p, "To: <alice@sender.test>\r\n"));
	assert_non_null(
	    strstr(b.p, "Content-Type: multipart/report; report-type=delivery-status;"));
	assert_non_null(strstr(b.p, "boundary=\"6B0B0DF655F9700381D.mxtower-dsn\""));
	assert_non_null(strstr(b.p, "Auto-Submitted: auto-replied\r\n"));
	assert_non_null(strstr(b.p, "Content-Type: message/delivery-status\r\n"));
	assert_non_null(strstr(b.p, "Reporting-MTA: dns; mx.test\r\n"));
	assert_non_null(strstr(b.p, "Original-Envelope-Id: E-42\r\n"));
	assert_non_null(strstr(b.p,
	                       "Final-Recipient: rfc822; bad@example.test\r\nAction: failed\r\n"
	                       "Status: 5.1.1\r\nRemote-MTA: dns; mx.example.test\r\n"
	                       "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n"));
	assert_non_null(strstr(b.p,
	                       "Final-Recipient: rfc822; slow@example.test\r\nAction: failed\r\n"
	                       "Status: 4.4.7\r\n"));
	assert_non_null(strstr(b.p, "Content-Type: text/rfc822-headers\r\n\r\nSubject: hello\r\n"));
	assert_non_null(strstr(b.p, "Subject: Delayed Mail (delivery expired)"));
	/* Closed by the final boundary, and every line ends in CRLF. */
	assert_non_null(strstr(b.p, "\r\n--6B0B0DF655F9700381D.mxtower-dsn--\r\n"));
	for (size_t i = 0; i < b.len; i++)
		if (b.p[i] == '\n')
			assert_int_equal(b.p[i - 1], '\r');
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dsn_status),
	    cmocka_unit_test(test_dsn_build),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
