/*
 * serve - `mxtower serve`: the master process.
 *
 * It reads the config, prepares the home, opens the listening sockets (SMTP, HTTP, the scan
 * workers' Unix socket) so that children inherit them, maps the stats segment, and then forks
 * and supervises its children: smtpd (smtp.workers), qmgr, scan workers (scan.workers) and web.
 * It holds no mail, so it may crash; children notice through PR_SET_PDEATHSIG and drain.
 *
 * Signals: SIGCHLD -> restart the child with exponential backoff (SUPERVISE_BACKOFF_*);
 * SIGHUP -> re-read the config and restart every child gracefully (SIGTERM, it drains, a new one
 * starts with the new config at once); SIGTERM/SIGINT -> drain: SIGTERM to all, wait up to
 * SERVE_DRAIN_SECONDS, SIGKILL what is left, exit 0.
 */
#include "cli/cli.h"

#include "core/config.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/parse.h"
#include "core/stats.h"
#include "core/token.h"
#include "queue/qmgr.h"
#include "queue/spool.h"
#include "scan/worker.h"
#include "smtp/smtpd.h"
#include "web/web.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Restart backoff: 100 ms doubling to 10 s; a child that ran 30 s resets it. */
#define SUPERVISE_BACKOFF_MIN_MS 100
#define SUPERVISE_BACKOFF_MAX_MS 10000
#define SUPERVISE_STABLE_MS 30000
/* How long a drain may take before the rest is killed: long enough for a DATA in flight. */
#define SERVE_DRAIN_SECONDS 30
/* A previous instance's children may still hold the port while they drain. */
#define SERVE_BIND_RETRY_SECONDS 15
#define SERVE_MAX_CHILDREN 140

enum child_kind { CHILD_SMTPD, CHILD_QMGR, CHILD_SCAN, CHILD_WEB };
static const char *const child_kind_name[] = {"smtpd", "qmgr", "scan", "web"};

struct child {
	enum child_kind kind;
	int index;
	pid_t pid;
	int64_t started_ms;
	int64_t restart_at_ms; /* 0 = not waiting */
	unsigned backoff_ms;
};

static struct {
	struct config cfg;
	struct child child[SERVE_MAX_CHILDREN];
	int nchild;
	int fd_smtp, fd_http, fd_scan;
	struct stat_segment *seg;
	int sigpipe[2];
	int draining;
	char **argv; /* the command line as given, for SIGHUP's re-read; lives as long as we do */
	int argc;
} serve;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void serve_on_signal(int sig)
{
	unsigned char c = (unsigned char)sig;
	int e = errno;

	if (write(serve.sigpipe[1], &c, 1) < 0) {
		/* The pipe is full: signals are already pending, nothing is lost. */
	}
	errno = e;
}

static int listen_tcp(const char *addr)
{
	char host[256];
	uint16_t port;
	struct addrinfo hints = {0}, *ai = NULL;
	char portstr[8];
	int fd = -1, one = 1, r;

	if (parse_hostport(addr, host, sizeof host, &port) < 0) {
		log_error("bad listen address '%s' (want HOST:PORT)", addr);
		return -1;
	}
	snprintf(portstr, sizeof portstr, "%u", port);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	r = getaddrinfo(host, portstr, &hints, &ai);
	if (r != 0) {
		log_error("listen address '%s': %s (numeric addresses only)", addr,
			  gai_strerror(r));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	for (int tries = 0;; tries++) {
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno != EADDRINUSE || tries >= SERVE_BIND_RETRY_SECONDS * 10)
			goto fail;
		if (tries == 0)
			log_warn("%s in use, waiting for it to be released", addr);
		usleep(100000);
	}
	/* 4096: a burst of connections waits in the kernel, not refused, while smtpd catches up. */
	if (listen(fd, 4096) < 0)
		goto fail;
	freeaddrinfo(ai);
	return fd;
fail:
	log_error("cannot listen on %s: %s", addr, strerror(errno));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return -1;
}

