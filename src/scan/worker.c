/*
 * scan worker - see worker.h. One process, one request at a time: accept a connection on the
 * shared listening socket, receive the request and the spool fd, map the message, run the
 * pipeline, send the verdict, close. Between requests (and at least once a second) it asks
 * the scanners to reload, so new signatures are live within about a second.
 *
 * Hardening, in this order at start: pin <home> as a directory fd (scan_home_path), make a
 * scratch directory (on /dev/shm when it is a tmpfs), init the scanners (they read their data
 * as root), drop to user "nobody"
 * (setgroups, setgid, setuid) when started as root, then a seccomp filter that refuses new
 * sockets, exec and process creation. A scan that runs far past the client's deadline is a
 * hang: alarm() kills the worker and the master starts a fresh one.
 */
#include "scan/worker.h"

#include "core/fsutil.h"
#include "core/log.h"
#include "core/stats.h"
#include "scan/scan.h"
#include "scan/wire.h"
#include "store/tenant.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

/* 2 s: the client sends its request in the same breath as connect(); longer silence is a bug. */
#define WORKER_REQ_WAIT_MS 2000
/* 1 s between reload checks: a new signature is live well within the promised 5 s. */
#define WORKER_TICK_MS 1000
/* At most this many fds in one request; extras are closed (only one is expected). */
#define WORKER_MAX_FDS 4
/* The unprivileged user the worker becomes when started as root. */
#define WORKER_USER "nobody"
/* Where the scratch directory goes when it is a tmpfs. */
#define WORKER_SHM "/dev/shm"
/* libclamav nests a directory per scan call, and a few more inside for archives. */
#define WORKER_SCRATCH_DEPTH 8

static volatile sig_atomic_t worker_stop, worker_reload;
static char worker_scratch[CONFIG_PATH];
/* The scratch directory's own path when it is on /dev/shm ("" when in the home). */
static char worker_scratch_shm_path[128];
/* The tenant snapshot: opened as root before the drop (the connection keeps its files open),
 * refreshed every tick. NULL when the store cannot be opened: defaults apply. */
static struct tenant_db *worker_tdb;
static struct tenant_map *worker_tmap;

static void worker_on_signal(int sig)
{
	if (sig == SIGHUP)
		worker_reload = 1;
	else
		worker_stop = 1;
}

static void worker_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = worker_on_signal; /* no SA_RESTART: poll() must see EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = SIG_DFL; /* the hang watchdog: default action terminates */
	sigaction(SIGALRM, &sa, NULL);
}

const char *scan_scratch_dir(void)
{
	return worker_scratch[0] ? worker_scratch : NULL;
}

/* Remove what a crashed predecessor left in the scratch directory dfd: libclamav's temporary
 * files and its per-scan directories (at most a few levels deep). Never follows a link. */
static void worker_scratch_clean(int dfd, int depth)
{
	int fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		int sub;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dfd, de->d_name, 0) == 0 || (errno != EISDIR && errno != EPERM))
			continue;
		if (depth >= WORKER_SCRATCH_DEPTH)
			continue;
		sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue;
		worker_scratch_clean(sub, depth + 1);
		close(sub);
		unlinkat(dfd, de->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

static int worker_scratch_private;
/* A private scratch directory's name: the pid that made it, then mkdtemp's six characters. */
#define SCRATCH_PRIVATE_PREFIX "mxtower-scan."

/*
 * Remove the private scratch directories of `mxtower scan` runs that were killed (SIGKILL
 * leaves them, with whatever libclamav had written): ours (same owner, a real directory, not a
 * link) whose pid is no longer alive. A directory of a live pid, or of a pid now reused by
 * another process, stays.
 */
static void scratch_private_reap(void)
{
	DIR *d = opendir(WORKER_SHM);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		size_t plen = strlen(SCRATCH_PRIVATE_PREFIX);
		const char *p = de->d_name + plen;
		char *dot;
		struct stat st;
		long pid;
		int fd;

		if (strncmp(de->d_name, SCRATCH_PRIVATE_PREFIX, plen) != 0)
			continue;
		pid = strtol(p, &dot, 10);
		if (dot == p || *dot != '.' || pid <= 0 || pid > INT_MAX ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && st.st_uid == geteuid()) {
			worker_scratch_clean(fd, 0);
			if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) == 0)
				log_info("scan: removed %s/%s, left by a killed scan", WORKER_SHM,
				         de->d_name);
		}
		close(fd);
	}
	closedir(d);
}

