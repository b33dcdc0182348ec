/*
 * header - RFC 5322 header blocks and the parameters of structured MIME headers.
 *
 * The block ends at the first empty line (RFC 5322 section 2.1). A line that is neither a header
 * ("name:" with a printable ASCII name, section 2.2; whitespace before the colon is the obsolete
 * syntax of section 4.5 and is accepted) nor a continuation is skipped with its continuations
 * and the part gets MIME_F_BAD_HEADER: reading on to the empty line, as GMime and most MUAs do,
 * means a Content-Type placed after a garbage line still shapes the parse, so an attachment
 * cannot hide behind one. A block with no end gets MIME_F_TRUNCATED and an empty body.
 *
 * Parameters (RFC 2045 section 5.1) are read leniently: quoted strings with backslash escapes,
 * unquoted values running to the next ';', RFC 822 comments skipped. RFC 2231 splits a value
 * over name*0, name*1*, ... with a charset on the first; at most PARAM_MAX_SEGMENTS of them
 * are joined. Encoded words in quoted values, which RFC 2047 section 5 forbids and Outlook
 * writes anyway, are decoded too.
 */
#include "mime/header.h"
#include "mime/charset.h"

#include <string.h>
#include <strings.h>

/* RFC 2231 continuations in the wild stop far below this; more is an attack on the joiner. */
#define PARAM_MAX_SEGMENTS 64
/* A header value is converted at most this large; longer ones are cut (a header line has no
 * business being bigger, and the raw slice still holds it all). */
#define HEADER_VALUE_MAX (256 * 1024)

static const char *nextline(const char *s, const char *e)
{
	const char *nl = memchr(s, '\n', (size_t)(e - s));

	return nl ? nl + 1 : e;
}

/* Copy s..e to v without its CR and LF bytes; returns the length written. Runs between line
 * ends are found with memchr and copied whole: a folded Received header took 5 instructions a
 * byte in a byte loop. */
static size_t unfold_copy(char *v, const char *s, const char *e)
{
	size_t i = 0;

	while (s < e) {
		const char *nl = memchr(s, '\n', (size_t)(e - s)), *end = nl ? nl : e;

		while (s < end) {
			const char *cr = memchr(s, '\r', (size_t)(end - s)), *stop = cr ? cr : end;

			memcpy(v + i, s, (size_t)(stop - s));
			i += (size_t)(stop - s);
			s = cr ? cr + 1 : end;
		}
		s = nl ? nl + 1 : e;
	}
	return i;
}

