/*
 * uuyenc - uuencode and yEnc blocks embedded in text bodies.
 *
 * Old mailers and Usenet gateways put files inside text/plain as a "begin 644 name" ... "end"
 * block (uuencode) or a "=ybegin ... name=x" ... "=yend" block (yEnc). Malware still travels this
 * way because it hides the attachment from parsers that only know MIME, so the parser turns each
 * block into a child leaf. A block without its end line runs to the end of the text and is
 * reported as a malformation by the caller.
 */
#include "mime/decode.h"

#include <string.h>

static const char *line_end(const char *p, const char *e)
{
	const char *nl = memchr(p, '\n', (size_t)(e - p));

	return nl ? nl : e;
}

static const char *line_next(const char *p, const char *e)
{
	const char *nl = memchr(p, '\n', (size_t)(e - p));

	return nl ? nl + 1 : e;
}

/* "begin MODE NAME" with MODE three or four octal digits. */
static int uu_begin_line(const char *s, const char *le, struct mime_embedded *e)
{
	const char *q = s + 6;
	int digits = 0;

	while (q < le && *q >= '0' && *q <= '7' && digits < 5) {
		q++;
		digits++;
	}
	if (digits < 3 || digits > 4 || q >= le || *q != ' ')
		return 0;
	q++;
	e->name = q;
	while (le > q && (le[-1] == '\r' || le[-1] == ' ' || le[-1] == '\t'))
		le--;
	e->name_len = (size_t)(le - q);
	return 1;
}

/* Is s (in a line ending at le) exactly word, ignoring trailing CR and blanks? */
static int line_is(const char *s, const char *le, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(le - s) < n || memcmp(s, word, n) != 0)
		return 0;
	for (s += n; s < le; s++)
		if (*s != '\r' && *s != ' ' && *s != '\t')
			return 0;
	return 1;
}

static int uu_block(const char *p, const char *e, const char *s, struct mime_embedded *out)
{
	const char *le = line_end(s, e), *l;

	if (!uu_begin_line(s, le, out))
		return 0;
	out->start = (size_t)(s - p);
	out->yenc = 0;
	out->data = (size_t)(line_next(s, e) - p);
	for (l = p + out->data; l < e; l = line_next(l, e)) {
		if (line_is(l, line_end(l, e), "end")) {
			out->data_end = (size_t)(l - p);
			out->end = (size_t)(line_next(l, e) - p);
			return 1;
		}
	}
	out->data_end = out->end = (size_t)(e - p);
	return 1;
}

static int yenc_block(const char *p, const char *e, const char *s, struct mime_embedded *out)
{
	const char *le = line_end(s, e), *l, *nm;
	size_t i;

	/* The name is the rest of the line after " name=" (it may contain spaces). */
	nm = NULL;
	for (i = 0; s + i + 6 <= le; i++) {
		if (memcmp(s + i, " name=", 6) == 0) {
			nm = s + i + 6;
			break;
		}
	}
	if (nm == NULL)
		return 0;
	while (le > nm && (le[-1] == '\r' || le[-1] == ' '))
		le--;
	out->name = nm;
	out->name_len = (size_t)(le - nm);
	out->start = (size_t)(s - p);
	out->yenc = 1;
	l = line_next(s, e);
	if (e - l >= 7 && memcmp(l, "=ypart ", 7) == 0)
		l = line_next(l, e);
	out->data = (size_t)(l - p);
	for (; l < e; l = line_next(l, e)) {
		if (e - l >= 6 && memcmp(l, "=yend", 5) == 0 &&
		    (l[5] == ' ' || l[5] == '\r' || l[5] == '\n')) {
			out->data_end = (size_t)(l - p);
			out->end = (size_t)(line_next(l, e) - p);
			return 1;
		}
	}
	out->data_end = out->end = (size_t)(e - p);
	return 1;
}

int mime_embedded_find(const char *p, size_t len, size_t from, struct mime_embedded *out)
{
	const char *e = p + len, *s = p + from;

	/* One look at each line start ('b' or '='); memchr finds the next line. */
	if (s > p && s[-1] != '\n') {
		s = memchr(s, '\n', (size_t)(e - s));
		s = s ? s + 1 : e;
	}
	while (s < e) {
		if (*s == 'b' && e - s >= 6 && memcmp(s, "begin ", 6) == 0 &&
		    uu_block(p, e, s, out))
			return 1;
		if (*s == '=' && e - s >= 8 && memcmp(s, "=ybegin ", 8) == 0 &&
		    yenc_block(p, e, s, out))
			return 1;
		s = memchr(s, '\n', (size_t)(e - s));
		if (s == NULL)
			return 0;
		s++;
	}
	return 0;
}

#define UU_DEC(c) ((unsigned)((c) - ' ') & 63)

size_t mime_uu_raw(const char *p, size_t len, unsigned char *out, unsigned *bad)
{
	const char *e = p + len, *l, *le;
	unsigned char *o = out;

	for (l = p; l < e; l = line_next(l, e)) {
		const unsigned char *s = (const unsigned char *)l;
		unsigned n, i;

		le = line_end(l, e);
		while (le > l && (le[-1] == '\r' || le[-1] == '\n'))
			le--;
		if (le == l)
			continue;
		n = UU_DEC(s[0]);
		if (n == 0)
			break; /* the "`" line before "end" */
		s++;
		/* Each four characters carry three bytes; m characters carry m - 1 whole bytes, so
		 * a short line yields only what it holds and output never outgrows input. */
		for (i = 0; i < n; i += 3) {
			unsigned c[4] = {0, 0, 0, 0}, k, m, v, want;

			m = (unsigned)((const unsigned char *)le - s);
			if (m > 4)
				m = 4;
			if (m < 2) {
				(*bad)++;
				break;
			}
			for (k = 0; k < m; k++)
				c[k] = UU_DEC(s[k]);
			v = c[0] << 18 | c[1] << 12 | c[2] << 6 | c[3];
			want = n - i < 3 ? n - i : 3;
			if (want > m - 1) {
				want = m - 1;
				(*bad)++;
			}
			*o++ = (unsigned char)(v >> 16);
			if (want > 1)
				*o++ = (unsigned char)(v >> 8);
			if (want > 2)
				*o++ = (unsigned char)v;
			s += m;
		}
	}
	return (size_t)(o - out);
}

size_t mime_yenc_raw(const char *p, size_t len, unsigned char *out, unsigned *bad)
{
	const unsigned char *s = (const unsigned char *)p, *e = s + len;
	unsigned char *o = out;

	while (s < e) {
		unsigned char c = *s++;

		if (c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			if (s == e) {
				(*bad)++;
				break;
			}
			c = (unsigned char)(*s++ - 64);
		}
		*o++ = (unsigned char)(c - 42);
	}
	return (size_t)(o - out);
}
