/*
 * tenant - client companies in SQLite, and the read-only snapshot the hot path uses.
 *
 * Schema (db/mxtower.sqlite, WAL so that smtpd, qmgr, workers and the CLI read while one writes):
 *   tenants(id, name UNIQUE, route, routing_host, policy columns)
 *   tenant_domains(domain PRIMARY KEY, tenant_id)      -- a domain belongs to one client
 *   tenant_recipients(addr PRIMARY KEY, tenant_id)
 *   tenant_lists(tenant_id, kind 'allow'|'block', entry)
 * Change detection: PRAGMA data_version on the long-lived connection moves when any other
 * connection commits, so tenant_map_refresh() costs one tiny query when nothing changed.
 * The snapshot hashes domains (open addressing, lowercased keys) for an O(1) RCPT check.
 */
#include "store/tenant.h"

#include "core/fsutil.h"
#include "core/log.h"

#include <ctype.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A CLI write and a node's refresh may meet; wait this long for the lock rather than fail. */
#define TENANT_BUSY_MS 5000

struct tenant_db {
	sqlite3 *db;
};

static const char tenant_schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=NORMAL;"
	"PRAGMA foreign_keys=ON;"
	"CREATE TABLE IF NOT EXISTS tenants("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, route TEXT NOT NULL,"
	" routing_host TEXT NOT NULL, on_malware INTEGER, on_suspect INTEGER, on_phish INTEGER,"
	" tag_at REAL, quarantine_at REAL, reject_at REAL, quarantine_days INTEGER);"
	"CREATE TABLE IF NOT EXISTS tenant_domains(domain TEXT PRIMARY KEY,"
	" tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE);"
	"CREATE TABLE IF NOT EXISTS tenant_recipients(addr TEXT PRIMARY KEY,"
	" tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE);"
	"CREATE TABLE IF NOT EXISTS tenant_lists(tenant_id INTEGER NOT NULL"
	" REFERENCES tenants(id) ON DELETE CASCADE, kind TEXT NOT NULL, entry TEXT NOT NULL,"
	" UNIQUE(tenant_id, kind, entry));";

struct tenant_db *tenant_db_open(const struct config *cfg)
{
	char dir[CONFIG_PATH + 8], path[CONFIG_PATH + 32];
	struct tenant_db *t;
	char *err = NULL;

	if (config_path(cfg, "db", dir, sizeof dir) < 0 ||
	    config_path(cfg, "db/mxtower.sqlite", path, sizeof path) < 0) {
		log_error("tenant: home path too long");
		return NULL;
	}
	if (fs_mkdir_p(dir, 0755) < 0) {
		log_error("tenant: cannot create %s: %s", dir, strerror(errno));
		return NULL;
	}
	t = calloc(1, sizeof *t);
	if (t == NULL)
		return NULL;
	if (sqlite3_open_v2(path, &t->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		log_error("tenant: cannot open %s: %s", path, sqlite3_errmsg(t->db));
		goto fail;
	}
	sqlite3_busy_timeout(t->db, TENANT_BUSY_MS);
	if (sqlite3_exec(t->db, tenant_schema, NULL, NULL, &err) != SQLITE_OK) {
		log_error("tenant: schema on %s: %s", path, err ? err : "?");
		sqlite3_free(err);
		goto fail;
	}
	return t;
fail:
	sqlite3_close(t->db);
	free(t);
	return NULL;
}

void tenant_db_close(struct tenant_db *db)
{
	if (db == NULL)
		return;
	sqlite3_close(db->db);
	free(db);
}

void tenant_policy_defaults(struct tenant_policy *p)
{
	p->on_malware = POLICY_REJECT;
	p->on_suspect = POLICY_QUARANTINE;
	p->on_phish = POLICY_QUARANTINE;
	p->tag_at = 5.0;
	p->quarantine_at = 10.0;
	p->reject_at = 15.0;
	p->quarantine_days = 30;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void tenant_free(struct tenant *t)
{
	strv_free(t->domains, t->ndomains);
	strv_free(t->recipients, t->nrecipients);
	strv_free(t->allow, t->nallow);
	strv_free(t->block, t->nblock);
	t->domains = t->recipients = t->allow = t->block = NULL;
	t->ndomains = t->nrecipients = t->nallow = t->nblock = 0;
}

static int strv_push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof **v);

	if (nv == NULL)
		return -ENOMEM;
	*v = nv;
	nv[*n] = strdup(s);
	if (nv[*n] == NULL)
		return -ENOMEM;
	(*n)++;
	return 0;
}

static int exec_sql(struct tenant_db *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db->db, sql, NULL, NULL, &err) != SQLITE_OK) {
		log_error("tenant: %s: %s", sql, err ? err : "?");
		sqlite3_free(err);
		return -EIO;
	}
	return 0;
}

