/*
 * config - the node's configuration: defaults, the INI file (libinih), command-line flags and
 * `-o section.key=value` overrides, in that order of precedence (last wins).
 *
 * One table in config.c drives parsing, validation, printing and the list of secret keys, so a
 * new key is one line there plus its field here. Strings are fixed-size arrays: a config is a
 * plain value that can be copied into a child process and printed without ownership questions.
 */
#ifndef MX_CORE_CONFIG_H
#define MX_CORE_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#define CONFIG_STR 256
#define CONFIG_PATH 1024

struct config {
	char home[CONFIG_PATH]; /* holds queue/, db/, signatures/, run/, central/ */

	struct {
		char name[CONFIG_STR];
		char tower[CONFIG_STR];
		char datacentre[CONFIG_STR];
		uint64_t spec_msgs; /* capacity in msg/s, for yellow */
		uint64_t yellow_at; /* percent of spec_msgs */
	} node;

	struct {
		char listen[CONFIG_STR];
		char hostname[CONFIG_STR];
		uint64_t max_message_size;  /* bytes */
		uint64_t max_recipients;    /* per message */
		uint64_t max_line;          /* command/text line, bytes incl. CRLF */
		uint64_t max_sessions;      /* in total */
		uint64_t max_sessions_per_ip;
		uint64_t max_errors;        /* per session, then 421 */
		uint64_t cmd_timeout;       /* seconds */
		uint64_t data_timeout;      /* seconds */
		uint64_t workers;           /* smtpd processes */
		char xclient_networks[CONFIG_STR]; /* comma-separated CIDRs */
		char tls_cert[CONFIG_PATH];
		char tls_key[CONFIG_PATH];
	} smtp;

	struct {
		char listen[CONFIG_STR];
	} http;

	struct {
		uint64_t hash_depth;  /* levels of split directories */
		uint64_t hash_width;  /* hex digits per level */
		uint64_t stuck_after; /* seconds */
		uint64_t stuck_attempts;
		uint64_t max_lifetime; /* seconds, then bounce */
		uint64_t retry_min;    /* seconds, first retry */
		uint64_t retry_max;    /* seconds, backoff cap */
		uint64_t dest_concurrency; /* connections per destination */
		uint64_t delay_red;  /* seconds: oldest message older than this = red */
	} queue;

	struct {
		uint64_t workers;
		uint64_t deadline_ms;
		/* comma-separated scanner names to run, "all" (default) or "none" (the empty
		 * pipeline: every message is clean; used by the relay benchmark) */
		char scanners[CONFIG_STR];
	} scan;

	struct {
		/* 1: learn from the scanner's own confident verdicts, after the reply (docs/spam.md,
		 * "Autolearn"); 0 (default): only `mxtower learn` teaches Bayes */
		uint64_t autolearn;
		/* points, without Bayes's own symbol: spam from the client's reject_at + this (and
		 * two scanners agreeing), ham at the client's tag_at - this or less */
		uint64_t autolearn_spam_margin;
		uint64_t autolearn_ham_margin;
	} bayes;

	struct {
		char resolver[CONFIG_STR];
		/* per scanner (auth, dnsbl) and message; capped at a quarter of scan.deadline_ms */
		uint64_t budget_ms;
	} dns;

	struct {
		/* comma-separated zone[:score[:codes]] lists (docs/auth.md) */
		char zones[CONFIG_STR];        /* client IP lists */
		char domain_zones[CONFIG_STR]; /* URL domain lists */
	} dnsbl;

	struct {
		char redis[CONFIG_STR];
		char redis_password[CONFIG_STR]; /* secret */
	} cluster;
};

/* Fill in the defaults (home defaults to "./mxtower-home"). */
void config_defaults(struct config *c);
/* Read an INI file over c. Returns 0, or -1 with a message in err (errsz). */
int config_load(struct config *c, const char *path, char *err, size_t errsz);
/* The same over INI text in memory (NUL-terminated); name is used in messages. */
int config_load_string(struct config *c, const char *text, const char *name, char *err,
		       size_t errsz);
/* Set one key, "section.key" and value, validating it. 0, or -1 with a message in err. */
int config_set(struct config *c, const char *key, const char *value, char *err, size_t errsz);
/* Print "section.key = value" lines; secret keys print as "(set)" or "(unset)". */
void config_print(const struct config *c, FILE *out);
/* Build "<home>/<rel>" into out. Returns 0 or -ENAMETOOLONG. */
int config_path(const struct config *c, const char *rel, char *out, size_t outsz);

/*
 * Parse the options shared by every command that touches a node: -c FILE, --home DIR,
 * -o section.key=value, and the serve flags --smtp/--http. Consumed arguments are removed from
 * argv (argc updated); the rest stay in order. Returns 0, or -1 after printing to stderr.
 * Looks for ./mxtower.ini only when no -c is given and the file exists.
 */
int config_from_args(struct config *c, int *argc, char **argv);

#endif
