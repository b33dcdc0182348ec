/*
 * queue_int - what the queue module's own files share (queue.c, spool.c, qmgr): the struct
 * behind struct queue and helpers that are not part of the public contract.
 */
#ifndef MX_QUEUE_QUEUE_INT_H
#define MX_QUEUE_QUEUE_INT_H

#include "queue/queue.h"

#include <limits.h>
#include <stdint.h>

struct committer;

struct queue {
	char root[PATH_MAX]; /* <home>/queue */
	unsigned depth, width;
	int lazy_dirs;         /* split dirs are created on demand */
	uint64_t max_size;     /* smtp.max_message_size */
	struct committer *com; /* started by the first spool_commit */
};

/* mkdir -p the directory holding path and fsync its parent. */
int queue_mkparent(const char *path);
/* Call fn(arg, dirpath, name) for every entry at the leaves of dir d. */
int queue_walk(struct queue *q, enum queue_dir d, int (*fn)(void *, const char *, const char *),
               void *arg);
/* Load from an open fd. */
int queue_msg_load_fd(int fd, const char *id, enum queue_dir d, struct queue_msg *m);
/* Stop and free the committer thread (queue_close). */
void spool_committer_stop(struct queue *q);

#endif
