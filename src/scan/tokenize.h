/*
 * tokenize - the feature stream that bayes and fuzzy read: words of the decoded, normalised
 * text, skip-bigrams over them (pairs of words one apart), header tokens, and URL and domain
 * tokens. Each feature is a short string ("w:free", "k:click now", "h:subject:win",
 * "u:example.com") reduced to a 64-bit
 * hash; the strings themselves are never stored, so a token costs eight bytes wherever it goes.
 *
 * Normalisation: ASCII is lowercased; bytes >= 0x80 (UTF-8) are kept as word characters; a word
 * is a run of letters, digits and a few joiners ($ ' - _ and a dot between alphanumerics).
 * Words shorter than TOK_WORD_MIN are dropped; words longer than TOK_WORD_MAX become a "skip"
 * token that records only their first byte and length bucket (base64 junk, hashes).
 *
 * Limits: at most TOK_TEXT_MAX bytes of text are read per message and at most the sink's
 * capacity of features kept; both are soft (the rest of the message is ignored, not an error).
 * Nothing here allocates: the caller gives the sink its array.
 */
#ifndef MX_SCAN_TOKENIZE_H
#define MX_SCAN_TOKENIZE_H

#include "mime/mime.h"

#include <stddef.h>
#include <stdint.h>

/* One-letter words are mostly noise ("a", "i", list bullets). */
#define TOK_WORD_MIN 2
/* Longer than any English word worth learning; longer runs are encodings or ids. */
#define TOK_WORD_MAX 40
/* 256 KiB of text: classification has long converged by then, and it bounds the CPU spent on a
 * message built to be slow. */
#define TOK_TEXT_MAX (256 * 1024)
/* Feature strings are built in a stack buffer of this size; longer ones are cut. */
#define TOK_FEATURE_MAX 160
/* Features per message for bayes: a 20 KB message yields about 3000 (words + bigrams). */
#define TOK_MAX_FEATURES 8192

struct tok_sink {
	uint64_t *h;  /* caller's array */
	size_t n;     /* used */
	size_t max;   /* capacity; adds past it are dropped */
};

/* 64-bit hash of (p, len) (FNV-1a with a final avalanche); seed 0 for feature hashes. */
uint64_t tok_hash(const char *p, size_t len, uint64_t seed);

/* Add one feature prefix+value (both strings of given length). */
void tok_sink_add(struct tok_sink *s, const char *prefix, const char *p, size_t len);
/* Sort and drop duplicates; returns the new n. */
size_t tok_sink_finish(struct tok_sink *s);
/* 1 when the (finished) sink holds the feature prefix+s. For tests and debugging. */
int tok_sink_has(const struct tok_sink *s, const char *prefix, const char *str);

/*
 * Split text into normalised words and call fn(arg, word, len) for each one, in order. The
 * word is in a scratch buffer valid only during the call. Returns the number of words.
 */
typedef void (*tok_word_fn)(void *arg, const char *w, size_t len);
size_t tokenize_words(const char *p, size_t len, tok_word_fn fn, void *arg);
/*
 * The same words as hashes, for a scanner that wants only those (fuzzy's shingles): fn(arg,
 * h) with h = tok_hash(word, len, 0) for each word tokenize_words reports, in order, except
 * skip tokens ("skip:..."), without a copy of the word or a second pass over it. Returns the
 * number of hashes reported.
 */
typedef void (*tok_hash_fn)(void *arg, uint64_t h);
size_t tokenize_word_hashes(const char *p, size_t len, tok_hash_fn fn, void *arg);

/* Words ("w:") and sparse bigrams ("b:" adjacent, "k:" one word skipped) of body text. */
void tokenize_text(struct tok_sink *s, const char *p, size_t len);
/* Header tokens: name presence ("hn:") and, for headers that carry signal, value words. */
void tokenize_header(struct tok_sink *s, const char *name, const char *value);
/* URL tokens: full host ("u:"), its registrable domain ("ud:"), scheme, path words. */
void tokenize_url(struct tok_sink *s, const char *url, const char *host);
/* Everything of a parsed message: headers of the top part to hdr; MIME structure, text and
 * URLs to body. */
void tokenize_mime(struct tok_sink *hdr, struct tok_sink *body, const struct mime_msg *m);

/*
 * A message as the scanners see it: the MIME tree when there is one, otherwise a raw fallback
 * (header lines unfolded, the body as text, undecoded). Header features go to hdr, everything
 * else (structure, text, URLs) to body; hdr and body may be the same sink. learn and scan both
 * come through here, so what is learned is what is looked up.
 */
void tokenize_message(struct tok_sink *hdr, struct tok_sink *body, const struct mime_msg *m,
		      const char *raw, size_t len);
/*
 * The body text's plain word hashes (tokenize_word_hashes' values, in order), kept while
 * tokenize_message_words splits the text for Bayes, so that fuzzy's shingles need not split
 * it again. The caller gives h and max; n is set. complete is 1 when every word of the text
 * is in h (0 when h filled up first: the reader then makes them itself; a full feature sink
 * does not stop them). At most (TOK_TEXT_MAX + 1) / 3 words fit a text (two bytes and a
 * separator each).
 */
struct tok_words {
	uint64_t *h;
	size_t n, max;
	int complete;
};
/* tokenize_message, keeping the body text's word hashes in words (see above). */
void tokenize_message_words(struct tok_sink *hdr, struct tok_sink *body, struct tok_words *words,
			    const struct mime_msg *m, const char *raw, size_t len);
/* Offset of the body in a raw message (after the blank line), len when there is none. */
size_t tok_body_offset(const char *raw, size_t len);

/* "www.mail.example.co.uk" -> "example.co.uk": the last two labels, three when the second-level
 * label is a common public suffix (co, com, net, org, ac, gov, edu). Points into host. */
const char *tok_registrable_domain(const char *host);

#endif
