/*
 * retro - retro-scan: after the signatures changed, scan the mail still held (hold/,
 * deferred/, active/, quarantine/) with the new engine; what now matches moves to
 * quarantine/ with a note naming the virus, and a log line. Runs in the process that installed
 * the signatures (`mxtower sig add`), which is the operator's and may move queue files; the
 * scan workers cannot (they are unprivileged and sandboxed).
 */
#ifndef MX_SCAN_RETRO_H
#define MX_SCAN_RETRO_H

#include "core/config.h"

struct retro_result {
	unsigned scanned, matched, moved;
};

/* Load the current signatures and rescan. 0 or -errno (no queue, no engine). */
int scan_retro_run(const struct config *cfg, struct retro_result *out);

#endif
