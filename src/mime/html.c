/*
 * html - HTML to visible text, for content scanners, and the links in it, for URL checks.
 *
 * Not a browser: a single pass that drops tags, comments, <script> and <style> bodies, decodes
 * character references (the named ones mail uses, decimal and hex), collapses whitespace runs
 * into one space and ends a line at block elements. Links come from <a href>/<area href> (with
 * the anchor text: phishing shows one host and links another), <img src>, <iframe src> and
 * <form action>. A tag is read to its '>' outside quotes; an unterminated one ends the text.
 */
#include "mime/html.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

/* An anchor's text past this is not shown to the URL checks (it is still in the text). */
#define HTML_ANCHOR_MAX 1024
/* Attribute values we keep (href, src) are cut at this; see URL_LEN_MAX in url.c. */
#define HTML_ATTR_MAX 8192

struct html_entity {
	const char *name;
	unsigned cp;
};

/* The named references that occur in mail; the full HTML5 table (2231 names) buys nothing. */
static const struct html_entity html_entities[] = {
    {"amp", '&'},      {"lt", '<'},       {"gt", '>'},       {"quot", '"'},      {"apos", '\''},
    {"nbsp", ' '},     {"copy", 0xA9},    {"reg", 0xAE},     {"trade", 0x2122},  {"hellip", 0x2026},
    {"mdash", 0x2014}, {"ndash", 0x2013}, {"lsquo", 0x2018}, {"rsquo", 0x2019},  {"ldquo", 0x201C},
    {"rdquo", 0x201D}, {"bull", 0x2022},  {"middot", 0xB7},  {"euro", 0x20AC},   {"pound", 0xA3},
    {"yen", 0xA5},     {"cent", 0xA2},    {"sect", 0xA7},    {"deg", 0xB0},      {"plusmn", 0xB1},
    {"times", 0xD7},   {"divide", 0xF7},  {"laquo", 0xAB},   {"raquo", 0xBB},    {"iexcl", 0xA1},
    {"iquest", 0xBF},  {"shy", 0xAD},     {"auml", 0xE4},    {"ouml", 0xF6},     {"uuml", 0xFC},
    {"Auml", 0xC4},    {"Ouml", 0xD6},    {"Uuml", 0xDC},    {"szlig", 0xDF},    {"eacute", 0xE9},
    {"egrave", 0xE8},  {"ecirc", 0xEA},   {"aacute", 0xE1},  {"agrave", 0xE0},   {"acirc", 0xE2},
    {"iacute", 0xED},  {"oacute", 0xF3},  {"uacute", 0xFA},  {"ntilde", 0xF1},   {"ccedil", 0xE7},
    {"Eacute", 0xC9},  {"aring", 0xE5},   {"oslash", 0xF8},  {"aelig", 0xE6},    {"zwnj", 0x200C},
    {"zwj", 0x200D},   {"lrm", 0x200E},   {"rlm", 0x200F},   {"thinsp", 0x2009}, {"ensp", 0x2002},
    {"emsp", 0x2003},
};

/* Windows-1252 meanings of &#128; .. &#159;, as browsers read them. */
static const unsigned short html_c1[32] = {
    0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
};

