/*
 * static - the dashboard's files (src/web/static/), embedded into the binary at build time, so
 * `mxtower serve` needs no file next to it and the page can never be out of step with the API.
 */
#ifndef MX_WEB_STATIC_H
#define MX_WEB_STATIC_H

#include <stddef.h>

struct web_static_file {
	const char *path; /* URL path, "/app.js" */
	const char *type; /* Content-Type */
	const unsigned char *data;
	size_t len;
};

/* The file served at path ("/" is index.html), or NULL. */
const struct web_static_file *web_static_find(const char *path);

#endif
