/*
 * qmgr - the queue manager process: schedules delivery of active/ and deferred/ mail to each
 * tenant's route, retries with backoff, bounces, detects stuck mail. Called by the master after
 * fork; returns the exit status.
 */
#ifndef MX_QUEUE_QMGR_H
#define MX_QUEUE_QMGR_H

#include "core/config.h"

int qmgr_main(const struct config *cfg);

#endif