/* Unfold (drop CR and LF), trim, decode words; the result is UTF-8 in the arena. */
static const char *header_value(struct arena *a, struct slice raw, unsigned *flags)
{
	const char *s = raw.p, *e = raw.p + raw.len;
	int has8 = 0, hasword = 0, hasnl = 0;
	const char *q;
	struct buf b;
	char *v;
	size_t i;

	while (s < e && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		e--;
	if ((size_t)(e - s) > HEADER_VALUE_MAX)
		e = s + HEADER_VALUE_MAX;
	/* Three vectorised looks instead of one byte loop: most values need none of the work. */
	has8 = !mime_ascii(s, (size_t)(e - s));
	hasnl =
	    memchr(s, '\n', (size_t)(e - s)) != NULL || memchr(s, '\r', (size_t)(e - s)) != NULL;
	for (q = s; q < e && (q = memchr(q, '=', (size_t)(e - q))) != NULL; q++)
		if (q + 1 < e && q[1] == '?') {
			hasword = 1;
			break;
		}
	if (has8)
		*flags |= MIME_F_8BIT_HEADER;
	if (!has8 && !hasword && !hasnl)
		return arena_strndup(a, s, (size_t)(e - s));
	/* Unfold into the arena first; it is at most as long as the raw value. */
	v = arena_alloc(a, (size_t)(e - s) + 1);
	if (v == NULL)
		return NULL;
	i = unfold_copy(v, s, e);
	v[i] = '\0';
	if (!has8 && !hasword)
		return v;
	buf_init(&b, HEADER_VALUE_MAX * 3);
	if (mime_decode_words(v, i, &b) < 0 || b.p == NULL) {
		buf_free(&b);
		return v;
	}
	v = arena_strndup(a, b.p, b.len);
	buf_free(&b);
	return v;
}

size_t mime_headers_parse(struct arena *a, const char *p, size_t len, struct mime_header **list,
                          size_t *raw_len, unsigned *flags)
{
	const char *s = p, *e = p + len, *hstart = NULL, *colon = NULL, *name_end = NULL;
	struct mime_header **tail = list;

	*list = NULL;
	for (;;) {
		const char *nl = s < e ? nextline(s, e) : e;
		int blank = s < e && (*s == '\n' || (*s == '\r' && s + 1 < e && s[1] == '\n'));
		int cont = s < e && (*s == ' ' || *s == '\t') && hstart != NULL;
		const char *c = NULL, *ne = NULL;

		if (!blank && !cont && s < e) {
			/* Is this a new header? Name, optional blanks, colon. */
			const char *q = s;

			while (q < nl && (unsigned char)*q > 32 && (unsigned char)*q < 127 &&
			       *q != ':')
				q++;
			ne = q;
			while (q < nl && (*q == ' ' || *q == '\t'))
				q++;
			if (q < nl && *q == ':' && ne > s)
				c = q;
		}
		/* Close the pending header unless this line continues it. */
		if (hstart && !cont) {
			struct mime_header *h = arena_alloc(a, sizeof *h);

			if (h == NULL)
				return (size_t)-1;
			h->name.p = hstart;
			h->name.len = (size_t)(name_end - hstart);
			h->raw.p = colon + 1;
			h->raw.len = (size_t)(s - colon - 1);
			/* The raw value excludes the line end that closed it. */
			if (h->raw.len && h->raw.p[h->raw.len - 1] == '\n')
				h->raw.len--;
			if (h->raw.len && h->raw.p[h->raw.len - 1] == '\r')
				h->raw.len--;
			h->value = header_value(a, h->raw, flags);
			if (h->value == NULL)
				return (size_t)-1;
			h->next = NULL;
			*tail = h;
			tail = &h->next;
			hstart = NULL;
		}
		if (s >= e) {
			*flags |= MIME_F_TRUNCATED;
			*raw_len = len;
			return len;
		}
		if (blank) {
			*raw_len = (size_t)(s - p);
			return (size_t)(nl - p);
		}
		if (cont) {
			s = nl;
			continue;
		}
		if (c == NULL) {
			/* Not a header and not a continuation: skip it and its continuations. */
			*flags |= MIME_F_BAD_HEADER;
			for (s = nl; s < e && (*s == ' ' || *s == '\t'); s = nextline(s, e))
				;
			continue;
		}
		for (const char *q = s; q < ne; q++)
			if ((unsigned char)*q >= 0x80)
				*flags |= MIME_F_BAD_HEADER;
		hstart = s;
		name_end = ne;
		colon = c;
		s = nl;
	}
}

static const char *skip_cfws(const char *s, const char *e)
{
	while (s < e) {
		if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') {
			s++;
		} else if (*s == '(') {
			int depth = 0;

			for (; s < e; s++) {
				if (*s == '\\' && s + 1 < e)
					s++;
				else if (*s == '(')
					depth++;
				else if (*s == ')' && --depth == 0) {
					s++;
					break;
				}
			}
		} else {
			break;
		}
	}
	return s;
}

static char *lower_dup(struct arena *a, const char *s, size_t n)
{
	char *d = arena_strndup(a, s, n);
	size_t i;

	if (d)
		for (i = 0; i < n; i++)
			if (d[i] >= 'A' && d[i] <= 'Z')
				d[i] = (char)(d[i] + 32);
	return d;
}

