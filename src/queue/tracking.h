/*
 * tracking - one record per message: who sent it, to whom, the verdict, each delivery attempt
 * and the final fate, in SQLite <home>/db/tracking.sqlite (WAL mode, so the dashboard reads
 * while qmgr writes). qmgr is the writer; the web process and the CLI search it.
 *
 * A connection is used by one thread at a time. Writes are best effort: a failing tracking
 * database is logged, never a reason to hold mail back.
 */
#ifndef MX_QUEUE_TRACKING_H
#define MX_QUEUE_TRACKING_H

#include "core/config.h"
#include "queue/envelope.h"

#include <stddef.h>
#include <stdint.h>

/* How many records one search returns at most (a dashboard page, not a dump). */
#define TRACKING_SEARCH_MAX 1000

struct tracking;

/* Open (creating the schema) <home>/db/tracking.sqlite. NULL with a log line. */
struct tracking *tracking_open(const struct config *cfg);
void tracking_close(struct tracking *t);

/* Batch mode (qmgr): writes join one open transaction until tracking_flush() commits it, so a
 * loop iteration's records cost one WAL commit instead of one per statement. Readers see them
 * after the flush; a crash in between loses at most that iteration's records (the queue files,
 * not this database, are what keeps mail). */
void tracking_batch(struct tracking *t, int on);
/* Commit the open batch, if any. 0 or -EIO (the batch's records are then lost, logged). */
int tracking_flush(struct tracking *t);

/* The message is in the queue (first sight). Idempotent. */
int tracking_received(struct tracking *t, const char *id, const struct envelope *e);
/* A delivery attempt for one recipient: result is "delivered", "deferred", "bounced",
 * "expired"; route "host:port" or ""; reply the server's reply or our reason. */
int tracking_attempt(struct tracking *t, const char *id, const char *rcpt, const char *route,
                     const char *result, const char *reply);
/* Final fate: "delivered", "bounced", "expired", "quarantined", "deleted", "partial" ... */
int tracking_fate(struct tracking *t, const char *id, const char *fate);

struct tracking_query {
	const char *id;       /* exact queue id, or NULL */
	const char *sender;   /* substring, case-insensitive, or NULL */
	const char *rcpt;     /* substring of any recipient, or NULL */
	int64_t since, until; /* arrival time range, unix seconds; 0 = open */
	unsigned limit;       /* 0 = TRACKING_SEARCH_MAX */
};

struct tracking_event {
	int64_t time;
	char rcpt[512];
	char route[256];
	char result[16];
	char reply[400];
};

struct tracking_record {
	char id[32];
	int64_t arrival;
	char sender[512];
	char rcpts[2048]; /* comma-separated, cut when long */
	char tenant[128];
	char client_ip[64];
	char verdict[16];
	double score;
	uint64_t size;
	char fate[16]; /* "" while in the queue */
	int64_t fate_time;
	struct tracking_event *events; /* in time order */
	size_t nevents;
};

/* Newest first. *out is malloc'd; free with tracking_records_free. 0 or -errno. */
int tracking_search(struct tracking *t, const struct tracking_query *q,
                    struct tracking_record **out, size_t *n);
void tracking_records_free(struct tracking_record *r, size_t n);

#endif
