/*
 * sort - ascending sorts of 64-bit integers with the comparison inlined (qsort's callback per
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

#endif
