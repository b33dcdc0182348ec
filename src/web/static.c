/*
 * static - the embedded page (see static.h). Each file is pulled into .rodata by the assembler's
 * .incbin, with a start and an end symbol; the Makefile block "web: embedded dashboard files"
 * makes this object depend on the files of src/web/static, so editing the page rebuilds it. Paths are
 * relative to the repository root, where make runs the compiler.
 */
#include "web/static.h"

#include <string.h>

#define WEB_STATIC_EMBED(sym, file)                                                               \
	__asm__(".pushsection .rodata\n"                                                          \
		".balign 16\n"                                                                    \
		".globl " #sym "_start\n"                                                         \
		".hidden " #sym "_start\n" #sym "_start:\n"                                       \
		".incbin \"src/web/static/" file "\"\n"                                           \
		".globl " #sym "_end\n"                                                           \
		".hidden " #sym "_end\n" #sym "_end:\n"                                           \
		".byte 0\n"                                                                       \
		".popsection\n");                                                                 \
	extern const unsigned char sym##_start[], sym##_end[]

WEB_STATIC_EMBED(mxweb_index_html, "index.html");
WEB_STATIC_EMBED(mxweb_app_js, "app.js");
WEB_STATIC_EMBED(mxweb_style_css, "style.css");

#define WEB_STATIC_ENTRY(url, type, sym) {url, type, sym##_start, 0}

static struct web_static_file web_static_files[] = {
	WEB_STATIC_ENTRY("/", "text/html; charset=utf-8", mxweb_index_html),
	WEB_STATIC_ENTRY("/app.js", "text/javascript; charset=utf-8", mxweb_app_js),
	WEB_STATIC_ENTRY("/style.css", "text/css; charset=utf-8", mxweb_style_css),
};

static const unsigned char *const web_static_ends[] = {
	mxweb_index_html_end,
	mxweb_app_js_end,
	mxweb_style_css_end,
};

const struct web_static_file *web_static_find(const char *path)
{
	if (strcmp(path, "/index.html") == 0)
		path = "/";
	for (size_t i = 0; i < sizeof web_static_files / sizeof web_static_files[0]; i++) {
		struct web_static_file *f = &web_static_files[i];
		if (strcmp(f->path, path) != 0)
			continue;
		/* The length is known only at link time; the one HTTP thread reads it first. */
		if (f->len == 0)
			f->len = (size_t)(web_static_ends[i] - f->data);
		return f;
	}
	return NULL;
}
