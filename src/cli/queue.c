/*
 * queue - `mxtower queue list|show ID|hold ID|release ID|delete ID|flush|stuck`: the operator's
 * view of the queue directories (and of the central location for stuck mail).
 *
 * Works whether or not the node runs: moves are renames, and qmgr is told by datagram (and
 * finds out by its directory scans anyway). incoming/ is never shown: nothing there was
 * acknowledged yet.
 */
#include "cli/cli.h"

#include "core/config.h"
#include "core/log.h"
#include "queue/queue.h"
#include "scan/quarantine.h"
#include "queue/tracking.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char queue_usage[] =
    "usage: mxtower queue list [--json]       one line per message: id, dir, age, size,\n"
    "                                         sender, recipients, state\n"
    "       mxtower queue show ID [--json]    envelope, verdict and headers of one message\n"
    "       mxtower queue hold ID             keep it from delivery (to hold/)\n"
    "       mxtower queue release ID          from hold/, quarantine/ or deferred/ to active/\n"
    "       mxtower queue delete ID           remove it (no DSN)\n"
    "       mxtower queue flush               try every deferred message now\n"
    "       mxtower queue stuck [--json]      messages copied to the central location\n"
    "Common options: -c FILE, --home DIR, -o section.key=value.\n";

/* The headers shown by `show` are cut at this size. */
#define SHOW_HEADERS_MAX 16384

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* Printable form of a peer-supplied string for the text output. */
static const char *safe(const char *s, char *out, size_t outsz)
{
	return log_escape(out, outsz, s ? s : "", s ? strlen(s) : 0);
}

static const char *msg_state(const struct queue_msg *m, char *out, size_t outsz)
{
	size_t done = 0;

	for (size_t i = 0; i < m->env.nrcpts; i++)
		done += m->env.rcpts[i].state != RCPT_PENDING;
	switch (m->dir) {
	case QUEUE_DEFERRED:
		snprintf(out, outsz, "deferred attempts=%u done=%zu/%zu", m->env.attempts, done,
		         m->env.nrcpts);
		break;
	case QUEUE_HOLD:
		snprintf(out, outsz, "held");
		break;
	case QUEUE_QUARANTINE:
		snprintf(out, outsz, "quarantined");
		break;
	default:
		snprintf(out, outsz, "%s%s done=%zu/%zu",
		         m->env.verdict.unscanned ? "unscanned " : "", queue_dir_name(m->dir), done,
		         m->env.nrcpts);
	}
	return out;
}

struct list_ctx {
	struct queue *q;
	enum queue_dir dir;
	int json;
	size_t n;
	time_t now;
};

static void print_msg(struct list_ctx *c, const struct queue_msg *m, const char *id, int loaded)
{
	char st[128], a[600], b[600];
	long age = loaded ? (long)(c->now - (time_t)m->env.arrival_sec) : 0;

	if (c->json) {
		printf("{\"id\":\"%s\",\"dir\":\"%s\"", id, queue_dir_name(c->dir));
		if (!loaded) {
			printf(",\"state\":\"unreadable\"}\n");
			return;
		}
		printf(",\"age\":%ld,\"size\":%llu,\"sender\":", age,
		       (unsigned long long)m->env.body_len);
		json_str(stdout, m->env.sender);
		printf(",\"tenant\":");
		json_str(stdout, m->env.tenant);
		printf(",\"recipients\":[");
		for (size_t i = 0; i < m->env.nrcpts; i++) {
			printf("%s{\"addr\":", i ? "," : "");
			json_str(stdout, m->env.rcpts[i].addr);
			printf(",\"state\":\"%c\"}", m->env.rcpts[i].state);
		}
		printf("],\"state\":");
		json_str(stdout, msg_state(m, st, sizeof st));
		printf(",\"attempts\":%u,\"next_try\":%llu,\"last_error\":", m->env.attempts,
		       (unsigned long long)m->env.next_try);
		json_str(stdout, m->env.last_error);
		printf(",\"verdict\":\"%s\",\"score\":%.2f,\"unscanned\":%s}\n",
		       envelope_verdict_name(m->env.verdict.verdict), m->env.verdict.score,
		       m->env.verdict.unscanned ? "true" : "false");
		return;
	}
	if (!loaded) {
		printf("%-20s %-10s %6s %8s %s\n", id, queue_dir_name(c->dir), "-", "-",
		       "(unreadable)");
		return;
	}
	printf("%-20s %-10s %5lds %8llu <%s> ", id, queue_dir_name(c->dir), age,
	       (unsigned long long)m->env.body_len, safe(m->env.sender, a, sizeof a));
	for (size_t i = 0; i < m->env.nrcpts; i++)
		printf("%s%s", i ? "," : "", safe(m->env.rcpts[i].addr, b, sizeof b));
	printf(" %s\n", msg_state(m, st, sizeof st));
}

