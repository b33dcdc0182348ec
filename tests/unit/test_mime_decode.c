/*
 * test_mime_decode - the MIME decoders on known values: base64, quoted-printable, uuencode,
 * yEnc, RFC 2047 encoded words, charset conversion; and the malformations each one counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "mime/decode.h"
#include "mime/mime.h"

struct dcase {
	const char *in;
	const char *want; /* expected output */
	size_t want_len;  /* 0: strlen(want) */
	int bad;          /* expected malformation count; -1: any > 0 */
};

static void check(const char *name, int (*fn)(const char *, size_t, struct buf *),
                  const struct dcase *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct buf b;
		size_t wl = c[i].want_len ? c[i].want_len : strlen(c[i].want);
		int r;

		buf_init(&b, 1 << 20);
		r = fn(c[i].in, strlen(c[i].in), &b);
		if (b.len != wl || (wl && memcmp(b.p, c[i].want, wl) != 0) ||
		    (c[i].bad >= 0 ? r != c[i].bad : r <= 0))
			print_error("%s case %zu: in=\"%s\" got %zu bytes \"%.*s\" r=%d\n", name, i,
			            c[i].in, b.len, (int)b.len, b.p ? b.p : "", r);
		assert_int_equal(b.len, wl);
		if (wl)
			assert_memory_equal(b.p, c[i].want, wl);
		if (c[i].bad >= 0)
			assert_int_equal(r, c[i].bad);
		else
			assert_true(r > 0);
		buf_free(&b);
	}
}

static void test_base64(void **state)
{
	static const struct dcase cases[] = {
	    {"", "", 0, 0},
	    {"Zg==", "f", 0, 0},
	    {"Zm8=", "fo", 0, 0},
	    {"Zm9v", "foo", 0, 0},
	    {"Zm9vYmFy", "foobar", 0, 0},
	    {"Zm9v\r\nYmFy\r\n", "foobar", 0, 0}, /* line breaks are not data */
	    {"Zm9v YmFy\t", "foobar", 0, 0},
	    {"Zm9vYg", "foob", 0, 0}, /* unpadded tail still decodes */
	    {"Zm9vYmE", "fooba", 0, 0},
	    {"Zm9vY", "foo", 0, 1},        /* six bits are no byte */
	    {"Zm9v!YmFy", "foobar", 0, 1}, /* junk is skipped and counted */
	    {"Zg==Zm9v", "f", 0, 0},       /* '=' ends the data (RFC 2045 6.8) */
	    {"Zm8=\n-- \nlist footer\n", "fo", 0, 0},
	    {"AAEC/w==", "\x00\x01\x02\xff", 4, 0},
	    {"+/+/", "\xfb\xff\xbf", 3, 0},
	};

	(void)state;
	check("base64", mime_decode_base64, cases, sizeof cases / sizeof cases[0]);
}

static void test_qp(void **state)
{
	static const struct dcase cases[] = {
	    {"plain", "plain", 0, 0},
	    {"a=3Db", "a=b", 0, 0},
	    {"caf=C3=A9", "caf\xc3\xa9", 0, 0},
	    {"caf=c3=a9", "caf\xc3\xa9", 0, 0}, /* lowercase hex is accepted */
	    {"soft=\nbreak", "softbreak", 0, 0},
	    {"soft=\r\nbreak", "softbreak", 0, 0},
	    {"pad=  \t\nbreak", "padbreak", 0, 0},  /* RFC 2045 6.7 (3) */
	    {"hard  \nline", "hard  \nline", 0, 0}, /* blanks before a hard break stay */
	    {"crlf\r\nkept", "crlf\r\nkept", 0, 0},
	    {"end=", "end", 0, 0},
	    {"bad=4g", "bad=4g", 0, 1},      /* a bad escape is kept as is */
	    {"=====\nx", "=====\nx", 0, -1}, /* a row of '=' keeps its break */
	    {"=x=\nb", "=x=\nb", 0, 1},
	    {"nul=00x", "nul\0x", 5, 0},
	};

	(void)state;
	check("qp", mime_decode_qp, cases, sizeof cases / sizeof cases[0]);
}

