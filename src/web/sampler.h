/*
 * sampler - once a second, in the web process: read the stats segment into a history sample,
 * decide the node's colour, record both, and note events (a process died or restarted, a
 * scanner crashed, the colour changed) in the history's event ring for the "last errors" view.
 *
 * Owner: the web process's main thread; one sampler per node.
 */
#ifndef MX_WEB_SAMPLER_H
#define MX_WEB_SAMPLER_H

#include "core/config.h"
#include "core/stats.h"
#include "web/history.h"

struct sampler {
	int have_prev;
	struct hist_sample prev;
	int32_t pid[STAT_SLOTS];
	uint64_t restarts[STAT_SLOTS];
	char reason[COLOUR_REASON_MAX];
};

void sampler_init(struct sampler *s);
void sampler_tick(struct sampler *s, const struct config *cfg, const struct stat_segment *seg,
		  struct history *h, uint64_t now);

#endif
