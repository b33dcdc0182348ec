/*
 * phish - targeted-attack signs: a sender or link domain that imitates the client's own domains
 * or a well-known brand (homoglyphs, IDN, typos), a display name that borrows the client's
 * name, a person of the client or another address, a Reply-To elsewhere than From, link text
 * showing one domain while the link goes to another, credential forms in HTML attachments, and
 * a sender domain the client never received mail from.
 *
 * The pure checks (phish_skeleton.c: confusables and punycode; phish_match.c: the comparisons)
 * take strings and are unit-tested; phish.c is the scanner and keeps the per-client history of
 * sender domains in <home>/db/phish.lmdb.
 */
#ifndef MX_SCAN_PHISH_H
#define MX_SCAN_PHISH_H

#include "scan/scan.h"

#include <stddef.h>
#include <stdint.h>

/* DNS limits: a name is at most 253 characters, a label 63. */
#define PHISH_DOMAIN_MAX 256
#define PHISH_LABEL_MAX 64

/*
 * The confusable skeleton of a domain name: IDN labels (xn--) decoded, every character mapped
 * through our confusables table (Cyrillic, Greek, fullwidth and accented Latin letters to the
 * ASCII letter they look like; 0 -> o, 1 -> l; "rn" -> "m", "vv" -> "w"), lowercased. Characters
 * with no ASCII look-alike are kept as "?" so they never match. 0, or -EINVAL for bad input.
 */
int phish_skeleton(const char *domain, char *out, size_t outsz);
/* The ASCII character a code point looks like, or 0 (phish_confusables.c). */
int phish_confusable(uint32_t cp);
/* Decode one punycode label (without "xn--") into UTF-8. 0 or -EINVAL. */
int phish_punycode_decode(const char *p, size_t len, char *out, size_t outsz);
/* Optimal-string-alignment distance (edits incl. adjacent swaps), capped at max + 1. */
unsigned phish_edit_distance(const char *a, size_t alen, const char *b, size_t blen, unsigned max);

enum phish_look {
	PHISH_LOOK_NONE = 0,
	PHISH_LOOK_SAME,       /* the domain itself or a subdomain of it */
	PHISH_LOOK_HOMOGLYPH,  /* same skeleton, different name (IDN or digit tricks) */
	PHISH_LOOK_TYPO,       /* within one or two edits of the name */
	PHISH_LOOK_EMBED,      /* the protected name as a label or hyphenated part of another
				* domain: paypal.com.evil.net, paypal-login.com */
};

/* How domain relates to protected (both plain host names). */
enum phish_look phish_lookalike(const char *domain, const char *protected_domain);

/*
 * A host name prepared for phish_lookalike_names: lowercased, its registrable part and the
 * confusable skeleton of that part, so comparing one domain with every brand and client domain
 * computes each skeleton once instead of once per pair (the brands are prepared once per
 * process).
 */
struct phish_name {
	char name[PHISH_DOMAIN_MAX]; /* lowercased, trailing dot removed */
	size_t len;
	size_t reg;       /* offset of the registrable domain in name */
	size_t reg_label; /* length of its first label */
	char skel[PHISH_DOMAIN_MAX]; /* skeleton of the registrable domain */
	size_t skel_label;           /* length of the skeleton's first label */
	int skel_ok;                 /* 0: no skeleton (bad punycode, too long) */
};

/* Fill n from domain. 0, or -EINVAL for an empty name (which then matches nothing). */
int phish_name_prepare(struct phish_name *n, const char *domain);
/* phish_lookalike on prepared names: the same answers. */
enum phish_look phish_lookalike_names(const struct phish_name *d, const struct phish_name *p);
const char *phish_look_name(enum phish_look l);

/* The well-known brands we protect besides every client's own domains (NULL-terminated). */
extern const char *const phish_brands[];

/*
 * Split a From/Reply-To value into display name and address (either may come back empty).
 * The domain of the address, lowercased, goes to domain.
 */
void phish_parse_address(const char *value, char *display, size_t dsz, char *addr, size_t asz,
			 char *domain, size_t domsz);
/* A host name written in link text ("www.bank.com", "https://bank.com/login"), or 0. */
int phish_text_domain(const char *text, char *out, size_t outsz);
/* An HTML document with a form asking for a password. */
int phish_html_credform(const char *p, size_t len);

extern const struct scanner_ops phish_scanner;

#endif