static int list_one(void *arg, const char *id)
{
	struct list_ctx *c = arg;
	struct queue_msg m;
	int r = queue_msg_load(c->q, c->dir, id, &m);

	print_msg(c, &m, id, r == 0);
	if (r == 0)
		queue_msg_free(&m);
	c->n++;
	return 0;
}

static int cmd_list(struct queue *q, int json)
{
	static const enum queue_dir dirs[] = {QUEUE_ACTIVE, QUEUE_DEFERRED, QUEUE_HOLD,
	                                      QUEUE_QUARANTINE, QUEUE_CORRUPT};
	struct list_ctx c = {.q = q, .json = json, .now = time(NULL)};

	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		c.dir = dirs[i];
		queue_dir_foreach(q, dirs[i], list_one, &c);
	}
	if (!json)
		printf("-- %zu message%s\n", c.n, c.n == 1 ? "" : "s");
	return 0;
}

static int cmd_show(struct queue *q, const char *id, int json)
{
	struct queue_msg m;
	enum queue_dir d;
	char a[600], hdr[SHOW_HEADERS_MAX + 1];
	int r, fd;
	ssize_t n;

	if (queue_msg_find(q, id, &d) < 0) {
		fprintf(stderr, "mxtower queue: no message %s\n", id);
		return 1;
	}
	if ((r = queue_msg_load(q, d, id, &m)) < 0) {
		fprintf(stderr, "mxtower queue: %s in %s is unreadable: %s\n", id,
		        queue_dir_name(d), r == -EBADMSG ? "no END record" : strerror(-r));
		return 1;
	}
	if (json) {
		struct list_ctx c = {.q = q, .dir = d, .json = 1, .now = time(NULL)};

		print_msg(&c, &m, id, 1);
		queue_msg_free(&m);
		return 0;
	}
	printf("id: %s\ndir: %s\narrival: %llu\ntenant: %s\n", id, queue_dir_name(d),
	       (unsigned long long)m.env.arrival_sec, safe(m.env.tenant, a, sizeof a));
	printf("client: %s", safe(m.env.client_ip, a, sizeof a));
	printf(" helo=%s", safe(m.env.helo, a, sizeof a));
	printf(" proto=%s\n", safe(m.env.proto, a, sizeof a));
	printf("sender: <%s>\n", safe(m.env.sender, a, sizeof a));
	for (size_t i = 0; i < m.env.nrcpts; i++)
		printf("recipient: <%s> state=%c\n", safe(m.env.rcpts[i].addr, a, sizeof a),
		       m.env.rcpts[i].state);
	printf("attempts: %u\nnext_try: %llu\nlast_error: %s\n", m.env.attempts,
	       (unsigned long long)m.env.next_try, safe(m.env.last_error, a, sizeof a));
	printf("verdict: %s action=%s score=%.2f unscanned=%d%s%s\n",
	       envelope_verdict_name(m.env.verdict.verdict),
	       envelope_action_name(m.env.verdict.action), m.env.verdict.score,
	       m.env.verdict.unscanned, m.env.verdict.virus[0] ? " virus=" : "",
	       safe(m.env.verdict.virus, a, sizeof a));
	for (unsigned i = 0; i < m.env.verdict.nsym; i++)
		printf("symbol: %s %.2f %s\n", m.env.verdict.sym[i].name,
		       m.env.verdict.sym[i].score, safe(m.env.verdict.sym[i].detail, a, sizeof a));
	printf("size: %llu\n\n", (unsigned long long)m.env.body_len);
	fd = queue_msg_open(q, d, id);
	if (fd >= 0) {
		size_t want =
		    m.env.body_len < SHOW_HEADERS_MAX ? (size_t)m.env.body_len : SHOW_HEADERS_MAX;

		n = pread(fd, hdr, want, (off_t)m.env.body_off);
		if (n > 0) {
			char *end;

			hdr[n] = '\0';
			end = strstr(hdr, "\r\n\r\n");
			if (end)
				end[2] = '\0';
			/* Header bytes are peer data: escape what is not printable. */
			for (char *c = hdr; *c; c++)
				if (((unsigned char)*c < 0x20 && *c != '\r' && *c != '\n' &&
				     *c != '\t') ||
				    *c == 0x7f)
					*c = '?';
			fputs(hdr, stdout);
		}
		close(fd);
	}
	queue_msg_free(&m);
	return 0;
}