static int listen_scan(const struct config *cfg)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char path[CONFIG_PATH + 32];
	int fd;

	if (config_path(cfg, "run/scan.sock", path, sizeof path) < 0 ||
	    strlen(path) >= sizeof sa.sun_path) {
		log_error("home path too long for a Unix socket: %s", cfg->home);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 512) < 0) {
		log_error("cannot listen on %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* Scan workers may drop to an unprivileged user; they inherit the fd, smtpd connects. */
	chmod(path, 0660);
	return fd;
}

static int child_run(struct child *c)
{
	/* The inherited listening sockets are CLOEXEC, which does not matter here: no exec. */
	switch (c->kind) {
	case CHILD_SMTPD:
		return smtpd_main(&serve.cfg, serve.fd_smtp, c->index);
	case CHILD_QMGR:
		return qmgr_main(&serve.cfg);
	case CHILD_SCAN:
		return scan_worker_main(&serve.cfg, serve.fd_scan, c->index);
	case CHILD_WEB:
		return web_main(&serve.cfg, serve.fd_http);
	}
	return 1;
}

static void child_start(struct child *c)
{
	pid_t master = getpid();
	pid_t pid = fork();

	if (pid < 0) {
		log_warn("fork %s: %s", child_kind_name[c->kind], strerror(errno));
		c->restart_at_ms = now_ms() + SUPERVISE_BACKOFF_MAX_MS;
		return;
	}
	if (pid == 0) {
		struct sigaction sa = {.sa_handler = SIG_DFL};

		/* If the master dies, drain: the new master's children take over. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != master)
			_exit(0);
		sigaction(SIGCHLD, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		close(serve.sigpipe[0]);
		close(serve.sigpipe[1]);
		{
			sigset_t none;

			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
		}
		_exit(child_run(c));
	}
	c->pid = pid;
	c->started_ms = now_ms();
	c->restart_at_ms = 0;
	log_info("started %s[%d] pid=%d", child_kind_name[c->kind], c->index, (int)pid);
}

static void child_add(enum child_kind kind, int index)
{
	struct child *c;

	if (serve.nchild >= SERVE_MAX_CHILDREN)
		log_fatal("too many children configured (max %d)", SERVE_MAX_CHILDREN);
	c = &serve.child[serve.nchild++];
	memset(c, 0, sizeof *c);
	c->kind = kind;
	c->index = index;
	c->backoff_ms = SUPERVISE_BACKOFF_MIN_MS;
}

static void serve_reap(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < serve.nchild; i++) {
			struct child *c = &serve.child[i];
			int64_t ran;

			if (c->pid != pid)
				continue;
			c->pid = 0;
			if (serve.seg)
				stats_release_pid(serve.seg, pid);
			if (serve.draining)
				break;
			ran = now_ms() - c->started_ms;
			if (WIFSIGNALED(status))
				log_warn("%s[%d] pid=%d killed by signal %d", child_kind_name[c->kind],
					 c->index, (int)pid, WTERMSIG(status));
			else
				log_warn("%s[%d] pid=%d exited status=%d", child_kind_name[c->kind],
					 c->index, (int)pid, WEXITSTATUS(status));
			if (c->kind == CHILD_SCAN && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
				stats_inc(STAT_SCAN_CRASHES);
			stats_inc(STAT_RESTARTS);
			if (ran >= SUPERVISE_STABLE_MS)
				c->backoff_ms = SUPERVISE_BACKOFF_MIN_MS;
			/* A graceful exit asked for by a reload restarts at once. */
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && c->restart_at_ms == -1)
				c->restart_at_ms = now_ms();
			else
				c->restart_at_ms = now_ms() + c->backoff_ms;
			if (c->backoff_ms < SUPERVISE_BACKOFF_MAX_MS)
				c->backoff_ms *= 2;
			break;
		}
	}
}

static int serve_alive(void)
{
	int n = 0;

	for (int i = 0; i < serve.nchild; i++)
		n += serve.child[i].pid > 0;
	return n;
}

static void serve_signal_all(int sig)
{
	for (int i = 0; i < serve.nchild; i++)
		if (serve.child[i].pid > 0)
			kill(serve.child[i].pid, sig);
}

