/*
 * maintenance - the flag file (see maintenance.h).
 */
#include "web/maintenance.h"

#include "core/fsutil.h"
#include "core/parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The file holds one short line; anything longer is not ours. */
#define MAINT_FILE_MAX 64

int maintenance_get(const struct config *cfg, uint64_t *since)
{
	char path[CONFIG_PATH];
	size_t len;
	char *text;

	if (since != NULL)
		*since = 0;
	if (config_path(cfg, "db/maintenance", path, sizeof path) < 0)
		return 0;
	text = fs_read_file(path, MAINT_FILE_MAX, &len);
	if (text == NULL)
		return errno == ENOENT ? 0 : 1; /* unreadable but present: err on the side of blue */
	if (since != NULL && len > 3 && strncmp(text, "on ", 3) == 0)
		*since = strtoull(text + 3, NULL, 10);
	free(text);
	return 1;
}

int maintenance_set(const struct config *cfg, int on)
{
	char dir[CONFIG_PATH], path[CONFIG_PATH], line[MAINT_FILE_MAX];
	int n, rc;

	if (config_path(cfg, "db", dir, sizeof dir) < 0 ||
	    config_path(cfg, "db/maintenance", path, sizeof path) < 0)
		return -ENAMETOOLONG;
	if (!on) {
		if (unlink(path) < 0 && errno != ENOENT)
			return -errno;
		rc = fs_fsync_dir(dir);
		return rc == -ENOENT ? 0 : rc;
	}
	rc = fs_mkdir_p(dir, 0750);
	if (rc < 0)
		return rc;
	n = snprintf(line, sizeof line, "on %llu\n", (unsigned long long)time(NULL));
	return fs_write_atomic(path, line, (size_t)n, 0640);
}
