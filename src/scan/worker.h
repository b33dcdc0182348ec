/*
 * scan worker - a process that parses hostile content. It accepts requests on the inherited
 * listening Unix socket <home>/run/scan.sock (SOCK_SEQPACKET, created by the master), receives
 * the spool fd with SCM_RIGHTS, runs the pipeline and answers a struct scan_result. It drops
 * privileges at start. Returns the exit status.
 */
#ifndef MX_SCAN_WORKER_H
#define MX_SCAN_WORKER_H

#include "core/config.h"

int scan_worker_main(const struct config *cfg, int listen_fd, int index);

#endif
