/*
 * sort - see sort.h.
 */
#include "core/sort.h"

/* Below this many elements insertion sort beats partitioning. */
#define SORT_SMALL 16

void sort_u64_insertion(uint64_t *a, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		uint64_t v = a[i];
		size_t k = i;

		while (k > 0 && a[k - 1] > v) {
			a[k] = a[k - 1];
			k--;
		}
		a[k] = v;
	}
}

void sort_u64(uint64_t *a, size_t n)
{
	while (n > SORT_SMALL) {
		uint64_t x = a[0], y = a[n / 2], z = a[n - 1], pivot, t;
		size_t i = 0, j = n - 1;

		pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
		for (;;) {
			while (a[i] < pivot)
				i++;
			while (a[j] > pivot)
				j--;
			if (i >= j)
				break;
			t = a[i];
			a[i++] = a[j];
			a[j--] = t;
		}
		/* [0, j] <= pivot <= [j + 1, n) */
		if (j + 1 < n - j - 1) {
			sort_u64(a, j + 1);
			a += j + 1;
			n -= j + 1;
		} else {
			sort_u64(a + j + 1, n - j - 1);
			n = j + 1;
		}
	}
	sort_u64_insertion(a, n);
}
