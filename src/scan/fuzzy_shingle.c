/*
 * fuzzy_shingle - the pure part of fuzzy: min-hash fingerprints of text, exact attachment
 * fingerprints, and the sliding-window arithmetic of a campaign record. No storage here, so
 * the unit tests pin it on known strings.
 */
#include "scan/fuzzy.h"

#include "scan/tokenize.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

/*
 * Per-slot seeds: fixed odd constants, so fingerprints are stable across processes and
 * releases (stored fingerprints depend on them). Slot i's seed is splitmix-style:
 * x = 0x9e3779b97f4a7c15 * (i + 1); x ^= x >> 31; x *= 0xbf58476d1ce4e5b9; x ^= x >> 27; x | 1
 * (test_fuzzy checks the table against that formula). A table, not the formula per use: it was
 * recomputed for each of the 32 slots of every shingle (a fifth of shingle_word's instructions).
 */
static const uint64_t slot_seeds[FUZZY_NHASH] = {
	0x642b365eb0080e29ULL, 0xc1787f9ba8cd9ee7ULL, 0x494d77fe8cd9d59bULL,
	0x4249467c65410c63ULL, 0x1c13fe279e89d25dULL, 0x18296be962fe41dbULL,
	0xbf24af4014fd49c1ULL, 0x43ead45d08e2e129ULL, 0x46fa7f0f6ae052c9ULL,
	0xf78043aba6d965ddULL, 0x4934005ab92c76edULL, 0xb5e153d950a1271bULL,
	0x9d28165793cb1349ULL, 0x3da1a61b4982efa9ULL, 0x2d903b1683cb18e9ULL,
	0x80f7bb9a16a2cd87ULL, 0x76d4d88b94452167ULL, 0x871710fe6aa657e7ULL,
	0x66be7b20317c2993ULL, 0xae58cec2019ed65fULL, 0x842fed8f120168adULL,
	0x17f67ca0a2f24abdULL, 0x84c69163ea5ecf51ULL, 0x2b1aef0996a64219ULL,
	0x0a77ab40c6c91a8fULL, 0xf9a873eabf76e3e7ULL, 0x54b039786c81e8c1ULL,
	0x00d1c83502683885ULL, 0x28ac978d8170467dULL, 0x1a78bd90cf6a68a7ULL,
	0xe64ec6f88920d5e7ULL, 0xfb1189ec4fa16123ULL,
};

