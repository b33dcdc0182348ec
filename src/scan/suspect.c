/*
 * suspect - see suspect.h.
 */
#include "scan/suspect.h"

#include "core/buf.h"
#include "core/fsutil.h"
#include "core/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* A record is a page of text; 64 KiB holds 64 symbols and 1000 recipients' worth. */
#define SUSPECT_RECORD_MAX (64 * 1024)
/* Recipients listed in a record; the rest are counted. */
#define SUSPECT_RCPTS_SHOWN 100

char *suspect_record(const struct queue_msg *m)
{
	const struct envelope *e = &m->env;
	struct buf b;

	buf_init(&b, SUSPECT_RECORD_MAX);
	buf_printf(&b, "id: %s\narrival: %llu\ntenant: %s\nclient: %s\nhelo: %s\nsender: %s\n",
		   m->id, (unsigned long long)e->arrival_sec, e->tenant ? e->tenant : "",
		   e->client_ip ? e->client_ip : "", e->helo ? e->helo : "",
		   e->sender ? e->sender : "");
	for (size_t i = 0; i < e->nrcpts && i < SUSPECT_RCPTS_SHOWN; i++)
		buf_printf(&b, "rcpt: %s\n", e->rcpts[i].addr);
	if (e->nrcpts > SUSPECT_RCPTS_SHOWN)
		buf_printf(&b, "rcpts-more: %zu\n", e->nrcpts - SUSPECT_RCPTS_SHOWN);
	buf_printf(&b, "verdict: %s\nscore: %.2f\nsize: %llu\n", scan_verdict_name(e->verdict.verdict),
		   e->verdict.score, (unsigned long long)e->body_len);
	if (e->verdict.virus[0])
		buf_printf(&b, "virus: %s\n", e->verdict.virus);
	for (unsigned i = 0; i < e->verdict.nsym && i < SCAN_MAX_SYMBOLS; i++)
		buf_printf(&b, "symbol: %s %.2f %s\n", e->verdict.sym[i].name, e->verdict.sym[i].score,
			   e->verdict.sym[i].detail);
	if (b.p == NULL)
		return strdup("");
	return b.p;
}

int suspect_archive(const struct config *cfg, struct queue *q, enum queue_dir d, const char *id)
{
	char dir[CONFIG_PATH], path[CONFIG_PATH + 64];
	struct queue_msg m;
	char *rec = NULL;
	void *map = MAP_FAILED;
	int fd = -1, r;

	r = queue_msg_load(q, d, id, &m);
	if (r < 0)
		return r;
	if (m.env.verdict.verdict != VERDICT_SUSPECT) {
		r = 0;
		goto out;
	}
	if (config_path(cfg, "suspects", dir, sizeof dir) < 0) {
		r = -ENAMETOOLONG;
		goto out;
	}
	r = fs_mkdir_p(dir, 0750);
	if (r < 0)
		goto out;
	fd = queue_msg_open(q, d, id);
	if (fd < 0) {
		r = fd;
		goto out;
	}
	if (m.env.body_len > 0) {
		map = mmap(NULL, (size_t)(m.env.body_off + m.env.body_len), PROT_READ, MAP_PRIVATE,
			   fd, 0);
		if (map == MAP_FAILED) {
			r = -errno;
			goto out;
		}
	}
	snprintf(path, sizeof path, "%s/%s.eml", dir, id);
	r = fs_write_atomic(path, map == MAP_FAILED ? "" : (char *)map + m.env.body_off,
			    (size_t)m.env.body_len, 0640);
	if (r < 0)
		goto out;
	rec = suspect_record(&m);
	snprintf(path, sizeof path, "%s/%s.txt", dir, id);
	r = fs_write_atomic(path, rec, strlen(rec), 0640);
	if (r == 0)
		log_info("id=%s suspect: sample archived in %s", id, dir);
out:
	free(rec);
	if (map != MAP_FAILED)
		munmap(map, (size_t)(m.env.body_off + m.env.body_len));
	if (fd >= 0)
		close(fd);
	queue_msg_free(&m);
	return r;
}
