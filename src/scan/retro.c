/*
 * retro - see retro.h. Only the av scanner runs: a retro-scan answers "does this now match a
 * signature", and the rest of the verdict was made at arrival.
 */
#include "scan/retro.h"

#include "core/log.h"
#include "queue/queue.h"
#include "scan/av.h"
#include "scan/quarantine.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct retro_ctx {
	const struct config *cfg;
	struct queue *q;
	enum queue_dir d;
	struct retro_result *res;
};

static int retro_one(void *arg, const char *id)
{
	struct retro_ctx *x = arg;
	char virus[SCAN_VIRUS_MAX], note[QUARANTINE_NOTE_MAX];
	struct queue_msg m;
	void *map = MAP_FAILED;
	size_t maplen = 0;
	int fd, r;

	if (queue_msg_load(x->q, x->d, id, &m) < 0)
		return 0; /* moved or delivered meanwhile */
	fd = queue_msg_open(x->q, x->d, id);
	if (fd < 0)
		goto out;
	maplen = (size_t)(m.env.body_off + m.env.body_len);
	if (maplen > 0)
		map = mmap(NULL, maplen, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		goto out;
	x->res->scanned++;
	r = av_scan_buffer((const char *)map + m.env.body_off, (size_t)m.env.body_len, virus,
			   sizeof virus);
	if (r != 1)
		goto out;
	x->res->matched++;
	snprintf(note, sizeof note, "retro-scan: virus %s (was in %s)", virus, queue_dir_name(x->d));
	if (x->d == QUEUE_QUARANTINE) {
		char old[QUARANTINE_NOTE_MAX];

		/* Keep the first note: it says where the message was moved from. */
		if (quarantine_note_get(x->cfg, id, old, sizeof old) < 0)
			quarantine_note_set(x->cfg, id, note);
		log_info("id=%s retro-scan: virus=%s already in quarantine", id, virus);
		goto out;
	}
	/* The note first: a message must never sit in quarantine without its reason. */
	quarantine_note_set(x->cfg, id, note);
	r = queue_msg_move(x->q, id, x->d, QUEUE_QUARANTINE);
	if (r == 0) {
		x->res->moved++;
		log_info("id=%s retro-scan: virus=%s moved from %s to quarantine", id, virus,
			 queue_dir_name(x->d));
	} else {
		log_warn("id=%s retro-scan: virus=%s but the move from %s failed: %s", id, virus,
			 queue_dir_name(x->d), strerror(-r));
	}
out:
	if (map != MAP_FAILED)
		munmap(map, maplen);
	queue_msg_free(&m);
	return 0;
}

int scan_retro_run(const struct config *cfg, struct retro_result *out)
{
	/* Quarantine first, so what this run moves there is not scanned twice. */
	static const enum queue_dir dirs[] = {QUEUE_QUARANTINE, QUEUE_HOLD, QUEUE_DEFERRED,
					      QUEUE_ACTIVE};
	struct retro_ctx x;
	struct queue *q;
	int r;

	memset(out, 0, sizeof *out);
	r = scanner_av.init(cfg);
	if (r < 0)
		return r;
	q = queue_open(cfg);
	if (q == NULL) {
		scanner_av.fini();
		return -EIO;
	}
	x.cfg = cfg;
	x.q = q;
	x.res = out;
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		x.d = dirs[i];
		queue_dir_foreach(q, dirs[i], retro_one, &x);
	}
	log_info("retro-scan: scanned=%u matched=%u moved=%u", out->scanned, out->matched,
		 out->moved);
	queue_close(q);
	scanner_av.fini();
	return 0;
}
