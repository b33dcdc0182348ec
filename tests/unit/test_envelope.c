/*
 * test_envelope - the queue file format: encode a head, a body and a trailer, parse them back
 * field for field; every truncation of a file is refused (an END-less file is never delivered);
 * in-place state records keep their fixed width; garbled records are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/buf.h"
#include "queue/envelope.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const rcpts[] = {"bob@example.test", "odd%name with space@example.test",
                                    "carol@other.test"};
static const char body[] = "Subject: hi\r\n\r\nEND 00000000000000000001\nM\n\r\n";

/* Build a whole file image into b. */
static void build(struct buf *b, const struct scan_result *v)
{
	struct envelope_head h = {
	    .arrival_sec = 1790000000,
	    .arrival_usec = 42,
	    .tenant = "acme",
	    .client_ip = "192.0.2.1",
	    .client_host = "",
	    .helo = "mail\r\nX: y",
	    .proto = "ESMTP",
	    .sender = "",
	    .ret = "HDRS",
	    .envid = "e1",
	    .smtputf8 = 1,
	    .body_8bit = 0,
	    .rcpts = rcpts,
	    .nrcpts = 3,
	};
	size_t toff;

	buf_init(b, 1 << 20);
	assert_int_equal(envelope_head_encode(b, &h), 0);
	assert_int_equal(buf_append(b, body, sizeof body - 1), 0);
	toff = b->len;
	assert_int_equal(envelope_trailer_encode(b, v, toff), 0);
}

static void make_verdict(struct scan_result *v)
{
	memset(v, 0, sizeof *v);
	v->verdict = VERDICT_SPAM;
	v->action = POLICY_TAG;
	v->score = 7.25;
	snprintf(v->virus, sizeof v->virus, "Eicar-Test");
	v->nsym = 2;
	snprintf(v->sym[0].name, sizeof v->sym[0].name, "BAYES_SPAM");
	v->sym[0].score = 5.5;
	snprintf(v->sym[0].detail, sizeof v->sym[0].detail, "p=0.99 %%\n");
	snprintf(v->sym[1].name, sizeof v->sym[1].name, "R_X");
	v->sym[1].score = -1.75;
}

static void test_envelope_round_trip(void **state)
{
	struct scan_result v;
	struct envelope e;
	struct buf b;

	(void)state;
	make_verdict(&v);
	build(&b, &v);
	assert_int_equal(envelope_parse(b.p, b.len, &e), 0);
	assert_int_equal(e.arrival_sec, 1790000000);
	assert_int_equal(e.arrival_usec, 42);
	assert_string_equal(e.tenant, "acme");
	assert_string_equal(e.client_ip, "192.0.2.1");
	assert_string_equal(e.client_host, "");
	assert_string_equal(e.helo, "mail\r\nX: y");
	assert_string_equal(e.sender, "");
	assert_string_equal(e.ret, "HDRS");
	assert_string_equal(e.envid, "e1");
	assert_int_equal(e.smtputf8, 1);
	assert_int_equal(e.body_8bit, 0);
	assert_int_equal(e.attempts, 0);
	assert_int_equal(e.next_try, 0);
	assert_string_equal(e.last_error, "");
	assert_int_equal(e.nrcpts, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(e.rcpts[i].addr, rcpts[i]);
		assert_int_equal(e.rcpts[i].state, RCPT_PENDING);
		assert_int_equal(b.p[e.rcpts[i].state_off], RCPT_PENDING);
	}
	assert_int_equal(e.body_len, sizeof body - 1);
	assert_memory_equal(b.p + e.body_off, body, sizeof body - 1);
	assert_int_equal(e.verdict.verdict, VERDICT_SPAM);
	assert_int_equal(e.verdict.action, POLICY_TAG);
	assert_true(e.verdict.score > 7.2499 && e.verdict.score < 7.2501);
	assert_string_equal(e.verdict.virus, "Eicar-Test");
	assert_int_equal(e.verdict.nsym, 2);
	assert_string_equal(e.verdict.sym[0].name, "BAYES_SPAM");
	assert_string_equal(e.verdict.sym[0].detail, "p=0.99 %\n");
	assert_true(e.verdict.sym[1].score < -1.7499 && e.verdict.sym[1].score > -1.7501);
	envelope_free(&e);
	buf_free(&b);
}

