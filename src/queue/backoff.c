/*
 * backoff - see backoff.h.
 */
#include "queue/backoff.h"

uint64_t queue_backoff(uint32_t attempts, uint64_t retry_min, uint64_t retry_max)
{
	uint64_t d = retry_min;

	if (retry_max < retry_min)
		return retry_min;
	for (uint32_t i = 1; i < attempts; i++) {
		/* Doubling past the cap is pointless and could overflow: stop at the cap. */
		if (d >= retry_max / 2 + (retry_max & 1) || d > UINT64_MAX / 2)
			return retry_max;
		d *= 2;
	}
	return d < retry_max ? d : retry_max;
}
