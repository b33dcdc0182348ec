/*
 * tenant - client companies: their domains, route, routing host name, optional list of valid
 * recipients, and policy. Kept in SQLite at <home>/db/mxtower.sqlite (embedded mode).
 *
 * Two views:
 *  - records (tenant_add/get/list/set/remove) for the CLI and the web API;
 *  - a read-only snapshot (struct tenant_map) for the hot path: smtpd and the scanners look up
 *    a recipient's domain in it without touching SQLite. tenant_map_refresh() reloads the
 *    snapshot when the database changed, so a running node sees a change within a second when
 *    it calls refresh once a second.
 */
#ifndef MX_STORE_TENANT_H
#define MX_STORE_TENANT_H

#include "core/config.h"

#include <stddef.h>
#include <stdint.h>

#define TENANT_NAME_MAX 128
#define TENANT_HOST_MAX 256

/* What the client's policy does with a verdict. */
enum policy_action { POLICY_DELIVER, POLICY_TAG, POLICY_QUARANTINE, POLICY_REJECT };

struct tenant_policy {
	enum policy_action on_malware; /* default reject */
	enum policy_action on_suspect; /* default quarantine */
	enum policy_action on_phish;   /* default quarantine */
	double tag_at;        /* spam score thresholds: tag at T (default 5) */
	double quarantine_at; /* quarantine at Q (default 10) */
	double reject_at;     /* reject at R (default 15) */
	uint64_t quarantine_days; /* retention (default 30) */
};

struct tenant {
	int64_t id;
	char name[TENANT_NAME_MAX];
	char route[TENANT_HOST_MAX];        /* host:port of the client's own server */
	char routing_host[TENANT_HOST_MAX]; /* the host name we give the client for its MX */
	char **domains;     /* lowercased */
	size_t ndomains;
	char **recipients;  /* lowercased full addresses; none = any local part is valid */
	size_t nrecipients;
	/* allow/block lists: entries are "user@dom", "dom" or an IP/CIDR */
	char **allow;
	size_t nallow;
	char **block;
	size_t nblock;
	struct tenant_policy policy;
};

struct tenant_db;

/* Open (creating the schema) <home>/db/mxtower.sqlite. NULL with a log line on failure. */
struct tenant_db *tenant_db_open(const struct config *cfg);
void tenant_db_close(struct tenant_db *db);

void tenant_policy_defaults(struct tenant_policy *p);
void tenant_free(struct tenant *t); /* frees the arrays, not t itself */

/* 0, -EEXIST (name or a domain taken), -EINVAL, -EIO. */
int tenant_add(struct tenant_db *db, struct tenant *t);
/* Replace name's record with t (name stays the key). 0, -ENOENT, -EEXIST, -EIO. */
int tenant_update(struct tenant_db *db, const struct tenant *t);
int tenant_get(struct tenant_db *db, const char *name, struct tenant *out);
int tenant_remove(struct tenant_db *db, const char *name);
/* All tenants, malloc'd array of n; free each with tenant_free, then free(array). */
int tenant_list(struct tenant_db *db, struct tenant **out, size_t *n);

/* The hot-path snapshot. */
struct tenant_map;
struct tenant_map *tenant_map_load(struct tenant_db *db);
void tenant_map_free(struct tenant_map *m);
/* If the database changed since m was loaded, load a new map, free the old and return the new
 * one; otherwise return m. On a load error keep m (and log). */
struct tenant_map *tenant_map_refresh(struct tenant_db *db, struct tenant_map *m);
/* The tenant owning this domain (case-insensitive), or NULL. */
const struct tenant *tenant_map_domain(const struct tenant_map *m, const char *domain);
/* By tenant name, or NULL. */
const struct tenant *tenant_map_name(const struct tenant_map *m, const char *name);
/*
 * Recipient check for "local@domain": 0 when valid, -ENOENT when the domain belongs to no
 * client (relay denied), -ESRCH when the client lists its recipients and this is not one.
 * *tenant is set when the domain matched.
 */
int tenant_map_rcpt(const struct tenant_map *m, const char *addr, const struct tenant **tenant);

const char *policy_action_name(enum policy_action a);
int policy_action_parse(const char *s, enum policy_action *out);

#endif