static void test_words(void **state)
{
	static const struct dcase cases[] = {
	    {"plain text", "plain text", 0, 0},
	    {"=?utf-8?B?w6k=?=", "\xc3\xa9", 0, 0},
	    {"=?UTF-8?Q?caf=C3=A9_au_lait?=", "caf\xc3\xa9 au lait", 0, 0},
	    {"=?iso-8859-1?q?caf=E9?=", "caf\xc3\xa9", 0, 0},
	    /* whitespace between adjacent words vanishes (RFC 2047 6.2) */
	    {"=?utf-8?Q?a?= =?utf-8?Q?b?=", "ab", 0, 0},
	    {"=?utf-8?Q?a?=\r\n =?utf-8?Q?b?=", "ab", 0, 0},
	    /* but not between a word and text */
	    {"x =?utf-8?Q?a?= y", "x a y", 0, 0},
	    /* a character split over two words joins up */
	    {"=?utf-8?B?ww==?= =?utf-8?B?qQ==?=", "\xc3\xa9", 0, 0},
	    {"=?utf-8?Q?=C3?= =?utf-8?Q?=A9?=", "\xc3\xa9", 0, 0},
	    /* RFC 2231 language suffix on the charset */
	    {"=?utf-8*en?Q?hi?=", "hi", 0, 0},
	    /* glued to text, as spam writes it */
	    {"Buy=?utf-8?Q?_now?=!", "Buy now!", 0, 0},
	    /* not a word: unknown encoding letter, missing end */
	    {"=?utf-8?X?abc?=", "=?utf-8?X?abc?=", 0, 0},
	    /* a bad Q escape is kept (fuzz_mime found it overran a 1-byte buffer) */
	    {"=?utf-8?Q?=4g?=", "=4g", 0, 1},
	    {"=?utf-8?Q?abc", "=?utf-8?Q?abc", 0, 0},
	    /* raw 8-bit: UTF-8 kept, else read as windows-1252 */
	    {"caf\xc3\xa9", "caf\xc3\xa9", 0, 0},
	    {"caf\xe9", "caf\xc3\xa9", 0, 0},
	    {"=?koi8-r?B?8NLJ18XU?=", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", 0, 0},
	};

	(void)state;
	check("words", mime_decode_words, cases, sizeof cases / sizeof cases[0]);
}

static void test_charset(void **state)
{
	static const struct {
		const char *cs, *in, *want;
		int bad;
	} cases[] = {
	    {"utf-8", "caf\xc3\xa9", "caf\xc3\xa9", 0},
	    {"UTF-8",
	     "a\xff"
	     "b",
	     "a\xef\xbf\xbd"
	     "b",
	     1}, /* invalid byte: U+FFFD */
	    {"iso-8859-1", "caf\xe9", "caf\xc3\xa9", 0},
	    {"iso-8859-1", "\x80", "\xe2\x82\xac", 0},     /* read as windows-1252 */
	    {"us-ascii", "caf\xc3\xa9", "caf\xc3\xa9", 0}, /* mislabelled UTF-8 kept */
	    {"", "na\xefve", "na\xc3\xafve", 0},
	    {"koi8-r", "\xf0\xd2\xc9", "\xd0\x9f\xd1\x80\xd0\xb8", 0},
	    {"windows-1251", "\xcf\xf0\xe8", "\xd0\x9f\xd1\x80\xd0\xb8", 0},
	    {"gb2312", "\xc4\xe3\xba\xc3", "\xe4\xbd\xa0\xe5\xa5\xbd", 0},
	    {"shift_jis", "\x82\xa0", "\xe3\x81\x82", 0},
	    {"\"ISO-8859-2\"", "\xb1", "\xc4\x85", 0},
	    {"x-no-such-charset", "ab\xff", "ab\xff", 1}, /* unknown: bytes through */
	    {"utf-16le", "a\0b\0", "ab", 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct buf b;
		size_t inl = strlen(cases[i].in);
		int r;

		if (strcmp(cases[i].cs, "utf-16le") == 0)
			inl = 4;
		buf_init(&b, 1 << 16);
		r = mime_charset_to_utf8(cases[i].cs, cases[i].in, inl, &b);
		if (b.len != strlen(cases[i].want) || r != cases[i].bad)
			print_error("charset case %zu (%s): got %zu \"%.*s\" r=%d\n", i,
			            cases[i].cs, b.len, (int)b.len, b.p ? b.p : "", r);
		assert_int_equal(r, cases[i].bad);
		assert_int_equal(b.len, strlen(cases[i].want));
		assert_memory_equal(b.p, cases[i].want, b.len);
		buf_free(&b);
	}
}

/* More charsets than the descriptor cache holds, twice over: evicted descriptors and their
 * tables are freed (LeakSanitizer watches), and a re-opened charset converts the same. The
 * unlabelled charset "" is a cache key like any other (it once leaked on eviction). */
static void test_charset_cache(void **state)
{
	static const char *const names[] = {
	    "",           "iso-8859-2", "iso-8859-5",  "koi8-r",    "windows-1250", "windows-1251",
	    "iso-8859-7", "cp850",      "iso-8859-15", "shift_jis", "utf-16le",     "x-unknown-cs"};
	struct buf first[sizeof names / sizeof names[0]];

	(void)state;
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
			struct buf b;

			buf_init(&b, 1 << 12);
			assert_true(mime_charset_to_utf8(names[i], "A\xe9\xb1\xc4", 4, &b) >= 0);
			if (round == 0) {
				first[i] = b;
				continue;
			}
			assert_int_equal(b.len, first[i].len);
			assert_memory_equal(b.p, first[i].p, b.len);
			buf_free(&b);
		}
	}
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		buf_free(&first[i]);
}

