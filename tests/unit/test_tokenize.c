/*
 * test_tokenize - the feature stream of scan/tokenize on known strings: normalisation, word
 * limits, skip-bigrams, header and URL tokens, registrable domains.
 */
#include "scan/tokenize.h"

#include "core/arena.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct collect {
	char words[64][TOK_WORD_MAX + 16];
	size_t n;
};

static void collect_word(void *arg, const char *w, size_t len)
{
	struct collect *c = arg;

	if (c->n < 64) {
		memcpy(c->words[c->n], w, len);
		c->words[c->n][len] = '\0';
		c->n++;
	}
}

static void test_words_normalise(void **state)
{
	struct collect c = {.n = 0};
	const char *text = "Hello, WORLD! Win $100 now... don't e-mail -x- a 3.5 end.";

	(void)state;
	assert_int_equal(tokenize_words(text, strlen(text), collect_word, &c), 9);
	const char *want[] = {"hello", "world", "win", "$100", "now", "don't", "e-mail", "3.5",
			      "end"};
	/* "a" and "-x-" (one letter after trimming) are dropped */
	for (size_t i = 0; i < 9; i++)
		assert_string_equal(c.words[i], want[i]);
}

static void test_words_long_and_utf8(void **state)
{
	struct collect c = {.n = 0};
	char text[200];

	(void)state;
	memset(text, 'Q', 95);
	memcpy(text + 95, " gr\xc3\xbc\xc3\x9f" "e", 8);
	tokenize_words(text, 103, collect_word, &c);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.words[0], "skip:q:90");
	assert_string_equal(c.words[1], "gr\xc3\xbc\xc3\x9f" "e");
}

static void test_text_bigrams(void **state)
{
	uint64_t h[64];
	struct tok_sink s = {h, 0, 64};

	(void)state;
	tokenize_text(&s, "click here now", 14);
	assert_int_equal(s.n, 4); /* 3 words, 1 skip pair; adjacent pairs are not features */
	tok_sink_finish(&s);
	assert_true(tok_sink_has(&s, "w:", "click"));
	assert_false(tok_sink_has(&s, "b:", "click here"));
	assert_true(tok_sink_has(&s, "k:", "click now"));
	assert_false(tok_sink_has(&s, "k:", "click here"));
	assert_false(tok_sink_has(&s, "w:", "Click"));
}

/* Runs of emphasis characters are features, cut at 4; single ones and other marks are not. */
static void test_punct_runs(void **state)
{
	static const char text[] = "WIN NOW!!! only $$ a day?? 100%! **** free!!!!!! a.b, c-d";
	uint64_t h[64];
	struct tok_sink s = {h, 0, 64};

	(void)state;
	tokenize_text(&s, text, sizeof text - 1);
	tokenize_header(&s, "Subject", "Act now!!");
	tok_sink_finish(&s);
	assert_true(tok_sink_has(&s, "p:", "!!!"));
	assert_true(tok_sink_has(&s, "p:", "$$"));
	assert_true(tok_sink_has(&s, "p:", "??"));
	assert_true(tok_sink_has(&s, "p:", "****"));
	assert_true(tok_sink_has(&s, "p:", "!!!!")); /* "!!!!!!" counts as four */
	assert_false(tok_sink_has(&s, "p:", "!!!!!!"));
	assert_false(tok_sink_has(&s, "p:", "!")); /* "100%!": two different characters */
	assert_false(tok_sink_has(&s, "p:", "%"));
	assert_false(tok_sink_has(&s, "p:", "%!"));
	assert_false(tok_sink_has(&s, "p:", ".."));
	assert_true(tok_sink_has(&s, "sp:", "!!"));
	assert_false(tok_sink_has(&s, "p:", "!!"));
	assert_true(tok_sink_has(&s, "s:", "act"));
}

static void test_sink_dedup_and_cap(void **state)
{
	uint64_t h[4];
	struct tok_sink s = {h, 0, 4};

	uint64_t big[32];
	struct tok_sink s2 = {big, 0, 32};

	(void)state;
	tokenize_text(&s, "aa aa aa aa aa aa", 17);
	assert_int_equal(s.n, 4); /* capped: w, w, w k */
	assert_int_equal(tok_sink_finish(&s), 2);
	tokenize_text(&s2, "aa aa aa aa aa aa", 17);
	assert_int_equal(s2.n, 6 + 4);
	assert_int_equal(tok_sink_finish(&s2), 2); /* w:aa, k:aa aa */
}

