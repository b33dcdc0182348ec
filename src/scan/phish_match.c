/*
 * phish_match - the comparisons behind the phish scanner, on plain strings: look-alike
 * domains, address parsing, the domain a piece of link text shows, credential forms.
 *
 * Look-alike policy (why these numbers): one edit from a name of 6 or more letters, two from
 * 10 or more, is a typo-squat; shorter names have too many honest neighbours (ups.com,
 * chase.com). The same name under another top-level domain is not flagged: brands own their
 * country domains (amazon.co.uk), and the Bayes and fuzzy scanners judge the rest.
 */
#include "scan/phish.h"

#include "scan/tokenize.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PHISH_TYPO1_MIN 6
#define PHISH_TYPO2_MIN 10
/* A brand name shorter than this is a common word inside other names ("ups", "dhl"). */
#define PHISH_EMBED_MIN 5

const char *const phish_brands[] = {
	"paypal.com", "apple.com", "icloud.com", "microsoft.com", "office.com", "outlook.com",
	"live.com", "microsoftonline.com", "amazon.com", "google.com", "gmail.com",
	"facebook.com", "instagram.com", "whatsapp.com", "netflix.com", "linkedin.com",
	"dropbox.com", "docusign.com", "docusign.net", "adobe.com", "yahoo.com", "dhl.com",
	"fedex.com", "ups.com", "usps.com", "chase.com", "wellsfargo.com", "bankofamerica.com",
	"citibank.com", "hsbc.com", "barclays.co.uk", "santander.com", "americanexpress.com",
	"coinbase.com", "binance.com", "ebay.com", "steampowered.com", "spotify.com",
	"sharepoint.com", "onedrive.com", "wetransfer.com", "zoom.us", NULL,
};

const char *phish_look_name(enum phish_look l)
{
	switch (l) {
	case PHISH_LOOK_NONE: return "none";
	case PHISH_LOOK_SAME: return "same";
	case PHISH_LOOK_HOMOGLYPH: return "homoglyph";
	case PHISH_LOOK_TYPO: return "typo";
	case PHISH_LOOK_EMBED: return "embedded";
	}
	return "none";
}

/*
 * Optimal-string-alignment distance, capped: the exact distance when it is at most max, else
 * max + 1. Only the band |i - j| <= max of the table is computed: a cell outside it is at
 * least |i - j| > max, so it counts as max + 1 (test_phish checks the answers against the
 * whole table on every pair of short strings over a small alphabet).
 */
unsigned phish_edit_distance(const char *a, size_t alen, const char *b, size_t blen, unsigned max)
{
	unsigned row[3][PHISH_DOMAIN_MAX + 1];
	const unsigned inf = max + 1;

	if (alen > PHISH_DOMAIN_MAX || blen > PHISH_DOMAIN_MAX)
		return max + 1;
	if ((alen > blen ? alen - blen : blen - alen) > max)
		return max + 1;
	for (size_t j = 0; j <= blen; j++)
		row[0][j] = j <= max ? (unsigned)j : inf;
	for (size_t i = 1; i <= alen; i++) {
		unsigned *cur = row[i % 3], *prev = row[(i - 1) % 3], *pp = row[(i + 1) % 3];
		size_t lo = i > max ? i - max : 1, hi = i + max < blen ? i + max : blen;
		unsigned best = inf;

		/* the cells just outside the band are read by the next rows: mark them */
		cur[0] = i <= max ? (unsigned)i : inf;
		if (cur[0] < best)
			best = cur[0];
		if (lo > 1)
			cur[lo - 1] = inf;
		if (hi < blen)
			cur[hi + 1] = inf;
		for (size_t j = lo; j <= hi; j++) {
			unsigned cost = a[i - 1] != b[j - 1];
			unsigned v = prev[j] + 1;

			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (prev[j - 1] + cost < v)
				v = prev[j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    pp[j - 2] + 1 < v)
				v = pp[j - 2] + 1;
			if (v > inf)
				v = inf;
			cur[j] = v;
			if (v < best)
				best = v;
		}
		if (best > max)
			return max + 1;
	}
	return row[alen % 3][blen] > max ? max + 1 : row[alen % 3][blen];
}

