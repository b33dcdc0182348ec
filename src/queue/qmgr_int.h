/*
 * qmgr_int - the queue manager's own structures, shared by qmgr.c (scheduling on the loop
 * thread), deliver.c (one delivery job on a pool thread) and finish.c (what happens after a
 * delivery round: DSNs, deferral, stuck copies).
 *
 * Ownership: every struct qmsg, qdest and qjob is owned by the loop thread. A job is handed to
 * a pool thread by uv_queue_work together with its connection; while it runs, the thread may
 * only read the job's message (m, fd) and write the job's own fields (replies, final, conn).
 */
#ifndef MX_QUEUE_QMGR_INT_H
#define MX_QUEUE_QMGR_INT_H

#include "core/config.h"
#include "queue/queue.h"
#include "queue/tracking.h"
#include "smtp/client.h"
#include "store/tenant.h"

#include <openssl/ssl.h>
#include <stdint.h>
#include <uv.h>

/* Idle connections kept per destination for reuse, and for how long. */
#define QMGR_IDLE_PER_DEST 8
#define QMGR_IDLE_SECONDS 10
/* Delivery reads/writes time out after this (RFC 5321 4.5.3.2 suggests 2-10 minutes per
 * step; a client company's server on a LAN answers in milliseconds, so 60 s is generous). */
#define QMGR_IO_TIMEOUT 60

enum qmsg_state { QM_WAITING, QM_SCANNING, QM_BUSY };

struct qmsg {
	char id[QUEUE_ID_MAX];
	enum queue_dir dir;
	enum qmsg_state state;
	uint64_t arrival, next_try;
	uint32_t attempts;
	int unscanned;
	unsigned scan_crashes; /* scan workers that died while scanning it (rescan.c) */
	int central; /* already copied to the central location */
	/* While QM_SCANNING / QM_BUSY: */
	int fd;
	struct queue_msg m;
	int jobs;      /* delivery jobs not finished */
	char *rstate;  /* per recipient: outcome of this round (RCPT_*) */
	char **rdiag;  /* per recipient: the reply that decided it (malloc'd or NULL) */
	char **rroute; /* per recipient: route tried (borrowed from qdest) */
	char *prefix;  /* headers prepended at delivery */
	size_t prefix_len;
	struct qmsg *scan_next; /* waiting for a free scan slot (rescan.c) */
	struct qmsg *hnext;
};

struct qjob;

struct qdest {
	char route[TENANT_HOST_MAX];
	char host[TENANT_HOST_MAX];
	uint16_t port;
	unsigned active;
	struct qjob *wait_head, **wait_tail;
	struct smtp_client *idle[QMGR_IDLE_PER_DEST];
	uint64_t idle_since[QMGR_IDLE_PER_DEST];
	unsigned nidle;
	struct qdest *next;
};

struct qmgr;

struct qjob {
	uv_work_t work;
	struct qmgr *qm;
	struct qmsg *msg;
	struct qdest *dest;
	size_t n;
	size_t *idx; /* recipient indexes into msg->m.env.rcpts */
	const char **rcpts;
	struct smtp_client *conn; /* in: a reused connection or NULL; out: one to keep or NULL */
	struct smtp_reply *replies;
	struct smtp_reply final;
	int rc;
	int tls;   /* the transaction ran over STARTTLS */
	int whole; /* the job holds every recipient still pending: all done = file removed */
	uint64_t bytes;
	struct qjob *next;
};

struct qmgr {
	struct config cfg;
	uv_loop_t *loop;
	struct queue *q;
	struct tenant_db *tdb;
	struct tenant_map *map;
	struct tracking *trk;
	uv_check_t trk_flush; /* commits trk's batch once per loop iteration */
	struct scan_client *scan;
	unsigned scans_inflight;                       /* rescan.c */
	struct qmsg *scan_wait_head, **scan_wait_tail; /* loaded, waiting for a scan slot */
	SSL_CTX *tls;
	struct qmsg **table;
	size_t nbuckets, nmsgs;
	struct qdest *dests;
	unsigned jobs_running, busy_msgs, busy_max;
	int draining;
	uint64_t ticks;
	uv_timer_t tick;
	uv_poll_t notify;
	int notify_fd;
	uv_signal_t sigterm, sighup;
};

/* deliver.c */
void qmgr_job_work(uv_work_t *w);
/* Build the headers we prepend (Received, X-Spam-*, X-MXTower-Verdict) into a malloc'd string. */
char *qmgr_delivery_headers(const struct qmgr *qm, const struct qmsg *msg, size_t *len);

/* finish.c */
/* Every job of msg is done (or none could start): settle the round. May free msg. */
void qmgr_msg_finish(struct qmgr *qm, struct qmsg *msg);
/* Copy msg to the central location if it is stuck (age or attempts). */
void qmgr_stuck_check(struct qmgr *qm, struct qmsg *msg, uint64_t now);

/* qmgr.c */
/* Group msg's pending recipients by route and queue one job per route. */
void qmgr_msg_dispatch(struct qmgr *qm, struct qmsg *msg);
/* Load msg again from its file and start a fresh round (after rescan rewrote it). */
void qmgr_msg_start_again(struct qmgr *qm, struct qmsg *msg);
void qmgr_msg_forget(struct qmgr *qm, struct qmsg *msg);
void qmgr_msg_release_round(struct qmsg *msg);

/* queue.c, not public: write a state byte without syncing (the caller syncs once). */
int queue_rcpt_write_state(int fd, const struct envelope_rcpt *r, char state);

#endif
