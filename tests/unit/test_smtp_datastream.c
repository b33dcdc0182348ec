/*
 * test_smtp_datastream - dot-unstuffing and the smuggling rule, with every case fed whole and
 * split at every byte position (a decoder that depends on read boundaries is a smuggling bug).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "smtp/datastream.h"

struct ds_case {
	const char *in;
	size_t inlen;
	enum smtp_data_status st;
	const char *out; /* decoded bytes up to the end (END) */
	size_t rest;     /* input bytes left after END */
	char bad;
	int too_long;
};

#define IN(s) s, sizeof(s) - 1

static const struct ds_case dot_cases[] = {
    {IN(".\r\n"), SMTP_DATA_END, "", 0, 0, 0},
    {IN("a\r\n.\r\n"), SMTP_DATA_END, "a\r\n", 0, 0, 0},
    {IN("a\r\n..b\r\n.x\r\n.\r\nMAIL"), SMTP_DATA_END, "a\r\n.b\r\nx\r\n", 4, 0, 0},
    {IN("a\r\n..\r\n.\r\n"), SMTP_DATA_END, "a\r\n.\r\n", 0, 0, 0},
    {IN("a.\r\nb.b\r\n.\r\n"), SMTP_DATA_END, "a.\r\nb.b\r\n", 0, 0, 0},
    {IN("a\r\n"), SMTP_DATA_MORE, "a\r\n", 0, 0, 0},
    /* the smuggling family: none of these ends the data, each is fatal */
    {IN("a\n.\nMAIL FROM:<x@y>\r\n"), SMTP_DATA_BAD, NULL, 0, '\n', 0},
    {IN("a\r.\rMAIL FROM:<x@y>\r\n"), SMTP_DATA_BAD, NULL, 0, '\r', 0},
    {IN("a\r\n.\nMAIL FROM:<x@y>\r\n"), SMTP_DATA_BAD, NULL, 0, '\n', 0},
    {IN("a\n.\r\nMAIL FROM:<x@y>\r\n"), SMTP_DATA_BAD, NULL, 0, '\n', 0},
    {IN("a\r\n.\r.\r\n"), SMTP_DATA_BAD, NULL, 0, '\r', 0},
    {IN("a\r\n\0.\r\nMAIL"), SMTP_DATA_BAD, NULL, 0, '\0', 0},
    {IN("a\r\nb\rc\r\n.\r\n"), SMTP_DATA_BAD, NULL, 0, '\r', 0},
    {IN("\n"), SMTP_DATA_BAD, NULL, 0, '\n', 0},
    /* max_line is 10 below: 8 octets + CRLF fits, 9 + CRLF does not */
    {IN("12345678\r\n.\r\n"), SMTP_DATA_END, "12345678\r\n", 0, 0, 0},
    {IN("123456789\r\n.\r\n"), SMTP_DATA_END, "123456789\r\n", 0, 0, 1},
    /* inside a line the decoder skips to the next CR, LF or NUL (memchr): each must still be
     * seen wherever it falls in the stretch */
    {IN("abc\r\ndefg\nhij\r\n.\r\n"), SMTP_DATA_BAD, NULL, 0, '\n', 0},
    {IN("abc\r\nde\0fg\r\n.\r\n"), SMTP_DATA_BAD, NULL, 0, '\0', 0},
    {IN("abc\r\nde\0f\ng\r\n.\r\n"), SMTP_DATA_BAD, NULL, 0, '\0', 0},
    {IN("abc\r\ndef\ng\0\r\n.\r\n"), SMTP_DATA_BAD, NULL, 0, '\n', 0},
    {IN("ab\r\n1234567\r\n12345678901234\r\n.\r\n"), SMTP_DATA_END,
     "ab\r\n1234567\r\n12345678901234\r\n", 0, 0, 1},
};