static int u64_order(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* tok_sink_finish sorts with its own quicksort: same result as qsort + dedup on sizes around
 * its small-range cut-off and on runs of duplicates. */
static void test_sink_sort(void **state)
{
	static uint64_t a[5000], b[5000];
	static const size_t sizes[] = {1, 2, 15, 16, 17, 100, 5000};
	uint64_t x = 88172645463325252ULL;

	(void)state;
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		size_t n = sizes[k], m = 0;
		struct tok_sink s = {a, n, n};

		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			a[i] = b[i] = (k % 2) ? x % 50 : x; /* odd sizes: many duplicates */
		}
		qsort(b, n, sizeof *b, u64_order);
		for (size_t i = 0; i < n; i++)
			if (i == 0 || b[i] != b[i - 1])
				b[m++] = b[i];
		assert_int_equal(tok_sink_finish(&s), m);
		for (size_t i = 0; i < m; i++)
			assert_true(a[i] == b[i]);
	}
}

/* Top bits all alike (a message made to collide in the buckets of the sort): still sorted. */
static void test_sink_sort_collide(void **state)
{
	static uint64_t a[8192], b[8192];
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	size_t m = 0;
	struct tok_sink s = {a, 8192, 8192};

	(void)state;
	for (size_t i = 0; i < 8192; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		a[i] = b[i] = (0xabcdeULL << 44) | (x >> 20);
	}
	qsort(b, 8192, sizeof *b, u64_order);
	for (size_t i = 0; i < 8192; i++)
		if (i == 0 || b[i] != b[i - 1])
			b[m++] = b[i];
	assert_int_equal(tok_sink_finish(&s), m);
	for (size_t i = 0; i < m; i++)
		assert_true(a[i] == b[i]);
}

static uint64_t feature(const char *s)
{
	return tok_hash(s, strlen(s), 0);
}

/* The hashes and their order are what the feature strings give (a trained home's keys): words
 * and the pair one apart in text order, punctuation runs after them; header words after the
 * header name. */
static void test_feature_order(void **state)
{
	uint64_t h[16];
	struct tok_sink s = {h, 0, 16};
	const char *text = "Click HERE now!!! -- Win";

	(void)state;
	tokenize_text(&s, text, strlen(text));
	assert_int_equal(s.n, 7); /* "--" is no word and no emphasis run */
	assert_true(h[0] == feature("w:click"));
	assert_true(h[1] == feature("w:here"));
	assert_true(h[2] == feature("w:now"));
	assert_true(h[3] == feature("k:click now"));
	assert_true(h[4] == feature("w:win"));
	assert_true(h[5] == feature("k:here win"));
	assert_true(h[6] == feature("p:!!!"));
	s.n = 0;
	tokenize_header(&s, "FROM", "Ann <ann@Example.com>");
	assert_int_equal(s.n, 4); /* "@" ends a word */
	assert_true(h[0] == feature("hn:from"));
	assert_true(h[1] == feature("h:from:ann"));
	assert_true(h[2] == feature("h:from:ann"));
	assert_true(h[3] == feature("h:from:example.com"));
	s.n = 0;
	tokenize_header(&s, "Subject", "Act now or else $$$");
	assert_true(h[0] == feature("hn:subject"));
	assert_true(h[1] == feature("s:act"));
	assert_true(h[2] == feature("s:now"));
	assert_true(h[3] == feature("s:or"));
	assert_true(h[4] == feature("sk:act or"));
	assert_true(h[5] == feature("s:else"));
	assert_true(h[6] == feature("sk:now else"));
	assert_true(h[7] == feature("sp:$$$"));
	assert_int_equal(s.n, 8);
}

static void collect_hash(void *arg, uint64_t h)
{
	struct tok_sink *s = arg;

	if (s->n < s->max)
		s->h[s->n++] = h;
}

/* tokenize_word_hashes: tok_hash(word, len, 0) of every word tokenize_words gives, skip
 * tokens left out, in order. */
