/*
 * suspect - samples of suspected new viruses for the analysts. A suspect lives in
 * queue/quarantine/ while it is held (verdict "suspect" in its trailer); before it leaves the
 * quarantine (release, delete, expiry) it is archived under <home>/suspects/: ID.eml (the
 * message as received) and ID.txt (envelope and the symbols that made it suspect). The archive
 * is what `mxtower suspect list|show|export` reads together with the live quarantine.
 */
#ifndef MX_SCAN_SUSPECT_H
#define MX_SCAN_SUSPECT_H

#include "core/config.h"
#include "queue/queue.h"

/* Archive id (in d) if its verdict is suspect. 0 (also when not a suspect) or -errno. */
int suspect_archive(const struct config *cfg, struct queue *q, enum queue_dir d, const char *id);
/* The record text (envelope and symbols) for a loaded message, into a malloc'd string. */
char *suspect_record(const struct queue_msg *m);

#endif
