/*
 * fuzz_tokenize - the feature tokenizer (scan/tokenize) on arbitrary bytes: the whole message
 * through the MIME parser and through the raw fallback (no MIME tree), and the input split at
 * its first NUL into a header name and value for tokenize_header (Received IPv4 prefixes,
 * Message-ID, subject words). Invariants: the sink never holds more than its capacity, and
 * after tok_sink_finish its hashes are strictly ascending. A broken invariant aborts.
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
	char *copy;
	const char *nul;

	if (a == NULL && (a = arena_new(FUZZ_ARENA_CAP)) == NULL)
		abort();
	arena_reset(a);
	tokenize_message(&h, &b, mime_parse(a, msg, size, &mime_limits_default), msg, size);
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
