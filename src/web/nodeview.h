/*
 * nodeview - everything the dashboard, the API and `mxtower status` say about one node, built
 * from the stats segment (now), the history rings (rates, crash times, growth) and the
 * maintenance flag, with its colour and reasons decided by colour_decide().
 *
 * Owner: the caller's storage (a plain value, no pointers into the segment). Building never
 * fails: a node without a segment or a history is reported as never having reported (purple).
 */
#ifndef MX_WEB_NODEVIEW_H
#define MX_WEB_NODEVIEW_H

#include "core/config.h"
#include "core/stats.h"
#include "web/colour.h"
#include "web/history.h"

#include <stdint.h>

/* Rates are averaged over this many seconds of the seconds ring: the bar should not flicker. */
#define NODEVIEW_RATE_WINDOW 5
/* Samples looked at for crash times and rates: the crash window with room to spare. */
#define NODEVIEW_RECENT 60

struct nodeview_proc {
	char kind[STAT_KIND_MAX];
	int index;
	int pid;
	int live;
	uint64_t started, heartbeat, restarts;
};

struct nodeview {
	char name[CONFIG_STR], tower[CONFIG_STR], datacentre[CONFIG_STR];
	uint64_t now, boot;
	struct colour_input in;
	struct colour_result colour;
	struct hist_sample cur; /* the newest sample (fresh from the segment when there is one) */
	double msgs_rate, delivered_rate, rejected_rate, bytes_in_rate, bytes_out_rate;
	uint64_t maintenance_since;
	int nprocs;
	struct nodeview_proc procs[STAT_SLOTS];
};

/* Build the view of this node. seg and h may be NULL. */
void nodeview_build(struct nodeview *v, const struct config *cfg, const struct stat_segment *seg,
		    struct history *h, uint64_t now);

/*
 * The colour of a sample set as the sampler records it: colour input from samples plus the
 * node's configuration and maintenance flag. Pure apart from reading nothing: the caller passes
 * the flag.
 */
void nodeview_colour(const struct config *cfg, int maintenance, uint64_t now,
		     const struct hist_sample *secs, size_t nsecs, const struct hist_sample *mins,
		     size_t nmins, struct colour_input *in, struct colour_result *out);

#endif