/* Insert the child rows (domains, recipients, lists) of t under id. */
static int tenant_write_children(struct tenant_db *db, int64_t id, const struct tenant *t)
{
	sqlite3_stmt *st = NULL;
	int r = 0;
	struct {
		const char *sql;
		char **v;
		size_t n;
	} rows[] = {
		{"INSERT INTO tenant_domains(domain, tenant_id) VALUES(lower(?1), ?2)", t->domains,
		 t->ndomains},
		{"INSERT INTO tenant_recipients(addr, tenant_id) VALUES(lower(?1), ?2)",
		 t->recipients, t->nrecipients},
		{"INSERT OR IGNORE INTO tenant_lists(entry, tenant_id, kind) VALUES(lower(?1), ?2, "
		 "'allow')",
		 t->allow, t->nallow},
		{"INSERT OR IGNORE INTO tenant_lists(entry, tenant_id, kind) VALUES(lower(?1), ?2, "
		 "'block')",
		 t->block, t->nblock},
	};

	for (size_t k = 0; k < sizeof rows / sizeof rows[0] && r == 0; k++) {
		if (sqlite3_prepare_v2(db->db, rows[k].sql, -1, &st, NULL) != SQLITE_OK)
			return -EIO;
		for (size_t i = 0; i < rows[k].n; i++) {
			int rc;

			sqlite3_bind_text(st, 1, rows[k].v[i], -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, id);
			rc = sqlite3_step(st);
			if (rc == SQLITE_CONSTRAINT) {
				r = -EEXIST;
				break;
			}
			if (rc != SQLITE_DONE) {
				r = -EIO;
				break;
			}
			sqlite3_reset(st);
		}
		sqlite3_finalize(st);
	}
	return r;
}

static int tenant_validate(const struct tenant *t)
{
	if (t->name[0] == '\0' || t->ndomains == 0 || t->route[0] == '\0')
		return -EINVAL;
	for (const char *s = t->name; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return -EINVAL;
	return 0;
}

static int tenant_write(struct tenant_db *db, const struct tenant *t, int64_t keep_id)
{
	static const char ins[] =
		"INSERT INTO tenants(id, name, route, routing_host, on_malware, on_suspect,"
		" on_phish, tag_at, quarantine_at, reject_at, quarantine_days)"
		" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
	sqlite3_stmt *st = NULL;
	int64_t id;
	int rc, r;

	r = tenant_validate(t);
	if (r < 0)
		return r;
	if (exec_sql(db, "BEGIN IMMEDIATE") < 0)
		return -EIO;
	if (keep_id > 0) {
		sqlite3_stmt *del;

		if (sqlite3_prepare_v2(db->db, "DELETE FROM tenants WHERE id = ?1", -1, &del,
				       NULL) != SQLITE_OK) {
			r = -EIO;
			goto out;
		}
		sqlite3_bind_int64(del, 1, keep_id);
		rc = sqlite3_step(del);
		sqlite3_finalize(del);
		if (rc != SQLITE_DONE) {
			r = -EIO;
			goto out;
		}
	}
	if (sqlite3_prepare_v2(db->db, ins, -1, &st, NULL) != SQLITE_OK) {
		r = -EIO;
		goto out;
	}
	if (keep_id > 0)
		sqlite3_bind_int64(st, 1, keep_id);
	else
		sqlite3_bind_null(st, 1);
	sqlite3_bind_text(st, 2, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, t->route, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, t->routing_host, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, t->policy.on_malware);
	sqlite3_bind_int(st, 6, t->policy.on_suspect);
	sqlite3_bind_int(st, 7, t->policy.on_phish);
	sqlite3_bind_double(st, 8, t->policy.tag_at);
	sqlite3_bind_double(st, 9, t->policy.quarantine_at);
	sqlite3_bind_double(st, 10, t->policy.reject_at);
	sqlite3_bind_int64(st, 11, (sqlite3_int64)t->policy.quarantine_days);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT) {
		r = -EEXIST;
		goto out;
	}
	if (rc != SQLITE_DONE) {
		r = -EIO;
		goto out;
	}
	id = sqlite3_last_insert_rowid(db->db);
	r = tenant_write_children(db, id, t);
out:
	if (r == 0)
		r = exec_sql(db, "COMMIT");
	else
		exec_sql(db, "ROLLBACK");
	return r;
}

int tenant_add(struct tenant_db *db, struct tenant *t)
{
	int r = tenant_write(db, t, 0);

	if (r == 0)
		log_info("tenant added name=%s domains=%zu route=%s", t->name, t->ndomains,
			 t->route);
	return r;
}

