/*
 * sig - `mxtower sig add FILE` · `sig list` · `sig remove NAME` · `sig retro`: the analysts'
 * signatures in <home>/signatures/ (ClamAV .hdb .hsb .ndb .ldb ..., YARA .yar).
 *
 * add loads and compiles the file in a scratch engine first; only a file that compiles is
 * installed, atomically (temporary file, fsync, rename), so a scan worker never sees half a
 * file and never loads a broken one. The workers notice the change within a second and swap
 * in a new engine. add and remove then retro-scan the held mail (see scan/retro.h).
 */
#include "cli/cli.h"

#include "core/config.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "scan/av.h"
#include "scan/retro.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A signature file bigger than this is a database dump, not an analyst's file. */
#define SIG_FILE_MAX (256u * 1024 * 1024)

static const char usage[] =
	"usage: mxtower sig add FILE [--no-retro] | sig list | sig remove NAME | sig retro\n"
	"  add     check that FILE compiles, install it into <home>/signatures/, retro-scan\n"
	"  list    installed signature files with their signature counts\n"
	"  remove  uninstall a signature file\n"
	"  retro   scan held and queued mail again with the installed signatures\n"
	"  formats: .hdb .hsb .mdb .msb .ndb .ldb .cdb .fp .sfp .ign2 (ClamAV), .yar .yara (YARA)\n"
	"  -c FILE, --home DIR, -o section.key=value as for serve\n";

static int sig_retro(const struct config *cfg)
{
	struct retro_result rr;
	int r = scan_retro_run(cfg, &rr);

	if (r < 0) {
		fprintf(stderr, "mxtower sig: retro-scan failed: %s\n", strerror(-r));
		return 1;
	}
	printf("retro-scan: scanned %u, matched %u, moved to quarantine %u\n", rr.scanned,
	       rr.matched, rr.moved);
	return 0;
}

static int sig_add(const struct config *cfg, const char *file, int retro)
{
	char dir[CONFIG_PATH], dest[CONFIG_PATH + 256], err[256];
	const char *base = strrchr(file, '/');
	unsigned nsigs;
	size_t len;
	char *data;
	int r;

	base = base ? base + 1 : file;
	if (!av_sig_name_ok(base)) {
		fprintf(stderr, "mxtower sig: %s: unknown signature format (by extension)\n", file);
		return 1;
	}
	if (av_sig_check(file, &nsigs, err, sizeof err) < 0) {
		fprintf(stderr, "mxtower sig: %s: %s; not installed\n", file, err);
		return 1;
	}
	data = fs_read_file(file, SIG_FILE_MAX, &len);
	if (data == NULL) {
		fprintf(stderr, "mxtower sig: %s: %s\n", file, strerror(errno));
		return 1;
	}
	if (config_path(cfg, "signatures", dir, sizeof dir) < 0 || fs_mkdir_p(dir, 0755) < 0) {
		fprintf(stderr, "mxtower sig: cannot create %s/signatures\n", cfg->home);
		free(data);
		return 1;
	}
	snprintf(dest, sizeof dest, "%s/%s", dir, base);
	r = fs_write_atomic(dest, data, len, 0644);
	free(data);
	if (r < 0) {
		fprintf(stderr, "mxtower sig: writing %s: %s\n", dest, strerror(-r));
		return 1;
	}
	log_info("sig: installed %s sigs=%u", base, nsigs);
	printf("installed %s (%u signatures)\n", base, nsigs);
	return retro ? sig_retro(cfg) : 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int sig_list(const struct config *cfg)
{
	char dir[CONFIG_PATH], path[CONFIG_PATH + 256], err[256], when[32];
	char *names[4096];
	size_t n = 0;
	struct dirent *de;
	DIR *d;

	if (config_path(cfg, "signatures", dir, sizeof dir) < 0)
		return 1;
	d = opendir(dir);
	if (d == NULL) {
		if (errno == ENOENT)
			return 0; /* nothing installed */
		fprintf(stderr, "mxtower sig: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	while ((de = readdir(d)) != NULL && n < sizeof names / sizeof names[0])
		if (av_sig_name_ok(de->d_name))
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof names[0], name_cmp);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		unsigned nsigs = 0;
		struct tm tm;

		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		if (stat(path, &st) == 0) {
			av_sig_check(path, &nsigs, err, sizeof err);
			gmtime_r(&st.st_mtime, &tm);
			strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
			printf("%s\t%u\t%lld\t%s\n", names[i], nsigs, (long long)st.st_size, when);
		}
		free(names[i]);
	}
	return 0;
}

static int sig_remove(const struct config *cfg, const char *name, int retro)
{
	char dir[CONFIG_PATH], path[CONFIG_PATH + 256];

	if (!av_sig_name_ok(name) || config_path(cfg, "signatures", dir, sizeof dir) < 0) {
		fprintf(stderr, "mxtower sig: %s: not a signature file name\n", name);
		return 1;
	}
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (unlink(path) < 0) {
		fprintf(stderr, "mxtower sig: %s: %s\n", name, strerror(errno));
		return 1;
	}
	fs_fsync_dir(dir);
	log_info("sig: removed %s", name);
	printf("removed %s\n", name);
	(void)retro; /* fewer signatures match less: nothing new to quarantine */
	return 0;
}

int cmd_sig(int argc, char **argv)
{
	struct config cfg;
	int retro = 1;

	if (cli_wants_help(argc, argv, usage))
		return 0;
	config_defaults(&cfg);
	if (config_from_args(&cfg, &argc, argv) < 0)
		return 2;
	log_set_proc("sig");
	retro = !cli_take_flag(&argc, argv, "--no-retro");
	if (argc == 3 && strcmp(argv[1], "add") == 0)
		return sig_add(&cfg, argv[2], retro);
	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return sig_list(&cfg);
	if (argc == 3 && strcmp(argv[1], "remove") == 0)
		return sig_remove(&cfg, argv[2], retro);
	if (argc == 2 && strcmp(argv[1], "retro") == 0)
		return sig_retro(&cfg);
	fputs(usage, stderr);
	return 2;
}
