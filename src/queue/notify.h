/*
 * notify - telling qmgr that mail is waiting in active/: datagrams on <home>/run/qmgr.sock, one
 * or more queue ids separated by '\n' (or the word FLUSH). Best effort: qmgr also scans
 * active/ every few seconds, so a lost datagram only delays.
 *
 * Linux queues at most net.unix.max_dgram_qlen datagrams (10 by default) on a Unix datagram
 * socket, so a datagram per message overflows as soon as a few dozen sessions commit at once,
 * and each overflow cost its message the wait for the next directory scan. smtpd therefore
 * gathers the ids of one loop iteration into one datagram (qmgr_notifier), and keeps what
 * could not be sent for a short retry.
 */
#ifndef MX_QUEUE_NOTIFY_H
#define MX_QUEUE_NOTIFY_H

#include "core/config.h"

#include <uv.h>

/* One datagram now, from any process (the CLI, qmgr's DSNs). */
void queue_notify_qmgr(const struct config *cfg, const char *id);

struct qmgr_notifier;

/* A notifier on loop: ids added during a loop iteration leave together at its end. The
 * notifier's handles do not keep the loop alive. NULL on no memory or a too long path. */
struct qmgr_notifier *qmgr_notifier_new(const struct config *cfg, uv_loop_t *loop);
/* Queue id for qmgr (copied). */
void qmgr_notifier_add(struct qmgr_notifier *n, const char *id);
/* Send what is pending (best effort), close the handles; memory goes with the last close. */
void qmgr_notifier_free(struct qmgr_notifier *n);

#endif
