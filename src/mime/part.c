/*
 * part - read-only helpers over a parsed part tree (header lookup, pre-order walk).
 */
#include "mime/mime.h"

#include <string.h>
#include <strings.h>

const struct mime_header *mime_header_find(const struct mime_part *part, const char *name)
{
	size_t n = strlen(name);
	const struct mime_header *h;

	for (h = part->headers; h; h = h->next)
		if (h->name.len == n && strncasecmp(h->name.p, name, n) == 0)
			return h;
	return NULL;
}

const char *mime_header_get(const struct mime_part *part, const char *name)
{
	const struct mime_header *h = mime_header_find(part, name);

	return h ? h->value : NULL;
}

const struct mime_part *mime_part_next(const struct mime_part *cur)
{
	if (cur->children)
		return cur->children;
	while (cur) {
		if (cur->next)
			return cur->next;
		cur = cur->parent;
	}
	return NULL;
}

int mime_part_is_leaf(const struct mime_part *part)
{
	return !part->container;
}
