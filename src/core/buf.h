/*
 * buf - a growable byte buffer with a hard maximum set at creation, always NUL-terminated, and
 * a borrowed slice {p, len} into someone else's bytes.
 *
 * Owner: whoever called buf_init(); buf_free() releases the storage. A buf never grows past
 * max: an append that would returns -ENOSPC and leaves the buffer as it was, so a peer that
 * sends too much gets a protocol error, never an allocation it chose the size of.
 */
#ifndef MX_CORE_BUF_H
#define MX_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct slice {
	const char *p;
	size_t len;
};

#define SLICE_LIT(s) ((struct slice){(s), sizeof(s) - 1})

struct buf {
	char *p;    /* NUL-terminated; NULL until the first append */
	size_t len; /* bytes in use, not counting the NUL */
	size_t cap; /* allocated, counting the NUL */
	size_t max; /* hard limit on len */
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b); /* len = 0, keeps the storage */
int buf_append(struct buf *b, const void *p, size_t len);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Remove the first n bytes (consumed input). */
void buf_consume(struct buf *b, size_t n);

/* Case-insensitive ASCII compare of a slice with a C string. */
int slice_eq_ci(struct slice s, const char *lit);
struct slice slice_trim(struct slice s);

#endif