/* qmgr moves messages between active/ and deferred/ while we look: a move that finds the file
 * gone from where it just was looks again, this many times. */
#define MOVE_TRIES 5

static int cmd_move_once(const struct config *cfg, struct queue *q, const char *verb,
                         const char *id);

static int cmd_move(const struct config *cfg, struct queue *q, const char *verb, const char *id)
{
	int r = 1;

	for (int i = 0; i < MOVE_TRIES; i++)
		if ((r = cmd_move_once(cfg, q, verb, id)) != -ENOENT)
			break;
	if (r == -ENOENT) {
		fprintf(stderr, "mxtower queue: %s %s: the message keeps moving; try again\n", verb,
		        id);
		r = 1;
	}
	return r;
}

static int cmd_move_once(const struct config *cfg, struct queue *q, const char *verb,
                         const char *id)
{
	enum queue_dir d;
	int r;

	if (!queue_id_valid(id) || queue_msg_find(q, id, &d) < 0) {
		fprintf(stderr, "mxtower queue: no message %s\n", id);
		return 1;
	}
	if (strcmp(verb, "hold") == 0) {
		if (d == QUEUE_HOLD) {
			printf("%s is already held\n", id);
			return 0;
		}
		if (d != QUEUE_ACTIVE && d != QUEUE_DEFERRED) {
			fprintf(stderr, "mxtower queue: %s is in %s/, not held\n", id,
			        queue_dir_name(d));
			return 1;
		}
		r = queue_msg_move(q, id, d, QUEUE_HOLD);
	} else if (strcmp(verb, "release") == 0) {
		if (d == QUEUE_ACTIVE) {
			printf("%s is already active\n", id);
			return 0;
		}
		if (d == QUEUE_CORRUPT) {
			fprintf(stderr, "mxtower queue: %s is corrupt and cannot be delivered\n",
			        id);
			return 1;
		}
		/* From quarantine, the quarantine's own path: suspect samples are archived
		 * before the message leaves, as `mxtower quarantine release` does. */
		r = d == QUEUE_QUARANTINE ? quarantine_release(cfg, q, id)
					  : queue_msg_release(cfg, q, id, d);
	} else {
		struct tracking *t;

		r = d == QUEUE_QUARANTINE ? quarantine_delete(cfg, q, id) : queue_msg_delete(q, d, id);
		if (r == 0 && (t = tracking_open(cfg)) != NULL) {
			tracking_fate(t, id, "deleted");
			tracking_close(t);
		}
	}
	if (r == -ENOENT)
		return r; /* moved meanwhile: look again */
	if (r < 0) {
		fprintf(stderr, "mxtower queue: %s %s: %s\n", verb, id, strerror(-r));
		return 1;
	}
	printf("%s: %s\n", id,
	       strcmp(verb, "hold") == 0      ? "held"
	       : strcmp(verb, "release") == 0 ? "released"
	                                      : "deleted");
	return 0;
}

static int flush_one(void *arg, const char *id)
{
	struct queue *q = arg;
	struct queue_msg m;
	char path[PATH_MAX];
	int fd;

	if (queue_path(q, QUEUE_DEFERRED, id, path, sizeof path) < 0)
		return 0;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (queue_msg_load(q, QUEUE_DEFERRED, id, &m) == 0) {
		queue_msg_set_retry(fd, &m.env, m.env.attempts, 0, NULL);
		queue_msg_free(&m);
	}
	close(fd);
	return 0;
}

