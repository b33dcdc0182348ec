/*
 * rescan - messages committed unscanned (no scanner answered smtpd in time) are scanned by qmgr
 * before delivery, and the verdict is applied as smtpd would have: reject -> bounce,
 * quarantine -> quarantine/, otherwise the file is rewritten with the verdict trailer and
 * delivered. If the scanners are still away, the message waits retry_min in deferred/.
 */
#ifndef MX_QUEUE_RESCAN_H
#define MX_QUEUE_RESCAN_H

struct qmgr;
struct qmsg;

/* msg is loaded (fd, m) and in state QM_SCANNING. */
void qmgr_rescan_start(struct qmgr *qm, struct qmsg *msg);
/* Free the scan client (pending requests are dropped). */
void qmgr_rescan_fini(struct qmgr *qm);

#endif