static void lower(char *out, size_t outsz, const char *in)
{
	size_t i;

	for (i = 0; in[i] && i + 1 < outsz; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[i] = '\0';
	while (i > 0 && out[i - 1] == '.') /* trailing root dot */
		out[--i] = '\0';
}

/* Length of the first label of s. */
static size_t label_len(const char *s)
{
	const char *dot = strchr(s, '.');

	return dot ? (size_t)(dot - s) : strlen(s);
}

/* name is one hyphen-separated part of label (paypal in secure-paypal-login). */
static int hyphen_part(const char *label, size_t llen, const char *name, size_t nlen)
{
	/* the hyphens around a place first: memcmp was called at every offset of every label */
	for (size_t i = 0; i + nlen <= llen; i++)
		if ((i == 0 || label[i - 1] == '-') && (i + nlen == llen || label[i + nlen] == '-') &&
		    memcmp(label + i, name, nlen) == 0)
			return llen != nlen;
	return 0;
}

int phish_name_prepare(struct phish_name *n, const char *domain)
{
	const char *reg;

	lower(n->name, sizeof n->name, domain);
	n->len = strlen(n->name);
	reg = tok_registrable_domain(n->name);
	n->reg = (size_t)(reg - n->name);
	n->reg_label = label_len(reg);
	/* A name without a usable skeleton (bad punycode, too long) still compares as a string. */
	n->skel_ok = phish_skeleton(reg, n->skel, sizeof n->skel) == 0;
	n->skel_label = n->skel_ok ? label_len(n->skel) : 0;
	return n->len ? 0 : -EINVAL;
}

enum phish_look phish_lookalike_names(const struct phish_name *d, const struct phish_name *p)
{
	size_t dl = d->len, pl = p->len;
	const char *rd = d->name + d->reg, *rp = p->name + p->reg;
	size_t nd = d->reg_label, np = p->reg_label;

	if (dl == 0 || pl == 0)
		return PHISH_LOOK_NONE;
	if ((dl == pl && memcmp(d->name, p->name, dl) == 0) ||
	    (dl > pl && d->name[dl - pl - 1] == '.' && memcmp(d->name + dl - pl, p->name, pl) == 0))
		return PHISH_LOOK_SAME;
	/* paypal.com.evil.example: the whole protected name as leading labels */
	if (dl > pl + 1 && d->name[pl] == '.' && memcmp(d->name, p->name, pl) == 0)
		return PHISH_LOOK_EMBED;
	if (!d->skel_ok || !p->skel_ok)
		return PHISH_LOOK_NONE;
	size_t snd = d->skel_label, snp = p->skel_label;

	if (snd == snp && memcmp(d->skel, p->skel, snd) == 0) {
		/* same look: a different spelling is a homoglyph; the same spelling under another
		 * top-level domain is a cousin we leave alone (see above) */
		if (nd != np || memcmp(rd, rp, nd) != 0)
			return PHISH_LOOK_HOMOGLYPH;
		return PHISH_LOOK_NONE;
	}
	if (snp >= PHISH_TYPO1_MIN) {
		unsigned max = snp >= PHISH_TYPO2_MIN ? 2 : 1;

		/* more letters apart than edits allowed: no need for the distance table */
		if ((snd > snp ? snd - snp : snp - snd) <= max &&
		    phish_edit_distance(d->skel, snd, p->skel, snp, max) <= max)
			return PHISH_LOOK_TYPO;
	}
	if (np >= PHISH_EMBED_MIN && hyphen_part(rd, nd, rp, np))
		return PHISH_LOOK_EMBED;
	return PHISH_LOOK_NONE;
}

enum phish_look phish_lookalike(const char *domain, const char *protected_domain)
{
	struct phish_name d, p;

	if (phish_name_prepare(&d, domain) < 0 || phish_name_prepare(&p, protected_domain) < 0)
		return PHISH_LOOK_NONE;
	return phish_lookalike_names(&d, &p);
}

static void copy_trim(char *out, size_t outsz, const char *p, size_t len)
{
	while (len && (isspace((unsigned char)*p) || *p == '"' || *p == '\''))
		p++, len--;
	while (len && (isspace((unsigned char)p[len - 1]) || p[len - 1] == '"' || p[len - 1] == '\''))
		len--;
	if (len >= outsz)
		len = outsz - 1;
	memcpy(out, p, len);
	out[len] = '\0';
}

void phish_parse_address(const char *value, char *display, size_t dsz, char *addr, size_t asz,
			 char *domain, size_t domsz)
{
	const char *lt = strrchr(value, '<'), *gt;
	const char *at;

	display[0] = addr[0] = domain[0] = '\0';
	if (lt && (gt = strchr(lt, '>')) != NULL) {
		copy_trim(display, dsz, value, (size_t)(lt - value));
		copy_trim(addr, asz, lt + 1, (size_t)(gt - lt - 1));
	} else {
		size_t n = strcspn(value, " \t(");

		copy_trim(addr, asz, value, n);
		const char *c = strchr(value, '(');
		const char *e = c ? strchr(c, ')') : NULL;

		if (c && e)
			copy_trim(display, dsz, c + 1, (size_t)(e - c - 1));
	}
	at = strrchr(addr, '@');
	if (at)
		lower(domain, domsz, at + 1);
}

int phish_text_domain(const char *text, char *out, size_t outsz)
{
	const char *p = text, *start;
	size_t n, dots = 0, lastdot = 0;

	while (isspace((unsigned char)*p))
		p++;
	if (strncasecmp(p, "https://", 8) == 0)
		p += 8;
	else if (strncasecmp(p, "http://", 7) == 0)
		p += 7;
	start = p;
	while (isalnum((unsigned char)*p) || *p == '.' || *p == '-')
		p++;
	n = (size_t)(p - start);
	/* the text must be only a host, optionally with a path after it */
	if (*p && *p != '/' && *p != ':' && !isspace((unsigned char)*p))
		return 0;
	for (const char *q = p; *q && *q != '/'; q++)
		if (isspace((unsigned char)*q) && q[1] && !isspace((unsigned char)q[1]))
			return 0;
	while (n && start[n - 1] == '.')
		n--;
	if (n < 4 || n >= outsz)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (start[i] == '.') {
			dots++;
			lastdot = i;
		}
	if (dots == 0 || n - lastdot - 1 < 2)
		return 0;
	for (size_t i = lastdot + 1; i < n; i++)
		if (!isalpha((unsigned char)start[i]))
			return 0;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)start[i]);
	out[n] = '\0';
	return 1;
}

static const char *memcasemem(const char *h, size_t hl, const char *n)
{
	size_t nl = strlen(n);

	for (size_t i = 0; nl && i + nl <= hl; i++)
		if (strncasecmp(h + i, n, nl) == 0)
			return h + i;
	return NULL;
}

int phish_html_credform(const char *p, size_t len)
{
	static const char *const pw[] = {"type=\"password\"", "type='password'", "type=password",
					 "name=\"password\"", "name=\"passwd\"", "name=\"pass\"", NULL};

	if (memcasemem(p, len, "<form") == NULL)
		return 0;
	for (size_t i = 0; pw[i]; i++)
		if (memcasemem(p, len, pw[i]))
			return 1;
	return 0;
}
