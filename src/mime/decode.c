/*
 * decode - base64 (RFC 2045 section 6.8) and quoted-printable (RFC 2045 section 6.7).
 *
 * Both are lenient in the way mail needs: characters outside the alphabet are skipped and
 * counted; base64 ends at the first '=' (RFC 2045 section 6.8: padding is evidence of the end,
 * and what follows in practice is a mailing-list footer, not data); an unpadded tail still
 * yields its whole bytes, because malware senders strip padding to slip past strict decoders.
 * Quoted-printable drops the transport padding between a soft-break '=' and the line end
 * (RFC 2045 section 6.7 rule 3) but keeps blanks before a hard line break as data, as GMime
 * and MUAs do. Output sizes are bounded by the input, so callers decode straight into memory
 * they sized once.
 */
#include "mime/decode.h"
#include "mime/mime.h"

#include <errno.h>
#include <string.h>

/* 0..63 for the alphabet, 64 for '=', 65 for whitespace, 255 for anything else. */
static const unsigned char b64_rank[256] = {
    ['A'] = 0,  ['B'] = 1,  ['C'] = 2,  ['D'] = 3,   ['E'] = 4,   ['F'] = 5,   ['G'] = 6,
    ['H'] = 7,  ['I'] = 8,  ['J'] = 9,  ['K'] = 10,  ['L'] = 11,  ['M'] = 12,  ['N'] = 13,
    ['O'] = 14, ['P'] = 15, ['Q'] = 16, ['R'] = 17,  ['S'] = 18,  ['T'] = 19,  ['U'] = 20,
    ['V'] = 21, ['W'] = 22, ['X'] = 23, ['Y'] = 24,  ['Z'] = 25,  ['a'] = 26,  ['b'] = 27,
    ['c'] = 28, ['d'] = 29, ['e'] = 30, ['f'] = 31,  ['g'] = 32,  ['h'] = 33,  ['i'] = 34,
    ['j'] = 35, ['k'] = 36, ['l'] = 37, ['m'] = 38,  ['n'] = 39,  ['o'] = 40,  ['p'] = 41,
    ['q'] = 42, ['r'] = 43, ['s'] = 44, ['t'] = 45,  ['u'] = 46,  ['v'] = 47,  ['w'] = 48,
    ['x'] = 49, ['y'] = 50, ['z'] = 51, ['0'] = 52,  ['1'] = 53,  ['2'] = 54,  ['3'] = 55,
    ['4'] = 56, ['5'] = 57, ['6'] = 58, ['7'] = 59,  ['8'] = 60,  ['9'] = 61,  ['+'] = 62,
    ['/'] = 63, ['='] = 64, [' '] = 65, ['\t'] = 65, ['\r'] = 65, ['\n'] = 65,
};

/* The table above leaves unlisted bytes at 0, which is 'A'; fix that once. */
static unsigned char b64_tab[256];
static int b64_ready;

static void b64_init(void)
{
	int i;

	for (i = 0; i < 256; i++)
		b64_tab[i] = 255;
	for (i = 0; i < 256; i++)
		if (b64_rank[i] || i == 'A')
			b64_tab[i] = b64_rank[i];
	b64_ready = 1;
}