static int64_t tenant_id_of(struct tenant_db *db, const char *name)
{
	sqlite3_stmt *st;
	int64_t id = -1;

	if (sqlite3_prepare_v2(db->db, "SELECT id FROM tenants WHERE name = ?1", -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

int tenant_update(struct tenant_db *db, const struct tenant *t)
{
	int64_t id = tenant_id_of(db, t->name);

	if (id < 0)
		return -ENOENT;
	return tenant_write(db, t, id);
}

int tenant_remove(struct tenant_db *db, const char *name)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db->db, "DELETE FROM tenants WHERE name = ?1", -1, &st, NULL) !=
	    SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -EIO;
	if (sqlite3_changes(db->db) == 0)
		return -ENOENT;
	log_info("tenant removed name=%s", name);
	return 0;
}

static void copy_col(char *dst, size_t sz, sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	snprintf(dst, sz, "%s", s ? (const char *)s : "");
}

/* Load the child rows of every tenant in arr (by id). */
static int tenant_load_children(struct tenant_db *db, struct tenant *arr, size_t n)
{
	static const char *sql[] = {
		"SELECT tenant_id, domain, '' FROM tenant_domains ORDER BY domain",
		"SELECT tenant_id, addr, '' FROM tenant_recipients ORDER BY addr",
		"SELECT tenant_id, entry, kind FROM tenant_lists ORDER BY entry",
	};

	for (size_t k = 0; k < 3; k++) {
		sqlite3_stmt *st;
		int rc;

		if (sqlite3_prepare_v2(db->db, sql[k], -1, &st, NULL) != SQLITE_OK)
			return -EIO;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			int64_t id = sqlite3_column_int64(st, 0);
			const char *v = (const char *)sqlite3_column_text(st, 1);
			const char *kind = (const char *)sqlite3_column_text(st, 2);

			for (size_t i = 0; i < n; i++) {
				struct tenant *t = &arr[i];
				int r = 0;

				if (t->id != id || v == NULL)
					continue;
				if (k == 0)
					r = strv_push(&t->domains, &t->ndomains, v);
				else if (k == 1)
					r = strv_push(&t->recipients, &t->nrecipients, v);
				else if (kind && strcmp(kind, "allow") == 0)
					r = strv_push(&t->allow, &t->nallow, v);
				else
					r = strv_push(&t->block, &t->nblock, v);
				if (r < 0) {
					sqlite3_finalize(st);
					return r;
				}
			}
		}
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return -EIO;
	}
	return 0;
}

static int tenant_query(struct tenant_db *db, const char *name, struct tenant **out, size_t *n)
{
	static const char all[] =
		"SELECT id, name, route, routing_host, on_malware, on_suspect, on_phish, tag_at,"
		" quarantine_at, reject_at, quarantine_days FROM tenants";
	char sql[sizeof all + 32];
	struct tenant *arr = NULL;
	size_t cnt = 0;
	sqlite3_stmt *st;
	int rc, r = 0;

	snprintf(sql, sizeof sql, "%s%s", all, name ? " WHERE name = ?1" : " ORDER BY name");
	if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	if (name)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct tenant *na = realloc(arr, (cnt + 1) * sizeof *arr), *t;

		if (na == NULL) {
			r = -ENOMEM;
			break;
		}
		arr = na;
		t = &arr[cnt++];
		memset(t, 0, sizeof *t);
		t->id = sqlite3_column_int64(st, 0);
		copy_col(t->name, sizeof t->name, st, 1);
		copy_col(t->route, sizeof t->route, st, 2);
		copy_col(t->routing_host, sizeof t->routing_host, st, 3);
		t->policy.on_malware = (enum policy_action)sqlite3_column_int(st, 4);
		t->policy.on_suspect = (enum policy_action)sqlite3_column_int(st, 5);
		t->policy.on_phish = (enum policy_action)sqlite3_column_int(st, 6);
		t->policy.tag_at = sqlite3_column_double(st, 7);
		t->policy.quarantine_at = sqlite3_column_double(st, 8);
		t->policy.reject_at = sqlite3_column_double(st, 9);
		t->policy.quarantine_days = (uint64_t)sqlite3_column_int64(st, 10);
	}
	sqlite3_finalize(st);
	if (r == 0 && rc != SQLITE_DONE)
		r = -EIO;
	if (r == 0)
		r = tenant_load_children(db, arr, cnt);
	if (r < 0) {
		for (size_t i = 0; i < cnt; i++)
			tenant_free(&arr[i]);
		free(arr);
		return r;
	}
	*out = arr;
	*n = cnt;
	return 0;
}

int tenant_list(struct tenant_db *db, struct tenant **out, size_t *n)
{
	return tenant_query(db, NULL, out, n);
}

