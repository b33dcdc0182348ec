/*
 * json - the few JSON writing helpers the API needs, appending to a bounded buf. Strings are
 * escaped for JSON and, beyond that, '<', '>' and '&' as \u00XX, so a value that came from mail
 * (a sender, a subject) can never close a <script> or open a tag where a page embeds it.
 */
#ifndef MX_WEB_JSON_H
#define MX_WEB_JSON_H

#include "core/buf.h"

#include <stddef.h>

/* Append s (len bytes) as a quoted JSON string. 0 or -ENOSPC. */
int json_strn(struct buf *b, const char *s, size_t len);
int json_str(struct buf *b, const char *s);
/* Append "key": (a quoted, escaped key and the colon). */
int json_key(struct buf *b, const char *key);
/* Append ,"key":"value" (value NULL as ""): one more member of an object already opened. */
int json_field(struct buf *b, const char *key, const char *value);

/*
 * Find the string value of "key" in a flat JSON object or the value of key= in a form body,
 * unescaping nothing: values we accept (tokens, ids, "on") have no escapes. Copies at most
 * outsz - 1 bytes. 0, or -ENOENT when absent, -E2BIG when too long.
 */
int json_find_str(const char *body, size_t len, const char *key, char *out, size_t outsz);

#endif
