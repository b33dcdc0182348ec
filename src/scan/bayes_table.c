/*
 * bayes_table - open-addressing hash table of token counts in one LMDB value (layout and
 * limits in bayes_table.h). Linear probing; deletion by backward shift.
 */
#include "scan/bayes_table.h"

#include <errno.h>
#include <string.h>

size_t bayes_table_size(uint64_t nslots)
{
	return sizeof(struct bayes_table) + (size_t)nslots * sizeof(struct bayes_slot);
}

uint64_t bayes_table_slots_for(uint64_t n)
{
	uint64_t s = BAYES_TABLE_MIN_SLOTS;

	while (s < BAYES_TABLE_MAX_SLOTS && s / 2 < n)
		s *= 2;
	return s;
}

int bayes_table_check(const void *p, size_t len)
{
	const struct bayes_table *t = p;

	if (len < sizeof *t || t->magic != BAYES_TABLE_MAGIC || t->version != BAYES_TABLE_VERSION)
		return -EIO;
	if (t->nslots < BAYES_TABLE_MIN_SLOTS || t->nslots > BAYES_TABLE_MAX_SLOTS ||
	    (t->nslots & (t->nslots - 1)) != 0 || t->nused >= t->nslots ||
	    len != bayes_table_size(t->nslots))
		return -EIO;
	return 0;
}

unsigned bayes_table_shift(const struct bayes_table *t)
{
	return 64u - (unsigned)__builtin_ctzll(t->nslots);
}

void bayes_table_init(struct bayes_table *t, uint64_t nslots)
{
	memset(t, 0, bayes_table_size(nslots));
	t->magic = BAYES_TABLE_MAGIC;
	t->version = BAYES_TABLE_VERSION;
	t->nslots = nslots;
}

/* The slot of key or the empty slot that ends its run; NULL when the table is full. */
static struct bayes_slot *slot_for(struct bayes_table *t, unsigned shift, uint64_t key)
{
	struct bayes_slot *s = bayes_table_slots(t);
	uint64_t mask = t->nslots - 1, i = bayes_table_home(t, key, shift);

	for (uint64_t n = 0; n < t->nslots; n++, i = (i + 1) & mask)
		if (s[i].h == key || s[i].h == 0)
			return &s[i];
	return NULL;
}

/* Remove slot at (occupied): shift back every later entry of the run that may move. */
static void slot_remove(struct bayes_table *t, unsigned shift, struct bayes_slot *at)
{
	struct bayes_slot *s = bayes_table_slots(t);
	uint64_t mask = t->nslots - 1, hole = (uint64_t)(at - s), i = hole;

	for (;;) {
		i = (i + 1) & mask;
		if (s[i].h == 0)
			break;
		uint64_t home = bayes_table_home(t, s[i].h, shift);

		/* s[i] may fill the hole when its home is not in (hole, i] (cyclically) */
		if (((i - home) & mask) >= ((i - hole) & mask)) {
			s[hole] = s[i];
			hole = i;
		}
	}
	memset(&s[hole], 0, sizeof s[hole]);
	t->nused--;
}

int bayes_table_set(struct bayes_table *t, uint64_t h, uint32_t spam, uint32_t ham)
{
	unsigned shift = bayes_table_shift(t);
	uint64_t key = bayes_table_key(h);
	struct bayes_slot *s = slot_for(t, shift, key);

	if (s == NULL)
		return -ENOSPC;
	if (s->h == 0) {
		if (spam == 0 && ham == 0)
			return 0;
		if (t->nused + 1 >= t->nslots)
			return -ENOSPC; /* keep one empty slot: it ends every probe */
		s->h = key;
		t->nused++;
	} else if (spam == 0 && ham == 0) {
		slot_remove(t, shift, s);
		return 0;
	}
	s->spam = spam;
	s->ham = ham;
	return 0;
}

int bayes_table_add(struct bayes_table *t, uint64_t h, int spam, int delta)
{
	const struct bayes_slot *s = bayes_table_find(t, bayes_table_shift(t), h);
	uint32_t c[2] = {s ? s->ham : 0, s ? s->spam : 0};
	uint32_t *f = &c[spam ? 1 : 0];

	if (delta > 0) {
		if (*f < UINT32_MAX)
			(*f)++;
	} else if (*f > 0) {
		(*f)--;
	} else {
		return 0; /* unlearning what is not there (a partly lost store): nothing to do */
	}
	return bayes_table_set(t, h, c[1], c[0]);
}

void bayes_table_rehash(struct bayes_table *dst, const struct bayes_table *src)
{
	const struct bayes_slot *s = bayes_table_cslots(src);

	dst->nspam = src->nspam;
	dst->nham = src->nham;
	for (uint64_t i = 0; i < src->nslots; i++)
		if (s[i].h)
			bayes_table_set(dst, s[i].h, s[i].spam, s[i].ham);
}
