/*
 * fuzzy - bulk-mail fingerprints: which messages are copies of one another, how many were seen
 * from how many sources, and whether the campaign was learned or reported as spam.
 *
 * A text fingerprint is FUZZY_NHASH min-hashes over shingles of FUZZY_SHINGLE_WORDS consecutive
 * normalised words (fuzzy_shingle.c): two messages whose shingle sets overlap with Jaccard
 * similarity J share about J * FUZZY_NHASH min-hashes, so variants of one campaign (another
 * name, another link, a shuffled footer) still meet. Attachments get an exact hash (SHA-256 of
 * the decoded bytes, first 8 bytes).
 *
 * Storage (fuzzy_db.c): <home>/db/fuzzy.lmdb with "fp" (campaign id -> struct
 * fuzzy_campaign) and "mh" (slot + min-hash -> campaign ids), shared by every scan worker.
 * Every scanned message updates its campaign's counters without fsync: they are statistics,
 * and a crash loses at most the last seconds of them. The scanner batches those writes
 * (FUZZY_DB_DEFER: one write transaction per second or per 64 messages instead of one per
 * message). Learning (FUZZY_DB_SYNC) is synced and immediate.
 *
 * The campaign API at the end is for the botnet work: fingerprint -> sources, first/last seen.
 */
#ifndef MX_SCAN_FUZZY_H
#define MX_SCAN_FUZZY_H

#include "scan/scan.h"

#include <stddef.h>
#include <stdint.h>

/* 32 min-hashes: a similarity estimate to within about +-0.09 at J = 0.5; cheap to store. */
#define FUZZY_NHASH 32
#define FUZZY_SHINGLE_WORDS 3
/* Under 12 words there are too few shingles for "same campaign" to mean anything. */
#define FUZZY_MIN_WORDS 12
/* 16 of 32 equal: estimated Jaccard >= 0.5, where variants of one template sit and unrelated
 * mail (J < 0.1 even for two newsletters of one sender) does not. */
#define FUZZY_MATCH_MIN 16
/* Ids looked at per min-hash: a shingle shared by more campaigns than this is boilerplate. */
#define FUZZY_MAX_CANDIDATES 64
/* Sources kept per campaign (the most recent replace the oldest). */
#define FUZZY_MAX_IPS 32
/* Attachments fingerprinted per message. */
#define FUZZY_MAX_ATTACH 8
/* Sliding windows: hourly buckets over a day. */
#define FUZZY_HOURS 24
/* 2 GiB address space: ~1.5 million campaigns of 1.3 KB. */
#define FUZZY_MAP_SIZE (2ULL << 30)

enum fuzzy_kind { FUZZY_KIND_TEXT = 1, FUZZY_KIND_ATTACH = 2 };

struct fuzzy_sig {
	uint64_t mh[FUZZY_NHASH];
	unsigned nwords;
};

/* Min-hash fingerprint of text. 0, or -ENODATA when under FUZZY_MIN_WORDS words. */
int fuzzy_sig_make(const char *text, size_t len, struct fuzzy_sig *out);
/* The same from the text's word hashes (tokenize_word_hashes' values, in order). */
int fuzzy_sig_from_words(const uint64_t *h, size_t n, struct fuzzy_sig *out);
/* Number of equal min-hashes, 0..FUZZY_NHASH. */
unsigned fuzzy_sig_similarity(const struct fuzzy_sig *a, const struct fuzzy_sig *b);
/* The fixed odd seed of min-hash slot i (0 past FUZZY_NHASH); stored fingerprints depend on it. */
uint64_t fuzzy_slot_seed(unsigned i);
/* Campaign id of a new fingerprint: a hash of its min-hashes. */
uint64_t fuzzy_sig_id(const struct fuzzy_sig *s);
/* Exact fingerprint of attachment bytes. */
uint64_t fuzzy_attach_id(const void *p, size_t len);

struct fuzzy_ip {
	uint8_t addr[16];  /* IPv6, or IPv4-mapped */
	uint64_t last;     /* unix time */
	uint32_t count;
	uint32_t pad;
};

/* The stored record (plain value, fixed size). */
struct fuzzy_campaign {
	uint64_t id;
	uint32_t kind;       /* enum fuzzy_kind */
	uint32_t nips;
	uint64_t first_seen, last_seen; /* unix time */
	uint64_t count;      /* messages seen, all time */
	uint32_t spam, ham;  /* times learned or reported as each */
	uint32_t hour_count[FUZZY_HOURS];
	uint32_t hour_stamp[FUZZY_HOURS]; /* unix hour the bucket counts */
	struct fuzzy_ip ips[FUZZY_MAX_IPS];
};

