/*
 * stats - counters in a shared-memory segment of per-process slots, written with relaxed
 * atomics and no locks on the hot path, read by the web process (and `mxtower status`).
 *
 * The segment is a file <home>/run/stats.shm mapped MAP_SHARED. Each process claims a slot at
 * start (by kind and pid); the master marks a slot dead when its process exits. Counters are
 * monotonic per slot; a slot of a restarted process keeps its kind's totals (the new process
 * reuses the slot of the same kind and index and continues from its values).
 */
#ifndef MX_CORE_STATS_H
#define MX_CORE_STATS_H

#include "core/config.h"

#include <stdint.h>
#include <sys/types.h>

enum stat_counter {
	STAT_CONNECTIONS,
	STAT_MSG_ACCEPTED,
	STAT_MSG_REJECTED,
	STAT_MSG_QUARANTINED,
	STAT_MSG_DELIVERED,
	STAT_MSG_DEFERRED,
	STAT_MSG_BOUNCED,
	STAT_MSG_UNSCANNED,  /* committed unscanned (no scanner in time) */
	STAT_BYTES_IN,
	STAT_BYTES_OUT,
	STAT_SCANS,
	STAT_SCAN_CRASHES,   /* bumped by the master when a scan worker dies */
	STAT_RESTARTS,       /* bumped by the master for every child restart */
	STAT_SESSIONS_REFUSED,
	STAT__COUNT
};

enum stat_gauge {
	STAT_G_QUEUE_ACTIVE,
	STAT_G_QUEUE_DEFERRED,
	STAT_G_QUEUE_HOLD,
	STAT_G_QUEUE_QUARANTINE,
	STAT_G_QUEUE_UNSCANNED,
	STAT_G_OLDEST_AGE,   /* seconds, oldest message in active+deferred */
	STAT_G_SESSIONS,
	STAT_G_MAINTENANCE,  /* 1 when the operator set maintenance */
	STAT__GAUGES
};

/* Scan latency histogram upper bounds in microseconds; the last bucket is +Inf. */
#define STAT_LAT_BUCKETS 12
extern const uint64_t stats_latency_bounds_us[STAT_LAT_BUCKETS - 1];

#define STAT_SLOTS 64
#define STAT_KIND_MAX 16

struct stat_slot {
	char kind[STAT_KIND_MAX]; /* "master", "smtpd", "qmgr", "scan", "web" */
	int32_t index;            /* nth process of that kind */
	int32_t pid;              /* 0 = free */
	uint64_t alive;           /* 1 while the process runs */
	uint64_t started;         /* unix time */
	uint64_t heartbeat;       /* unix time of the last tick */
	uint64_t restarts;
	uint64_t counters[STAT__COUNT];
	uint64_t latency[STAT_LAT_BUCKETS];
	uint64_t latency_sum_us;
	int64_t gauges[STAT__GAUGES];
};

struct stat_segment {
	uint64_t magic, version;
	uint64_t boot;        /* unix time the master started */
	struct stat_slot slot[STAT_SLOTS];
};

/* Map the segment (create = master only, sized and zeroed). NULL on error. */
struct stat_segment *stats_map(const struct config *cfg, int create);
/* Claim (or re-claim) the slot for kind/index in this process; later stats_* calls use it. */
struct stat_slot *stats_claim(struct stat_segment *seg, const char *kind, int index);
/* Master: a child of that pid exited. */
void stats_release_pid(struct stat_segment *seg, pid_t pid);

void stats_add(enum stat_counter c, uint64_t n);
static inline void stats_inc(enum stat_counter c)
{
	stats_add(c, 1);
}
void stats_gauge(enum stat_gauge g, int64_t v);
void stats_latency(uint64_t usec);
void stats_heartbeat(void);

/* Readers: sum a counter over all slots (optionally of one kind, NULL = all). */
uint64_t stats_sum(const struct stat_segment *seg, const char *kind, enum stat_counter c);
const char *stats_counter_name(enum stat_counter c);
const char *stats_gauge_name(enum stat_gauge g);

#endif