int tenant_get(struct tenant_db *db, const char *name, struct tenant *out)
{
	struct tenant *arr;
	size_t n;
	int r = tenant_query(db, name, &arr, &n);

	if (r < 0)
		return r;
	if (n == 0) {
		free(arr);
		return -ENOENT;
	}
	*out = arr[0];
	free(arr);
	return 0;
}

/* ---- the snapshot ---- */

struct tenant_map {
	int64_t data_version;
	struct tenant *tenants;
	size_t ntenants;
	/* open addressing over (domain -> tenant index); size a power of two, load <= 1/2 */
	const char **dkey;
	size_t *dval;
	size_t dcap;
};

static uint64_t hash_ci(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *s; s++) {
		h ^= (unsigned char)tolower((unsigned char)*s);
		h *= 1099511628211ULL;
	}
	return h;
}

static int64_t db_data_version(struct tenant_db *db)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db->db, "PRAGMA data_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

void tenant_map_free(struct tenant_map *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->ntenants; i++)
		tenant_free(&m->tenants[i]);
	free(m->tenants);
	free(m->dkey);
	free(m->dval);
	free(m);
}

struct tenant_map *tenant_map_load(struct tenant_db *db)
{
	struct tenant_map *m = calloc(1, sizeof *m);
	size_t nd = 0;

	if (m == NULL)
		return NULL;
	m->data_version = db_data_version(db);
	if (tenant_list(db, &m->tenants, &m->ntenants) < 0) {
		log_warn("tenant: cannot load the tenant map");
		free(m);
		return NULL;
	}
	for (size_t i = 0; i < m->ntenants; i++)
		nd += m->tenants[i].ndomains;
	m->dcap = 16;
	while (m->dcap < nd * 2)
		m->dcap *= 2;
	m->dkey = calloc(m->dcap, sizeof *m->dkey);
	m->dval = calloc(m->dcap, sizeof *m->dval);
	if (m->dkey == NULL || m->dval == NULL) {
		tenant_map_free(m);
		return NULL;
	}
	for (size_t i = 0; i < m->ntenants; i++)
		for (size_t j = 0; j < m->tenants[i].ndomains; j++) {
			const char *d = m->tenants[i].domains[j];
			size_t h = hash_ci(d) & (m->dcap - 1);

			while (m->dkey[h])
				h = (h + 1) & (m->dcap - 1);
			m->dkey[h] = d;
			m->dval[h] = i;
		}
	return m;
}

struct tenant_map *tenant_map_refresh(struct tenant_db *db, struct tenant_map *m)
{
	struct tenant_map *n;
	int64_t v = db_data_version(db);

	if (m && v == m->data_version)
		return m;
	n = tenant_map_load(db);
	if (n == NULL)
		return m;
	if (m)
		log_info("tenant map reloaded tenants=%zu", n->ntenants);
	tenant_map_free(m);
	return n;
}

const struct tenant *tenant_map_domain(const struct tenant_map *m, const char *domain)
{
	size_t h;

	if (m == NULL || domain == NULL || domain[0] == '\0')
		return NULL;
	h = hash_ci(domain) & (m->dcap - 1);
	while (m->dkey[h]) {
		if (strcasecmp(m->dkey[h], domain) == 0)
			return &m->tenants[m->dval[h]];
		h = (h + 1) & (m->dcap - 1);
	}
	return NULL;
}

const struct tenant *tenant_map_name(const struct tenant_map *m, const char *name)
{
	if (m == NULL)
		return NULL;
	for (size_t i = 0; i < m->ntenants; i++)
		if (strcmp(m->tenants[i].name, name) == 0)
			return &m->tenants[i];
	return NULL;
}

int tenant_map_rcpt(const struct tenant_map *m, const char *addr, const struct tenant **tenant)
{
	const char *at = strrchr(addr, '@');
	const struct tenant *t;

	*tenant = NULL;
	if (at == NULL || at == addr || at[1] == '\0')
		return -ENOENT;
	t = tenant_map_domain(m, at + 1);
	if (t == NULL)
		return -ENOENT;
	*tenant = t;
	if (t->nrecipients == 0)
		return 0;
	for (size_t i = 0; i < t->nrecipients; i++)
		if (strcasecmp(t->recipients[i], addr) == 0)
			return 0;
	return -ESRCH;
}

static const char *const action_names[] = {"deliver", "tag", "quarantine", "reject"};

const char *policy_action_name(enum policy_action a)
{
	return (unsigned)a < 4 ? action_names[a] : "?";
}

int policy_action_parse(const char *s, enum policy_action *out)
{
	for (int i = 0; i < 4; i++)
		if (strcasecmp(s, action_names[i]) == 0) {
			*out = (enum policy_action)i;
			return 0;
		}
	return -EINVAL;
}
