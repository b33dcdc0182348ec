/*
 * heur_doc - documents that carry code: OLE2 files with a VBA project (Word/Excel macros, and
 * the vbaProject.bin inside OOXML), and HTML that assembles a file from base64 in the page
 * (data: URIs, or a script that turns a base64 string into a Blob: "HTML smuggling").
 *
 * Only the head of an embedded payload is decoded (HEUR_B64_HEAD bytes): enough to see an
 * executable's or an archive's magic number.
 */
#include "scan/heur.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HEUR_B64_HEAD 96       /* base64 chars decoded to look at the payload's magic */
#define HEUR_B64_MIN_RUN 256   /* a base64 string literal this long is a file, not a token */
#define HEUR_DATA_MIME_MAX 128 /* "data:" media type length we read */

int heur_ole_has_vba(const unsigned char *p, size_t len)
{
	static const char vba[] = "_\0V\0B\0A\0_\0P\0R\0O\0J\0E\0C\0T\0";

	if (p == NULL || len < 512 || memcmp(p, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8) != 0)
		return 0;
	return memmem(p, len, vba, sizeof vba - 1) != NULL;
}

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Decode up to n base64 chars from p into out; returns bytes written. */
static size_t b64_head(const char *p, size_t n, unsigned char *out, size_t outsz)
{
	unsigned acc = 0, bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n && o < outsz; i++) {
		int v = b64val((unsigned char)p[i]);

		if (v < 0) {
			if (p[i] == '\\' || p[i] == '\n' || p[i] == '\r' || p[i] == ' ')
				continue; /* escaped newlines in script literals */
			break;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return o;
}

static size_t b64_run(const char *p, size_t len)
{
	size_t i = 0;

	while (i < len && (b64val((unsigned char)p[i]) >= 0 || p[i] == '='))
		i++;
	return i;
}

/* What a decoded head is, when it is something a page should not be handing out. */
static const char *payload_kind(const unsigned char *h, size_t n)
{
	const char *k = heur_exec_kind(h, n);

	if (k)
		return k;
	k = heur_archive_kind(h, n);
	if (k && strcmp(k, "ole") != 0)
		return k;
	return NULL;
}

int heur_html_smuggling(const char *p, size_t len, char *what, size_t whatsz)
{
	unsigned char head[HEUR_B64_HEAD];
	const char *s = p, *end = p + len;
	int scripted;

	if (p == NULL || len < 16)
		return 0;
	/* 1. data: URIs with a base64 payload. */
	while ((s = memmem(s, (size_t)(end - s), "data:", 5)) != NULL) {
		const char *b = s + 5, *lim = b + HEUR_DATA_MIME_MAX;
		const char *k;

		if (lim > end)
			lim = end;
		s = b;
		while (b < lim && *b != ',' && *b != '"' && *b != '\'' && *b != '>')
			b++;
		if (b >= lim || *b != ',' || b - s < 7 || strncasecmp(b - 7, ";base64", 7) != 0)
			continue;
		b++;
		k = payload_kind(head, b64_head(b, (size_t)(end - b) < HEUR_B64_HEAD ?
						     (size_t)(end - b) : HEUR_B64_HEAD,
						 head, sizeof head));
		if (k) {
			snprintf(what, whatsz, "data: URI carrying %s", k);
			return 1;
		}
	}
	/* 2. A long base64 literal in a page that makes files from strings ("Blob" also finds
	 * msSaveOrOpenBlob). */
	scripted = memmem(p, len, "Blob", 4) || memmem(p, len, "atob", 4) ||
		   memmem(p, len, "download", 8);
	if (!scripted)
		return 0;
	for (s = p; s < end; s++) {
		size_t run;
		const char *k;

		if (*s != '"' && *s != '\'' && *s != '`')
			continue;
		run = b64_run(s + 1, (size_t)(end - s - 1));
		if (run < HEUR_B64_MIN_RUN) {
			s += run;
			continue;
		}
		k = payload_kind(head, b64_head(s + 1, HEUR_B64_HEAD, head, sizeof head));
		if (k) {
			snprintf(what, whatsz, "script blob carrying %s", k);
			return 1;
		}
		s += run;
	}
	return 0;
}