static int cmd_flush(const struct config *cfg, struct queue *q)
{
	queue_dir_foreach(q, QUEUE_DEFERRED, flush_one, q);
	queue_notify_qmgr(cfg, "FLUSH");
	printf("deferred mail is due now\n");
	return 0;
}

static int cmd_stuck(const struct config *cfg, struct queue *q, int json)
{
	char dir[PATH_MAX];
	struct dirent *de;
	size_t n = 0;
	time_t now = time(NULL);
	DIR *dp;

	(void)q;
	if (config_path(cfg, "central", dir, sizeof dir) < 0)
		return 1;
	dp = opendir(dir);
	while (dp && (de = readdir(dp)) != NULL) {
		char path[PATH_MAX + 300], a[600], b[600];
		struct queue_msg m;
		int r;

		if (!queue_id_valid(de->d_name))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		r = queue_msg_load_path(path, de->d_name, &m);
		n++;
		if (r < 0) {
			printf(json ? "{\"id\":\"%s\",\"state\":\"unreadable\"}\n"
			            : "%s (unreadable)\n",
			       de->d_name);
			continue;
		}
		if (json) {
			printf("{\"id\":\"%s\",\"age\":%ld,\"attempts\":%u,\"sender\":", de->d_name,
			       (long)(now - (time_t)m.env.arrival_sec), m.env.attempts);
			json_str(stdout, m.env.sender);
			printf(",\"recipients\":[");
			for (size_t i = 0; i < m.env.nrcpts; i++) {
				printf("%s", i ? "," : "");
				json_str(stdout, m.env.rcpts[i].addr);
			}
			printf("],\"last_error\":");
			json_str(stdout, m.env.last_error);
			printf("}\n");
		} else {
			printf("%-20s %6lds attempts=%u <%s> ", de->d_name,
			       (long)(now - (time_t)m.env.arrival_sec), m.env.attempts,
			       safe(m.env.sender, a, sizeof a));
			for (size_t i = 0; i < m.env.nrcpts; i++)
				printf("%s%s", i ? "," : "",
				       safe(m.env.rcpts[i].addr, b, sizeof b));
			printf(" %s\n", safe(m.env.last_error, a, sizeof a));
		}
		queue_msg_free(&m);
	}
	if (dp)
		closedir(dp);
	if (!json)
		printf("-- %zu stuck message%s\n", n, n == 1 ? "" : "s");
	return 0;
}

int cmd_queue(int argc, char **argv)
{
	struct config cfg;
	struct queue *q;
	const char *sub, *id = NULL;
	int json = 0, ret;

	if (cli_wants_help(argc, argv, queue_usage))
		return 0;
	config_defaults(&cfg);
	if (config_from_args(&cfg, &argc, argv) < 0)
		return 2;
	if (argc < 2) {
		fputs(queue_usage, stderr);
		return 2;
	}
	sub = argv[1];
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (id == NULL && argv[i][0] != '-')
			id = argv[i];
		else {
			fprintf(stderr, "mxtower queue: unexpected argument '%s'\n", argv[i]);
			return 2;
		}
	}
	if ((strcmp(sub, "show") == 0 || strcmp(sub, "hold") == 0 || strcmp(sub, "release") == 0 ||
	     strcmp(sub, "delete") == 0) &&
	    id == NULL) {
		fprintf(stderr, "mxtower queue %s: which queue id?\n", sub);
		return 2;
	}
	log_set_level(LOG_LEVEL_WARN);
	q = queue_open(&cfg);
	if (q == NULL)
		return 1;
	if (strcmp(sub, "list") == 0)
		ret = cmd_list(q, json);
	else if (strcmp(sub, "show") == 0)
		ret = cmd_show(q, id, json);
	else if (strcmp(sub, "hold") == 0 || strcmp(sub, "release") == 0 ||
	         strcmp(sub, "delete") == 0)
		ret = cmd_move(&cfg, q, sub, id);
	else if (strcmp(sub, "flush") == 0)
		ret = cmd_flush(&cfg, q);
	else if (strcmp(sub, "stuck") == 0)
		ret = cmd_stuck(&cfg, q, json);
	else {
		fprintf(stderr, "mxtower queue: unknown subcommand '%s'\n", sub);
		fputs(queue_usage, stderr);
		ret = 2;
	}
	queue_close(q);
	return ret;
}
