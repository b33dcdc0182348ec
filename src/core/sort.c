/*
 * sort - see sort.h.
 */
#include "core/sort.h"

SORT_BY_KEY(, sort_u64, uint64_t, SORT_KEY_SELF)
