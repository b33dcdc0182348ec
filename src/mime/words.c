/*
 * words - RFC 2047 encoded words ("=?charset?B|Q?text?=") in header values, into UTF-8.
 *
 * Readers are lenient and so is this: a word glued to surrounding text still decodes (spam does
 * it to dodge filters), whitespace between two adjacent words disappears (RFC 2047 section 6.2),
 * and adjacent words in the same charset are joined before conversion because senders split one
 * multibyte character across two words. Raw 8-bit text outside words is taken as UTF-8 when it
 * is valid and as windows-1252 otherwise. A word with an unknown encoding letter stays as text.
 */
#include "mime/charset.h"
#include "mime/decode.h"
#include "mime/mime.h"

#include <string.h>
#include <strings.h>

/* RFC 2047 caps a word at 75 bytes; mail in the wild does not, so only the charset is capped. */
#define WORDS_CHARSET_MAX 64

struct enc_word {
	const char *start, *end; /* the whole "=?...?=" */
	const char *cs;          /* charset (and *language), not NUL-terminated */
	size_t cs_len;
	char enc; /* 'B' or 'Q' */
	const char *text;
	size_t text_len;
};

/* Parse an encoded word at s (which points at "=?"); 1 on success. */
static int word_parse(const char *s, const char *e, struct enc_word *w)
{
	const char *q = s + 2, *t;

	w->start = s;
	w->cs = q;
	while (q < e && *q != '?' && *q != ' ' && *q != '\t' && *q != '\r' && *q != '\n')
		q++;
	if (q >= e || *q != '?' || q == w->cs || (size_t)(q - w->cs) >= WORDS_CHARSET_MAX)
		return 0;
	w->cs_len = (size_t)(q - w->cs);
	q++;
	if (q + 2 > e || q[1] != '?')
		return 0;
	w->enc = (char)(*q == 'b' ? 'B' : *q == 'q' ? 'Q' : *q);
	if (w->enc != 'B' && w->enc != 'Q')
		return 0;
	q += 2;
	w->text = q;
	/* The text ends at "?=" and holds no whitespace. */
	for (t = q; t + 1 < e; t++) {
		if (*t == ' ' || *t == '\t' || *t == '\r' || *t == '\n')
			return 0;
		if (t[0] == '?' && t[1] == '=')
			break;
	}
	if (t + 1 >= e)
		return 0;
	w->text_len = (size_t)(t - q);
	w->end = t + 2;
	return 1;
}

static int q_decode(const char *p, size_t len, struct buf *out)
{
	const char *e = p + len;
	int bad = 0, r;

	while (p < e) {
		const char *u = p;
		char c;

		while (u < e && *u != '_' && *u != '=')
			u++;
		if ((r = buf_append(out, p, (size_t)(u - p))) < 0)
			return r;
		if (u == e)
			break;
		if (*u == '_') {
			c = ' ';
			p = u + 1;
		} else {
			unsigned hb = 0;
			unsigned char o[4]; /* a bad escape comes back as its 3 bytes */
			size_t n = 0;

			if (e - u >= 3)
				n = mime_qp_raw(u, 3, o, &hb);
			if (n == 1 && hb == 0) {
				c = (char)o[0];
				p = u + 3;
			} else {
				c = '=';
				bad++;
				p = u + 1;
			}
		}
		if ((r = buf_append(out, &c, 1)) < 0)
			return r;
	}
	return bad;
}

/* Convert the pending decoded bytes of a run of words from charset cs. */
static int flush_pending(const char *cs, struct buf *pend, struct buf *out)
{
	int r = 0;

	if (pend->len) {
		r = mime_charset_to_utf8(cs, pend->p, pend->len, out);
		buf_reset(pend);
	}
	return r;
}

static int raw_text(const char *p, size_t len, struct buf *out)
{
	if (len == 0)
		return 0;
	return mime_charset_to_utf8("", p, len, out);
}

int mime_decode_words(const char *p, size_t len, struct buf *out)
{
	const char *s = p, *e = p + len, *lit = p;
	char cs[WORDS_CHARSET_MAX] = "";
	struct buf pend;
	int bad = 0, r = 0, have_word = 0;

	buf_init(&pend, len + 1);
	while (s + 1 < e) {
		struct enc_word w;
		const char *ws;

		s = memmem(s, (size_t)(e - s), "=?", 2);
		if (s == NULL)
			break;
		if (!word_parse(s, e, &w)) {
			s += 2;
			continue;
		}
		/* Text between two words that is only whitespace vanishes. */
		for (ws = lit; ws < s && (*ws == ' ' || *ws == '\t' || *ws == '\r' || *ws == '\n');
		     ws++)
			;
		if (!(have_word && ws == s)) {
			if ((r = flush_pending(cs, &pend, out)) < 0)
				goto out;
			bad += r;
			if ((r = raw_text(lit, (size_t)(s - lit), out)) < 0)
				goto out;
			bad += r;
		}
		if (pend.len && (strlen(cs) != w.cs_len || strncasecmp(cs, w.cs, w.cs_len) != 0)) {
			if ((r = flush_pending(cs, &pend, out)) < 0)
				goto out;
			bad += r;
		}
		memcpy(cs, w.cs, w.cs_len);
		cs[w.cs_len] = '\0';
		if (w.enc == 'B')
			r = mime_decode_base64(w.text, w.text_len, &pend);
		else
			r = q_decode(w.text, w.text_len, &pend);
		if (r < 0)
			goto out;
		bad += r;
		have_word = 1;
		s = lit = w.end;
	}
	if ((r = flush_pending(cs, &pend, out)) < 0)
		goto out;
	bad += r;
	if ((r = raw_text(lit, (size_t)(e - lit), out)) < 0)
		goto out;
	bad += r;
	r = bad;
out:
	buf_free(&pend);
	return r;
}
