/*
 * tokenize_sort - the sink's finish: its feature hashes sorted and deduplicated (see
 * tok_sink_finish in tokenize.h). Apart from the word scanner because it is its own concept:
 * a sort tuned for uniform 64-bit hashes that stays O(n log n) on hashes made to collide.
 * Nothing here allocates; the counts of the distribution live on the stack (16 KiB at most).
 */
#include "scan/tokenize.h"

#include "core/sort.h"

#include <stdlib.h>
#include <string.h>

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Below this many hashes distributing them costs more than it saves. */
#define TOK_SORT_DISTRIBUTE 64
/* At most 2^11 buckets: two counts arrays of 8 KiB on the stack. */
#define TOK_SORT_BITS_MAX 11

/*
 * Sort feature hashes ascending. They are uniform (FNV with a final avalanche), so one in-place
 * distribution by their top bits into n/4 to n/2 buckets (American flag sort) leaves each hash
 * within two to four places of its own, and one insertion pass over the whole array finishes
 * in about n steps: a third of the quicksort's instructions on a corpus message. A bucket that
 * holds more than SORT_SMALL (a message made to collide in the top bits) is sorted by
 * sort_u64 first, so such a message still costs O(n log n).
 */
static void hash_sort(uint64_t *a, size_t n)
{
	uint32_t start[(1u << TOK_SORT_BITS_MAX) + 1], next[1u << TOK_SORT_BITS_MAX];
	unsigned bits = 1, shift;
	size_t nb;

	if (n < TOK_SORT_DISTRIBUTE || n > UINT32_MAX) {
		sort_u64(a, n);
		return;
	}
	while (bits < TOK_SORT_BITS_MAX && ((size_t)4 << bits) < n)
		bits++;
	shift = 64 - bits;
	nb = (size_t)1 << bits;
	memset(next, 0, nb * sizeof *next);
	for (size_t i = 0; i < n; i++)
		next[a[i] >> shift]++;
	start[0] = 0;
	for (size_t b = 0; b < nb; b++) {
		start[b + 1] = start[b] + next[b];
		next[b] = start[b];
	}
	/* cycle each misplaced hash to the next free place of its bucket */
	for (size_t b = 0; b < nb; b++)
		while (next[b] < start[b + 1]) {
			uint64_t v = a[next[b]];
			size_t d = (size_t)(v >> shift);

			while (d != b) {
				uint64_t t = a[next[d]];

				a[next[d]++] = v;
				v = t;
				d = (size_t)(v >> shift);
			}
			a[next[b]++] = v;
		}
	for (size_t b = 0; b < nb; b++)
		if (start[b + 1] - start[b] > SORT_SMALL)
			sort_u64(a + start[b], start[b + 1] - start[b]);
	sort_u64_insertion(a, n);
}

size_t tok_sink_finish(struct tok_sink *s)
{
	size_t w = 0;

	if (s->n == 0)
		return 0;
	hash_sort(s->h, s->n);
	for (size_t r = 1; r < s->n; r++)
		if (s->h[r] != s->h[w])
			s->h[++w] = s->h[r];
	s->n = w + 1;
	return s->n;
}

int tok_sink_has(const struct tok_sink *s, const char *prefix, const char *str)
{
	struct tok_sink one;
	uint64_t h;

	one.h = &h;
	one.n = 0;
	one.max = 1;
	tok_sink_add(&one, prefix, str, strlen(str));
	return bsearch(&h, s->h, s->n, sizeof *s->h, u64_cmp) != NULL;
}
