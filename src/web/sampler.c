/*
 * sampler - the web process's once-a-second bookkeeping (see sampler.h).
 */
#include "web/sampler.h"

#include "core/log.h"
#include "web/maintenance.h"
#include "web/nodeview.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sampler_init(struct sampler *s)
{
	memset(s, 0, sizeof *s);
}

static void sampler_event(struct history *h, uint64_t now, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void sampler_event(struct history *h, uint64_t now, const char *fmt, ...)
{
	char text[HIST_EVENT_TEXT];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	history_event_add(h, now, text);
	log_info("event: %s", text);
}

/* Process deaths and restarts, seen as changes of each slot's pid and restart count. */
static void sampler_procs(struct sampler *s, const struct stat_segment *seg, struct history *h,
			  uint64_t now, uint64_t last_seen)
{
	for (int i = 0; i < STAT_SLOTS; i++) {
		const struct stat_slot *slot = &seg->slot[i];
		if (slot->kind[0] == '\0')
			continue;
		char kind[STAT_KIND_MAX];
		memcpy(kind, slot->kind, sizeof kind);
		kind[STAT_KIND_MAX - 1] = '\0';
		int32_t pid = history_slot_live(slot) ? slot->pid : 0;
		uint64_t restarts = slot->restarts;
		if (s->have_prev && s->pid[i] != 0 && pid != s->pid[i])
			sampler_event(h, now, "%s[%d] pid %d exited", kind, (int)slot->index,
				      (int)s->pid[i]);
		/* A fresh web process reports what restarted while no sampler was looking,
		 * itself included: the slots started after the history's last sample. */
		int missed = !s->have_prev && last_seen > 0 && restarts > 0 &&
			     slot->started >= last_seen;
		if ((s->have_prev && restarts > s->restarts[i]) || missed)
			sampler_event(h, now, "%s[%d] restarted as pid %d (restart %" PRIu64 ")", kind,
				      (int)slot->index, (int)slot->pid, restarts);
		s->pid[i] = pid;
		s->restarts[i] = restarts;
	}
}

void sampler_tick(struct sampler *s, const struct config *cfg, const struct stat_segment *seg,
		  struct history *h, uint64_t now)
{
	struct hist_sample *secs = calloc(NODEVIEW_RECENT + 1, sizeof *secs);
	struct hist_sample *mins = calloc(COLOUR_GROWTH_MINUTES + 2, sizeof *mins);
	struct colour_input in;
	struct colour_result res;
	struct hist_sample cur;
	size_t nsecs, nmins;

	if (secs == NULL || mins == NULL)
		goto out;
	history_sample_take(seg, now, &cur);
	nsecs = history_get(h, 0, now > NODEVIEW_RECENT ? now - NODEVIEW_RECENT : 0, secs,
			    NODEVIEW_RECENT);
	nmins = history_get(h, 1, 0, mins, COLOUR_GROWTH_MINUTES + 2);
	if (nsecs > 0 && secs[nsecs - 1].t >= now)
		goto out; /* already sampled this second */
	uint64_t last_seen = nsecs > 0 ? secs[nsecs - 1].t : 0;
	secs[nsecs++] = cur;
	int maint = maintenance_get(cfg, NULL);
	stats_gauge(STAT_G_MAINTENANCE, maint);
	nodeview_colour(cfg, maint, now, secs, nsecs, mins, nmins, &in, &res);
	cur.colour = res.colour;
	history_record(h, &cur);

	if (seg != NULL)
		sampler_procs(s, seg, h, now, last_seen);
	if (s->have_prev &&
	    cur.counters[STAT_SCAN_CRASHES] > s->prev.counters[STAT_SCAN_CRASHES])
		sampler_event(h, now, "scan worker crashed (%" PRIu64 " crashes since boot)",
			      cur.counters[STAT_SCAN_CRASHES]);
	if (!s->have_prev || s->prev.colour != cur.colour || strcmp(s->reason, res.reason) != 0) {
		if (!s->have_prev || s->prev.colour != cur.colour)
			sampler_event(h, now, "colour %s: %s", colour_name(res.colour), res.reason);
		snprintf(s->reason, sizeof s->reason, "%s", res.reason);
	}
	s->prev = cur;
	s->have_prev = 1;
out:
	free(secs);
	free(mins);
}
