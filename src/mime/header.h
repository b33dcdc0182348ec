/*
 * header - RFC 5322 header blocks and RFC 2045/2231 parameters (internal to src/mime).
 */
#ifndef MX_MIME_HEADER_H
#define MX_MIME_HEADER_H

#include "core/arena.h"
#include "mime/mime.h"

#include <stddef.h>

/*
 * Split the header block at the start of (p, len) into a list of headers (arena). Returns the
 * offset where the body starts (after the empty line), ORs MIME_F_* into *flags, and sets *list
 * (NULL for none). *raw_len gets the length of the header block proper, without the empty line.
 * Returns (size_t)-1 when the arena is full.
 */
size_t mime_headers_parse(struct arena *a, const char *p, size_t len, struct mime_header **list,
                          size_t *raw_len, unsigned *flags);

/* The first token of a structured value (before ';'), lowercased, into the arena. With
 * split_slash, type and subtype are returned apart (subtype may be NULL). */
int mime_value_token(struct arena *a, struct slice v, char **type, char **subtype);

/* A parameter of a structured value, RFC 2231 continuations and charsets joined and RFC 2047
 * words decoded, as UTF-8 (arena); NULL when absent or when the arena is full. */
const char *mime_param_get(struct arena *a, struct slice v, const char *name);

#endif