static size_t utf8_put(unsigned cp, char *o)
{
	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	if (cp >= 0x80 && cp < 0xA0)
		cp = html_c1[cp - 0x80];
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

static int is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

size_t mime_html_entity(const char *p, size_t len, char utf8[8], size_t *ulen)
{
	size_t i, n;

	if (len < 3 || p[0] != '&')
		return 0;
	if (p[1] == '#') {
		unsigned long cp = 0;
		int hex = (p[2] == 'x' || p[2] == 'X'), digits = 0;

		for (i = hex ? 3 : 2; i < len; i++) {
			char c = p[i];
			int d = c >= '0' && c <= '9'          ? c - '0'
			        : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
			        : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
			                                      : -1;

			if (d < 0)
				break;
			if (cp <= 0x10FFFF)
				cp = cp * (hex ? 16 : 10) + (unsigned)d;
			digits++;
		}
		if (digits == 0)
			return 0;
		if (i < len && p[i] == ';')
			i++;
		*ulen = utf8_put(cp > 0x10FFFF ? 0xFFFD : (unsigned)cp, utf8);
		return i;
	}
	for (n = 1; n < len && n < 10 && is_alnum(p[n]); n++)
		;
	for (i = 0; i < sizeof html_entities / sizeof html_entities[0]; i++) {
		size_t nl;

		if (html_entities[i].name[0] != p[1])
			continue;
		nl = strlen(html_entities[i].name);
		if (nl != n - 1 || memcmp(p + 1, html_entities[i].name, nl) != 0)
			continue;
		*ulen = utf8_put(html_entities[i].cp, utf8);
		return n < len && p[n] == ';' ? n + 1 : n;
	}
	return 0;
}

static int is_blank(char c)
{
	/* one compare and one bit test: space, tab, CR, LF, FF */
	return (unsigned char)c <= ' ' &&
	       ((1ull << (unsigned char)c) & ((1ull << ' ') | (1ull << '\t') | (1ull << '\r') |
					      (1ull << '\n') | (1ull << '\f'))) != 0;
}

/* Append decoded text, collapsing whitespace; *space says a blank is pending. The output
 * never outgrows the input (see mime_html_to_text), so this writes in place when it can. */
static int text_put(struct buf *out, const char *p, size_t n, int *space)
{
	const char *e = p + n;
	char *o;
	int r;

	if (out->p == NULL || out->len + n + 2 > out->cap) {
		for (; p < e; p++) {
			if (is_blank(*p)) {
				*space = 1;
				continue;
			}
			if (*space && out->len && out->p[out->len - 1] != '\n' &&
			    (r = buf_append(out, " ", 1)) < 0)
				return r;
			*space = 0;
			if ((r = buf_append(out, p, 1)) < 0)
				return r;
		}
		return 0;
	}
	/* the pending blank in a local: through the pointer, every byte stored reloaded it */
	int sp = *space;

	o = out->p + out->len;
	for (; p < e; p++) {
		char c = *p;

		if (is_blank(c)) {
			sp = 1;
			continue;
		}
		if (sp) {
			if (o > out->p && o[-1] != '\n')
				*o++ = ' ';
			sp = 0;
		}
		*o++ = c;
	}
	*o = '\0';
	out->len = (size_t)(o - out->p);
	*space = sp;
	return 0;
}

static int text_newline(struct buf *out, int *space)
{
	*space = 0;
	if (out->len == 0 || out->p[out->len - 1] == '\n')
		return 0;
	return buf_append(out, "\n", 1);
}

/* Find an attribute in a tag's attribute text; decode its value's entities into val. */
static int tag_attr(const char *s, const char *e, const char *name, struct buf *val)
{
	size_t nl = strlen(name);

	while (s < e) {
		const char *an, *ane, *v, *ve;

		while (s < e && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' || *s == '/'))
			s++;
		an = s;
		while (s < e && *s != '=' && *s != ' ' && *s != '\t' && *s != '\r' && *s != '\n' &&
		       *s != '>')
			s++;
		ane = s;
		while (s < e && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
			s++;
		if (s >= e || *s != '=') {
			if (ane == an)
				s++;
			continue;
		}
		s++;
		while (s < e && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
			s++;
		if (s < e && (*s == '"' || *s == '\'')) {
			char q = *s++;

			v = s;
			while (s < e && *s != q)
				s++;
			ve = s;
			if (s < e)
				s++;
		} else {
			v = s;
			while (s < e && *s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
				s++;
			ve = s;
		}
		if ((size_t)(ane - an) == nl && strncasecmp(an, name, nl) == 0) {
			if ((size_t)(ve - v) > HTML_ATTR_MAX)
				ve = v + HTML_ATTR_MAX;
			while (v < ve && (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n'))
				v++;
			while (v < ve) {
				const char *run = v;
				char u[8];
				size_t ul = 0, k = 0;
				int r;

				while (v < ve && *v != '&' && *v != '\r' && *v != '\n' &&
				       *v != '\t')
					v++;
				if (v > run && (r = buf_append(val, run, (size_t)(v - run))) < 0)
					return r;
				if (v == ve)
					break;
				if (*v == '&')
					k = mime_html_entity(v, (size_t)(ve - v), u, &ul);
				if (k) {
					r = buf_append(val, u, ul);
					v += k;
				} else if (*v == '&') {
					r = buf_append(val, v, 1);
					v++;
				} else {
					r = 0; /* browsers strip CR, LF and tab from URLs */
					v++;
				}
				if (r < 0)
					return r;
			}
			while (val->len && val->p[val->len - 1] == ' ')
				val->p[--val->len] = '\0';
			return 1;
		}
	}
	return 0;
}

enum html_tag {
	TAG_OTHER,
	TAG_BLOCK,
	TAG_CELL,
	TAG_A,
	TAG_AREA,
	TAG_IMG,
	TAG_IFRAME,
	TAG_FORM,
	TAG_SCRIPT,
	TAG_STYLE,
};

/* Block elements end the current line of text; cells separate words; the rest carry links or
 * hide their content. One list per name length: every tag of a page is looked up, and a
 * search of one list of 30 names with memcmp was a tenth of the MIME parse's instructions. */
struct html_tag_name {
	const char *name;
	unsigned char kind;
};

static const struct html_tag_name html_tags1[] = {{"a", TAG_A}, {"p", TAG_BLOCK}, {NULL, 0}};
static const struct html_tag_name html_tags2[] = {
    {"br", TAG_BLOCK}, {"tr", TAG_BLOCK}, {"li", TAG_BLOCK}, {"ul", TAG_BLOCK},
    {"ol", TAG_BLOCK}, {"h1", TAG_BLOCK}, {"h2", TAG_BLOCK}, {"h3", TAG_BLOCK},
    {"h4", TAG_BLOCK}, {"h5", TAG_BLOCK}, {"h6", TAG_BLOCK}, {"hr", TAG_BLOCK},
    {"dd", TAG_BLOCK}, {"dt", TAG_BLOCK}, {"td", TAG_CELL},  {"th", TAG_CELL},
    {NULL, 0}};
static const struct html_tag_name html_tags3[] = {
    {"div", TAG_BLOCK}, {"pre", TAG_BLOCK}, {"img", TAG_IMG}, {NULL, 0}};
static const struct html_tag_name html_tags4[] = {
    {"area", TAG_AREA}, {"form", TAG_FORM}, {NULL, 0}};
static const struct html_tag_name html_tags5[] = {
    {"table", TAG_BLOCK}, {"title", TAG_BLOCK}, {"style", TAG_STYLE}, {NULL, 0}};
static const struct html_tag_name html_tags6[] = {
    {"center", TAG_BLOCK}, {"iframe", TAG_IFRAME}, {"script", TAG_SCRIPT}, {NULL, 0}};
static const struct html_tag_name html_tags10[] = {{"blockquote", TAG_BLOCK}, {NULL, 0}};

static const struct html_tag_name *const html_tags_by_len[11] = {
    NULL, html_tags1, html_tags2, html_tags3, html_tags4, html_tags5, html_tags6,
    NULL, NULL, NULL, html_tags10,
};

static enum html_tag tag_kind(const char *n, size_t nl)
{
	const struct html_tag_name *t;
	char low[12];
	size_t i;

	if (nl == 0 || nl >= sizeof html_tags_by_len / sizeof html_tags_by_len[0] ||
	    (t = html_tags_by_len[nl]) == NULL)
		return TAG_OTHER;
	for (i = 0; i < nl; i++)
		low[i] = (char)(n[i] | 0x20);
	for (; t->name; t++)
		if (t->name[0] == low[0] && memcmp(t->name, low, nl) == 0)
			return (enum html_tag)t->kind;
	return TAG_OTHER;
}

/*
 * The end of a tag starting at s ('<'), skipping quoted attribute values; NULL if none. Only
 * quotes that open a value count (after '=' or a blank); a stray one in text would eat the
 * page. Every step is a memchr: the first '>', the first quote before it, the quote that
 * closes a value (often a long URL); a tag is never walked byte by byte.
 */
static const char *tag_end(const char *s, const char *e)
{
	const char *p = s + 1;

	for (;;) {
		const char *gt = memchr(p, '>', (size_t)(e - p)), *dq, *sq, *q;

		if (gt == NULL)
			return NULL;
		dq = memchr(p, '"', (size_t)(gt - p));
		sq = memchr(p, '\'', (size_t)(dq ? dq - p : gt - p));
		q = sq ? sq : dq;
		if (q == NULL)
			return gt; /* most tags hold no quote before their '>' */
		p = q + 1;
		if (q[-1] == '=' || q[-1] == ' ') {
			const char *cq = memchr(p, *q, (size_t)(e - p));

			if (cq == NULL)
				return NULL;
			p = cq + 1;
		}
	}
}

static const char *find_ci(const char *s, const char *e, const char *needle)
{
	size_t n = strlen(needle);

	for (; s + n <= e; s++) {
		s = memchr(s, needle[0], (size_t)(e - s));
		if (s == NULL || s + n > e)
			return NULL;
		if (strncasecmp(s, needle, n) == 0)
			return s;
	}
	return NULL;
}

int mime_html_to_text(const char *p, size_t len, struct buf *out, mime_html_link_fn link, void *arg)
{
	const char *s = p, *e = p + len;
	struct buf href;
	size_t anchor_start = 0;
	int in_anchor = 0, space = 0, r = 0;

	buf_init(&href, HTML_ATTR_MAX * 4);
	/* Reserve the input's length: every construct yields at most as many bytes as it takes
	 * (a tag at most one separator, an entity at most its own length in UTF-8), so text_put
	 * can write in place. If the reservation fails, the slow path still checks every byte. */
	if (buf_append(out, p, len) == 0) {
		out->len -= len;
		out->p[out->len] = '\0';
	}
	while (s < e) {
		const char *lt, *te, *n, *ne;
		enum html_tag kind;
		int closing = 0;

		lt = memchr(s, '<', (size_t)(e - s));
		if (lt == NULL)
			lt = e;
		{
			const char *amp = memchr(s, '&', (size_t)(lt - s));

			if (amp)
				lt = amp;
		}
		if ((r = text_put(out, s, (size_t)(lt - s), &space)) < 0)
			goto out;
		if (lt >= e)
			break;
		if (*lt == '&') {
			char u[8];
			size_t ul = 0, k = mime_html_entity(lt, (size_t)(e - lt), u, &ul);

			if (k == 0) {
				k = 1;
				memcpy(u, "&", 1);
				ul = 1;
			}
			if (ul == 1 && u[0] == ' ') {
				space = 1;
			} else if ((r = text_put(out, u, ul, &space)) < 0) {
				goto out;
			}
			s = lt + k;
			continue;
		}
		if (e - lt >= 4 && memcmp(lt, "<!--", 4) == 0) {
			const char *ce = memmem(lt + 4, (size_t)(e - lt - 4), "-->", 3);

			s = ce ? ce + 3 : e;
			continue;
		}
		n = lt + 1;
		if (n < e && *n == '/') {
			closing = 1;
			n++;
		}
		if (n >= e || !(is_alnum(*n) || *n == '!' || *n == '?')) {
			/* A '<' that starts no tag is text. */
			if ((r = text_put(out, "<", 1, &space)) < 0)
				goto out;
			s = lt + 1;
			continue;
		}
		te = tag_end(lt, e);
		if (te == NULL)
			break;
		for (ne = n; ne < te && (is_alnum(*ne) || *ne == '-' || *ne == ':'); ne++)
			;
		s = te + 1;
		kind = tag_kind(n, (size_t)(ne - n));
		if (!closing && (kind == TAG_SCRIPT || kind == TAG_STYLE)) {
			const char *ce = find_ci(s, e, kind == TAG_SCRIPT ? "</script" : "</style");

			s = ce ? ce : e;
			continue;
		}
		if (kind == TAG_BLOCK || kind == TAG_FORM) {
			if ((r = text_newline(out, &space)) < 0)
				goto out;
		} else if (kind == TAG_CELL) {
			space = 1;
		}
		if (link == NULL)
			continue;
		if (closing) {
			if (in_anchor && kind == TAG_A) {
				const char *t = out->p ? out->p + anchor_start : "";
				size_t tl = out->len - anchor_start;

				while (tl && (*t == ' ' || *t == '\n')) {
					t++;
					tl--;
				}
				while (tl && (t[tl - 1] == ' ' || t[tl - 1] == '\n'))
					tl--;
				if (tl > HTML_ANCHOR_MAX)
					tl = HTML_ANCHOR_MAX;
				if ((r = link(arg, href.p, href.len, t, tl)) < 0)
					goto out;
				in_anchor = 0;
			}
			continue;
		}
		{
			const char *attr = kind == TAG_A || kind == TAG_AREA       ? "href"
			                   : kind == TAG_IMG || kind == TAG_IFRAME ? "src"
			                   : kind == TAG_FORM                      ? "action"
			                                                           : NULL;
			int found;

			if (attr == NULL)
				continue;
			if (in_anchor && kind == TAG_A) {
				/* An <a> inside an open <a>: the first one ends without its text.
				 */
				if ((r = link(arg, href.p, href.len, NULL, 0)) < 0)
					goto out;
				in_anchor = 0;
			}
			buf_reset(&href);
			found = tag_attr(ne, te, attr, &href);
			if (found < 0) {
				r = found;
				goto out;
			}
			if (!found || href.len == 0)
				continue;
			if (kind == TAG_A) {
				in_anchor = 1;
				anchor_start = out->len;
			} else if ((r = link(arg, href.p, href.len, NULL, 0)) < 0) {
				goto out;
			}
		}
	}
	if (in_anchor)
		r = link(arg, href.p, href.len, NULL, 0);
out:
	buf_free(&href);
	return r < 0 ? r : 0;
}
