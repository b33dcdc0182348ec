/*
 * suspect - `mxtower suspect list [--json] | show ID | export ID [--out FILE]`: the samples of
 * suspected new viruses for the analysts: those still in quarantine (verdict "suspect") and
 * those archived under <home>/suspects/ when they left it (scan/suspect.h).
 */
#include "cli/cli.h"

#include "core/config.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "queue/queue.h"
#include "scan/quarantine.h"
#include "scan/suspect.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* An archived sample is at most one message (smtp.max_message_size caps it at 4 GiB). */
#define SUSPECT_SAMPLE_MAX (4ULL << 30)

static const char usage[] =
	"usage: mxtower suspect list [--json] | show ID | export ID [--out FILE]\n"
	"  list    samples of suspected new viruses (in quarantine or archived)\n"
	"  show    the sample's record: envelope and the heuristics that fired\n"
	"  export  the message as received (to FILE, or stdout)\n"
	"  -c FILE, --home DIR, -o section.key=value as for serve\n";

struct list_ctx {
	const struct config *cfg;
	struct queue *q;
	int json;
};

static void print_entry(int json, const char *id, const char *where, const char *why)
{
	if (!json) {
		printf("%s\t%s\t%s\n", id, where, why);
		return;
	}
	printf("{\"id\":\"%s\",\"where\":\"%s\",\"reason\":\"", id, where);
	for (const unsigned char *p = (const unsigned char *)why; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	printf("\"}\n");
}

static int list_live(void *arg, const char *id)
{
	struct list_ctx *x = arg;
	char reason[QUARANTINE_NOTE_MAX];
	struct queue_msg m;

	if (queue_msg_load(x->q, QUEUE_QUARANTINE, id, &m) < 0)
		return 0;
	if (m.env.verdict.verdict == VERDICT_SUSPECT) {
		quarantine_reason(x->cfg, &m, reason, sizeof reason);
		print_entry(x->json, id, "quarantine", reason);
	}
	queue_msg_free(&m);
	return 0;
}

/* "<home>/suspects/<id><ext>" */
static int archive_path(const struct config *cfg, const char *id, const char *ext, char *out,
			size_t outsz)
{
	char rel[64];

	if (!queue_id_valid(id))
		return -EINVAL;
	snprintf(rel, sizeof rel, "suspects/%s%s", id, ext);
	return config_path(cfg, rel, out, outsz);
}

static void list_archived(const struct config *cfg, struct queue *q, int json)
{
	char dir[CONFIG_PATH];
	struct dirent *de;
	DIR *d;

	if (config_path(cfg, "suspects", dir, sizeof dir) < 0 || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char id[QUEUE_ID_MAX], why[SCAN_SYMBOL_DETAIL + 32] = "archived sample";
		size_t n = strlen(de->d_name);
		enum queue_dir qd;

		if (n < 5 || n - 4 >= sizeof id || strcmp(de->d_name + n - 4, ".txt") != 0)
			continue;
		memcpy(id, de->d_name, n - 4);
		id[n - 4] = '\0';
		if (queue_msg_find(q, id, &qd) == 0 && qd == QUEUE_QUARANTINE)
			continue; /* listed as live */
		print_entry(json, id, "archive", why);
	}
	closedir(d);
}

static int s_show(const struct config *cfg, struct queue *q, const char *id)
{
	char path[CONFIG_PATH + 64];
	struct queue_msg m;
	size_t len;
	char *s;

	if (!queue_id_valid(id)) {
		fprintf(stderr, "mxtower suspect: %s: not an id\n", id);
		return 1;
	}
	if (queue_msg_load(q, QUEUE_QUARANTINE, id, &m) == 0) {
		if (m.env.verdict.verdict == VERDICT_SUSPECT) {
			s = suspect_record(&m);
			fputs(s, stdout);
			free(s);
			queue_msg_free(&m);
			return 0;
		}
		queue_msg_free(&m);
	}
	if (archive_path(cfg, id, ".txt", path, sizeof path) == 0 &&
	    (s = fs_read_file(path, 1 << 20, &len)) != NULL) {
		fwrite(s, 1, len, stdout);
		free(s);
		return 0;
	}
	fprintf(stderr, "mxtower suspect: %s: no such sample\n", id);
	return 1;
}

static int write_out(const char *out, const char *p, size_t len)
{
	int r;

	if (out == NULL)
		return fs_write_all(STDOUT_FILENO, p, len);
	r = fs_write_atomic(out, p, len, 0600);
	return r;
}

static int s_export(const struct config *cfg, struct queue *q, const char *id, const char *out)
{
	char path[CONFIG_PATH + 64];
	struct queue_msg m;
	size_t len;
	char *s;
	int r = -ENOENT;

	if (!queue_id_valid(id)) {
		fprintf(stderr, "mxtower suspect: %s: not an id\n", id);
		return 1;
	}
	if (queue_msg_load(q, QUEUE_QUARANTINE, id, &m) == 0) {
		int fd = queue_msg_open(q, QUEUE_QUARANTINE, id);
		size_t maplen = (size_t)(m.env.body_off + m.env.body_len);

		if (fd >= 0 && m.env.verdict.verdict == VERDICT_SUSPECT) {
			void *map = maplen ? mmap(NULL, maplen, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;

			if (map != MAP_FAILED) {
				r = write_out(out, map ? (char *)map + m.env.body_off : "",
					      (size_t)m.env.body_len);
				if (map)
					munmap(map, maplen);
			}
		}
		if (fd >= 0)
			close(fd);
		queue_msg_free(&m);
	}
	if (r == -ENOENT && archive_path(cfg, id, ".eml", path, sizeof path) == 0 &&
	    (s = fs_read_file(path, SUSPECT_SAMPLE_MAX, &len)) != NULL) {
		r = write_out(out, s, len);
		free(s);
	}
	if (r < 0) {
		fprintf(stderr, "mxtower suspect: %s: %s\n", id,
			r == -ENOENT ? "no such sample" : strerror(-r));
		return 1;
	}
	return 0;
}

int cmd_suspect(int argc, char **argv)
{
	struct config cfg;
	struct queue *q;
	const char *out = NULL;
	int json = 0, rc = 0;

	if (cli_wants_help(argc, argv, usage))
		return 0;
	config_defaults(&cfg);
	if (config_from_args(&cfg, &argc, argv) < 0)
		return 2;
	log_set_proc("suspect");
	json = cli_take_flag(&argc, argv, "--json");
	out = cli_take_opt(&argc, argv, "--out");
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	q = queue_open(&cfg);
	if (q == NULL) {
		fprintf(stderr, "mxtower suspect: cannot open the queue under %s\n", cfg.home);
		return 1;
	}
	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		struct list_ctx x = {&cfg, q, json};

		queue_dir_foreach(q, QUEUE_QUARANTINE, list_live, &x);
		list_archived(&cfg, q, json);
	} else if (argc == 3 && strcmp(argv[1], "show") == 0) {
		rc = s_show(&cfg, q, argv[2]);
	} else if (argc == 3 && strcmp(argv[1], "export") == 0) {
		rc = s_export(&cfg, q, argv[2], out);
	} else {
		fputs(usage, stderr);
		rc = 2;
	}
	queue_close(q);
	return rc;
}
