/*
 * queue - the queue directories as seen by everyone after smtpd: iterate the messages of a
 * directory, load a message's envelope, move a message between directories, delete it.
 *
 * Users: qmgr, `mxtower queue`, the quarantine/retro-scan code and the dashboard. A message is
 * named by its id and the directory holding it; a move is a rename() followed by an fsync of both
 * directories, so it is atomic and durable. Nothing here keeps a message locked: a concurrent
 * mover (qmgr vs. the CLI) sees -ENOENT and must treat the message as gone from that directory.
 */
#ifndef MX_QUEUE_QUEUE_H
#define MX_QUEUE_QUEUE_H

#include "queue/envelope.h"
#include "queue/spool.h"

#include <stdint.h>
#include <time.h>

/* A loaded message. Owner: the caller; release with queue_msg_free(). */
struct queue_msg {
	char id[QUEUE_ID_MAX];
	enum queue_dir dir;
	time_t mtime;        /* last change of the file (move, state update) */
	struct envelope env; /* sender, recipients with state, verdict, times, tenant, body range */
};

/* 1 if id has the shape of a queue id (so it is safe in a path), else 0. */
int queue_id_valid(const char *id);
/* The directory index named name ("active", ...), or -1. */
int queue_dir_parse(const char *name);
/* The hashed split-directory part ("3F" or "3/F"...) of id into out. */
void queue_hash_dir(const struct queue *q, const char *id, char *out, size_t outsz);

/*
 * Call cb(arg, id) for every message file in dir d (order unspecified). cb returns 0 to go on,
 * anything else to stop (returned). Temporary files are skipped. 0 or -errno.
 */
int queue_dir_foreach(struct queue *q, enum queue_dir d, int (*cb)(void *arg, const char *id),
                      void *arg);
/* Count the messages of a directory (the gauges). */
int64_t queue_dir_count(struct queue *q, enum queue_dir d);

/* Remove incoming/ files whose writer (the pid in the id) is dead: safe while smtpd runs,
 * unlike queue_recover_incoming. Returns how many. */
int queue_reap_incoming(struct queue *q);

/* Which directory holds id (incoming excluded). 0 and *d, or -ENOENT. */
int queue_msg_find(struct queue *q, const char *id, enum queue_dir *d);
/* Load the envelope of id in d. 0, -ENOENT, -EBADMSG (no END record: never deliver), -EINVAL
 * (garbled), -ENOMEM, -EIO. */
int queue_msg_load(struct queue *q, enum queue_dir d, const char *id, struct queue_msg *m);
/* Load a queue file that lives outside the queue (the central location's copies). */
int queue_msg_load_path(const char *path, const char *id, struct queue_msg *m);
void queue_msg_free(struct queue_msg *m);
/* Open the file read-only (the body is at m->env.body_off, length body_len). fd or -errno. */
int queue_msg_open(struct queue *q, enum queue_dir d, const char *id);

/* Move id from one directory to another, durably. 0, -ENOENT, -EEXIST, -errno. */
int queue_msg_move(struct queue *q, const char *id, enum queue_dir from, enum queue_dir to);
/* Release from hold/ or quarantine/ (or deferred/): move to active/ and tell qmgr. */
int queue_msg_release(const struct config *cfg, struct queue *q, const char *id,
                      enum queue_dir from);
/* Delete id from d (durably). 0, -ENOENT, -errno. */
int queue_msg_delete(struct queue *q, enum queue_dir d, const char *id);
/* The same without syncing the directory: for mail whose every recipient is done, where a
 * crash that brings the file back costs at most a duplicate delivery, never a loss. */
int queue_msg_unlink(struct queue *q, enum queue_dir d, const char *id);

/* Rewrite one recipient's state byte in place and fdatasync. 0 or -errno. */
int queue_rcpt_set_state(int fd, const struct envelope_rcpt *r, char state);
/* Rewrite the Q (attempts, next try) and L (last error) records in place and fdatasync. */
int queue_msg_set_retry(int fd, const struct envelope *e, uint32_t attempts, uint64_t next_try,
                        const char *last_error);

#endif
