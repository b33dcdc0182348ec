/*
 * metrics - the node's state in the Prometheus text exposition format (version 0.0.4) for
 * /metrics: counters as mxtower_*_total, gauges, the scan latency histogram in seconds
 * (_bucket/_sum/_count), the colour as a state set. Every series carries node="..." (and the
 * bandwidth counters link="..."), so several nodes scraped into one Prometheus stay apart.
 */
#ifndef MX_WEB_METRICS_H
#define MX_WEB_METRICS_H

#include "core/buf.h"
#include "web/nodeview.h"

/* Append the exposition of v to b. 0 or -ENOSPC. */
int metrics_render(struct buf *b, const struct nodeview *v);

#endif
