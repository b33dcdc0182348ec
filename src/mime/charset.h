/*
 * charset - charset names and UTF-8 checks shared inside src/mime.
 */
#ifndef MX_MIME_CHARSET_H
#define MX_MIME_CHARSET_H

#include <stddef.h>

/* 1 when (p, len) is 7-bit ASCII (checked eight bytes at a time). */
int mime_ascii(const char *p, size_t len);
/* 1 when (p, len) is valid UTF-8 (which includes plain ASCII). */
int mime_utf8_valid(const char *p, size_t len);
/* 1 for names whose valid-UTF-8 bytes need no conversion: "", us-ascii, utf-8 and aliases. */
int mime_charset_is_utf8ish(const char *charset);

#endif