static const struct ds_case chunk_cases[] = {
    {IN("a\r\n.\r\nb"), SMTP_DATA_END, "a\r\n.\r\nb\r\n", 0, 0, 0}, /* dots are data */
    {IN("a\r\n..\r\n"), SMTP_DATA_END, "a\r\n..\r\n", 0, 0, 0},
    {IN("a\nb"), SMTP_DATA_BAD, NULL, 0, '\n', 0},
    {IN("a\rb"), SMTP_DATA_BAD, NULL, 0, '\r', 0},
    {IN("a\r"), SMTP_DATA_BAD, NULL, 0, '\r', 0}, /* dangling CR at the end */
    {IN("a\0b"), SMTP_DATA_BAD, NULL, 0, '\0', 0},
};

static void emit(void *arg, const char *p, size_t len)
{
	assert_int_equal(buf_append(arg, p, len), 0);
}

/* Feed c->in in pieces cut at `split` (0 = whole); returns status, output in out. */
static enum smtp_data_status run(const struct ds_case *c, enum smtp_data_mode mode, size_t split,
                                 struct buf *out, size_t *rest, struct smtp_data_decoder *d)
{
	size_t off = 0;
	enum smtp_data_status st = SMTP_DATA_MORE;

	smtp_data_init(d, mode, 10);
	buf_reset(out);
	while (off < c->inlen) {
		size_t n = split ? split : c->inlen, used;

		if (n > c->inlen - off)
			n = c->inlen - off;
		st = smtp_data_decode(d, c->in + off, n, &used, emit, out);
		off += used;
		if (st != SMTP_DATA_MORE)
			break;
		assert_int_equal(used, n);
	}
	if (mode == SMTP_DATA_CHUNK && st == SMTP_DATA_MORE)
		st = smtp_data_finish(d, emit, out);
	*rest = c->inlen - off;
	return st;
}

static void check_cases(const struct ds_case *cases, size_t n, enum smtp_data_mode mode)
{
	struct buf out;

	buf_init(&out, 4096);
	for (size_t i = 0; i < n; i++) {
		const struct ds_case *c = &cases[i];

		for (size_t split = 0; split <= c->inlen; split++) {
			struct smtp_data_decoder d;
			size_t rest;
			enum smtp_data_status st = run(c, mode, split, &out, &rest, &d);

			if (st != c->st)
				fail_msg("case %zu split %zu: status %d, want %d", i, split, st,
				         c->st);
			if (st == SMTP_DATA_BAD) {
				assert_int_equal(d.bad_byte, c->bad);
				continue;
			}
			assert_int_equal(out.len, strlen(c->out));
			assert_memory_equal(out.p ? out.p : "", c->out, out.len);
			assert_int_equal(d.bytes_out, out.len);
			if (st == SMTP_DATA_END)
				assert_int_equal(rest, c->rest);
			assert_int_equal(d.line_too_long, c->too_long);
		}
	}
	buf_free(&out);
}

static void test_dot_mode(void **state)
{
	(void)state;
	check_cases(dot_cases, sizeof dot_cases / sizeof dot_cases[0], SMTP_DATA_DOT);
}

static void test_chunk_mode(void **state)
{
	(void)state;
	check_cases(chunk_cases, sizeof chunk_cases / sizeof chunk_cases[0], SMTP_DATA_CHUNK);
}

/* A long body is emitted in runs, not byte by byte. */
static void test_runs(void **state)
{
	static char body[8192];
	struct smtp_data_decoder d;
	struct buf out;
	size_t used;

	(void)state;
	for (size_t i = 0; i < sizeof body; i += 64) {
		memset(body + i, 'x', 62);
		body[i + 62] = '\r';
		body[i + 63] = '\n';
	}
	buf_init(&out, sizeof body + 1);
	smtp_data_init(&d, SMTP_DATA_DOT, 1000);
	assert_int_equal(smtp_data_decode(&d, body, sizeof body, &used, emit, &out),
	                 SMTP_DATA_MORE);
	assert_int_equal(used, sizeof body);
	assert_int_equal(out.len, sizeof body);
	assert_memory_equal(out.p, body, sizeof body);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dot_mode),
	    cmocka_unit_test(test_chunk_mode),
	    cmocka_unit_test(test_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
