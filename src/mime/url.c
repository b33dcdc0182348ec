/*
 * url - URLs in message text: found, normalised just enough (host lowercased) and deduplicated.
 *
 * Plain text is searched for scheme URLs (http, https, ftp) and for bare "www." hosts, which
 * mail clients make clickable. A URL ends at whitespace, a control byte or a delimiter that
 * cannot appear unescaped (RFC 3986 appendix C), and loses trailing punctuation that belongs to
 * the sentence. At most URL_MAX distinct URLs are kept per message.
 */
#include "mime/url.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* Phishing mail carries tens of URLs, link farms a few thousand; past this, more URLs add
 * nothing to a verdict and only cost memory. */
#define URL_MAX 4096
/* A URL longer than this is cut: browsers cap near 64 KiB, and the host is near the start. */
#define URL_LEN_MAX 8192

void mime_urls_init(struct mime_urls *u, struct arena *a)
{
	memset(u, 0, sizeof *u);
	u->a = a;
	u->tail = &u->head;
}

static uint32_t url_hash(const char *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ (unsigned char)*p++) * 16777619u;
	return h;
}

static const char *url_host(struct arena *a, const char *u, size_t n)
{
	const char *e = u + n, *s = u, *h, *he, *at;
	char *out;
	size_t i;

	for (h = u; h < e; h++)
		if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') || *h == '+' ||
		      *h == '-' || *h == '.' || (*h >= '0' && *h <= '9')))
			break;
	if (h < e && *h == ':' && h + 1 < e && (h[1] == '/' || h[1] == '\\')) {
		/* Browsers take any run of '/' and '\' after a web scheme (WHATWG URL). */
		for (s = h + 1; s < e && (*s == '/' || *s == '\\'); s++)
			;
	} else if (!(n >= 4 && strncasecmp(u, "www.", 4) == 0)) {
		return "";
	}
	for (he = s; he < e && *he != '/' && *he != '?' && *he != '#' && *he != '\\'; he++)
		;
	at = NULL;
	for (h = s; h < he; h++)
		if (*h == '@')
			at = h;
	if (at)
		s = at + 1;
	if (s < he && *s == '[') {
		for (h = s; h < he && *h != ']'; h++)
			;
		he = h < he ? h + 1 : he;
	} else {
		for (h = s; h < he && *h != ':'; h++)
			;
		he = h;
	}
	while (he > s && he[-1] == '.')
		he--;
	out = arena_strndup(a, s, (size_t)(he - s));
	if (out) {
		size_t j = 0;

		/* Lowercase; drop soft hyphens (U+00AD), which IDNA maps to nothing. */
		for (i = 0; out[i]; i++) {
			if ((unsigned char)out[i] == 0xC2 && (unsigned char)out[i + 1] == 0xAD) {
				i++;
				continue;
			}
			out[j++] = (char)(out[i] >= 'A' && out[i] <= 'Z' ? out[i] + 32 : out[i]);
		}
		out[j] = '\0';
	}
	return out;
}

static int urls_grow(struct mime_urls *u)
{
	unsigned nsz = u->tabsz ? u->tabsz * 2 : 64, i;
	struct mime_url **nt = arena_zalloc(u->a, nsz * sizeof *nt);
	struct mime_url *x;

	if (nt == NULL)
		return -ENOMEM;
	for (x = u->head; x; x = x->next) {
		i = url_hash(x->url, strlen(x->url)) & (nsz - 1);
		while (nt[i])
			i = (i + 1) & (nsz - 1);
		nt[i] = x;
	}
	u->tab = nt;
	u->tabsz = nsz;
	return 0;
}

int mime_urls_add(struct mime_urls *u, const char *url, size_t len, const char *text,
                  size_t text_len, const struct mime_part *part)
{
	struct mime_url *x;
	unsigned i;

	if (u->full)
		return -ENOMEM;
	if (len == 0 || u->n >= URL_MAX)
		return 0;
	if (len > URL_LEN_MAX)
		len = URL_LEN_MAX;
	if ((u->n + 1) * 2 > u->tabsz && urls_grow(u) < 0)
		goto full;
	i = url_hash(url, len) & (u->tabsz - 1);
	for (; u->tab[i]; i = (i + 1) & (u->tabsz - 1))
		if (strncmp(u->tab[i]->url, url, len) == 0 && u->tab[i]->url[len] == '\0') {
			/* The same URL seen bare first and as an anchor later: keep the text. */
			if (u->tab[i]->text == NULL && text && text_len)
				u->tab[i]->text = arena_strndup(u->a, text, text_len);
			return 0;
		}
	x = arena_alloc(u->a, sizeof *x);
	if (x == NULL)
		goto full;
	x->url = arena_strndup(u->a, url, len);
	x->host = x->url ? url_host(u->a, url, len) : NULL;
	x->text = text ? arena_strndup(u->a, text, text_len) : NULL;
	if (x->url == NULL || x->host == NULL || (text && x->text == NULL))
		goto full;
	x->part = part;
	x->next = NULL;
	*u->tail = x;
	u->tail = &x->next;
	u->tab[i] = x;
	u->n++;
	return 0;
full:
	u->full = 1;
	return -ENOMEM;
}

