/*
 * charset - conversion of any charset a message declares into UTF-8, through glibc iconv.
 *
 * iconv_open() parses gconv modules and costs far more than a short conversion, so descriptors
 * are cached per process (CHARSET_CACHE entries, round-robin eviction; the scan workers that
 * parse mail are single-threaded processes, so the cache takes no lock). Labels follow what mail
 * readers do rather than the letter of the registry: iso-8859-1 and us-ascii are read as
 * windows-1252 (its superset, which is what senders mean), gb2312 as gb18030, and so on; text
 * labelled ascii or unlabelled that is already valid UTF-8 is kept as is. Invalid bytes become
 * U+FFFD and count as malformations; an unknown charset copies the bytes through.
 */
#include "mime/charset.h"
#include "mime/mime.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Messages use a handful of charsets each; 8 covers a multilingual digest. */
#define CHARSET_CACHE 8
/* Longest charset name worth trying; registry names are under 40 bytes. */
#define CHARSET_NAME_MAX 48
/* Conversion goes through a stack chunk of this size into the output buffer. */
#define CHARSET_CHUNK 4096

static const char utf8_replacement[] = "\xEF\xBF\xBD";

struct charset_alias {
	const char *label, *name;
};

/* Labels seen in the wild that iconv does not know, or knows as something narrower. */
static const struct charset_alias charset_aliases[] = {
    {"iso-8859-1", "WINDOWS-1252"},
    {"iso8859-1", "WINDOWS-1252"},
    {"latin1", "WINDOWS-1252"},
    {"l1", "WINDOWS-1252"},
    {"us-ascii", "WINDOWS-1252"},
    {"ascii", "WINDOWS-1252"},
    {"ansi_x3.4-1968", "WINDOWS-1252"},
    {"", "WINDOWS-1252"},
    {"gb2312", "GB18030"},
    {"gbk", "GB18030"},
    {"x-gbk", "GB18030"},
    {"ks_c_5601-1987", "CP949"},
    {"ks_c_5601", "CP949"},
    {"euc-kr", "CP949"},
    {"x-sjis", "SHIFT_JIS"},
    {"shift-jis", "SHIFT_JIS"},
    {"x-euc-jp", "EUC-JP"},
    {"unicode-1-1-utf-7", "UTF-7"},
    {"x-unknown", "WINDOWS-1252"},
    {"unknown-8bit", "WINDOWS-1252"},
    {"x-user-defined", "WINDOWS-1252"},
    {"default", "WINDOWS-1252"},
    {"iso-8859-8-i", "ISO-8859-8"},
    {"tis-620", "TIS-620"},
    {"windows-874", "CP874"},
    {"x-mac-roman", "MACINTOSH"},
    {"utf8", "UTF-8"},
    {"cp1252", "WINDOWS-1252"},
};

/*
 * Single-byte charsets (iso-8859-*, windows-125*, koi8-*: most mail that is not UTF-8) get a
 * 256-entry table built once through iconv, because gconv costs tens of instructions per byte
 * and a table lookup a few. len 0 marks a byte the charset does not define.
 */
struct charset_sb {
	unsigned char len[256];
	char utf8[256][4];
};

struct charset_slot {
	int used;
	char name[CHARSET_NAME_MAX]; /* normalised label; "" (unlabelled) is a valid key */
	iconv_t cd;
	struct charset_sb *sb; /* NULL unless the charset is single-byte */
};

static struct charset_slot charset_cache[CHARSET_CACHE];
static unsigned charset_next;

int mime_ascii(const char *p, size_t len)
{
	const unsigned char *s = (const unsigned char *)p, *e = s + len;

	for (; e - s >= 8; s += 8) {
		uint64_t w;

		memcpy(&w, s, 8);
		if (w & 0x8080808080808080ull)
			return 0;
	}
	for (; s < e; s++)
		if (*s & 0x80)
			return 0;
	return 1;
}

