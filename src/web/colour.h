/*
 * colour - the dashboard's language: one colour per node and the reasons for it, decided by a
 * pure function over recorded metrics, so the page, the API and `mxtower status` agree and the
 * rules are unit-tested on recorded samples.
 *
 * Precedence (the first that applies wins; every reason of the winning colour is listed):
 *   blue    the operator put the node into maintenance;
 *   purple  never reported, or no report for longer than COLOUR_STALE_AFTER (nothing current);
 *   red     no report for COLOUR_SILENT_AFTER (stopped), a scan worker crashed within
 *           COLOUR_CRASH_WINDOW, mail waits unscanned, no live scan worker, or the oldest queued
 *           message is older than queue.delay_red;
 *   yellow  mail flow at or above node.yellow_at percent of node.spec_msgs, or the queue grew in
 *           each of the last COLOUR_GROWTH_MINUTES minutes;
 *   green   none of those.
 */
#ifndef MX_WEB_COLOUR_H
#define MX_WEB_COLOUR_H

#include <stddef.h>
#include <stdint.h>

/* Every process heartbeats at least every 2 s; 15 s of silence is a dead node, not a hiccup. */
#define COLOUR_SILENT_AFTER 15
/* Two minutes without a report: the data shown is history, not state. */
#define COLOUR_STALE_AFTER 120
/* A scanner crash keeps the node red this long, so an operator glancing at the screen sees it. */
#define COLOUR_CRASH_WINDOW 20
/* A queue that grows five minutes in a row is a trend, not a burst. */
#define COLOUR_GROWTH_MINUTES 5
/* Mail flow is averaged over this many seconds of samples: smooths one-second bursts. */
#define COLOUR_FLOW_WINDOW 5

#define COLOUR_REASON_MAX 256

enum colour { COLOUR_GREEN, COLOUR_YELLOW, COLOUR_RED, COLOUR_PURPLE, COLOUR_BLUE };

#define COLOUR_NEVER UINT64_MAX

struct colour_input {
	uint64_t now;             /* unix time */
	uint64_t last_report;     /* newest heartbeat of the node, 0 = never */
	int maintenance;          /* operator's flag */
	double flow;              /* messages per second, recent average */
	uint64_t spec_msgs;       /* capacity, msg/s */
	uint64_t yellow_at;       /* percent of spec_msgs */
	uint64_t queue_grew_minutes; /* consecutive minutes the queue depth grew */
	uint64_t crash_age;       /* seconds since the scan-crash counter last moved, or NEVER */
	int64_t unscanned;        /* messages in the queue waiting for a scan */
	uint64_t scan_live;       /* scan workers alive */
	uint64_t scan_configured; /* scan.workers */
	int64_t oldest_age;       /* seconds, oldest queued message */
	uint64_t delay_red;       /* queue.delay_red, seconds */
};

struct colour_result {
	enum colour colour;
	char reason[COLOUR_REASON_MAX];
};

/* Decide the colour and its reasons. Pure: same input, same output. */
void colour_decide(const struct colour_input *in, struct colour_result *out);
const char *colour_name(enum colour c);

#endif