static int url_char(unsigned char c)
{
	if (c <= ' ' || c == 0x7f)
		return 0;
	return c != '<' && c != '>' && c != '"' && c != '\'' && c != '`' && c != '{' && c != '}' &&
	       c != '|' && c != '\\' && c != '^';
}

static int is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* End of the URL starting at s, with sentence punctuation and unbalanced ')' dropped. */
static const char *url_end(const char *s, const char *e)
{
	const char *t = s;
	int parens = 0;

	while (t < e && url_char((unsigned char)*t)) {
		if (*t == '(')
			parens++;
		else if (*t == ')')
			parens--;
		t++;
	}
	while (t > s) {
		char c = t[-1];

		if (c == '.' || c == ',' || c == ';' || c == ':' || c == '!' || c == '?' ||
		    c == '*' || c == '[' || c == ']') {
			t--;
		} else if (c == ')' && parens < 0) {
			parens++;
			t--;
		} else {
			break;
		}
	}
	return t;
}

/* The next "www." (any case) at or after s, found through its '.'; NULL when none. */
static const char *next_www(const char *s, const char *e)
{
	const char *d = s + 3;

	while (d < e && (d = memchr(d, '.', (size_t)(e - d))) != NULL) {
		if (((d[-1] | 0x20) == 'w') && ((d[-2] | 0x20) == 'w') && ((d[-3] | 0x20) == 'w'))
			return d - 3;
		d++;
	}
	return NULL;
}

/* The next "://" at or after s, found through its ':'; NULL when none. */
static const char *next_scheme(const char *s, const char *e)
{
	while (e - s >= 3 && (s = memchr(s, ':', (size_t)(e - s - 2))) != NULL) {
		if (s[1] == '/' && s[2] == '/')
			return s;
		s++;
	}
	return NULL;
}

int mime_urls_scan(struct mime_urls *u, const char *p, size_t len, const struct mime_part *part)
{
	const char *s = p, *e = p + len, *nc = NULL, *nw = NULL;

	/* Candidates come from memchr (vectorised) on rare bytes rather than a byte loop: ':' of
	 * "://" for scheme URLs, '.' of "www." for bare hosts, taken in order of appearance. */
	while (s < e) {
		const char *c, *start, *end;

		if (nc == NULL || nc < s)
			nc = next_scheme(s, e);
		if (nw == NULL || nw < s)
			nw = next_www(s, e);
		if (nc == NULL && nw == NULL)
			break;
		if (nc && (nw == NULL || nc < nw)) {
			size_t sl;

			c = nc;
			for (start = c; start > p && (start[-1] | 0x20) >= 'a' &&
			                (start[-1] | 0x20) <= 'z' && c - start < 6;
			     start--)
				;
			sl = (size_t)(c - start);
			if (start < s || c + 3 >= e ||
			    !((sl == 4 && strncasecmp(start, "http", 4) == 0) ||
			      (sl == 5 && strncasecmp(start, "https", 5) == 0) ||
			      (sl == 3 && strncasecmp(start, "ftp", 3) == 0)) ||
			    !url_char((unsigned char)c[3])) {
				s = c + 1;
				continue;
			}
			end = url_end(c + 3, e);
			if (end > c + 3 &&
			    mime_urls_add(u, start, (size_t)(end - start), NULL, 0, part) < 0)
				return -ENOMEM;
			s = end > c + 3 ? end : c + 3;
			continue;
		}
		/* "www." at a word start, followed by a host with at least one more dot. */
		c = nw;
		if (e - c >= 6 &&
		    (c == p || (!is_alnum((unsigned char)c[-1]) && c[-1] != '/' && c[-1] != '.' &&
		                c[-1] != '@' && c[-1] != '-')) &&
		    is_alnum((unsigned char)c[4])) {
			const char *d;

			end = url_end(c, e);
			for (d = c + 4; d < end && *d != '.' && *d != '/'; d++)
				;
			if (d < end && *d == '.' && d + 1 < end && is_alnum((unsigned char)d[1])) {
				if (mime_urls_add(u, c, (size_t)(end - c), NULL, 0, part) < 0)
					return -ENOMEM;
				s = end;
				continue;
			}
		}
		s = c + 1;
	}
	return 0;
}
