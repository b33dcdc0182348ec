/*
 * fuzz_fuzzy - the text fingerprint (scan/fuzzy_shingle: the normalised word pass, shingles,
 * the one-permutation min-hash and the densification of empty bins) on arbitrary bytes.
 * Invariants: 0 or -ENODATA; a fingerprint that is made has no empty bin, each value's top
 * five bits name a bin, the same text gives the same fingerprint, and it agrees with itself in
 * every bin. A broken invariant aborts.
 */
#include "scan/fuzzy.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzzy_sig a, b;
	int r = fuzzy_sig_make((const char *)data, size, &a);

	if (r != 0 && r != -ENODATA)
		abort();
	/* field by field: the struct's padding after nwords is not part of a fingerprint */
	if (fuzzy_sig_make((const char *)data, size, &b) != r || a.nwords != b.nwords ||
	    memcmp(a.mh, b.mh, sizeof a.mh) != 0)
		abort();
	if (r == 0) {
		for (unsigned i = 0; i < FUZZY_NHASH; i++)
			if (a.mh[i] == UINT64_MAX || (a.mh[i] >> 59) >= FUZZY_NHASH)
				abort();
		if (fuzzy_sig_similarity(&a, &b) != FUZZY_NHASH)
			abort();
	}
	return 0;
}