static void test_uu_yenc(void **state)
{
	/* "hello world\n" uuencoded and yEnc-encoded by hand. */
	static const char uu[] = "intro\nbegin 644 hello.txt\n,:&5L;&\\@=V]R;&0*\n`\nend\noutro\n";
	static const char ye[] = "=ybegin line=128 size=12 name=my file.bin\n"
	                         "\x92\x8f\x96\x96\x99J\xa1\x99\x9c\x96\x8e\x34\n=yend size=12\n";
	struct mime_embedded em;
	unsigned char out[64];
	unsigned bad = 0;
	size_t n;

	(void)state;
	assert_int_equal(mime_embedded_find(uu, sizeof uu - 1, 0, &em), 1);
	assert_int_equal(em.yenc, 0);
	assert_int_equal(em.name_len, 9);
	assert_memory_equal(em.name, "hello.txt", 9);
	n = mime_uu_raw(uu + em.data, em.data_end - em.data, out, &bad);
	assert_int_equal(n, 12);
	assert_memory_equal(out, "hello world\n", 12);
	assert_int_equal(bad, 0);
	assert_string_equal(uu + em.end, "outro\n");
	/* No second block after the first. */
	assert_int_equal(mime_embedded_find(uu, sizeof uu - 1, em.end, &em), 0);

	assert_int_equal(mime_embedded_find(ye, sizeof ye - 1, 0, &em), 1);
	assert_int_equal(em.yenc, 1);
	assert_int_equal(em.name_len, 11);
	assert_memory_equal(em.name, "my file.bin", 11);
	bad = 0;
	n = mime_yenc_raw(ye + em.data, em.data_end - em.data, out, &bad);
	assert_int_equal(n, 12);
	assert_memory_equal(out, "hello world\n", 12);

	/* "begin" that is not at a line start, or without a mode, is no block. */
	assert_int_equal(mime_embedded_find("we begin 644 x\n", 15, 0, &em), 0);
	assert_int_equal(mime_embedded_find("begin now\n", 10, 0, &em), 0);

	/* A length byte promising more than the line holds: counted, output stays bounded. */
	bad = 0;
	n = mime_uu_raw("M86)C\n", 6, out, &bad);
	assert_true(n <= 6);
	assert_true(bad > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base64),        cmocka_unit_test(test_qp),
	    cmocka_unit_test(test_words),         cmocka_unit_test(test_charset),
	    cmocka_unit_test(test_charset_cache), cmocka_unit_test(test_uu_yenc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
