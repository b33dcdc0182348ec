/*
 * spool - a message on its way into the queue, and the queue's directories.
 *
 * smtpd writes the message into queue/incoming/XX/ID while the client sends it (no whole-message
 * copy in memory). The file is a versioned envelope (see envelope.h) whose body sits between the
 * header records and the trailer records, closed by an END record; a file without END is never
 * delivered. Commit = write trailer + END, rename into active/ (or hold/, quarantine/), fsync
 * the file and the destination directory; it runs off the event loop on committer threads whose
 * concurrent fsyncs the journal folds into shared commits (group commit). Only after the commit
 * callback reports success may smtpd answer 250.
 */
#ifndef MX_QUEUE_SPOOL_H
#define MX_QUEUE_SPOOL_H

#include "core/config.h"
#include "queue/notify.h"
#include "scan/scan.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define QUEUE_ID_MAX 32 /* including NUL */

enum queue_dir {
	QUEUE_INCOMING,
	QUEUE_ACTIVE,
	QUEUE_DEFERRED,
	QUEUE_HOLD,
	QUEUE_QUARANTINE,
	QUEUE_CORRUPT,
	QUEUE_NDIRS
};
const char *queue_dir_name(enum queue_dir d);

struct queue;
/* Open the queue under <home>/queue, creating every split directory; NULL with a log line. */
struct queue *queue_open(const struct config *cfg);
void queue_close(struct queue *q);
/* "<home>/queue/<dir>/XX/ID" for an id. 0 or -ENAMETOOLONG. */
int queue_path(const struct queue *q, enum queue_dir d, const char *id, char *out, size_t outsz);
/* Remove incoming/ leftovers (never acknowledged). Returns how many. Call once at start. */
int queue_recover_incoming(struct queue *q);

/* The SMTP facts a spool starts with. Strings are copied. */
struct spool_envelope {
	const char *tenant;
	const char *client_ip;
	const char *client_host; /* reverse name or "" */
	const char *helo;
	const char *proto;     /* "ESMTP", "ESMTPS", "SMTP" */
	const char *mail_from; /* "" for the null sender */
	const char *const *rcpts;
	size_t nrcpts;
	const char *ret;   /* DSN RET=, "" */
	const char *envid; /* DSN ENVID=, "" */
	int smtputf8, body_8bit;
};

struct spool;

/* Create incoming/XX/ID with O_EXCL and write the envelope head. NULL with a log line (disk). */
struct spool *spool_new(struct queue *q, const struct spool_envelope *env);
const char *spool_id(const struct spool *s);
/* Append message bytes (already dot-unstuffed, CRLF line ends kept). 0, -ENOSPC (disk full:
 * answer 452 4.3.1), -EFBIG (past max_message_size), -EIO. Buffered. */
int spool_write(struct spool *s, const void *p, size_t len);
/* The body is complete: flush it into the file, so a scanner may read it via the fd (durability
 * comes with the commit's fsync). 0 or -errno. */
int spool_end_body(struct spool *s);
int spool_fd(const struct spool *s);
uint64_t spool_body_offset(const struct spool *s);
uint64_t spool_body_length(const struct spool *s);

typedef void (*spool_commit_cb)(void *arg, int status); /* 0 = durable; else -errno */
/*
 * Write the verdict trailer and END, and commit into dir (QUEUE_ACTIVE, QUEUE_HOLD or
 * QUEUE_QUARANTINE) asynchronously. The callback runs on loop's thread. The spool is freed after
 * the callback (do not touch it after). On failure the incoming file has been removed.
 * Returns 0 (the callback will run), or -errno without a callback: the caller still owns s.
 */
int spool_commit(struct spool *s, uv_loop_t *loop, enum queue_dir dir,
                 const struct scan_result *verdict, spool_commit_cb cb, void *arg);
/* The same, synchronously, on the caller's thread (qmgr queues DSNs this way). Frees s. 0 or
 * -errno (the incoming file removed). */
int spool_commit_sync(struct spool *s, enum queue_dir dir, const struct scan_result *verdict);
/* Abandon: unlink the incoming file and free. */
void spool_abort(struct spool *s);


#endif