static void test_word_hashes(void **state)
{
	struct collect c = {.n = 0};
	uint64_t h[64];
	struct tok_sink s = {h, 0, 64};
	char text[300];
	size_t k = 0;

	(void)state;
	snprintf(text, sizeof text, "Dear FRIEND, a 3.5%% fee: e-mail me; %s end", 
		 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	tokenize_words(text, strlen(text), collect_word, &c);
	assert_int_equal(tokenize_word_hashes(text, strlen(text), collect_hash, &s), c.n - 1);
	for (size_t i = 0; i < c.n; i++) {
		if (strncmp(c.words[i], "skip:", 5) == 0)
			continue;
		assert_true(h[k] == tok_hash(c.words[i], strlen(c.words[i]), 0));
		k++;
	}
	assert_int_equal(k, s.n);
	assert_true(h[0] == tok_hash("dear", 4, 0));
}

/*
 * tokenize_message_words keeps the body text's word hashes (fuzzy's shingles read them): the
 * same as tokenize_word_hashes over the text, the features the same as tokenize_message's;
 * complete is 0 when the words' array filled up before the text ended, and a full feature sink
 * does not cut the words short.
 */
static void message_words_check(const struct mime_msg *m, const char *raw, size_t len,
				const char *text, size_t tlen)
{
	static uint64_t h1[TOK_MAX_FEATURES], b1[TOK_MAX_FEATURES], h2[TOK_MAX_FEATURES],
		b2[TOK_MAX_FEATURES], wh[256], ref[256];
	struct tok_sink H1 = {h1, 0, TOK_MAX_FEATURES}, B1 = {b1, 0, TOK_MAX_FEATURES};
	struct tok_sink H2 = {h2, 0, TOK_MAX_FEATURES}, B2 = {b2, 0, TOK_MAX_FEATURES};
	struct tok_sink r = {ref, 0, 256};
	struct tok_words w = {wh, 0, 256, 0};

	tokenize_message(&H1, &B1, m, raw, len);
	tokenize_message_words(&H2, &B2, &w, m, raw, len);
	assert_int_equal(H1.n, H2.n);
	assert_int_equal(B1.n, B2.n);
	assert_memory_equal(h1, h2, H1.n * sizeof *h1);
	assert_memory_equal(b1, b2, B1.n * sizeof *b1);
	tokenize_word_hashes(text, tlen, collect_hash, &r);
	assert_true(w.complete);
	assert_true(r.n > 5);
	assert_int_equal(w.n, r.n);
	assert_memory_equal(wh, ref, r.n * sizeof *ref);
	/* a words' array too small, a sink that fills up: not complete */
	w.max = 3;
	B2.n = H2.n = 0;
	tokenize_message_words(&H2, &B2, &w, m, raw, len);
	assert_false(w.complete);
	assert_int_equal(w.n, 3);
	w.max = 256;
	B2.n = H2.n = 0;
	B2.max = B1.n / 2;
	tokenize_message_words(&H2, &B2, &w, m, raw, len);
	assert_int_equal(B2.n, B1.n / 2);
	assert_memory_equal(b1, b2, B2.n * sizeof *b1);
	assert_true(w.complete);
	assert_int_equal(w.n, r.n);
	assert_memory_equal(wh, ref, r.n * sizeof *ref);
}

static void test_message_words(void **state)
{
	static const char msg[] =
		"From: Ann <ann@example.com>\r\nSubject: Cheap meds today\r\n"
		"Content-Type: text/plain\r\n\r\n"
		"Dear FRIEND, a 3.5% fee: e-mail me at once; AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA "
		"is no word, click http://example.com/win now!!! -- end of it\r\n";
	struct arena *a = arena_new(1u << 20);
	struct mime_msg *m;
	size_t body = tok_body_offset(msg, sizeof msg - 1);

	(void)state;
	assert_non_null(a);
	m = mime_parse(a, msg, sizeof msg - 1, &mime_limits_default);
	assert_non_null(m);
	assert_non_null(m->text);
	message_words_check(m, msg, sizeof msg - 1, m->text, m->text_len);
	/* the raw fallback: the undecoded body */
	message_words_check(NULL, msg, sizeof msg - 1, msg + body, sizeof msg - 1 - body);
	arena_free(a);
}

static void test_headers(void **state)
{
	uint64_t h[64];
	struct tok_sink s = {h, 0, 64};

	(void)state;
	tokenize_header(&s, "Subject", "Cheap Meds");
	tokenize_header(&s, "From", "Bob <bob@mail.example.com>");
	tokenize_header(&s, "Message-ID", "<123.abc@mx.spammer.biz>");
	tokenize_header(&s, "X-Spam-Status", "Yes, score=20");
	tokenize_header(&s, "Date", "Mon, 1 Jan 2001");
	tok_sink_finish(&s);
	assert_true(tok_sink_has(&s, "s:", "cheap"));
	assert_true(tok_sink_has(&s, "s:", "meds"));
	assert_false(tok_sink_has(&s, "sb:", "cheap meds"));
	assert_true(tok_sink_has(&s, "h:from:", "mail.example.com"));
	assert_true(tok_sink_has(&s, "h:from:", "bob"));
	assert_true(tok_sink_has(&s, "mid:", "mx.spammer.biz"));
	assert_true(tok_sink_has(&s, "hn:", "date"));
	assert_false(tok_sink_has(&s, "hn:", "x-spam-status"));
	assert_false(tok_sink_has(&s, "h:date:", "jan"));
}

/* Received: the bracketed IPv4 address the receiving host saw, as /8, /16, /24 prefixes;
 * anything else in brackets (IPv6, host names, out-of-range octets) gives none. */
static void test_received_ips(void **state)
{
	uint64_t h[128];
	struct tok_sink s = {h, 0, 128};

	(void)state;
	tokenize_header(&s, "Received",
			"from rovdb001.roving.com (unknown [216.251.239.53]) by mail.example.com");
	tokenize_header(&s, "Received", "from a ([10.1.1.50]) by b with SMTP");
	tokenize_header(&s, "Received", "from x ([IPv6:2001:db8::1] [300.1.2.3] [1.2.3] [9.8.7.6.5])");
	tok_sink_finish(&s);
	assert_true(tok_sink_has(&s, "rip:", "216"));
	assert_true(tok_sink_has(&s, "rip:", "216.251"));
	assert_true(tok_sink_has(&s, "rip:", "216.251.239"));
	assert_false(tok_sink_has(&s, "rip:", "216.251.239.53")); /* the whole one is a word */
	assert_true(tok_sink_has(&s, "h:received:", "216.251.239.53"));
	assert_true(tok_sink_has(&s, "rip:", "10.1.1"));
	assert_false(tok_sink_has(&s, "rip:", "300"));
	assert_false(tok_sink_has(&s, "rip:", "1.2"));
	assert_false(tok_sink_has(&s, "rip:", "9.8.7"));
	assert_false(tok_sink_has(&s, "rip:", "2001"));
	/* only Received headers give them */
	tokenize_header(&s, "X-Other", "[1.2.3.4]");
	tok_sink_finish(&s);
	assert_false(tok_sink_has(&s, "rip:", "1.2.3"));
}

static void test_urls(void **state)
{
	uint64_t h[64];
	struct tok_sink s = {h, 0, 64};

	(void)state;
	tokenize_url(&s, "http://www.shop.example.co.uk/buy/now?x=1", "www.shop.example.co.uk");
	tokenize_url(&s, "http://10.1.2.3/login", "10.1.2.3");
	tok_sink_finish(&s);
	assert_true(tok_sink_has(&s, "u:", "www.shop.example.co.uk"));
	assert_true(tok_sink_has(&s, "ud:", "example.co.uk"));
	assert_true(tok_sink_has(&s, "us:", "http"));
	assert_true(tok_sink_has(&s, "up:", "buy"));
	assert_true(tok_sink_has(&s, "u:", "IP"));
	assert_true(tok_sink_has(&s, "up:", "login"));
}

static void test_registrable(void **state)
{
	(void)state;
	assert_string_equal(tok_registrable_domain("a.b.example.com"), "example.com");
	assert_string_equal(tok_registrable_domain("example.com"), "example.com");
	assert_string_equal(tok_registrable_domain("localhost"), "localhost");
	assert_string_equal(tok_registrable_domain("x.bbc.co.uk"), "bbc.co.uk");
	assert_string_equal(tok_registrable_domain("co.uk"), "co.uk");
}

static void test_hash_known(void **state)
{
	(void)state;
	/* Pinned: bayes.lmdb keys are these hashes, so a change here orphans learned data. */
	assert_true(tok_hash("w:free", 6, 0) == tok_hash("w:free", 6, 0));
	assert_true(tok_hash("w:free", 6, 0) != tok_hash("w:free", 6, 1));
	assert_true(tok_hash("w:free", 6, 0) == 0xf31b0f594242fad6ULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words_normalise), cmocka_unit_test(test_words_long_and_utf8),
		cmocka_unit_test(test_text_bigrams),
		cmocka_unit_test(test_punct_runs),    cmocka_unit_test(test_sink_dedup_and_cap),
		cmocka_unit_test(test_sink_sort),       cmocka_unit_test(test_sink_sort_collide),
		cmocka_unit_test(test_feature_order),   cmocka_unit_test(test_word_hashes),
		cmocka_unit_test(test_message_words),
		cmocka_unit_test(test_headers),         cmocka_unit_test(test_received_ips),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_registrable),     cmocka_unit_test(test_hash_known),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