int scan_scratch_private(void)
{
	char tmpl[sizeof WORKER_SHM "/" SCRATCH_PRIVATE_PREFIX + 24];
	struct statfs sf;

	if (getenv("TMPDIR") != NULL || worker_scratch[0] != '\0')
		return -EEXIST;
	if (statfs(WORKER_SHM, &sf) < 0 || sf.f_type != TMPFS_MAGIC ||
	    access(WORKER_SHM, W_OK | X_OK) < 0)
		return -ENOTSUP;
	scratch_private_reap();
	snprintf(tmpl, sizeof tmpl, WORKER_SHM "/" SCRATCH_PRIVATE_PREFIX "%ld.XXXXXX",
	         (long)getpid());
	if (mkdtemp(tmpl) == NULL)
		return -errno;
	snprintf(worker_scratch, sizeof worker_scratch, "%s", tmpl);
	worker_scratch_private = 1;
	log_debug("scan: scratch %s", worker_scratch);
	return 0;
}

void scan_scratch_private_remove(void)
{
	int fd;

	if (!worker_scratch_private)
		return;
	fd = open(worker_scratch, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		worker_scratch_clean(fd, 0);
		close(fd);
	}
	if (rmdir(worker_scratch) < 0)
		log_warn("scan: removing %s: %s", worker_scratch, strerror(errno));
	worker_scratch[0] = '\0';
	worker_scratch_private = 0;
}

/*
 * The tmpfs choice: /dev/shm/mxtower-<hash of the home's real path>.scan-N, so that two nodes
 * on one machine do not share one. /dev/shm is world-writable (sticky), so the name may have
 * been taken first by someone else: it is used only when it is a real directory (not a link)
 * owned by us or by the user we drop to, and is then made 0700. Returns an fd on it, or -1.
 */
static int worker_scratch_shm(const struct config *cfg, int index, const struct passwd *pw)
{
	char real[PATH_MAX];
	const char *home = realpath(cfg->home, real) ? real : cfg->home;
	uint64_t h = 1469598103934665603ULL;
	struct statfs sf;
	struct stat st;
	int fd;

	if (statfs(WORKER_SHM, &sf) < 0 || sf.f_type != TMPFS_MAGIC ||
	    access(WORKER_SHM, W_OK | X_OK) < 0)
		return -1;
	for (const char *c = home; *c; c++) {
		h ^= (unsigned char)*c;
		h *= 1099511628211ULL;
	}
	snprintf(worker_scratch_shm_path, sizeof worker_scratch_shm_path,
	         WORKER_SHM "/mxtower-%016llx.scan-%d", (unsigned long long)h, index);
	if (mkdir(worker_scratch_shm_path, 0700) < 0 && errno != EEXIST)
		goto refuse;
	fd = open(worker_scratch_shm_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		goto refuse;
	if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    (st.st_uid != geteuid() && (pw == NULL || st.st_uid != pw->pw_uid))) {
		close(fd);
		errno = EPERM; /* someone else's */
		goto refuse;
	}
	if (fchmod(fd, 0700) < 0 || (pw && fchown(fd, pw->pw_uid, pw->pw_gid) < 0)) {
		close(fd);
		goto refuse;
	}
	return fd;
refuse:
	log_warn("scan: scratch %s not usable (%s); using the home's", worker_scratch_shm_path,
	         strerror(errno));
	worker_scratch_shm_path[0] = '\0';
	return -1;
}

