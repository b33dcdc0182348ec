/*
 * smtpd - the SMTP server process: accepts client companies' mail on an inherited listening
 * socket, spools it, has it scanned, commits it and answers. Entry point called by the master
 * after fork; returns the exit status.
 */
#ifndef MX_SMTP_SMTPD_H
#define MX_SMTP_SMTPD_H

#include "core/config.h"

int smtpd_main(const struct config *cfg, int listen_fd, int index);

#endif