static const char *token_end(const char *s, const char *e)
{
	while (s < e && *s != ';' && *s != '/' && *s != ' ' && *s != '\t' && *s != '\r' &&
	       *s != '\n' && *s != '(' && *s != '"' && *s != '=')
		s++;
	return s;
}

int mime_value_token(struct arena *a, struct slice v, char **type, char **subtype)
{
	const char *s = v.p, *e = v.p + v.len, *t, *st, *ste;

	/* RFC 2045 section 5.1: type CFWS "/" CFWS subtype; comments may sit anywhere between. */
	s = skip_cfws(s, e);
	t = token_end(s, e);
	*type = lower_dup(a, s, (size_t)(t - s));
	if (*type == NULL)
		return -1;
	if (subtype == NULL)
		return 0;
	*subtype = NULL;
	st = skip_cfws(t, e);
	if (st >= e || *st != '/')
		return 0;
	st = skip_cfws(st + 1, e);
	ste = token_end(st, e);
	*subtype = lower_dup(a, st, (size_t)(ste - st));
	return *subtype ? 0 : -1;
}

struct param_seg {
	const char *p; /* value: inside quotes for quoted strings */
	size_t len;
	int quoted, ext; /* ext: RFC 2231 percent-encoded */
};

/* Unescape a quoted string (backslash pairs) into the buffer. */
/* Unescape a quoted string (backslash pairs) into the buffer; line breaks of folding go. */
static int append_unquoted(struct buf *b, const char *p, size_t len, int quoted)
{
	const char *e = p + len;
	int r;

	while (p < e) {
		const char *q = p;

		while (q < e && *q != '\r' && *q != '\n' && !(quoted && *q == '\\'))
			q++;
		if ((r = buf_append(b, p, (size_t)(q - p))) < 0)
			return r;
		if (q == e)
			break;
		if (*q == '\\' && q + 1 < e) {
			if ((r = buf_append(b, q + 1, 1)) < 0)
				return r;
			p = q + 2;
		} else {
			p = q + 1;
		}
	}
	return 0;
}

static int hexv(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
	                              : -1;
}

static int append_pct(struct buf *b, const char *p, size_t len)
{
	const char *e = p + len;
	int r;

	while (p < e) {
		char c = *p;

		if (c == '%' && e - p >= 3 && hexv(p[1]) >= 0 && hexv(p[2]) >= 0) {
			c = (char)(hexv(p[1]) << 4 | hexv(p[2]));
			p += 3;
		} else {
			p++;
		}
		if ((r = buf_append(b, &c, 1)) < 0)
			return r;
	}
	return 0;
}

