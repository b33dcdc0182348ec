/*
 * quarantine - what is held in queue/quarantine/ and why: listing with reasons, release
 * (to active/, qmgr notified), delete, per-client retention (tenant quarantine_days), and
 * notes that say why a message was moved there after its arrival (retro-scan).
 *
 * The queue file itself stays the record: its verdict trailer says why smtpd quarantined it.
 * A message quarantined later (retro-scan) gets a note, <home>/db/quarantine-notes/ID, since
 * its trailer still carries the verdict it arrived with. Suspects are archived for the
 * analysts (suspect.h) before they leave the quarantine by any door.
 */
#ifndef MX_SCAN_QUARANTINE_H
#define MX_SCAN_QUARANTINE_H

#include "core/config.h"
#include "queue/queue.h"

#include <stddef.h>
#include <time.h>

#define QUARANTINE_NOTE_MAX 256

/* Why m is in quarantine, in words ("virus Eicar-Test-Signature", "suspected new virus: ...",
 * "spam score 12.0", a retro-scan note...). */
void quarantine_reason(const struct config *cfg, const struct queue_msg *m, char *out,
		       size_t outsz);
/* The retro-scan note of id, if any: 0 and the text, or -ENOENT. */
int quarantine_note_get(const struct config *cfg, const char *id, char *out, size_t outsz);
int quarantine_note_set(const struct config *cfg, const char *id, const char *text);
/* Release to active/ (qmgr told) or delete. Suspects are archived first. 0 or -errno. */
int quarantine_release(const struct config *cfg, struct queue *q, const char *id);
int quarantine_delete(const struct config *cfg, struct queue *q, const char *id);
/* Delete what is past its client's quarantine_days (default 30) at time now. Returns the
 * number deleted, or -errno. For qmgr's housekeeping and `mxtower quarantine expire`. */
int quarantine_expire(const struct config *cfg, struct queue *q, time_t now);

#endif
