/*
 * heur_name - file name tricks: executable extensions, a harmless-looking extension in front
 * of an executable one, and bidi override characters that make "exe.pdf" display as "fdp.exe".
 */
#include "scan/heur.h"

#include <string.h>
#include <strings.h>

/* What Windows (and a double-clicking user) runs. */
static const char *const exec_ext[] = {
	"exe", "scr", "com", "pif", "bat", "cmd", "vbs", "vbe", "js", "jse", "wsf", "wsh",
	"hta", "ps1", "msi", "jar", "lnk", "cpl", "reg", "dll", "sys", "msc", "application",
	"gadget", "inf", "sct", "iso", "img", "vhd", "appx", "elf", "sh", "apk",
	"command", NULL,
};
/* What a user trusts to open. */
static const char *const doc_ext[] = {
	"pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "rtf", "txt", "jpg", "jpeg", "png",
	"gif", "bmp", "tif", "tiff", "htm", "html", "csv", "odt", "ods", "mp3", "mp4", "avi",
	"wav", "zip", "rar", "7z", "eml", "msg", "xml", "invoice", NULL,
};

/* Text formats every system opens in a viewer or editor, never runs: a script inside one
 * (without "#!", which is checked anyway) does not run by being opened. HTML runs its own
 * scripts in a browser: heur_doc.c's smuggling check covers that. */
static const char *const text_doc_ext[] = {
	"txt", "text", "asc", "sig", "htm", "html", "csv", "xml", "log", "diff", "patch",
	"md", "ics", "vcf", "eml", NULL,
};

static int ext_in(const char *ext, size_t n, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (strlen(list[i]) == n && strncasecmp(ext, list[i], n) == 0)
			return 1;
	return 0;
}

/* The last extension of name, ignoring the trailing spaces and dots Windows drops
 * ("x.exe." runs as x.exe). NULL when there is none. */
static const char *last_ext(const char *name, size_t *n)
{
	size_t len = strlen(name);

	while (len && (name[len - 1] == ' ' || name[len - 1] == '.'))
		len--;
	for (size_t i = len; i-- > 1;) {
		if (name[i] == '.') {
			*n = len - i - 1;
			return *n ? name + i + 1 : NULL;
		}
	}
	return NULL;
}

int heur_name_exec_ext(const char *name)
{
	const char *e;
	size_t n;

	if (name == NULL)
		return 0;
	e = last_ext(name, &n);
	return e && ext_in(e, n, exec_ext);
}

int heur_name_text_doc(const char *name)
{
	const char *e;
	size_t n;

	if (name == NULL)
		return 0;
	e = last_ext(name, &n);
	return e && ext_in(e, n, text_doc_ext);
}

int heur_name_double_ext(const char *name)
{
	const char *last, *prev;
	size_t n;

	if (name == NULL || !heur_name_exec_ext(name))
		return 0;
	last = strrchr(name, '.');
	while (last && last > name && last[1] == '\0') { /* "x.pdf.exe." */
		const char *q = last;

		while (q > name && q[-1] != '.')
			q--;
		last = q > name ? q - 1 : NULL;
	}
	if (last == NULL)
		return 0;
	prev = last;
	while (prev > name && prev[-1] == ' ')
		prev--; /* "invoice.pdf      .exe" */
	for (const char *q = prev; q > name; q--) {
		if (q[-1] == '.') {
			n = (size_t)(prev - q);
			return ext_in(q, n, doc_ext);
		}
	}
	return 0;
}

int heur_name_bidi(const char *name)
{
	const unsigned char *s = (const unsigned char *)name;

	if (name == NULL)
		return 0;
	for (; *s; s++) {
		/* U+202A..U+202E (E2 80 AA..AE) and U+2066..U+2069 (E2 81 A6..A9) */
		if (s[0] == 0xe2 && s[1] == 0x80 && s[2] >= 0xaa && s[2] <= 0xae)
			return 1;
		if (s[0] == 0xe2 && s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9)
			return 1;
	}
	return 0;
}
