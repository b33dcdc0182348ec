/*
 * parse - the one checked integer parser, and host:port splitting. Nothing here allocates.
 */
#ifndef MX_CORE_PARSE_H
#define MX_CORE_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Decimal only, whole string, within [min, max]. 0 or -EINVAL / -ERANGE; *out untouched on error. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Same, over a (p, len) slice. */
int parse_u64_n(const char *p, size_t len, uint64_t min, uint64_t max, uint64_t *out);
/* "1500", "64k", "10M", "1G" (binary multiples). */
int parse_size(const char *s, uint64_t *out);
/* "30", "30s", "5m", "2h", "3d" into seconds. */
int parse_duration(const char *s, uint64_t *out);
/*
 * "host:port", "[v6]:port". host is copied into host (hostsz, NUL-terminated); 0 or -EINVAL.
 */
int parse_hostport(const char *s, char *host, size_t hostsz, uint16_t *port);

#endif