uint64_t fuzzy_slot_seed(unsigned i)
{
	return i < FUZZY_NHASH ? slot_seeds[i] : 0;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

struct shingle_state {
	struct fuzzy_sig *sig;
	uint64_t win[FUZZY_SHINGLE_WORDS];
	unsigned n;
};

static uint64_t rotl64(uint64_t x, unsigned r)
{
	return (x << r) | (x >> (64 - r));
}

/*
 * One-permutation min-hash (fingerprint version 2, 2026-11-29). Each shingle gets one strong
 * hash (one finaliser over its three word hashes, rotated so that word order counts); its top
 * five bits pick one of the 32 bins and the bin keeps its smallest hash. Until then every
 * shingle was hashed once per slot (32 finalisers, later 32 multiplies: a fifth of the whole
 * scan); now it costs one finaliser and one compare. For a text of n shingles each bin holds
 * the minimum of about n/32 of them, and two texts' bins agree with probability J (their
 * Jaccard similarity), as 32 independent min-hashes do.
 *
 * Bins left empty (texts under about 100 words) borrow, in a fixed pseudo-random order of
 * bins that is the same for every text, the value of the first bin that is not empty
 * ("optimal densification", Shrivastava 2017): two texts then agree on an empty bin exactly
 * when the bin both reach agrees, which keeps the estimate unbiased. A value keeps the top
 * bits of the bin it came from, so a borrowed value never equals a bin's own.
 * test_fuzzy measures mean and variance against texts of known J, short ones included.
 */
_Static_assert(FUZZY_SHINGLE_WORDS == 3, "shingle_word hashes a window of three words");
_Static_assert(FUZZY_NHASH == 32, "a shingle's bin is the top five bits of its hash");

/* One word's hash (the tokenizer's, skip tokens already left out: long runs such as encoded
 * junk or tracking ids vary per copy and would make every copy new). */
static void shingle_word(void *arg, uint64_t h)
{
	struct shingle_state *st = arg;
	uint64_t *mh = st->sig->mh, sh;
	unsigned bin;

	st->win[0] = st->win[1];
	st->win[1] = st->win[2];
	st->win[2] = h;
	if (++st->n < FUZZY_SHINGLE_WORDS)
		return;
	sh = mix64(st->win[0] ^ rotl64(st->win[1], 21) ^ rotl64(st->win[2], 42));
	bin = (unsigned)(sh >> 59);
	if (sh < mh[bin])
		mh[bin] = sh;
}

/* Empty bins borrow from the first full one on their fixed probe sequence (see above). */
static void sig_densify(struct fuzzy_sig *s)
{
	uint64_t own[FUZZY_NHASH];
	unsigned full = 0;

	memcpy(own, s->mh, sizeof own);
	for (unsigned i = 0; i < FUZZY_NHASH; i++)
		full += own[i] != UINT64_MAX;
	if (full == 0 || full == FUZZY_NHASH)
		return;
	for (unsigned i = 0; i < FUZZY_NHASH; i++) {
		uint64_t x = slot_seeds[i];

		if (own[i] != UINT64_MAX)
			continue;
		/* the probe sequence of bin i: a xorshift stream seeded by the bin's seed; 1024
		 * draws miss every full bin with probability under (31/32)^1024, then scan on */
		for (unsigned t = 0; t < 1024 && s->mh[i] == UINT64_MAX; t++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			if (own[x >> 59] != UINT64_MAX)
				s->mh[i] = own[x >> 59];
		}
		for (unsigned j = 1; s->mh[i] == UINT64_MAX; j++)
			s->mh[i] = own[(i + j) % FUZZY_NHASH];
	}
}

static void sig_start(struct shingle_state *st, struct fuzzy_sig *out)
{
	memset(st, 0, sizeof *st);
	for (unsigned i = 0; i < FUZZY_NHASH; i++)
		out->mh[i] = UINT64_MAX;
	st->sig = out;
}

static int sig_end(struct shingle_state *st, struct fuzzy_sig *out)
{
	out->nwords = st->n;
	sig_densify(out);
	return st->n < FUZZY_MIN_WORDS ? -ENODATA : 0;
}

int fuzzy_sig_make(const char *text, size_t len, struct fuzzy_sig *out)
{
	struct shingle_state st;

	sig_start(&st, out);
	tokenize_word_hashes(text, len, shingle_word, &st);
	return sig_end(&st, out);
}

int fuzzy_sig_from_words(const uint64_t *h, size_t n, struct fuzzy_sig *out)
{
	struct shingle_state st;

	sig_start(&st, out);
	for (size_t i = 0; i < n; i++)
		shingle_word(&st, h[i]);
	return sig_end(&st, out);
}

unsigned fuzzy_sig_similarity(const struct fuzzy_sig *a, const struct fuzzy_sig *b)
{
	unsigned n = 0;

	for (unsigned i = 0; i < FUZZY_NHASH; i++)
		n += a->mh[i] == b->mh[i];
	return n;
}

uint64_t fuzzy_sig_id(const struct fuzzy_sig *s)
{
	return tok_hash((const char *)s->mh, sizeof s->mh, 0x66757a7a79ULL);
}

uint64_t fuzzy_attach_id(const void *p, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	uint64_t id = 0;

	if (EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen >= sizeof id)
		memcpy(&id, md, sizeof id);
	return id;
}

uint64_t fuzzy_campaign_recent(const struct fuzzy_campaign *c, uint64_t now, unsigned hours)
{
	uint64_t hour = now / 3600, n = 0;

	if (hours > FUZZY_HOURS)
		hours = FUZZY_HOURS;
	for (unsigned i = 0; i < FUZZY_HOURS; i++)
		if (c->hour_stamp[i] + (uint64_t)hours > hour && c->hour_stamp[i] <= hour)
			n += c->hour_count[i];
	return n;
}

unsigned fuzzy_campaign_sources(const struct fuzzy_campaign *c, uint64_t now, uint64_t secs)
{
	unsigned n = 0;

	for (unsigned i = 0; i < c->nips && i < FUZZY_MAX_IPS; i++)
		if (c->ips[i].last + secs >= now)
			n++;
	return n;
}

static int ip_parse(const char *s, uint8_t out[16])
{
	struct in_addr a4;

	memset(out, 0, 16);
	if (s == NULL || s[0] == '\0')
		return -1;
	if (inet_pton(AF_INET6, s, out) == 1)
		return 0;
	if (inet_pton(AF_INET, s, &a4) == 1) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		return 0;
	}
	return -1;
}