int mime_utf8_valid(const char *p, size_t len)
{
	const unsigned char *s = (const unsigned char *)p, *e = s + len;

	while (s < e) {
		if (e - s >= 8) {
			uint64_t w;

			memcpy(&w, s, 8);
			if ((w & 0x8080808080808080ull) == 0) {
				s += 8;
				continue;
			}
		}
		if (*s < 0x80) {
			s++;
		} else if (*s >= 0xC2 && *s <= 0xDF) {
			if (e - s < 2 || (s[1] & 0xC0) != 0x80)
				return 0;
			s += 2;
		} else if (*s >= 0xE0 && *s <= 0xEF) {
			if (e - s < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
				return 0;
			if ((*s == 0xE0 && s[1] < 0xA0) || (*s == 0xED && s[1] > 0x9F))
				return 0; /* overlong or surrogate */
			s += 3;
		} else if (*s >= 0xF0 && *s <= 0xF4) {
			if (e - s < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
			    (s[3] & 0xC0) != 0x80)
				return 0;
			if ((*s == 0xF0 && s[1] < 0x90) || (*s == 0xF4 && s[1] > 0x8F))
				return 0;
			s += 4;
		} else {
			return 0;
		}
	}
	return 1;
}

/* Lowercase, unquote and trim a label; drop an RFC 2231 "*language" suffix. */
static int charset_norm(const char *in, char *out, size_t outsz)
{
	size_t n = 0;

	while (*in == ' ' || *in == '\t' || *in == '"' || *in == '\'')
		in++;
	for (; *in && *in != '*' && *in != '"' && *in != '\'' && *in != ' ' && *in != '\t'; in++) {
		unsigned char c = (unsigned char)*in;

		if (n + 1 >= outsz)
			return -ENAMETOOLONG;
		out[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	out[n] = '\0';
	return 0;
}

int mime_charset_is_utf8ish(const char *charset)
{
	char nm[CHARSET_NAME_MAX];

	if (charset_norm(charset, nm, sizeof nm) < 0)
		return 0;
	return nm[0] == '\0' || strcmp(nm, "us-ascii") == 0 || strcmp(nm, "ascii") == 0 ||
	       strcmp(nm, "utf-8") == 0 || strcmp(nm, "utf8") == 0 ||
	       strcmp(nm, "ansi_x3.4-1968") == 0;
}

static const char *charset_iconv_name(const char *nm)
{
	size_t i;

	for (i = 0; i < sizeof charset_aliases / sizeof charset_aliases[0]; i++)
		if (strcmp(nm, charset_aliases[i].label) == 0)
			return charset_aliases[i].name;
	return nm;
}

/* Every byte alone converts to one character or is invalid: then the charset is single-byte.
 * Multibyte and stateful charsets leave some byte incomplete (EINVAL) and get no table. */
static struct charset_sb *charset_sb_build(iconv_t cd)
{
	struct charset_sb *sb = calloc(1, sizeof *sb);
	int c;

	if (sb == NULL)
		return NULL;
	for (c = 0; c < 256; c++) {
		char in = (char)c, *ip = &in, *op = sb->utf8[c];
		size_t il = 1, ol = sizeof sb->utf8[c];

		iconv(cd, NULL, NULL, NULL, NULL);
		if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1) {
			if (errno != EILSEQ)
				goto multibyte;
			continue;
		}
		if (il != 0 || ol == sizeof sb->utf8[c])
			goto multibyte;
		sb->len[c] = (unsigned char)(sizeof sb->utf8[c] - ol);
	}
	/* The ASCII fast path below relies on ASCII mapping to itself. */
	for (c = 0; c < 128; c++)
		if (sb->len[c] != 1 || sb->utf8[c][0] != (char)c)
			goto multibyte;
	iconv(cd, NULL, NULL, NULL, NULL);
	return sb;
multibyte:
	free(sb);
	iconv(cd, NULL, NULL, NULL, NULL);
	return NULL;
}

/* The cached slot for a label (its descriptor reset); cd is (iconv_t)-1 when unknown. */
static struct charset_slot *charset_open(const char *nm)
{
	struct charset_slot *sl;
	unsigned i;

	for (i = 0; i < CHARSET_CACHE; i++) {
		sl = &charset_cache[i];
		if (sl->used && strcmp(sl->name, nm) == 0) {
			if (sl->cd != (iconv_t)-1)
				iconv(sl->cd, NULL, NULL, NULL, NULL);
			return sl;
		}
	}
	sl = &charset_cache[charset_next++ % CHARSET_CACHE];
	if (sl->used && sl->cd != (iconv_t)-1)
		iconv_close(sl->cd);
	free(sl->sb);
	sl->used = 1;
	/* Unknown names are cached too, so a message repeating one costs a single lookup. */
	memcpy(sl->name, nm, strlen(nm) + 1);
	sl->cd = iconv_open("UTF-8", charset_iconv_name(nm));
	sl->sb = sl->cd != (iconv_t)-1 ? charset_sb_build(sl->cd) : NULL;
	return sl;
}

/* Convert through a single-byte table; ASCII runs are copied whole. */
static int charset_sb_convert(const struct charset_sb *sb, const char *p, size_t len,
                              struct buf *out)
{
	const unsigned char *s = (const unsigned char *)p, *e = s + len;
	char chunk[CHARSET_CHUNK];
	size_t n = 0;
	int bad = 0, r;

	while (s < e) {
		const unsigned char *a = s;

		while (e - a >= 8) {
			uint64_t w;

			memcpy(&w, a, 8);
			if (w & 0x8080808080808080ull)
				break;
			a += 8;
		}
		while (a < e && *a < 0x80)
			a++;
		if (a > s) {
			if (n && (r = buf_append(out, chunk, n)) < 0)
				return r;
			n = 0;
			if ((r = buf_append(out, s, (size_t)(a - s))) < 0)
				return r;
			s = a;
			continue;
		}
		if (n + 4 > sizeof chunk) {
			if ((r = buf_append(out, chunk, n)) < 0)
				return r;
			n = 0;
		}
		if (sb->len[*s]) {
			memcpy(chunk + n, sb->utf8[*s], sb->len[*s]);
			n += sb->len[*s];
		} else {
			memcpy(chunk + n, utf8_replacement, 3);
			n += 3;
			bad++;
		}
		s++;
	}
	if (n && (r = buf_append(out, chunk, n)) < 0)
		return r;
	return bad;
}

/* Copy valid UTF-8 through, each invalid byte as U+FFFD. */
static int utf8_repair(const char *p, size_t len, struct buf *out)
{
	const char *s = p, *e = p + len;
	int bad = 0, r;

	while (s < e) {
		const char *t = s;
		size_t k;

		/* Longest valid prefix, found by growing whole sequences. */
		while (t < e) {
			unsigned char c = (unsigned char)*t;

			k = c < 0x80   ? 1
			    : c < 0xC2 ? 0
			    : c < 0xE0 ? 2
			    : c < 0xF0 ? 3
			    : c < 0xF5 ? 4
			               : 0;
			if (k == 0 || (size_t)(e - t) < k || !mime_utf8_valid(t, k))
				break;
			t += k;
		}
		if ((r = buf_append(out, s, (size_t)(t - s))) < 0)
			return r;
		if (t == e)
			break;
		if ((r = buf_append(out, utf8_replacement, 3)) < 0)
			return r;
		bad++;
		s = t + 1;
	}
	return bad;
}

int mime_charset_to_utf8(const char *charset, const char *p, size_t len, struct buf *out)
{
	char nm[CHARSET_NAME_MAX], chunk[CHARSET_CHUNK];
	char *in = (char *)p;
	size_t inleft = len;
	struct charset_slot *sl;
	iconv_t cd;
	int bad = 0, r;

	if (charset == NULL)
		charset = "";
	if (charset_norm(charset, nm, sizeof nm) < 0) {
		r = buf_append(out, p, len);
		return r < 0 ? r : 1;
	}
	if (strcmp(nm, "utf-8") == 0 || strcmp(nm, "utf8") == 0) {
		if (mime_utf8_valid(p, len))
			return buf_append(out, p, len);
		return utf8_repair(p, len, out);
	}
	/* Unlabelled or ascii text that is valid UTF-8 was meant as UTF-8. */
	if (mime_charset_is_utf8ish(nm) && mime_utf8_valid(p, len))
		return buf_append(out, p, len);
	sl = charset_open(nm);
	cd = sl->cd;
	if (cd == (iconv_t)-1) {
		r = buf_append(out, p, len);
		return r < 0 ? r : 1;
	}
	if (sl->sb)
		return charset_sb_convert(sl->sb, p, len, out);
	while (inleft > 0) {
		char *o = chunk;
		size_t oleft = sizeof chunk;
		size_t rc = iconv(cd, &in, &inleft, &o, &oleft);
		int err = rc == (size_t)-1 ? errno : 0;

		if ((r = buf_append(out, chunk, sizeof chunk - oleft)) < 0)
			return r;
		if (err == E2BIG || err == 0)
			continue;
		/* EILSEQ or a sequence cut at the end (EINVAL): one byte becomes U+FFFD. */
		if ((r = buf_append(out, utf8_replacement, 3)) < 0)
			return r;
		bad++;
		in++;
		inleft--;
		iconv(cd, NULL, NULL, NULL, NULL);
	}
	/* Flush a stateful encoding's shift state (ISO-2022-JP, UTF-7). */
	{
		char *o = chunk;
		size_t oleft = sizeof chunk;

		iconv(cd, NULL, NULL, &o, &oleft);
		if ((r = buf_append(out, chunk, sizeof chunk - oleft)) < 0)
			return r;
	}
	return bad;
}