/* Rewriting the state byte, Q and L in place keeps the file parseable and visible. */
static void test_envelope_in_place(void **state)
{
	char q[ENVELOPE_Q_WIDTH + 1], l[ENVELOPE_ERR_WIDTH + 1];
	struct scan_result v;
	struct envelope e, e2;
	struct buf b;
	char longerr[600];

	(void)state;
	make_verdict(&v);
	build(&b, &v);
	assert_int_equal(envelope_parse(b.p, b.len, &e), 0);
	b.p[e.rcpts[1].state_off] = RCPT_DONE;
	envelope_q_format(q, 7, 1790001234);
	assert_int_equal(strlen(q), ENVELOPE_Q_WIDTH);
	memcpy(b.p + e.q_off, q, ENVELOPE_Q_WIDTH);
	memset(longerr, 'x', sizeof longerr - 1);
	longerr[sizeof longerr - 1] = '\0';
	memcpy(longerr, "451 4.3.0 try%later\n", 20);
	envelope_l_format(l, longerr);
	assert_int_equal(strlen(l), ENVELOPE_ERR_WIDTH);
	memcpy(b.p + e.l_off, l, ENVELOPE_ERR_WIDTH);
	assert_int_equal(envelope_parse(b.p, b.len, &e2), 0);
	assert_int_equal(e2.rcpts[0].state, RCPT_PENDING);
	assert_int_equal(e2.rcpts[1].state, RCPT_DONE);
	assert_int_equal(e2.attempts, 7);
	assert_int_equal(e2.next_try, 1790001234);
	assert_memory_equal(e2.last_error, "451 4.3.0 try%later\nxxx", 23);
	envelope_free(&e);
	envelope_free(&e2);
	buf_free(&b);
}

/* Every proper prefix of a file is refused: a crash mid-write never yields a deliverable file. */
static void test_envelope_truncated(void **state)
{
	struct scan_result v;
	struct envelope e;
	struct buf b;

	(void)state;
	make_verdict(&v);
	build(&b, &v);
	for (size_t n = 0; n < b.len; n++) {
		int r = envelope_parse(b.p, n, &e);

		assert_true(r < 0);
		assert_null(e.rcpts);
	}
	/* Without the END record at all: -EBADMSG, the "corrupt" case. */
	assert_int_equal(envelope_parse(b.p, b.len - ENVELOPE_END_LEN, &e), -EBADMSG);
	assert_false(envelope_has_end(b.p, b.len - 1));
	assert_true(envelope_has_end(b.p, b.len));
	buf_free(&b);
}

static void test_envelope_garbled(void **state)
{
	static const char *const bad[] = {
	    "XXX 1\nM\nW 0 0 0 0\nEND 00000000000000000008\n",
	    "MXQ 1\nR P a@b\nM\nW 0 0 0 0\nEND 00000000000000000016\n", /* no Q/L/F */
	    "MXQ 1\nM\nW 0 0 0 0\nEND 00000000000000000099\n",          /* offset past end */
	    "MXQ 1\nM\nEND 00000000000000000008\n",                     /* no W */
	    "MXQ 1\nM\nW 9 0 0 0\nEND 00000000000000000008\n",          /* bad verdict */
	    "MXQ 1\nM\nW 0 0 nan 0\nEND 00000000000000000008\n",
	    "MXQ 1\nM\nW 0 0 0 0\nEND 0000000000000000000x\n",
	};
	struct envelope e;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_true(envelope_parse(bad[i], strlen(bad[i]), &e) < 0);
}

static void test_envelope_limits(void **state)
{
	struct envelope_head h = {.sender = "a@b", .nrcpts = 0};
	char big[ENVELOPE_VALUE_MAX + 2];
	const char *one[] = {big};
	struct buf b;

	(void)state;
	buf_init(&b, 1 << 20);
	assert_int_equal(envelope_head_encode(&b, &h), -EINVAL); /* no recipient */
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	h.rcpts = one;
	h.nrcpts = 1;
	buf_reset(&b);
	assert_int_equal(envelope_head_encode(&b, &h), -EINVAL); /* value too long */
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_envelope_round_trip), cmocka_unit_test(test_envelope_in_place),
	    cmocka_unit_test(test_envelope_truncated),  cmocka_unit_test(test_envelope_garbled),
	    cmocka_unit_test(test_envelope_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