static void serve_reload(int argc, char **argv)
{
	struct config nc;
	int ac = argc;
	char **av = malloc(sizeof *av * ((size_t)argc + 1));

	if (av == NULL)
		return;
	memcpy(av, argv, sizeof *av * ((size_t)argc + 1));
	config_defaults(&nc);
	if (config_from_args(&nc, &ac, av) < 0) {
		log_warn("reload: config has errors, keeping the running config");
		free(av);
		return;
	}
	free(av);
	if (strcmp(nc.smtp.listen, serve.cfg.smtp.listen) != 0 ||
	    strcmp(nc.http.listen, serve.cfg.http.listen) != 0 ||
	    strcmp(nc.home, serve.cfg.home) != 0)
		log_warn("reload: listen addresses and home change only on restart");
	snprintf(nc.smtp.listen, sizeof nc.smtp.listen, "%s", serve.cfg.smtp.listen);
	snprintf(nc.http.listen, sizeof nc.http.listen, "%s", serve.cfg.http.listen);
	snprintf(nc.home, sizeof nc.home, "%s", serve.cfg.home);
	serve.cfg = nc;
	log_info("reload: config re-read, restarting children gracefully");
	for (int i = 0; i < serve.nchild; i++)
		if (serve.child[i].pid > 0) {
			serve.child[i].restart_at_ms = -1;
			kill(serve.child[i].pid, SIGTERM);
		}
}

static void serve_drain(void)
{
	int64_t deadline = now_ms() + SERVE_DRAIN_SECONDS * 1000;

	serve.draining = 1;
	log_info("draining: stopping %d children", serve_alive());
	serve_signal_all(SIGTERM);
	while (serve_alive() > 0 && now_ms() < deadline) {
		struct pollfd p = {.fd = serve.sigpipe[0], .events = POLLIN};
		unsigned char buf[64];

		if (poll(&p, 1, 100) > 0 && read(serve.sigpipe[0], buf, sizeof buf) < 0) {
			/* EAGAIN: nothing to drain from the pipe */
		}
		serve_reap();
	}
	if (serve_alive() > 0) {
		log_warn("drain: %d children still running after %d s, killing them",
			 serve_alive(), SERVE_DRAIN_SECONDS);
		serve_signal_all(SIGKILL);
		while (serve_alive() > 0) {
			usleep(10000);
			serve_reap();
		}
	}
	log_info("stopped");
}

/*
 * One node per home: an flock on run/master.lock, held by the master and inherited by its
 * children (the lock belongs to the open file), so a new master also waits for the children of
 * a killed one to finish draining before it touches the queue.
 */
static int serve_lock_home(const struct config *cfg)
{
	char path[CONFIG_PATH + 32], pid[32];
	int fd;

	if (config_path(cfg, "run/master.lock", path, sizeof path) < 0)
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		log_error("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	for (int tries = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; tries++) {
		if (errno != EWOULDBLOCK || tries >= SERVE_BIND_RETRY_SECONDS * 10) {
			ssize_t n = pread(fd, pid, sizeof pid - 1, 0);

			pid[n > 0 ? n : 0] = '\0';
			log_error("another node runs on %s (master pid %s)", cfg->home,
				  pid[0] ? pid : "?");
			close(fd);
			return -1;
		}
		if (tries == 0)
			log_warn("home %s is locked, waiting for the previous node to stop", cfg->home);
		usleep(100000);
	}
	snprintf(pid, sizeof pid, "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, strlen(pid), 0) < 0)
		log_warn("cannot write %s: %s", path, strerror(errno));
	return fd; /* kept open for the life of the node */
}

static int serve_prepare_home(const struct config *cfg)
{
	static const char *const dirs[] = {"", "/run", "/db", "/signatures", "/central", "/rules"};
	char path[CONFIG_PATH + 32], tok[TOKEN_LEN + 1];

	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		snprintf(path, sizeof path, "%s%s", cfg->home, dirs[i]);
		if (fs_mkdir_p(path, 0755) < 0) {
			log_error("cannot create %s: %s", path, strerror(errno));
			return -1;
		}
	}
	if (token_ensure(cfg, tok) < 0) {
		log_error("cannot create %s/api.token", cfg->home);
		return -1;
	}
	return 0;
}