/* The fallback: <home>/run/scan-tmp.N, pinned like the other home directories. */
static void worker_scratch_home(const struct config *cfg, int index, const struct passwd *pw)
{
	char rel[64], real[CONFIG_PATH];
	int r, fd;

	snprintf(rel, sizeof rel, "run/scan-tmp.%d", index);
	if (config_path(cfg, rel, real, sizeof real) < 0)
		log_fatal("scan: scratch path too long under %s", cfg->home);
	r = fs_mkdir_p(real, 0700);
	if (r < 0)
		log_fatal("scan: mkdir %s: %s", real, strerror(-r));
	fd = open(real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		worker_scratch_clean(fd, 0);
		close(fd);
	}
	r = scan_home_pin_dir(cfg, rel);
	if (r < 0)
		log_fatal("scan: opening %s: %s", real, strerror(-r));
	if (scan_home_path(cfg, rel, worker_scratch, sizeof worker_scratch) < 0)
		log_fatal("scan: scratch path too long under %s", cfg->home);
	if (pw && chown(real, pw->pw_uid, pw->pw_gid) < 0)
		log_fatal("scan: chown %s: %s", real, strerror(errno));
}

/*
 * Make the scratch directory, the only place the worker writes (libclamav's temporary files:
 * a directory per scan call, HTML normalised into files), owned by the user we are about to
 * become, emptied of a predecessor's leftovers: on /dev/shm when it is a tmpfs (those files
 * cost about twice the CPU on a disk), else <home>/run/scan-tmp.N. It is used through a pinned
 * fd (/proc/self/fd/N/...). Returns the passwd entry to drop to, or NULL when we are not root
 * (or that user does not exist).
 */
static struct passwd *worker_scratch_make(const struct config *cfg, int index)
{
	struct passwd *pw = NULL;
	int fd;

	if (getuid() == 0) {
		pw = getpwnam(WORKER_USER);
		if (pw == NULL)
			log_warn("scan: no user %s; the worker keeps root", WORKER_USER);
	}
	fd = worker_scratch_shm(cfg, index, pw);
	if (fd >= 0) {
		worker_scratch_clean(fd, 0);
		snprintf(worker_scratch, sizeof worker_scratch, "/proc/self/fd/%d", fd);
	} else {
		worker_scratch_home(cfg, index, pw);
	}
	log_info("scan: scratch %s", worker_scratch_shm_path[0] ? worker_scratch_shm_path
	                                                         : "in <home>/run");
	return pw;
}

/* At a clean stop: a scratch on /dev/shm goes (the home's stays, empty). */
static void worker_scratch_remove(void)
{
	int fd;

	if (worker_scratch_shm_path[0] == '\0')
		return;
	fd = open(worker_scratch_shm_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		worker_scratch_clean(fd, 0);
		close(fd);
	}
	rmdir(worker_scratch_shm_path);
}

static void worker_drop_privileges(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
		log_fatal("scan: dropping privileges: %s", strerror(errno));
	if (setuid(0) == 0)
		log_panic("scan: could regain root after dropping privileges");
	/* setuid() made us non-dumpable, which makes /proc/self/fd root's; scan_home_path()
	 * needs it. */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

static void worker_seccomp(void)
{
	static const int deny[] = {
		SCMP_SYS(socket), SCMP_SYS(connect), SCMP_SYS(bind), SCMP_SYS(listen),
		SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(fork), SCMP_SYS(vfork),
		SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(chroot), SCMP_SYS(pivot_root),
		SCMP_SYS(setuid), SCMP_SYS(setgid), SCMP_SYS(setreuid), SCMP_SYS(setregid),
		SCMP_SYS(kexec_load), SCMP_SYS(init_module), SCMP_SYS(finit_module),
		SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev),
#ifndef __SANITIZE_ADDRESS__
		/* LeakSanitizer stops the world with a cloned tracer and ptrace at exit. */
		SCMP_SYS(ptrace),
#endif
	};
	scmp_filter_ctx ctx;
	int r = 0;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		log_warn("scan: no_new_privs: %s (no seccomp)", strerror(errno));
		return;
	}
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (ctx == NULL) {
		log_warn("scan: seccomp unavailable");
		return;
	}
	for (size_t i = 0; i < sizeof deny / sizeof deny[0] && r == 0; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), deny[i], 0);
