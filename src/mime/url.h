/*
 * url - the message's URL set: extraction from plain text, deduplication (internal).
 */
#ifndef MX_MIME_URL_H
#define MX_MIME_URL_H

#include "core/arena.h"
#include "mime/mime.h"

struct mime_urls {
	struct arena *a;
	struct mime_url *head, **tail;
	unsigned n;
	struct mime_url **tab; /* open addressing on the url string */
	unsigned tabsz;
	int full; /* the arena ran out */
};

void mime_urls_init(struct mime_urls *u, struct arena *a);
/* Add one URL (bytes as found; text may be NULL). Duplicates and URLs past the limit are
 * dropped. Returns -ENOMEM when the arena is full, else 0. */
int mime_urls_add(struct mime_urls *u, const char *url, size_t len, const char *text,
                  size_t text_len, const struct mime_part *part);
/* Find http://, https://, ftp:// and www. URLs in text and add them. */
int mime_urls_scan(struct mime_urls *u, const char *p, size_t len, const struct mime_part *part);

#endif
