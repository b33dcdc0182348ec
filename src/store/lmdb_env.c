/*
 * lmdb_env - the one place the scanners' LMDB environments are opened (see lmdb_env.h).
 */
#include "store/lmdb_env.h"

#include "core/log.h"

#include <errno.h>

int lmdb_errno(int r)
{
	if (r == 0)
		return 0;
	if (r == MDB_NOTFOUND)
		return -ENOENT;
	if (r == MDB_MAP_FULL)
		return -ENOSPC;
	return r > 0 ? -r : -EIO;
}

int lmdb_env_open(const char *tag, const char *path, size_t mapsize, unsigned maxdbs,
		  unsigned flags, MDB_env **out)
{
	unsigned envflags = MDB_NOSUBDIR | MDB_NOTLS;
	MDB_env *env = NULL;
	int r;

	*out = NULL;
	if (flags & LMDB_ENV_NOSYNC)
		envflags |= MDB_NOSYNC | MDB_WRITEMAP; /* no write(2) per commit either */
	if ((r = mdb_env_create(&env)) != 0)
		goto fail;
	if ((r = mdb_env_set_mapsize(env, mapsize)) != 0 ||
	    (maxdbs && (r = mdb_env_set_maxdbs(env, maxdbs)) != 0) ||
	    (r = mdb_env_open(env, path, envflags, 0660)) != 0)
		goto fail;
	*out = env;
	return 0;
fail:
	log_warn("%s: open %s: %s", tag, path, mdb_strerror(r));
	if (env)
		mdb_env_close(env);
	return lmdb_errno(r);
}
