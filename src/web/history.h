/*
 * history - the node's metrics over time, in two rings: one sample per second for 15 minutes
 * and one per minute for 48 hours, plus a ring of recent events (restarts, crashes, colour
 * changes) for the server page's "last errors".
 *
 * The rings live in one file, <home>/db/history.ring, mapped MAP_SHARED: every sample the web
 * process records is in the page cache at once, so a crash or restart of the web process loses
 * nothing, and `mxtower status` reads the same file. One writer (the web process's sampler);
 * readers in other processes may see a sample being written and skip it (its time is stored
 * last). Within the web process a mutex orders the sampler and the HTTP thread.
 *
 * Samples hold cumulative counters as read from the stats segment; rates are differences of
 * neighbours, and a counter that went down (the master restarted and zeroed the segment) counts
 * as a reset, not a negative rate.
 */
#ifndef MX_WEB_HISTORY_H
#define MX_WEB_HISTORY_H

#include "core/config.h"
#include "core/stats.h"
#include "web/colour.h"

#include <stddef.h>
#include <stdint.h>

#define HIST_SECONDS 900   /* 15 minutes at 1 s: the live graphs */
#define HIST_MINUTES 2880  /* 48 hours at 1 min: two days of trend */
#define HIST_EVENTS 64     /* the last errors page shows a screenful */
#define HIST_EVENT_TEXT 200

struct hist_sample {
	uint64_t t;         /* unix time; 0 = empty slot */
	uint64_t heartbeat; /* the node's last report (see history_sample_take) */
	uint64_t counters[STAT__COUNT];
	int64_t gauges[STAT__GAUGES];
	uint64_t latency[STAT_LAT_BUCKETS];
	uint64_t latency_sum_us;
	uint32_t scan_live;  /* scan workers alive */
	uint32_t procs_live; /* processes alive */
	uint32_t colour;     /* enum colour decided for this sample */
	uint32_t reserved;
};

struct hist_event {
	uint64_t t;
	char text[HIST_EVENT_TEXT];
};

struct history;

/*
 * Open (writable: create or reset a file of another layout) or map read-only. NULL on error
 * (read-only: also when the file does not exist yet).
 */
struct history *history_open(const struct config *cfg, int writable);
void history_close(struct history *h);

/* Append a sample to the seconds ring, and to the minutes ring at each new minute. */
void history_record(struct history *h, const struct hist_sample *s);
/* Copy samples with t >= since, oldest first, at most max; minutes = the 1-minute ring. */
size_t history_get(struct history *h, int minutes, uint64_t since, struct hist_sample *out,
		   size_t max);
/* Add an event line (text is copied, cut at HIST_EVENT_TEXT - 1 bytes). */
void history_event_add(struct history *h, uint64_t t, const char *text);
/* The newest events first, at most max. */
size_t history_events(struct history *h, struct hist_event *out, size_t max);

/*
 * Read the stats segment into a sample: counters summed over all slots, gauges over live slots
 * (oldest age as the maximum), liveness by the slot's flag and its pid. The node's report time is
 * now while its master (or, without a master slot, any process) is alive, else the newest
 * heartbeat it left.
 */
void history_sample_take(const struct stat_segment *seg, uint64_t now, struct hist_sample *out);

/* A process slot is alive: flagged alive and its pid still exists. */
int history_slot_live(const struct stat_slot *s);

/* Messages per sample: accepted + rejected + quarantined (every message a client sent us). */
uint64_t history_msgs(const struct hist_sample *s);
/* Counter difference b - a, treating a decrease as a reset to zero in between. */
uint64_t history_delta(uint64_t a, uint64_t b);

/*
 * The colour rules' input from recorded samples (oldest first): secs from the seconds ring,
 * mins from the minutes ring (may be empty). Fills the metric-derived fields of in; the caller
 * sets maintenance, spec_msgs, yellow_at, scan_configured and delay_red. Pure.
 */
void history_colour_input(struct colour_input *in, uint64_t now, const struct hist_sample *secs,
			  size_t nsecs, const struct hist_sample *mins, size_t nmins);

#endif
