/*
 * stats - the shared-memory counter segment: mapping, slot claiming, lock-free updates and the
 * summing readers.
 *
 * The segment is one file, <home>/run/stats.shm, mapped MAP_SHARED by the master (which creates
 * and zeroes it at boot) and by every child, the web process and `mxtower status`. Writers touch
 * only their own slot, with relaxed atomics: a counter read by the web process may be a few
 * increments behind, never torn. Claiming a slot is rare (process start) and uses one
 * compare-and-swap on the slot's pid, so two children starting at once never share a slot.
 *
 * Limits: STAT_SLOTS processes per node (a claim beyond that returns NULL and the process runs
 * uncounted, with a warning); kind names up to STAT_KIND_MAX - 1 bytes.
 */
#include "core/stats.h"

#include "core/fsutil.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STATS_MAGIC 0x6d78746f77657231ULL /* "mxtower1" */
#define STATS_VERSION 1

/*
 * Latency buckets: 1 ms to 30 s. Most scans finish in tens of milliseconds; the upper buckets
 * show the tail up to (and beyond) the default scan deadline.
 */
const uint64_t stats_latency_bounds_us[STAT_LAT_BUCKETS - 1] = {
	1000,   2500,   5000,    10000,   25000,   50000,
	100000, 250000, 1000000, 5000000, 30000000,
};

static const char *const counter_names[STAT__COUNT] = {
	[STAT_CONNECTIONS] = "connections",
	[STAT_MSG_ACCEPTED] = "messages_accepted",
	[STAT_MSG_REJECTED] = "messages_rejected",
	[STAT_MSG_QUARANTINED] = "messages_quarantined",
	[STAT_MSG_DELIVERED] = "messages_delivered",
	[STAT_MSG_DEFERRED] = "deferrals",
	[STAT_MSG_BOUNCED] = "bounces",
	[STAT_MSG_UNSCANNED] = "messages_unscanned",
	[STAT_BYTES_IN] = "bytes_in",
	[STAT_BYTES_OUT] = "bytes_out",
	[STAT_SCANS] = "scans",
	[STAT_SCAN_CRASHES] = "scanner_crashes",
	[STAT_RESTARTS] = "process_restarts",
	[STAT_SESSIONS_REFUSED] = "sessions_refused",
};

static const char *const gauge_names[STAT__GAUGES] = {
	[STAT_G_QUEUE_ACTIVE] = "queue_active",
	[STAT_G_QUEUE_DEFERRED] = "queue_deferred",
	[STAT_G_QUEUE_HOLD] = "queue_hold",
	[STAT_G_QUEUE_QUARANTINE] = "queue_quarantine",
	[STAT_G_QUEUE_UNSCANNED] = "queue_unscanned",
	[STAT_G_OLDEST_AGE] = "oldest_age_seconds",
	[STAT_G_SESSIONS] = "sessions",
	[STAT_G_MAINTENANCE] = "maintenance",
};

/* This process's slot; NULL until stats_claim(), and then every update is a no-op. */
static struct stat_slot *stats_self;

static uint64_t stats_now(void)
{
	return (uint64_t)time(NULL);
}

struct stat_segment *stats_map(const struct config *cfg, int create)
{
	char dir[CONFIG_PATH], path[CONFIG_PATH];
	struct stat_segment *seg = NULL;
	struct stat st;
	void *p;
	int fd = -1;

