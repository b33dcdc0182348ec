/*
 * quarantine - `mxtower quarantine list [--json] | show ID | release ID | delete ID | expire`:
 * the mail held in queue/quarantine/ and why (scan/quarantine.h).
 */
#include "cli/cli.h"

#include "core/config.h"
#include "core/log.h"
#include "queue/queue.h"
#include "scan/quarantine.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* show prints the message's header block up to this many bytes. */
#define QUARANTINE_SHOW_HEADERS (16 * 1024)

static const char usage[] =
	"usage: mxtower quarantine list [--json] | show ID | release ID | delete ID | expire\n"
	"  list     quarantined messages: id, arrival, tenant, sender, verdict, reason\n"
	"  show     envelope, verdict, symbols and headers of one message\n"
	"  release  deliver it (moved to the active queue, qmgr notified)\n"
	"  delete   remove it (suspects are archived for `mxtower suspect` first)\n"
	"  expire   delete what is past its client's quarantine_days\n"
	"  -c FILE, --home DIR, -o section.key=value as for serve\n";

static void json_str(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

struct list_ctx {
	const struct config *cfg;
	struct queue *q;
	int json;
	unsigned n;
};

static int list_one(void *arg, const char *id)
{
	struct list_ctx *x = arg;
	char reason[QUARANTINE_NOTE_MAX], when[32];
	struct queue_msg m;
	struct tm tm;
	time_t t;

	if (queue_msg_load(x->q, QUEUE_QUARANTINE, id, &m) < 0)
		return 0;
	quarantine_reason(x->cfg, &m, reason, sizeof reason);
	t = (time_t)m.env.arrival_sec;
	gmtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (x->json) {
		printf("{\"id\":\"%s\",\"arrival\":\"%s\",\"tenant\":", m.id, when);
		json_str(m.env.tenant);
		printf(",\"sender\":");
		json_str(m.env.sender);
		printf(",\"rcpts\":[");
		for (size_t i = 0; i < m.env.nrcpts; i++) {
			if (i)
				putchar(',');
			json_str(m.env.rcpts[i].addr);
		}
		printf("],\"verdict\":\"%s\",\"score\":%.2f,\"virus\":",
		       scan_verdict_name(m.env.verdict.verdict), m.env.verdict.score);
		if (m.env.verdict.virus[0])
			json_str(m.env.verdict.virus);
		else
			printf("null");
		printf(",\"reason\":");
		json_str(reason);
		printf("}\n");
	} else {
		printf("%s\t%s\t%s\t%s\t%s\t%s\n", m.id, when, m.env.tenant ? m.env.tenant : "",
		       m.env.sender && m.env.sender[0] ? m.env.sender : "<>",
		       scan_verdict_name(m.env.verdict.verdict), reason);
	}
	x->n++;
	queue_msg_free(&m);
	return 0;
}

static int q_show(const struct config *cfg, struct queue *q, const char *id)
{
	char reason[QUARANTINE_NOTE_MAX];
	struct queue_msg m;
	void *map;
	size_t maplen;
	int fd, r;

	r = queue_id_valid(id) ? queue_msg_load(q, QUEUE_QUARANTINE, id, &m) : -EINVAL;
	if (r < 0) {
		fprintf(stderr, "mxtower quarantine: %s: %s\n", id, r == -ENOENT ? "not in quarantine" : strerror(-r));
		return 1;
	}
	quarantine_reason(cfg, &m, reason, sizeof reason);
	printf("id: %s\ntenant: %s\nclient: %s\nhelo: %s\nsender: %s\n", m.id,
	       m.env.tenant ? m.env.tenant : "", m.env.client_ip ? m.env.client_ip : "",
	       m.env.helo ? m.env.helo : "", m.env.sender ? m.env.sender : "");
	for (size_t i = 0; i < m.env.nrcpts; i++)
		printf("rcpt: %s\n", m.env.rcpts[i].addr);
	printf("verdict: %s\nscore: %.2f\nreason: %s\n", scan_verdict_name(m.env.verdict.verdict),
	       m.env.verdict.score, reason);
	if (m.env.verdict.virus[0])
		printf("virus: %s\n", m.env.verdict.virus);
	for (unsigned i = 0; i < m.env.verdict.nsym && i < SCAN_MAX_SYMBOLS; i++)
		printf("symbol: %s %.2f %s\n", m.env.verdict.sym[i].name, m.env.verdict.sym[i].score,
		       m.env.verdict.sym[i].detail);
	fd = queue_msg_open(q, QUEUE_QUARANTINE, id);
	maplen = (size_t)(m.env.body_off + m.env.body_len);
	if (fd >= 0 && m.env.body_len > 0) {
		map = mmap(NULL, maplen, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map != MAP_FAILED) {
			const char *b = (const char *)map + m.env.body_off;
			size_t n = (size_t)m.env.body_len, h;
			const char *end = memmem(b, n, "\r\n\r\n", 4);

			h = end ? (size_t)(end - b) : n;
			if (h > QUARANTINE_SHOW_HEADERS)
				h = QUARANTINE_SHOW_HEADERS;
			printf("\n");
			fwrite(b, 1, h, stdout);
			printf("\n");
			munmap(map, maplen);
		}
	}
	if (fd >= 0)
		close(fd);
	queue_msg_free(&m);
	return 0;
}

int cmd_quarantine(int argc, char **argv)
{
	struct config cfg;
	struct queue *q;
	int json = 0, rc = 0, r;

	if (cli_wants_help(argc, argv, usage))
		return 0;
	config_defaults(&cfg);
	if (config_from_args(&cfg, &argc, argv) < 0)
		return 2;
	log_set_proc("quarantine");
	json = cli_take_flag(&argc, argv, "--json");
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	q = queue_open(&cfg);
	if (q == NULL) {
		fprintf(stderr, "mxtower quarantine: cannot open the queue under %s\n", cfg.home);
		return 1;
	}
	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		struct list_ctx x = {&cfg, q, json, 0};

		queue_dir_foreach(q, QUEUE_QUARANTINE, list_one, &x);
	} else if (argc == 3 && strcmp(argv[1], "show") == 0) {
		rc = q_show(&cfg, q, argv[2]);
	} else if (argc == 3 && (strcmp(argv[1], "release") == 0 || strcmp(argv[1], "delete") == 0)) {
		int rel = strcmp(argv[1], "release") == 0;

		r = rel ? quarantine_release(&cfg, q, argv[2]) : quarantine_delete(&cfg, q, argv[2]);
		if (r < 0) {
			fprintf(stderr, "mxtower quarantine: %s: %s\n", argv[2],
				r == -ENOENT ? "not in quarantine" : strerror(-r));
			rc = 1;
		} else {
			printf("%s %s\n", rel ? "released" : "deleted", argv[2]);
		}
	} else if (argc == 2 && strcmp(argv[1], "expire") == 0) {
		r = quarantine_expire(&cfg, q, time(NULL));
		if (r < 0) {
			fprintf(stderr, "mxtower quarantine: expire: %s\n", strerror(-r));
			rc = 1;
		} else {
			printf("expired %d\n", r);
		}
	} else {
		fputs(usage, stderr);
		rc = 2;
	}
	queue_close(q);
	return rc;
}
