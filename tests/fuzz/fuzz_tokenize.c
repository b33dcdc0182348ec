/*
 * fuzz_tokenize - the feature tokenizer (scan/tokenize) on arbitrary bytes: the whole message
 * through the MIME parser and through the raw fallback (no MIME tree), and the input split at
 * its first NUL into a header name and value for tokenize_header (Received IPv4 prefixes,
 * Message-ID, subject words). Invariants: the sink never holds more than its capacity, and
 * after tok_sink_finish its hashes are strictly ascending; the word hashes that
 * tokenize_message_words keeps for fuzzy, when complete, are tokenize_word_hashes' over the same
 * text, and its features are tokenize_message's. A broken invariant aborts.
 */
#include "core/arena.h"
#include "mime/mime.h"
#include "scan/tokenize.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* As mxtower learn's arena: any input libFuzzer makes fits. */
#define FUZZ_ARENA_CAP (64u * 1024 * 1024)
/* Small enough that a real seed fills it, so the capacity path runs. */
#define FUZZ_SINK_SMALL 64

static uint64_t hbuf[TOK_MAX_FEATURES], bbuf[TOK_MAX_FEATURES];
static uint64_t hbuf2[TOK_MAX_FEATURES], bbuf2[TOK_MAX_FEATURES];
/* a words' array for any text libFuzzer makes (a third of TOK_TEXT_MAX), and the reference */
static uint64_t wbuf[TOK_TEXT_MAX / 3 + 1], wref[TOK_TEXT_MAX / 3 + 1];

struct wcollect {
	size_t n;
};

static void wcollect(void *arg, uint64_t h)
{
	struct wcollect *c = arg;

	if (c->n < sizeof wref / sizeof wref[0])
		wref[c->n] = h;
	c->n++;
}

/* tokenize_message_words against tokenize_message and tokenize_word_hashes */
static void check_words(const struct mime_msg *m, const char *msg, size_t size,
			const struct tok_sink *h, const struct tok_sink *b)
{
	struct tok_sink h2 = {hbuf2, 0, TOK_MAX_FEATURES}, b2 = {bbuf2, 0, TOK_MAX_FEATURES};
	struct tok_words w = {wbuf, 0, sizeof wbuf / sizeof wbuf[0], 0};
	struct wcollect c = {0};

	tokenize_message_words(&h2, &b2, &w, m, msg, size);
	if (h2.n != h->n || b2.n != b->n || memcmp(hbuf2, h->h, h->n * 8) != 0 ||
	    memcmp(bbuf2, b->h, b->n * 8) != 0)
		abort();
	if (!w.complete)
		return;
	if (m && m->root) {
		if (m->text)
			tokenize_word_hashes(m->text, m->text_len, wcollect, &c);
	} else {
		size_t body = tok_body_offset(msg, size);

		tokenize_word_hashes(msg + body, size - body, wcollect, &c);
	}
	if (c.n != w.n || memcmp(wbuf, wref, w.n * 8) != 0)
		abort();
}

static void check(struct tok_sink *s)
{
	if (s->n > s->max)
		abort();
	tok_sink_finish(s);
	for (size_t i = 1; i < s->n; i++)
		if (s->h[i - 1] >= s->h[i])
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena *a;
	struct tok_sink h = {hbuf, 0, TOK_MAX_FEATURES}, b = {bbuf, 0, TOK_MAX_FEATURES};
	struct tok_sink small = {hbuf, 0, FUZZ_SINK_SMALL};
	const char *msg = (const char *)data;
	const struct mime_msg *m;
	char *copy;
	const char *nul;

	if (a == NULL && (a = arena_new(FUZZ_ARENA_CAP)) == NULL)
		abort();
	arena_reset(a);
	m = mime_parse(a, msg, size, &mime_limits_default);
	tokenize_message(&h, &b, m, msg, size);
	check_words(m, msg, size, &h, &b);
	check(&h);
	check(&b);
	tokenize_message(&small, &small, NULL, msg, size);
	check(&small);

	/* name NUL value: both NUL-terminated copies, as the MIME parser hands them out */
	copy = malloc(size + 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	nul = memchr(copy, '\0', size + 1);
	h.n = 0;
	tokenize_header(&h, copy, nul < copy + size ? nul + 1 : "");
	tokenize_header(&h, "Received", copy);
	tokenize_header(&h, "Message-ID", copy);
	check(&h);
	free(copy);
	return 0;
}