	if (config_path(cfg, "run", dir, sizeof dir) < 0 ||
	    config_path(cfg, "run/stats.shm", path, sizeof path) < 0)
		return NULL;
	if (create) {
		if (fs_mkdir_p(dir, 0750) < 0) {
			log_warn("stats: cannot create %s: %s", dir, strerror(errno));
			return NULL;
		}
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	} else {
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0 && (errno == EACCES || errno == EROFS))
			fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		goto out;
	if (create && ftruncate(fd, sizeof *seg) < 0) {
		log_warn("stats: cannot size %s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0 || (size_t)st.st_size < sizeof *seg)
		goto out;
	int writable = (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR;
	p = mmap(NULL, sizeof *seg, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd,
		 0);
	if (p == MAP_FAILED) {
		log_warn("stats: cannot map %s: %s", path, strerror(errno));
		goto out;
	}
	seg = p;
	if (create) {
		memset(seg, 0, sizeof *seg);
		seg->version = STATS_VERSION;
		seg->boot = stats_now();
		/* Magic last: a reader that sees it sees a zeroed, versioned segment. */
		__atomic_store_n(&seg->magic, STATS_MAGIC, __ATOMIC_RELEASE);
	} else if (__atomic_load_n(&seg->magic, __ATOMIC_ACQUIRE) != STATS_MAGIC ||
		   seg->version != STATS_VERSION) {
		munmap(seg, sizeof *seg);
		seg = NULL;
	}
out:
	if (fd >= 0)
		close(fd);
	return seg;
}

/* Fill a slot this process now owns. */
static void stats_slot_start(struct stat_slot *s, int reused)
{
	uint64_t now = stats_now();

	if (reused)
		__atomic_fetch_add(&s->restarts, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&s->started, now, __ATOMIC_RELAXED);
	__atomic_store_n(&s->heartbeat, now, __ATOMIC_RELAXED);
	__atomic_store_n(&s->alive, 1, __ATOMIC_RELEASE);
}

struct stat_slot *stats_claim(struct stat_segment *seg, const char *kind, int index)
{
	int32_t me = (int32_t)getpid();

	if (seg == NULL || kind == NULL || kind[0] == '\0' || strlen(kind) >= STAT_KIND_MAX)
		return NULL;
	/* A restarted process continues in the slot of its kind and index. */
	for (int i = 0; i < STAT_SLOTS; i++) {
		struct stat_slot *s = &seg->slot[i];
		if (s->kind[0] != '\0' && s->index == index &&
		    strncmp(s->kind, kind, STAT_KIND_MAX) == 0) {
			int reused = s->started != 0;
			__atomic_store_n(&s->pid, me, __ATOMIC_RELAXED);
			stats_slot_start(s, reused);
			stats_self = s;
			return s;
		}
	}
	/* A fresh slot: one that never had a kind, taken by swapping its pid from 0. */
	for (int i = 0; i < STAT_SLOTS; i++) {
		struct stat_slot *s = &seg->slot[i];
		int32_t expect = 0;
		if (__atomic_load_n(&s->kind[0], __ATOMIC_ACQUIRE) != '\0')
			continue;
		if (!__atomic_compare_exchange_n(&s->pid, &expect, me, 0, __ATOMIC_ACQ_REL,
						 __ATOMIC_RELAXED))
			continue;
		if (s->kind[0] != '\0') { /* named between our check and our swap */
			__atomic_store_n(&s->pid, expect, __ATOMIC_RELAXED);
			continue;
		}
		s->index = index;
		memcpy(s->kind + 1, kind + 1, strlen(kind));
		__atomic_store_n(&s->kind[0], kind[0], __ATOMIC_RELEASE);
		stats_slot_start(s, 0);
		stats_self = s;
		return s;
	}
	log_warn("stats: all %d slots taken, kind=%s index=%d runs uncounted", STAT_SLOTS, kind,
		 index);
	return NULL;
}

void stats_release_pid(struct stat_segment *seg, pid_t pid)
{
	if (seg == NULL || pid <= 0)
		return;
	for (int i = 0; i < STAT_SLOTS; i++) {
		struct stat_slot *s = &seg->slot[i];
		if (__atomic_load_n(&s->pid, __ATOMIC_RELAXED) == (int32_t)pid &&
		    s->kind[0] != '\0') {
			__atomic_store_n(&s->alive, 0, __ATOMIC_RELEASE);
			__atomic_store_n(&s->pid, 0, __ATOMIC_RELAXED);
		}
	}
}

void stats_add(enum stat_counter c, uint64_t n)
{
	if (stats_self == NULL || (unsigned)c >= STAT__COUNT)
		return;
	__atomic_fetch_add(&stats_self->counters[c], n, __ATOMIC_RELAXED);
}

void stats_gauge(enum stat_gauge g, int64_t v)
{
	if (stats_self == NULL || (unsigned)g >= STAT__GAUGES)
		return;
	__atomic_store_n(&stats_self->gauges[g], v, __ATOMIC_RELAXED);
}

void stats_latency(uint64_t usec)
{
	int b = 0;

	if (stats_self == NULL)
		return;
	while (b < STAT_LAT_BUCKETS - 1 && usec > stats_latency_bounds_us[b])
		b++;
	__atomic_fetch_add(&stats_self->latency[b], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&stats_self->latency_sum_us, usec, __ATOMIC_RELAXED);
}

void stats_heartbeat(void)
{
	if (stats_self != NULL)
		__atomic_store_n(&stats_self->heartbeat, stats_now(), __ATOMIC_RELAXED);
}

uint64_t stats_sum(const struct stat_segment *seg, const char *kind, enum stat_counter c)
{
	uint64_t sum = 0;

	if (seg == NULL || (unsigned)c >= STAT__COUNT)
		return 0;
	for (int i = 0; i < STAT_SLOTS; i++) {
		const struct stat_slot *s = &seg->slot[i];
		if (s->kind[0] == '\0')
			continue;
		if (kind != NULL && strncmp(s->kind, kind, STAT_KIND_MAX) != 0)
			continue;
		sum += __atomic_load_n(&s->counters[c], __ATOMIC_RELAXED);
	}
	return sum;
}

const char *stats_counter_name(enum stat_counter c)
{
	if ((unsigned)c >= STAT__COUNT || counter_names[c] == NULL)
		return "unknown";
	return counter_names[c];
}

const char *stats_gauge_name(enum stat_gauge g)
{
	if ((unsigned)g >= STAT__GAUGES || gauge_names[g] == NULL)
		return "unknown";
	return gauge_names[g];
}
