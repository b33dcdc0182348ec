/*
 * html - HTML reduced to the text a reader sees, and its links (internal to src/mime).
 */
#ifndef MX_MIME_HTML_H
#define MX_MIME_HTML_H

#include "core/buf.h"

#include <stddef.h>

/* Called for each link: url (entity-decoded) and, for <a href>, the anchor text (else NULL).
 * Returns < 0 to stop. */
typedef int (*mime_html_link_fn)(void *arg, const char *url, size_t ulen, const char *text,
                                 size_t tlen);

/* Append the visible text of (p, len) to out: tags, comments, scripts and styles dropped,
 * entities decoded, whitespace runs collapsed, block elements ending lines. Returns 0 or a
 * negative errno (out full, or link() stopped it). */
int mime_html_to_text(const char *p, size_t len, struct buf *out, mime_html_link_fn link,
                      void *arg);
/* Decode one entity at p ('&' ... ) into UTF-8 bytes; returns bytes consumed (0 if none). */
size_t mime_html_entity(const char *p, size_t len, char utf8[8], size_t *ulen);

#endif
