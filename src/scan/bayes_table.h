/*
 * bayes_table - the layout of the Bayes token counts: one open-addressing hash table stored as
 * a single LMDB value (key "table" in bayes.lmdb's "meta"), so that a scan reads it zero-copy
 * from the shared map inside its read transaction and looks a token up in a few dozen
 * instructions instead of a B-tree descent (about 1,200).
 *
 * Layout (native byte order, version BAYES_TABLE_VERSION): a 48-byte header {magic, version,
 * nslots, nused, nspam, nham, reserved} followed by nslots slots of {u64 token hash, u32
 * spam, u32 ham}. nslots is a power of two; a token's home slot is the top bits of hash *
 * 2^64/phi (Fibonacci hashing), collisions probe linearly, and a slot whose hash is 0 is empty
 * (a token hash of 0 is stored as 1: a 2^-64 chance of merging two tokens). The table is kept
 * at most half full (an absent token costs 2.5 probes on average, most in one cache line) and
 * doubles when a learn could pass that. Deletion (both counts back to 0) shifts the following
 * run back instead of leaving tombstones, so unlearning everything leaves an empty table.
 *
 * Pure functions over memory: the LMDB transactions are bayes_db.c's.
 */
#ifndef MX_SCAN_BAYES_TABLE_H
#define MX_SCAN_BAYES_TABLE_H

#include <stddef.h>
#include <stdint.h>

#define BAYES_TABLE_MAGIC 0x31544242u /* "BBT1" */
#define BAYES_TABLE_VERSION 1
/* 64 KiB: a first learn does not rehash a dozen times on its way up. */
#define BAYES_TABLE_MIN_SLOTS 4096
/* 2^31 slots (32 GiB) is past BAYES_MAP_SIZE anyway: a header asking for more is corrupt. */
#define BAYES_TABLE_MAX_SLOTS (1ULL << 31)

struct bayes_table {
	uint32_t magic, version;
	uint64_t nslots, nused;
	uint64_t nspam, nham; /* messages learned per class */
	uint64_t reserved;
};

struct bayes_slot {
	uint64_t h;
	uint32_t spam, ham;
};

static inline struct bayes_slot *bayes_table_slots(struct bayes_table *t)
{
	return (struct bayes_slot *)(t + 1);
}

static inline const struct bayes_slot *bayes_table_cslots(const struct bayes_table *t)
{
	return (const struct bayes_slot *)(t + 1);
}

static inline uint64_t bayes_table_key(uint64_t h)
{
	return h ? h : 1;
}

static inline uint64_t bayes_table_home(const struct bayes_table *t, uint64_t key, unsigned shift)
{
	return (key * 0x9e3779b97f4a7c15ULL) >> shift;
}

/* Bytes of a table of nslots slots. */
size_t bayes_table_size(uint64_t nslots);
/* Slots for a table that holds n tokens at most half full (a power of two, at least
 * BAYES_TABLE_MIN_SLOTS). */
uint64_t bayes_table_slots_for(uint64_t n);
/* 0 when the len bytes at p are a table of this version (the header agrees with len), else
 * -EIO. Readers call it once per transaction, then trust the slots. */
int bayes_table_check(const void *p, size_t len);
/* The shift for bayes_table_home() of a checked table. */
unsigned bayes_table_shift(const struct bayes_table *t);
/* An empty table of nslots slots at p (bayes_table_size(nslots) bytes). */
void bayes_table_init(struct bayes_table *t, uint64_t nslots);
/* The slot of token h, NULL when absent. Inline: a classify looks up every feature of a
 * message, and the call was a third of a lookup's instructions. */
static inline const struct bayes_slot *bayes_table_find(const struct bayes_table *t,
							 unsigned shift, uint64_t h)
{
	const struct bayes_slot *s = bayes_table_cslots(t);
	uint64_t key = bayes_table_key(h), mask = t->nslots - 1;

	/* at most half full, so an empty slot ends every probe sequence */
	for (uint64_t i = bayes_table_home(t, key, shift);; i = (i + 1) & mask) {
		if (s[i].h == key)
			return &s[i];
		if (s[i].h == 0)
			return NULL;
	}
}
/* Set token h's counts (both 0: remove it). The caller keeps nused + 1 within the table (see
 * bayes_table_slots_for); returns -ENOSPC when the table is full all the same. */
int bayes_table_set(struct bayes_table *t, uint64_t h, uint32_t spam, uint32_t ham);
/* Add delta (+1/-1) to class spam (1) or ham (0) of token h: counts saturate at 0 and at
 * UINT32_MAX, a token whose counts both reach 0 is removed. 0 or -ENOSPC (table full). */
int bayes_table_add(struct bayes_table *t, uint64_t h, int spam, int delta);
/* Copy src's header counts and tokens into dst, an empty table (bayes_table_init) with room. */
void bayes_table_rehash(struct bayes_table *dst, const struct bayes_table *src);

#endif
