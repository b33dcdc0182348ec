/*
 * sort - ascending sorts by a 64-bit key with the comparison inlined (qsort's callback per
 * comparison was a fifth of the tokenizer's cost and 19 K instructions of a fuzzy lookup).
 * In place; nothing allocates; the recursion goes into the smaller side, so it stays
 * O(log n) deep.
 */
#ifndef MX_CORE_SORT_H
#define MX_CORE_SORT_H

#include <stddef.h>
#include <stdint.h>

/* Quicksort with a median-of-three pivot down to short ranges, then insertion sort. */
void sort_u64(uint64_t *a, size_t n);
/* Insertion sort: O(n) on an array where every element is a few places from its own. */
void sort_u64_insertion(uint64_t *a, size_t n);

/* Below this many elements insertion sort beats partitioning. */
#define SORT_SMALL 16

/*
 * SORT_BY_KEY(LINKAGE, NAME, TYPE, KEY) defines NAME(TYPE *a, size_t n) and
 * NAME##_insertion(TYPE *a, size_t n), the two sorts above for an array of TYPE ordered by
 * the uint64_t KEY(element) (a function-like macro), with LINKAGE (static, or empty). Not
 * stable: elements with equal keys may change order. sort_u64 is SORT_BY_KEY(, sort_u64,
 * uint64_t, SORT_KEY_SELF).
 */
#define SORT_KEY_SELF(x) (x)
#define SORT_BY_KEY(LINKAGE, NAME, TYPE, KEY)                                                      \
	LINKAGE void NAME##_insertion(TYPE *a, size_t n)                                           \
	{                                                                                          \
		for (size_t i = 1; i < n; i++) {                                                   \
			TYPE v = a[i];                                                             \
			size_t k = i;                                                              \
                                                                                                   \
			while (k > 0 && KEY(a[k - 1]) > KEY(v)) {                                  \
				a[k] = a[k - 1];                                                   \
				k--;                                                               \
			}                                                                          \
			a[k] = v;                                                                  \
		}                                                                                  \
	}                                                                                          \
                                                                                                   \
	LINKAGE void NAME(TYPE *a, size_t n)                                                       \
	{                                                                                          \
		while (n > SORT_SMALL) {                                                           \
			uint64_t x = KEY(a[0]), y = KEY(a[n / 2]), z = KEY(a[n - 1]), pivot;       \
			size_t i = 0, j = n - 1;                                                   \
			TYPE t;                                                                    \
                                                                                                   \
			pivot = x < y ? (y < z ? y : (x < z ? z : x))                              \
			              : (x < z ? x : (y < z ? z : y));                             \
			for (;;) {                                                                 \
				while (KEY(a[i]) < pivot)                                          \
					i++;                                                       \
				while (KEY(a[j]) > pivot)                                          \
					j--;                                                       \
				if (i >= j)                                                        \
					break;                                                     \
				t = a[i];                                                          \
				a[i++] = a[j];                                                     \
				a[j--] = t;                                                        \
			}                                                                          \
			/* [0, j] <= pivot <= [j + 1, n) */                                        \
			if (j + 1 < n - j - 1) {                                                   \
				NAME(a, j + 1);                                                    \
				a += j + 1;                                                        \
				n -= j + 1;                                                        \
			} else {                                                                   \
				NAME(a + j + 1, n - j - 1);                                        \
				n = j + 1;                                                         \
			}                                                                          \
		}                                                                                  \
		NAME##_insertion(a, n);                                                            \
	}

#endif