size_t mime_base64_raw(const char *p, size_t len, unsigned char *out, unsigned *bad)
{
	const unsigned char *s = (const unsigned char *)p, *e = s + len;
	unsigned char *o = out;
	unsigned long acc = 0;
	unsigned n = 0, c;

	if (!b64_ready)
		b64_init();
	while (s < e) {
		/* Fast path: four alphabet characters in a row. */
		if (n == 0 && e - s >= 4) {
			unsigned a0 = b64_tab[s[0]], a1 = b64_tab[s[1]], a2 = b64_tab[s[2]],
			         a3 = b64_tab[s[3]];

			if ((a0 | a1 | a2 | a3) < 64) {
				unsigned long v = (unsigned long)a0 << 18 | a1 << 12 | a2 << 6 | a3;

				o[0] = (unsigned char)(v >> 16);
				o[1] = (unsigned char)(v >> 8);
				o[2] = (unsigned char)v;
				o += 3;
				s += 4;
				continue;
			}
		}
		c = b64_tab[*s++];
		if (c < 64) {
			acc = acc << 6 | c;
			if (++n == 4) {
				o[0] = (unsigned char)(acc >> 16);
				o[1] = (unsigned char)(acc >> 8);
				o[2] = (unsigned char)acc;
				o += 3;
				n = 0;
				acc = 0;
			}
		} else if (c == 64) {
			/* RFC 2045 section 6.8: '=' is evidence that the data has ended. What
			 * follows is typically a list footer appended to the body, not more base64.
			 */
			break;
		} else if (c == 255) {
			(*bad)++;
		}
	}
	if (n == 2) {
		*o++ = (unsigned char)(acc >> 4);
	} else if (n == 3) {
		*o++ = (unsigned char)(acc >> 10);
		*o++ = (unsigned char)(acc >> 2);
	} else if (n == 1) {
		(*bad)++;
	}
	return (size_t)(o - out);
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Decode one line's content (no line break, trailing blanks cut) of quoted-printable text.
 * Returns 1 when it ends in a soft line break (a final '=' that escapes nothing).
 */
static int qp_line(const unsigned char *s, const unsigned char *e, unsigned char **op,
                   unsigned *bad)
{
	unsigned char *o = *op;
	int soft = 0;

	while (s < e) {
		const unsigned char *eq = memchr(s, '=', (size_t)(e - s));
		int h, l;

		if (eq == NULL) {
			memcpy(o, s, (size_t)(e - s));
			o += e - s;
			break;
		}
		memcpy(o, s, (size_t)(eq - s));
		o += eq - s;
		s = eq + 1;
		if (s == e) {
			soft = 1;
			break;
		}
		if (e - s >= 2 && (h = hexval(s[0])) >= 0 && (l = hexval(s[1])) >= 0) {
			*o++ = (unsigned char)(h << 4 | l);
			s += 2;
			continue;
		}
		/* RFC 2045 section 6.7 note: a robust decoder keeps a bad escape as it is. Like
		 * GMime we keep '=' and the two characters it would have escaped, so a row of
		 * "=====" (a sender who forgot to encode '=') survives with its line break. */
		(*bad)++;
		*o++ = '=';
		*o++ = *s++;
		if (s < e)
			*o++ = *s++;
	}
	*op = o;
	return soft;
}

size_t mime_qp_raw(const char *p, size_t len, unsigned char *out, unsigned *bad)
{
	const unsigned char *s = (const unsigned char *)p, *e = s + len;
	unsigned char *o = out;

	while (s < e) {
		const unsigned char *nl = memchr(s, '\n', (size_t)(e - s));
		const unsigned char *le = nl ? nl : e, *brk, *ce;

		/* The line break is LF or CRLF; a CR alone is data. */
		brk = nl && le > s && le[-1] == '\r' ? le - 1 : le;
		/* RFC 2045 section 6.7 (3): blanks after a soft-break '=' were added in transport.
		 */
		for (ce = brk; ce > s && (ce[-1] == ' ' || ce[-1] == '\t'); ce--)
			;
		if (!qp_line(s, ce, &o, bad)) {
			/* A hard line break: its blanks and the break itself are data. */
			memcpy(o, ce, (size_t)(le - ce));
			o += le - ce;
			if (nl)
				*o++ = '\n';
		}
		s = nl ? nl + 1 : e;
	}
	return (size_t)(o - out);
}

static int decode_into_buf(size_t (*fn)(const char *, size_t, unsigned char *, unsigned *),
                           const char *p, size_t len, struct buf *out)
{
	unsigned bad = 0;
	size_t n;
	int r;

	/* Reserve the worst case, decode in place, then trim to what was written. */
	r = buf_append(out, p, len);
	if (r < 0)
		return r;
	out->len -= len;
	n = fn(p, len, (unsigned char *)out->p + out->len, &bad);
	out->len += n;
	out->p[out->len] = '\0';
	return (int)(bad > 0x7fffffff ? 0x7fffffff : bad);
}

int mime_decode_base64(const char *p, size_t len, struct buf *out)
{
	return decode_into_buf(mime_base64_raw, p, len, out);
}

int mime_decode_qp(const char *p, size_t len, struct buf *out)
{
	return decode_into_buf(mime_qp_raw, p, len, out);
}
