/*
 * quarantine - see quarantine.h.
 */
#include "scan/quarantine.h"

#include "core/fsutil.h"
#include "core/log.h"
#include "scan/policy.h"
#include "scan/suspect.h"
#include "store/tenant.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int note_path(const struct config *cfg, const char *id, char *out, size_t outsz)
{
	char rel[64];

	if (!queue_id_valid(id))
		return -EINVAL;
	snprintf(rel, sizeof rel, "db/quarantine-notes/%s", id);
	return config_path(cfg, rel, out, outsz);
}

int quarantine_note_get(const struct config *cfg, const char *id, char *out, size_t outsz)
{
	char path[CONFIG_PATH + 64];
	size_t len;
	char *s;

	if (note_path(cfg, id, path, sizeof path) < 0)
		return -EINVAL;
	s = fs_read_file(path, QUARANTINE_NOTE_MAX, &len);
	if (s == NULL)
		return -ENOENT;
	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		s[--len] = '\0';
	snprintf(out, outsz, "%s", s);
	free(s);
	return 0;
}

int quarantine_note_set(const struct config *cfg, const char *id, const char *text)
{
	char path[CONFIG_PATH + 64], dir[CONFIG_PATH];
	int r;

	if (note_path(cfg, id, path, sizeof path) < 0 ||
	    config_path(cfg, "db/quarantine-notes", dir, sizeof dir) < 0)
		return -EINVAL;
	r = fs_mkdir_p(dir, 0750);
	if (r < 0)
		return r;
	return fs_write_atomic(path, text, strnlen(text, QUARANTINE_NOTE_MAX), 0640);
}

static void note_remove(const struct config *cfg, const char *id)
{
	char path[CONFIG_PATH + 64];

	if (note_path(cfg, id, path, sizeof path) == 0)
		unlink(path);
}

void quarantine_reason(const struct config *cfg, const struct queue_msg *m, char *out,
		       size_t outsz)
{
	const struct scan_result *v = &m->env.verdict;

	if (quarantine_note_get(cfg, m->id, out, outsz) == 0)
		return;
	switch (v->verdict) {
	case VERDICT_MALWARE:
		snprintf(out, outsz, "virus %s", v->virus[0] ? v->virus : "(unnamed)");
		return;
	case VERDICT_SUSPECT:
		snprintf(out, outsz, "suspected new virus: %s",
			 v->nsym ? v->sym[0].detail : "heuristics");
		for (unsigned i = 0; i < v->nsym && i < SCAN_MAX_SYMBOLS; i++)
			if (strncmp(v->sym[i].name, "HEUR_", 5) == 0) {
				snprintf(out, outsz, "suspected new virus: %s", v->sym[i].detail);
				break;
			}
		return;
	case VERDICT_PHISH:
		snprintf(out, outsz, "phishing (score %.1f)", v->score);
		return;
	case VERDICT_SPAM:
		snprintf(out, outsz, "spam score %.1f", v->score);
		return;
	case VERDICT_CLEAN:
		break;
	}
	snprintf(out, outsz, "held by policy (score %.1f)", v->score);
}

int quarantine_release(const struct config *cfg, struct queue *q, const char *id)
{
	int r;

	if (!queue_id_valid(id))
		return -EINVAL;
	r = suspect_archive(cfg, q, QUEUE_QUARANTINE, id);
	if (r < 0 && r != -ENOENT)
		log_warn("id=%s quarantine: archiving the suspect sample: %s", id, strerror(-r));
	r = queue_msg_release(cfg, q, id, QUEUE_QUARANTINE);
	if (r == 0) {
		note_remove(cfg, id);
		log_info("id=%s quarantine: released", id);
	}
	return r;
}

int quarantine_delete(const struct config *cfg, struct queue *q, const char *id)
{
	int r;

	if (!queue_id_valid(id))
		return -EINVAL;
	r = suspect_archive(cfg, q, QUEUE_QUARANTINE, id);
	if (r < 0 && r != -ENOENT)
		log_warn("id=%s quarantine: archiving the suspect sample: %s", id, strerror(-r));
	r = queue_msg_delete(q, QUEUE_QUARANTINE, id);
	if (r == 0) {
		note_remove(cfg, id);
		log_info("id=%s quarantine: deleted", id);
	}
	return r;
}

struct expire_ctx {
	const struct config *cfg;
	struct queue *q;
	struct tenant_db *db;
	time_t now;
	int deleted;
};

static uint64_t retention_days(struct expire_ctx *x, const char *tenant_name)
{
	struct tenant_policy def;
	struct tenant t;
	uint64_t days;

	policy_defaults(&def);
	if (x->db == NULL || tenant_name == NULL || tenant_name[0] == '\0')
		return def.quarantine_days;
	memset(&t, 0, sizeof t);
	if (tenant_get(x->db, tenant_name, &t) < 0)
		return def.quarantine_days;
	days = t.policy.quarantine_days;
	tenant_free(&t);
	return days;
}

static int expire_one(void *arg, const char *id)
{
	struct expire_ctx *x = arg;
	struct queue_msg m;
	uint64_t days;
	time_t since;

	if (queue_msg_load(x->q, QUEUE_QUARANTINE, id, &m) < 0)
		return 0;
	days = retention_days(x, m.env.tenant);
	/* Retention runs from the queue file's last change (rename keeps mtime): for mail
	 * quarantined at arrival, its arrival. */
	since = m.mtime;
	queue_msg_free(&m);
	if ((uint64_t)(x->now - since) < days * 86400ULL)
		return 0;
	if (quarantine_delete(x->cfg, x->q, id) == 0) {
		log_info("id=%s quarantine: expired after %llu days", id, (unsigned long long)days);
		x->deleted++;
	}
	return 0;
}

int quarantine_expire(const struct config *cfg, struct queue *q, time_t now)
{
	struct expire_ctx x = {cfg, q, NULL, now, 0};
	int r;

	x.db = tenant_db_open(cfg);
	r = queue_dir_foreach(q, QUEUE_QUARANTINE, expire_one, &x);
	tenant_db_close(x.db);
	return r < 0 ? r : x.deleted;
}