/* Messages in the last `hours` hours (<= FUZZY_HOURS) as of now. */
uint64_t fuzzy_campaign_recent(const struct fuzzy_campaign *c, uint64_t now, unsigned hours);
/* Distinct sources seen in the last `secs` seconds. */
unsigned fuzzy_campaign_sources(const struct fuzzy_campaign *c, uint64_t now, uint64_t secs);
/* Record one sighting from ip ("" or unparsable: counted, no source) at now. */
void fuzzy_campaign_observe(struct fuzzy_campaign *c, const char *ip, uint64_t now);

struct fuzzy_db;

enum {
	FUZZY_DB_SYNC = 1 << 0,  /* fsync commits (learn); scanning never does */
	/* Sightings (observe) are looked up in a read transaction and written in batches
	 * (fuzzy_db_flush): the scanner's mode. Without it each sighting commits at once. */
	FUZZY_DB_DEFER = 1 << 1,
};
/* A batch holds at most this many sightings (64 write transactions become one) and waits at
 * most FUZZY_PENDING_AGE seconds: campaign counters are statistics, late by a second at most. */
#define FUZZY_PENDING_MAX 64
#define FUZZY_PENDING_AGE 1

struct fuzzy_db *fuzzy_db_open(const char *path, unsigned flags);
void fuzzy_db_close(struct fuzzy_db *db);

struct fuzzy_match {
	int found;          /* an existing campaign matched */
	unsigned similarity; /* min-hashes in common (FUZZY_NHASH for attachments) */
	struct fuzzy_campaign c; /* after this sighting when observe was asked */
};

/*
 * Look a text fingerprint up; with observe, also record the sighting (creating the campaign
 * when none matched). 0 or -errno.
 */
int fuzzy_db_text(struct fuzzy_db *db, const struct fuzzy_sig *sig, const char *ip,
		  uint64_t now, int observe, struct fuzzy_match *m);
/* Same for an attachment id. */
int fuzzy_db_attach(struct fuzzy_db *db, uint64_t id, const char *ip, uint64_t now,
		    int observe, struct fuzzy_match *m);
/* FUZZY_DB_DEFER: write the pending sightings in one transaction (close does it too). 0 or
 * -errno (the batch is dropped: statistics, not mail). */
int fuzzy_db_flush(struct fuzzy_db *db);
/* Flush when the batch is full or its oldest sighting is FUZZY_PENDING_AGE seconds old. */
int fuzzy_db_flush_due(struct fuzzy_db *db, uint64_t now);
/*
 * Learn a fingerprint as spam (cls 1) or ham (0), or take one learning back (delta -1).
 * Creates the campaign when needed. 0 or -errno.
 */
int fuzzy_db_learn_text(struct fuzzy_db *db, const struct fuzzy_sig *sig, int spam, int delta);
int fuzzy_db_learn_attach(struct fuzzy_db *db, uint64_t id, int spam, int delta);

/* ---- campaign API for the botnet work ---- */

/* One campaign by id: 0, -ENOENT, -errno. */
int fuzzy_campaign_get(struct fuzzy_db *db, uint64_t id, struct fuzzy_campaign *out);
/*
 * Every campaign seen at least min_count times, in id order; fn returns non-zero to stop.
 * 0 or -errno.
 */
typedef int (*fuzzy_campaign_fn)(void *arg, const struct fuzzy_campaign *c);
int fuzzy_campaign_each(struct fuzzy_db *db, uint64_t min_count, fuzzy_campaign_fn fn, void *arg);
/* A source address as text (out holds 46 bytes). */
const char *fuzzy_ip_str(const struct fuzzy_ip *ip, char *out, size_t outsz);

/* The text and attachments of a message as fuzzy sees them (shared by learn and the scanner).
 * n attachment ids are written to att (at most FUZZY_MAX_ATTACH). 0, or -ENODATA for no text
 * fingerprint (att may still be filled). */
int fuzzy_message_sigs(const struct mime_msg *m, const char *raw, size_t len,
		       struct fuzzy_sig *sig, uint64_t *att, size_t *natt);
/* The same, the text's fingerprint made from words when they are complete (the word hashes
 * tokenize_message_words kept for this message; NULL: split the text here). */
struct tok_words;
int fuzzy_message_sigs_words(const struct mime_msg *m, const char *raw, size_t len,
			     const struct tok_words *words, struct fuzzy_sig *sig, uint64_t *att,
			     size_t *natt);

extern const struct scanner_ops fuzzy_scanner;

/* Autolearn: record a scanned message's fingerprints as spam (1) or ham (0) in the scanner's
 * open store, as `mxtower learn` does. 0 (also when the fuzzy scanner is not running) or -errno. */
int fuzzy_autolearn(const struct mime_msg *m, const char *msg, size_t len, int spam);

#endif