static const char serve_usage[] =
	"usage: mxtower serve [-c FILE] [--home DIR] [--smtp ADDR:PORT] [--http ADDR:PORT]\n"
	"                     [-o section.key=value]...\n"
	"Run a node in the foreground: SMTP on smtp.listen, the dashboard on http.listen.\n"
	"SIGHUP re-reads the config; SIGTERM drains and stops.\n";

int cmd_serve(int argc, char **argv)
{
	struct queue *q;
	struct sigaction sa = {.sa_handler = serve_on_signal};
	int64_t last_beat = 0;

	serve.argv = malloc(sizeof *serve.argv * ((size_t)argc + 1));
	serve.argc = argc;
	if (serve.argv == NULL)
		return 1;
	memcpy(serve.argv, argv, sizeof *serve.argv * ((size_t)argc + 1));
	if (cli_wants_help(argc, argv, serve_usage))
		return 0;
	log_set_proc("master");
	config_defaults(&serve.cfg);
	if (config_from_args(&serve.cfg, &argc, argv) < 0 || argc != 1) {
		if (argc != 1)
			fprintf(stderr, "mxtower serve: unexpected argument '%s'\n%s", argv[1],
				serve_usage);
		return 2;
	}
	if (serve_prepare_home(&serve.cfg) < 0 || serve_lock_home(&serve.cfg) < 0)
		return 1;
	q = queue_open(&serve.cfg);
	if (q == NULL)
		return 1;
	{
		int n = queue_recover_incoming(q);

		if (n > 0)
			log_info("recovery: removed %d never-acknowledged files from incoming/", n);
	}
	queue_close(q);
	serve.seg = stats_map(&serve.cfg, 1);
	if (serve.seg == NULL)
		return 1;
	stats_claim(serve.seg, "master", 0);
	serve.fd_smtp = listen_tcp(serve.cfg.smtp.listen);
	serve.fd_http = listen_tcp(serve.cfg.http.listen);
	serve.fd_scan = listen_scan(&serve.cfg);
	if (serve.fd_smtp < 0 || serve.fd_http < 0 || serve.fd_scan < 0)
		return 1;
	if (pipe2(serve.sigpipe, O_CLOEXEC | O_NONBLOCK) < 0)
		log_fatal("pipe: %s", strerror(errno));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (unsigned i = 0; i < serve.cfg.scan.workers; i++)
		child_add(CHILD_SCAN, (int)i);
	for (unsigned i = 0; i < serve.cfg.smtp.workers; i++)
		child_add(CHILD_SMTPD, (int)i);
	child_add(CHILD_QMGR, 0);
	child_add(CHILD_WEB, 0);
	log_info("node %s (tower %s) home=%s smtp=%s http=%s", serve.cfg.node.name,
		 serve.cfg.node.tower, serve.cfg.home, serve.cfg.smtp.listen,
		 serve.cfg.http.listen);
	for (int i = 0; i < serve.nchild; i++)
		child_start(&serve.child[i]);

	for (;;) {
		struct pollfd p = {.fd = serve.sigpipe[0], .events = POLLIN};
		unsigned char sigs[64];
		int64_t now = now_ms();
		int timeout = 1000;
		ssize_t n;

		for (int i = 0; i < serve.nchild; i++) {
			struct child *c = &serve.child[i];

			if (c->pid == 0 && c->restart_at_ms > 0) {
				int64_t wait = c->restart_at_ms - now;

				if (wait <= 0)
					child_start(c);
				else if (wait < timeout)
					timeout = (int)wait;
			}
		}
		if (now - last_beat >= 1000) {
			stats_heartbeat();
			last_beat = now;
		}
		if (poll(&p, 1, timeout) <= 0)
			continue;
		n = read(serve.sigpipe[0], sigs, sizeof sigs);
		for (ssize_t i = 0; i < n; i++) {
			if (sigs[i] == SIGCHLD) {
				serve_reap();
			} else if (sigs[i] == SIGHUP) {
				serve_reload(serve.argc, serve.argv);
			} else if (sigs[i] == SIGTERM || sigs[i] == SIGINT) {
				serve_drain();
				return 0;
			}
		}
	}
}
