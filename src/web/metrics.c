/*
 * metrics - Prometheus text format (see metrics.h). Label values are escaped as the format
 * demands (backslash, double quote, newline); metric names are fixed here, never from input.
 */
#include "web/metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Metric name (after "mxtower_"), help text, per counter. */
static const struct {
	const char *name, *help;
} metrics_counters[STAT__COUNT] = {
	[STAT_CONNECTIONS] = {"smtp_connections_total", "SMTP connections accepted."},
	[STAT_MSG_ACCEPTED] = {"messages_accepted_total", "Messages accepted for delivery."},
	[STAT_MSG_REJECTED] = {"messages_rejected_total", "Messages rejected at end of DATA."},
	[STAT_MSG_QUARANTINED] = {"messages_quarantined_total", "Messages put into quarantine."},
	[STAT_MSG_DELIVERED] = {"messages_delivered_total", "Messages delivered to the client."},
	[STAT_MSG_DEFERRED] = {"deferrals_total", "Delivery attempts deferred for a retry."},
	[STAT_MSG_BOUNCED] = {"bounces_total", "Messages bounced to their sender."},
	[STAT_MSG_UNSCANNED] = {"messages_unscanned_total",
				"Messages committed unscanned (no scanner in time)."},
	[STAT_BYTES_IN] = {"received_bytes_total", "Message bytes received, per link."},
	[STAT_BYTES_OUT] = {"sent_bytes_total", "Message bytes delivered, per link."},
	[STAT_SCANS] = {"scans_total", "Messages scanned."},
	[STAT_SCAN_CRASHES] = {"scanner_crashes_total", "Scan worker crashes."},
	[STAT_RESTARTS] = {"process_restarts_total", "Child process restarts by the master."},
	[STAT_SESSIONS_REFUSED] = {"smtp_sessions_refused_total",
				   "SMTP sessions refused (limits)."},
};

static const struct {
	int gauge;
	const char *queue;
} metrics_queues[] = {
	{STAT_G_QUEUE_ACTIVE, "active"},         {STAT_G_QUEUE_DEFERRED, "deferred"},
	{STAT_G_QUEUE_HOLD, "hold"},             {STAT_G_QUEUE_QUARANTINE, "quarantine"},
	{STAT_G_QUEUE_UNSCANNED, "unscanned"},
};

/* Append a label value, escaped. */
static int metrics_label(struct buf *b, const char *s)
{
	int rc = 0;

	for (; rc == 0 && *s; s++) {
		if (*s == '\\')
			rc = buf_puts(b, "\\\\");
		else if (*s == '"')
			rc = buf_puts(b, "\\\"");
		else if (*s == '\n')
			rc = buf_puts(b, "\\n");
		else
			rc = buf_append(b, s, 1);
	}
	return rc;
}

static int metrics_head(struct buf *b, const char *name, const char *type, const char *help)
{
	return buf_printf(b, "# HELP mxtower_%s %s\n# TYPE mxtower_%s %s\n", name, help, name, type);
}

/* "mxtower_NAME{node="..."" without the closing brace, for the caller to add labels. */
static int metrics_series(struct buf *b, const struct nodeview *v, const char *name)
{
	int rc = buf_printf(b, "mxtower_%s{node=\"", name);

	if (rc == 0)
		rc = metrics_label(b, v->name);
	return rc == 0 ? buf_puts(b, "\"") : rc;
}

static int metrics_counters_render(struct buf *b, const struct nodeview *v)
{
	int rc = 0;

	for (int c = 0; rc == 0 && c < STAT__COUNT; c++) {
		const char *name = metrics_counters[c].name;
		if (name == NULL) /* a counter added to stats.h but not named here yet */
			continue;
		rc = metrics_head(b, name, "counter", metrics_counters[c].help);
		if (rc == 0)
			rc = metrics_series(b, v, name);
		if (rc == 0 && (c == STAT_BYTES_IN || c == STAT_BYTES_OUT)) {
			rc = buf_puts(b, ",link=\"");
			if (rc == 0)
				rc = metrics_label(b, v->datacentre);
			if (rc == 0)
				rc = buf_puts(b, "\"");
		}
		if (rc == 0)
			rc = buf_printf(b, "} %" PRIu64 "\n", v->cur.counters[c]);
	}
	return rc;
}

