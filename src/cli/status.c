/*
 * status - `mxtower status [--json]`: the towers, this node, its colour and why, read from the
 * node's stats segment and history (the same nodeview the dashboard and /api/v1/status use, so
 * the three always agree). Works with the node stopped: it then reports what it last knew, and
 * the colour says how old that is.
 */
#include "cli/cli.h"

#include "core/buf.h"
#include "core/config.h"
#include "core/stats.h"
#include "web/api.h"
#include "web/history.h"
#include "web/nodeview.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static const char status_usage[] =
	"usage: mxtower status [--json] [-c FILE] [--home DIR] [-o section.key=value]\n"
	"\n"
	"Print each tower, its nodes, their colour and the reason for it:\n"
	"green healthy, yellow busy or queue growing, red crashed/unscanned/delayed,\n"
	"purple no report, blue maintenance. --json prints what /api/v1/status returns.\n";

/* The JSON of a status: a few KiB; the cap is for the event texts' worst case. */
#define STATUS_JSON_MAX (256 * 1024)

static void status_text(const struct nodeview *v)
{
	const struct hist_sample *s = &v->cur;
	const char *col = colour_name(v->colour.colour);

	printf("tower %s: %.1f msg/s\n", v->tower, v->msgs_rate);
	printf("  node %s (%s): %s - %s\n", v->name, v->datacentre, col, v->colour.reason);
	printf("    flow %.1f msg/s of spec %" PRIu64 " (yellow at %" PRIu64 "%%), delivered %.1f/s,"
	       " in %.0f B/s, out %.0f B/s\n",
	       v->msgs_rate, v->in.spec_msgs, v->in.yellow_at, v->delivered_rate, v->bytes_in_rate,
	       v->bytes_out_rate);
	printf("    queue active %" PRId64 " deferred %" PRId64 " hold %" PRId64
	       " quarantine %" PRId64 " unscanned %" PRId64 ", oldest %" PRId64 " s\n",
	       s->gauges[STAT_G_QUEUE_ACTIVE], s->gauges[STAT_G_QUEUE_DEFERRED],
	       s->gauges[STAT_G_QUEUE_HOLD], s->gauges[STAT_G_QUEUE_QUARANTINE],
	       s->gauges[STAT_G_QUEUE_UNSCANNED], s->gauges[STAT_G_OLDEST_AGE]);
	printf("    accepted %" PRIu64 " rejected %" PRIu64 " quarantined %" PRIu64
	       " delivered %" PRIu64 " deferred %" PRIu64 " bounced %" PRIu64 "\n",
	       s->counters[STAT_MSG_ACCEPTED], s->counters[STAT_MSG_REJECTED],
	       s->counters[STAT_MSG_QUARANTINED], s->counters[STAT_MSG_DELIVERED],
	       s->counters[STAT_MSG_DEFERRED], s->counters[STAT_MSG_BOUNCED]);
	printf("    processes:");
	for (int i = 0; i < v->nprocs; i++)
		printf(" %s[%d]=%s", v->procs[i].kind, v->procs[i].index,
		       v->procs[i].live ? "up" : "down");
	printf("%s\n", v->nprocs ? "" : " none (node not running)");
}

int cmd_status(int argc, char **argv)
{
	struct config cfg;
	struct nodeview *v = NULL;
	struct stat_segment *seg;
	struct history *h;
	int json = 0, rc = 1;

	if (cli_wants_help(argc, argv, status_usage))
		return 0;
	config_defaults(&cfg);
	if (config_from_args(&cfg, &argc, argv) < 0)
		return 2;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else {
			fprintf(stderr, "mxtower status: unknown argument '%s'\n%s", argv[i],
				status_usage);
			return 2;
		}
	}
	seg = stats_map(&cfg, 0);
	h = history_open(&cfg, 0);
	v = malloc(sizeof *v);
	if (v == NULL) {
		fprintf(stderr, "mxtower status: out of memory\n");
		goto out;
	}
	nodeview_build(v, &cfg, seg, h, (uint64_t)time(NULL));
	if (json) {
		struct buf b;
		buf_init(&b, STATUS_JSON_MAX);
		int r = buf_puts(&b, "{\"node\":");
		if (r == 0)
			r = api_node_json(&b, v, h, 1);
		if (r == 0)
			r = buf_puts(&b, ",");
		if (r == 0)
			r = api_towers_json(&b, v);
		if (r == 0)
			r = buf_puts(&b, "}\n");
		if (r == 0)
			fputs(b.p, stdout);
		else
			fprintf(stderr, "mxtower status: status too large\n");
		buf_free(&b);
		if (r != 0)
			goto out;
	} else {
		status_text(v);
	}
	rc = 0;
out:
	free(v);
	history_close(h);
	if (seg != NULL)
		munmap(seg, sizeof *seg);
	return rc;
}