#ifndef __SANITIZE_ADDRESS__
	/* Threads yes, new processes no. clone3 says ENOSYS so libc falls back to clone. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
#endif
	if (r == 0)
		r = seccomp_load(ctx);
	if (r < 0)
		log_warn("scan: seccomp filter not installed: %s", strerror(-r));
	seccomp_release(ctx);
}

static void worker_reply(int c, const struct scan_result *res)
{
	struct scan_wire_rep rep;
	ssize_t n;

	memset(&rep, 0, sizeof rep);
	rep.magic = SCAN_WIRE_MAGIC;
	rep.version = SCAN_WIRE_VERSION;
	rep.res = *res;
	do
		n = send(c, &rep, sizeof rep, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		log_warn("scan: reply: %s (client gone)", strerror(errno));
}

/* Receive one request; returns the passed fd (>= 0) or -1 (logged). */
static int worker_recv(int c, struct scan_wire_req *req)
{
	char cbuf[CMSG_SPACE(sizeof(int) * WORKER_MAX_FDS)];
	struct iovec iov = {req, sizeof *req};
	struct msghdr mh;
	struct cmsghdr *cm;
	struct pollfd pfd = {c, POLLIN, 0};
	int fd = -1;
	ssize_t n;

	if (poll(&pfd, 1, WORKER_REQ_WAIT_MS) <= 0)
		return -1;
	memset(&mh, 0, sizeof mh);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof cbuf;
	do
		n = recvmsg(c, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfd; i++) {
			int f;

			memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof f);
			if (fd < 0)
				fd = f;
			else
				close(f);
		}
	}
	if ((size_t)n != sizeof *req || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    req->magic != SCAN_WIRE_MAGIC || req->version != SCAN_WIRE_VERSION || fd < 0) {
		log_warn("scan: malformed request (%zd bytes, fd %d); connection dropped", n, fd);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	req->env.client_ip[sizeof req->env.client_ip - 1] = '\0';
	req->env.helo[sizeof req->env.helo - 1] = '\0';
	req->env.mail_from[sizeof req->env.mail_from - 1] = '\0';
	req->env.rcpt[sizeof req->env.rcpt - 1] = '\0';
	req->env.tenant[sizeof req->env.tenant - 1] = '\0';
	req->env.queue_id[sizeof req->env.queue_id - 1] = '\0';
	return fd;
}

/* The message's client: by the name smtpd resolved, else by the first recipient's domain. */
static const struct tenant *worker_tenant(const struct scan_envelope *env)
{
	const struct tenant *t = NULL;

	if (worker_tmap == NULL)
		return NULL;
	if (env->tenant[0])
		t = tenant_map_name(worker_tmap, env->tenant);
	if (t == NULL && env->rcpt[0])
		tenant_map_rcpt(worker_tmap, env->rcpt, &t);
	return t;
}

static void worker_serve(const struct config *cfg, int c)
{
	struct scan_wire_req req;
	struct scan_result res;
	struct timespec t0, t1;
	struct stat st;
	void *map = MAP_FAILED;
	size_t maplen = 0, skew = 0;
	unsigned alarm_s;
	int fd;

	fd = worker_recv(c, &req);
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || req.off > (uint64_t)st.st_size ||
	    req.len > (uint64_t)st.st_size - req.off) {
		log_warn("scan: request range [%llu,+%llu) outside the spool file; dropped",
			 (unsigned long long)req.off, (unsigned long long)req.len);
		goto out;
	}
	if (req.len > 0) {
		long pg = sysconf(_SC_PAGESIZE);

		skew = (size_t)(req.off % (uint64_t)pg);
		maplen = (size_t)req.len + skew;
		map = mmap(NULL, maplen, PROT_READ, MAP_PRIVATE, fd, (off_t)(req.off - skew));
		if (map == MAP_FAILED) {
			log_warn("scan: mmap: %s", strerror(errno));
			goto out;
		}
	}