void fuzzy_campaign_observe(struct fuzzy_campaign *c, const char *ip, uint64_t now)
{
	uint64_t hour = now / 3600;
	unsigned b = (unsigned)(hour % FUZZY_HOURS), oldest = 0;
	uint8_t a[16];

	if (c->first_seen == 0 || now < c->first_seen)
		c->first_seen = now;
	if (now > c->last_seen)
		c->last_seen = now;
	c->count++;
	if (c->hour_stamp[b] != (uint32_t)hour) {
		c->hour_stamp[b] = (uint32_t)hour;
		c->hour_count[b] = 0;
	}
	c->hour_count[b]++;
	if (ip_parse(ip, a) < 0)
		return;
	for (unsigned i = 0; i < c->nips && i < FUZZY_MAX_IPS; i++) {
		if (memcmp(c->ips[i].addr, a, 16) == 0) {
			c->ips[i].last = now;
			c->ips[i].count++;
			return;
		}
		if (c->ips[i].last < c->ips[oldest].last)
			oldest = i;
	}
	if (c->nips < FUZZY_MAX_IPS)
		oldest = c->nips++;
	memcpy(c->ips[oldest].addr, a, 16);
	c->ips[oldest].last = now;
	c->ips[oldest].count = 1;
}

const char *fuzzy_ip_str(const struct fuzzy_ip *ip, char *out, size_t outsz)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (memcmp(ip->addr, mapped, 12) == 0) {
		if (inet_ntop(AF_INET, ip->addr + 12, out, (socklen_t)outsz))
			return out;
	} else if (inet_ntop(AF_INET6, ip->addr, out, (socklen_t)outsz)) {
		return out;
	}
	snprintf(out, outsz, "?");
	return out;
}

/* Leaves that are not text: their decoded bytes are what a campaign resends unchanged. */
static void attach_walk(const struct mime_part *p, uint64_t *att, size_t *natt, unsigned *budget)
{
	for (; p && *budget; p = p->next) {
		(*budget)--;
		if (p->children) {
			attach_walk(p->children, att, natt, budget);
			continue;
		}
		if (*natt >= FUZZY_MAX_ATTACH || p->decoded == NULL || p->decoded_len == 0)
			continue;
		if (strcmp(p->type, "text") == 0 || strcmp(p->type, "multipart") == 0 ||
		    strcmp(p->type, "message") == 0)
			continue;
		att[(*natt)++] = fuzzy_attach_id(p->decoded, p->decoded_len);
	}
}

int fuzzy_message_sigs_words(const struct mime_msg *m, const char *raw, size_t len,
			     const struct tok_words *words, struct fuzzy_sig *sig, uint64_t *att,
			     size_t *natt)
{
	/* Bounds the walk of a tree the parser already capped. */
	unsigned budget = 1024;

	*natt = 0;
	if (m && m->root)
		attach_walk(m->root, att, natt, &budget);
	/* the tokenizer's words are of the same text (tokenize_message_words) */
	if (words && words->complete)
		return fuzzy_sig_from_words(words->h, words->n, sig);
	if (m && m->root)
		return fuzzy_sig_make(m->text ? m->text : "", m->text ? m->text_len : 0, sig);
	size_t body = tok_body_offset(raw, len);

	return fuzzy_sig_make(raw + body, len - body, sig);
}

int fuzzy_message_sigs(const struct mime_msg *m, const char *raw, size_t len,
		       struct fuzzy_sig *sig, uint64_t *att, size_t *natt)
{
	return fuzzy_message_sigs_words(m, raw, len, NULL, sig, att, natt);
}