const char *mime_param_get(struct arena *a, struct slice v, const char *name)
{
	const char *s = v.p, *e = v.p + v.len;
	struct param_seg segs[PARAM_MAX_SEGMENTS];
	struct param_seg plain = {NULL, 0, 0, 0}, single = {NULL, 0, 0, 0};
	size_t nlen = strlen(name);
	unsigned nsegs = 0, i;
	const char *res = NULL;
	char charset[64] = "";
	struct buf b;

	memset(segs, 0, sizeof segs);
	/* Skip the main value. */
	while (s < e && *s != ';') {
		if (*s == '"') {
			s++;
			while (s < e && *s != '"') {
				if (*s == '\\' && s + 1 < e)
					s++;
				s++;
			}
			if (s >= e)
				break;
		}
		s++;
	}
	while (s < e) {
		const char *pn, *pne, *val, *vale;
		int quoted = 0;

		s = skip_cfws(s + 1, e); /* past ';' (or a stray byte) */
		pn = s;
		while (s < e && *s != '=' && *s != ';' && *s != ' ' && *s != '\t' && *s != '\r' &&
		       *s != '\n')
			s++;
		pne = s;
		s = skip_cfws(s, e);
		if (s >= e || *s != '=') {
			while (s < e && *s != ';')
				s++;
			continue;
		}
		s = skip_cfws(s + 1, e);
		if (s < e && *s == '"') {
			quoted = 1;
			val = ++s;
			while (s < e && *s != '"') {
				if (*s == '\\' && s + 1 < e)
					s++;
				s++;
			}
			vale = s < e ? s : e;
			if (s < e)
				s++;
			while (s < e && *s != ';')
				s++;
		} else {
			val = s;
			while (s < e && *s != ';')
				s++;
			vale = s;
			while (vale > val && (vale[-1] == ' ' || vale[-1] == '\t' ||
			                      vale[-1] == '\r' || vale[-1] == '\n'))
				vale--;
		}
		if ((size_t)(pne - pn) < nlen || strncasecmp(pn, name, nlen) != 0)
			continue;
		if ((size_t)(pne - pn) == nlen) {
			if (plain.p == NULL)
				plain = (struct param_seg){val, (size_t)(vale - val), quoted, 0};
			continue;
		}
		if (pn[nlen] != '*')
			continue;
		if ((size_t)(pne - pn) == nlen + 1) {
			single = (struct param_seg){val, (size_t)(vale - val), quoted, 1};
			continue;
		}
		{
			const char *q = pn + nlen + 1;
			unsigned idx = 0;
			int digits = 0, ext = 0;

			while (q < pne && *q >= '0' && *q <= '9' && digits < 3) {
				idx = idx * 10 + (unsigned)(*q - '0');
				q++;
				digits++;
			}
			if (q < pne && *q == '*') {
				ext = 1;
				q++;
			}
			if (digits == 0 || q != pne || idx >= PARAM_MAX_SEGMENTS || segs[idx].p)
				continue;
			segs[idx] = (struct param_seg){val, (size_t)(vale - val), quoted, ext};
			if (idx + 1 > nsegs)
				nsegs = idx + 1;
		}
	}

	buf_init(&b, v.len + 1);
	if (single.p || (nsegs && segs[0].p)) {
		/* RFC 2231: charset'language'value on the first extended segment. */
		struct param_seg *first = single.p ? &single : &segs[0];
		const char *q1, *q2;

		if (first->ext && (q1 = memchr(first->p, '\'', first->len)) != NULL &&
		    (q2 = memchr(q1 + 1, '\'', first->len - (size_t)(q1 + 1 - first->p))) != NULL) {
			size_t cl = (size_t)(q1 - first->p);

			if (cl >= sizeof charset)
				cl = 0;
			memcpy(charset, first->p, cl);
			charset[cl] = '\0';
			first->len -= (size_t)(q2 + 1 - first->p);
			first->p = q2 + 1;
		}
		if (single.p) {
			if (append_pct(&b, single.p, single.len) < 0)
				goto out;
		} else {
			for (i = 0; i < nsegs && segs[i].p; i++) {
				int r = segs[i].ext ? append_pct(&b, segs[i].p, segs[i].len)
				                    : append_unquoted(&b, segs[i].p, segs[i].len,
				                                      segs[i].quoted);
				if (r < 0)
					goto out;
			}
		}
		{
			struct buf u;

			buf_init(&u, b.len * 3 + 16);
			if (mime_charset_to_utf8(charset[0] ? charset : "utf-8", b.p ? b.p : "",
			                         b.len, &u) >= 0)
				res = arena_strndup(a, u.p ? u.p : "", u.len);
			buf_free(&u);
		}
		goto out;
	}
	if (plain.p) {
		struct buf u;

		if (append_unquoted(&b, plain.p, plain.len, plain.quoted) < 0)
			goto out;
		if (b.p == NULL) {
			res = arena_strdup(a, "");
			goto out;
		}
		if (memmem(b.p, b.len, "=?", 2) == NULL && mime_utf8_valid(b.p, b.len)) {
			res = arena_strndup(a, b.p, b.len);
			goto out;
		}
		buf_init(&u, b.len * 3 + 16);
		if (mime_decode_words(b.p, b.len, &u) >= 0)
			res = arena_strndup(a, u.p ? u.p : "", u.len);
		buf_free(&u);
	}
out:
	buf_free(&b);
	return res;
}