#ifdef MX_FAULT_INJECTION
	/*
	 * Test builds only (the ASan build defines MX_FAULT_INJECTION; the release binary has no
	 * such hook): a message carrying the marker named by MXTOWER_FAULT_SCAN_CRASH kills the
	 * worker, as a parser bug would, so tests can prove a poison message cannot stall the node.
	 */
	{
		const char *marker = getenv("MXTOWER_FAULT_SCAN_CRASH");

		if (marker && *marker && map != MAP_FAILED &&
		    memmem((const char *)map + skew, (size_t)req.len, marker, strlen(marker)))
			abort();
	}
#endif
	alarm_s = (unsigned)(cfg->scan.deadline_ms * 2 / 1000) + 5;
	alarm(alarm_s);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	scan_message(map == MAP_FAILED ? "" : (const char *)map + skew, (size_t)req.len, &req.env,
		     worker_tenant(&req.env), &res);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	alarm(0);
	stats_inc(STAT_SCANS);
	stats_latency((uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000));
	log_info("id=%s scan: verdict=%s action=%s score=%.2f virus=\"%s\" bytes=%llu ms=%ld",
		 req.env.queue_id[0] ? req.env.queue_id : "-", scan_verdict_name(res.verdict),
		 policy_action_name(res.action), res.score, res.virus,
		 (unsigned long long)req.len,
		 (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
	worker_reply(c, &res);
	/* after the reply: the client is not kept waiting for a learn's write transaction */
	scan_autolearn_run(map == MAP_FAILED ? "" : (const char *)map + skew, (size_t)req.len);
out:
	if (map != MAP_FAILED)
		munmap(map, maplen);
	close(fd);
}

static void worker_loop(const struct config *cfg, int listen_fd)
{
	struct timespec last = {0, 0}, now;
	struct pollfd pfd = {listen_fd, POLLIN, 0};

	while (!worker_stop) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (worker_reload || (now.tv_sec - last.tv_sec) * 1000 +
					     (now.tv_nsec - last.tv_nsec) / 1000000 >= WORKER_TICK_MS) {
			worker_reload = 0;
			scan_pipeline_reload(cfg);
			if (worker_tdb)
				worker_tmap = tenant_map_refresh(worker_tdb, worker_tmap);
			stats_heartbeat();
			last = now;
		}
		pfd.revents = 0;
		if (poll(&pfd, 1, WORKER_TICK_MS) <= 0)
			continue;
		/* The listening socket is shared by every worker and non-blocking, so a
		 * connection another worker took is EAGAIN here, not a stall. */
		int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("scan: accept: %s", strerror(errno));
			continue;
		}
		worker_serve(cfg, c);
		close(c);
	}
}

int scan_worker_main(const struct config *cfg, int listen_fd, int index)
{
	struct stat_segment *seg;
	struct passwd *pw;
	int fl;

	log_set_proc("scan");
	worker_signals();
	scan_home_pin(cfg);
	pw = worker_scratch_make(cfg, index);
	seg = stats_map(cfg, 0);
	if (seg)
		stats_claim(seg, "scan", index);
	worker_tdb = tenant_db_open(cfg);
	if (worker_tdb)
		worker_tmap = tenant_map_load(worker_tdb);
	scan_pipeline_init(cfg);
	if (pw)
		worker_drop_privileges(pw->pw_uid, pw->pw_gid);
	worker_seccomp();
	fl = fcntl(listen_fd, F_GETFL);
	if (fl >= 0 && !(fl & O_NONBLOCK))
		fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK);
	log_info("scan: worker %d ready uid=%d", index, (int)getuid());
	worker_loop(cfg, listen_fd);
	scan_pipeline_fini();
	worker_scratch_remove();
	tenant_map_free(worker_tmap);
	tenant_db_close(worker_tdb);
	log_info("scan: worker %d stopping", index);
	return 0;
}
