/*
 * fuzz_mime - the MIME parser and its decoders on arbitrary bytes: every input parses (under
 * the default limits and under tiny ones, where the limit paths run), every byte the parse
 * hands out is readable, and the tree keeps its invariants. A broken invariant aborts.
 */
#include "core/arena.h"
#include "core/buf.h"
#include "mime/mime.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Enough for any input libFuzzer makes (-max_len defaults to 4096, seeds are bigger). */
#define FUZZ_ARENA_CAP (64u * 1024 * 1024)
/* Small enough that real seeds run out of arena. */
#define FUZZ_ARENA_TINY (80u * 1024)

/*
 * Every range the parse hands out must be readable: under ASan ask the shadow memory about the
 * whole range at once (a byte-by-byte read cost a third of each run); elsewhere read its ends.
 */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_HAVE_ASAN 1
#endif
#endif
#ifdef FUZZ_HAVE_ASAN
#include <sanitizer/asan_interface.h>
#endif

static volatile unsigned sink;

static void touch(const void *p, size_t n)
{
	const unsigned char *s = p;

	if (n == 0)
		return;
#ifdef FUZZ_HAVE_ASAN
	if (__asan_region_is_poisoned((void *)s, n))
		abort();
#endif
	sink += s[0] + s[n - 1];
}

static void check_msg(const struct mime_msg *m, const struct mime_limits *lim)
{
	const struct mime_part *pt;
	const struct mime_url *u;
	unsigned count = 0, nurls = 0;

	for (pt = m->root; pt; pt = mime_part_next(pt)) {
		const struct mime_header *h;

		count++;
		if (pt->parent && pt->depth != pt->parent->depth + 1)
			abort();
		if (pt->depth > lim->max_depth + 1)
			abort();
		if (!pt->type || !pt->subtype || !pt->charset || !pt->filename || !pt->disposition)
			abort();
		touch(pt->type, strlen(pt->type) + 1);
		touch(pt->subtype, strlen(pt->subtype) + 1);
		touch(pt->filename, strlen(pt->filename) + 1);
		touch(pt->raw_headers.p, pt->raw_headers.len);
		touch(pt->raw_body.p, pt->raw_body.len);
		for (h = pt->headers; h; h = h->next) {
			touch(h->name.p, h->name.len);
			touch(h->raw.p, h->raw.len);
			touch(h->value, strlen(h->value) + 1);
		}
		if (pt->decoded) {
			touch(pt->decoded, pt->decoded_len);
			if (pt->decoded[pt->decoded_len] != '\0')
				abort();
		}
		if (pt->content)
			touch(pt->content, pt->content_len);
		if (pt->text) {
			touch(pt->text, pt->text_len);
			if (pt->text[pt->text_len] != '\0')
				abort();
		}
		if (mime_part_is_leaf(pt) == pt->container)
			abort();
	}
	if (count != m->nparts)
		abort();
	for (u = m->urls; u; u = u->next) {
		nurls++;
		touch(u->url, strlen(u->url) + 1);
		touch(u->host, strlen(u->host) + 1);
		if (u->text)
			touch(u->text, strlen(u->text) + 1);
	}
	if (nurls != m->nurls)
		abort();
	touch(m->text, m->text_len + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct mime_limits tiny = {3, 12, 4096};
	const char *p = (const char *)data;
	struct arena *a;
	struct mime_msg *m;
	struct buf b;

	a = arena_new(FUZZ_ARENA_CAP);
	m = mime_parse(a, p, size, NULL);
	if (m == NULL)
		abort(); /* the root always fits in 64 MiB */
	check_msg(m, &mime_limits_default);
	arena_free(a);

	a = arena_new(FUZZ_ARENA_TINY);
	m = mime_parse(a, p, size, &tiny);
	if (m)
		check_msg(m, &tiny);
	arena_free(a);

	/* The decoders alone, with a buffer cap below what some inputs need. */
	buf_init(&b, size / 2 + 16);
	mime_decode_base64(p, size, &b);
	buf_reset(&b);
	mime_decode_qp(p, size, &b);
	buf_reset(&b);
	mime_decode_words(p, size, &b);
	buf_reset(&b);
	mime_charset_to_utf8(size && data[0] & 1 ? "shift_jis" : "utf-7", p, size, &b);
	buf_free(&b);
	return 0;
}
