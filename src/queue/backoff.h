/*
 * backoff - when to try a deferred message again: exponential backoff from queue.retry_min,
 * doubling per failed attempt, capped at queue.retry_max. A pure function, unit-tested.
 */
#ifndef MX_QUEUE_BACKOFF_H
#define MX_QUEUE_BACKOFF_H

#include <stdint.h>

/*
 * Seconds to wait after the attempts-th failed attempt (attempts >= 1; 0 is treated as 1):
 * min(retry_min * 2^(attempts-1), retry_max). Never overflows; retry_max below retry_min
 * yields retry_min.
 */
uint64_t queue_backoff(uint32_t attempts, uint64_t retry_min, uint64_t retry_max);

#endif
