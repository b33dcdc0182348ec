/*
 * nodeview - assemble one node's state for the API, the page and `mxtower status` (see
 * nodeview.h).
 */
#include "web/nodeview.h"

#include "web/maintenance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void nodeview_colour(const struct config *cfg, int maintenance, uint64_t now,
		     const struct hist_sample *secs, size_t nsecs, const struct hist_sample *mins,
		     size_t nmins, struct colour_input *in, struct colour_result *out)
{
	history_colour_input(in, now, secs, nsecs, mins, nmins);
	in->maintenance = maintenance;
	in->spec_msgs = cfg->node.spec_msgs;
	in->yellow_at = cfg->node.yellow_at;
	in->scan_configured = cfg->scan.workers;
	in->delay_red = cfg->queue.delay_red;
	colour_decide(in, out);
}

/* Per-second rate of counter c between the newest sample and the one RATE_WINDOW before it. */
static double nodeview_rate(const struct hist_sample *s, size_t n, int c)
{
	if (n < 2)
		return 0;
	const struct hist_sample *last = &s[n - 1];
	for (size_t i = n - 1; i-- > 0;) {
		if (last->t - s[i].t >= NODEVIEW_RATE_WINDOW || i == 0) {
			uint64_t dt = last->t - s[i].t;
			if (dt == 0)
				return 0;
			uint64_t a = c < 0 ? history_msgs(&s[i]) : s[i].counters[c];
			uint64_t b = c < 0 ? history_msgs(last) : last->counters[c];
			return (double)history_delta(a, b) / (double)dt;
		}
	}
	return 0;
}

void nodeview_build(struct nodeview *v, const struct config *cfg, const struct stat_segment *seg,
		    struct history *h, uint64_t now)
{
	/* One extra place for the fresh sample taken from the segment. */
	struct hist_sample *secs = calloc(NODEVIEW_RECENT + 1, sizeof *secs);
	struct hist_sample *mins = calloc(COLOUR_GROWTH_MINUTES + 2, sizeof *mins);
	size_t nsecs = 0, nmins = 0;

	memset(v, 0, sizeof *v);
	snprintf(v->name, sizeof v->name, "%s", cfg->node.name);
	snprintf(v->tower, sizeof v->tower, "%s", cfg->node.tower);
	snprintf(v->datacentre, sizeof v->datacentre, "%s", cfg->node.datacentre);
	v->now = now;
	if (secs != NULL && mins != NULL) {
		nsecs = history_get(h, 0, now > NODEVIEW_RECENT ? now - NODEVIEW_RECENT : 0, secs,
				    NODEVIEW_RECENT);
		nmins = history_get(h, 1, 0, mins, COLOUR_GROWTH_MINUTES + 2);
		if (seg != NULL) {
			struct hist_sample fresh;
			history_sample_take(seg, now, &fresh);
			if (nsecs > 0 && secs[nsecs - 1].t >= now)
				nsecs--; /* same second: the fresh one replaces it */
			secs[nsecs++] = fresh;
		}
	}
	if (nsecs > 0)
		v->cur = secs[nsecs - 1];
	int maint = maintenance_get(cfg, &v->maintenance_since);
	nodeview_colour(cfg, maint, now, secs, nsecs, mins, nmins, &v->in, &v->colour);
	v->cur.colour = v->colour.colour;
	v->msgs_rate = nodeview_rate(secs, nsecs, -1);
	v->delivered_rate = nodeview_rate(secs, nsecs, STAT_MSG_DELIVERED);
	v->rejected_rate = nodeview_rate(secs, nsecs, STAT_MSG_REJECTED);
	v->bytes_in_rate = nodeview_rate(secs, nsecs, STAT_BYTES_IN);
	v->bytes_out_rate = nodeview_rate(secs, nsecs, STAT_BYTES_OUT);
	if (seg != NULL) {
		v->boot = seg->boot;
		for (int i = 0; i < STAT_SLOTS; i++) {
			const struct stat_slot *s = &seg->slot[i];
			if (s->kind[0] == '\0')
				continue;
			struct nodeview_proc *p = &v->procs[v->nprocs++];
			memcpy(p->kind, s->kind, STAT_KIND_MAX);
			p->kind[STAT_KIND_MAX - 1] = '\0';
			p->index = s->index;
			p->live = history_slot_live(s);
			p->pid = p->live ? s->pid : 0;
			p->started = s->started;
			p->heartbeat = s->heartbeat;
			p->restarts = s->restarts;
		}
	}
	free(secs);
	free(mins);
}