static int metrics_gauges_render(struct buf *b, const struct nodeview *v)
{
	int rc = metrics_head(b, "queue_messages", "gauge", "Messages in each queue directory.");

	for (size_t i = 0; rc == 0 && i < sizeof metrics_queues / sizeof metrics_queues[0]; i++) {
		rc = metrics_series(b, v, "queue_messages");
		if (rc == 0)
			rc = buf_printf(b, ",queue=\"%s\"} %" PRId64 "\n", metrics_queues[i].queue,
					v->cur.gauges[metrics_queues[i].gauge]);
	}
	static const struct {
		int gauge;
		const char *name, *help;
	} plain[] = {
		{STAT_G_OLDEST_AGE, "queue_oldest_age_seconds", "Age of the oldest queued message."},
		{STAT_G_SESSIONS, "smtp_sessions", "SMTP sessions open now."},
	};
	for (size_t i = 0; rc == 0 && i < sizeof plain / sizeof plain[0]; i++) {
		rc = metrics_head(b, plain[i].name, "gauge", plain[i].help);
		if (rc == 0)
			rc = metrics_series(b, v, plain[i].name);
		if (rc == 0)
			rc = buf_printf(b, "} %" PRId64 "\n", v->cur.gauges[plain[i].gauge]);
	}
	if (rc == 0)
		rc = metrics_head(b, "maintenance", "gauge", "1 while the operator set maintenance.");
	if (rc == 0)
		rc = metrics_series(b, v, "maintenance");
	if (rc == 0)
		rc = buf_printf(b, "} %d\n", v->in.maintenance ? 1 : 0);
	if (rc == 0)
		rc = metrics_head(b, "scan_workers_live", "gauge", "Scan worker processes alive.");
	if (rc == 0)
		rc = metrics_series(b, v, "scan_workers_live");
	if (rc == 0)
		rc = buf_printf(b, "} %u\n", v->cur.scan_live);
	if (rc == 0)
		rc = metrics_head(b, "processes_live", "gauge", "Node processes alive.");
	if (rc == 0)
		rc = metrics_series(b, v, "processes_live");
	if (rc == 0)
		rc = buf_printf(b, "} %u\n", v->cur.procs_live);
	if (rc == 0)
		rc = metrics_head(b, "node_colour", "gauge",
				  "The node's dashboard colour (1 for the current one).");
	for (int c = COLOUR_GREEN; rc == 0 && c <= COLOUR_BLUE; c++) {
		rc = metrics_series(b, v, "node_colour");
		if (rc == 0)
			rc = buf_printf(b, ",colour=\"%s\"} %d\n", colour_name((enum colour)c),
					v->colour.colour == (enum colour)c);
	}
	return rc;
}

static int metrics_latency_render(struct buf *b, const struct nodeview *v)
{
	uint64_t cum = 0;
	int rc = metrics_head(b, "scan_latency_seconds", "histogram", "Time to scan one message.");

	for (int i = 0; rc == 0 && i < STAT_LAT_BUCKETS; i++) {
		cum += v->cur.latency[i];
		rc = metrics_series(b, v, "scan_latency_seconds_bucket");
		if (rc != 0)
			break;
		if (i < STAT_LAT_BUCKETS - 1)
			rc = buf_printf(b, ",le=\"%g\"} %" PRIu64 "\n",
					(double)stats_latency_bounds_us[i] / 1e6, cum);
		else
			rc = buf_printf(b, ",le=\"+Inf\"} %" PRIu64 "\n", cum);
	}
	if (rc == 0)
		rc = metrics_series(b, v, "scan_latency_seconds_sum");
	if (rc == 0)
		rc = buf_printf(b, "} %.6f\n", (double)v->cur.latency_sum_us / 1e6);
	if (rc == 0)
		rc = metrics_series(b, v, "scan_latency_seconds_count");
	if (rc == 0)
		rc = buf_printf(b, "} %" PRIu64 "\n", cum);
	return rc;
}

int metrics_render(struct buf *b, const struct nodeview *v)
{
	int rc = metrics_counters_render(b, v);

	if (rc == 0)
		rc = metrics_gauges_render(b, v);
	if (rc == 0)
		rc = metrics_latency_render(b, v);
	return rc;
}
