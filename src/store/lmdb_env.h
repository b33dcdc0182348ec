/*
 * lmdb_env - opening the LMDB environments that the scanners share across processes
 * (db/bayes.lmdb, db/fuzzy.lmdb, db/phish.lmdb): one file each (MDB_NOSUBDIR) plus its -lock
 * file, transactions not tied to threads (MDB_NOTLS, so a kept read transaction can be renewed
 * from any thread), and LMDB's return codes mapped to -errno.
 */
#ifndef MX_STORE_LMDB_ENV_H
#define MX_STORE_LMDB_ENV_H

#include <lmdb.h>
#include <stddef.h>

enum {
	/* No fsync per commit and writes through the shared map: statistics, bulk learning, or
	 * a store whose last seconds a crash may lose. Without it every commit is durable. */
	LMDB_ENV_NOSYNC = 1 << 0,
};

/*
 * Create and open the environment at path (a file) with a map of mapsize bytes (address space,
 * sparse on disk) and room for maxdbs named databases. *out is the new environment (the
 * caller closes it with mdb_env_close). 0, or -errno with a log line naming what (tag) and
 * path; *out is NULL then.
 */
int lmdb_env_open(const char *tag, const char *path, size_t mapsize, unsigned maxdbs,
		  unsigned flags, MDB_env **out);

/* An LMDB return code as 0 or -errno (MDB_NOTFOUND is -ENOENT, MDB_MAP_FULL -ENOSPC, LMDB's
 * own other codes -EIO). */
int lmdb_errno(int r);

#endif
