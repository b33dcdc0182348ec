/*
 * smtpd - the SMTP server process (see smtpd.h). Sets up the loop, the queue, the scan client,
 * the tenant map, TLS and the server, then runs until SIGTERM has drained every session.
 *
 * Once a second: reload the tenant map if the database changed (a new client or recipient
 * list applies within a second, no restart), publish counters and gauges to the shared stats
 * segment, beat the heartbeat. SIGHUP reloads the tenant map at once. SIGTERM: 421 to new
 * sessions, idle ones closed, transactions in flight finished; exit when none is left or after
 * SMTPD_DRAIN_MAX_MS (what is cut then was never acknowledged, so nothing is lost).
 */
#include "smtp/smtpd.h"

#include "core/log.h"
#include "core/stats.h"
#include "smtp/server.h"
#include "smtp/smtpd_queue.h"
#include "smtp/tls.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Long enough to pass a short wait on every fresh connection; short enough that a
 * legitimate client never notices. Early talkers send at once, so 300 ms catches them. */
#define SMTPD_PREGREET_MS 300
/* Sessions still busy this long after SIGTERM are cut (their mail was not acknowledged). */
#define SMTPD_DRAIN_MAX_MS 30000
/* The tenant map refresh and stats publishing period (the 1 s promise of tenant.h). */
#define SMTPD_TICK_MS 1000

struct smtpd_proc {
	struct smtpd d;
	uv_loop_t loop;
	uv_timer_t tick, drain_deadline;
	uv_signal_t sigterm, sigint, sighup;
	struct smtp_server *srv;
	struct smtp_server_stats published;
	int stopping;
};

static void smtpd_publish(struct smtpd_proc *p)
{
	const struct smtp_server_stats *st = smtp_server_stats(p->srv);

	stats_add(STAT_CONNECTIONS, st->connections - p->published.connections);
	stats_add(STAT_SESSIONS_REFUSED, st->refused - p->published.refused);
	stats_gauge(STAT_G_SESSIONS, (int64_t)st->sessions);
	stats_heartbeat();
	p->published = *st;
}

static void smtpd_refresh(struct smtpd_proc *p)
{
	if (p->d.tdb == NULL)
		return;
	if (p->d.map == NULL)
		p->d.map = tenant_map_load(p->d.tdb);
	else
		p->d.map = tenant_map_refresh(p->d.tdb, p->d.map);
}

static void on_tick(uv_timer_t *t)
{
	struct smtpd_proc *p = t->data;

	smtpd_refresh(p);
	smtpd_publish(p);
}

static void on_drained(void *arg)
{
	struct smtpd_proc *p = arg;

	log_info("smtpd: drained, exiting (accepted=%llu rejected=%llu)", p->d.accepted,
	         p->d.rejected);
	uv_stop(&p->loop);
}

static void on_drain_deadline(uv_timer_t *t)
{
	struct smtpd_proc *p = t->data;

	log_warn("smtpd: %llu sessions still open after %d ms of draining; closing them",
	         (unsigned long long)smtp_server_stats(p->srv)->sessions, SMTPD_DRAIN_MAX_MS);
	uv_stop(&p->loop);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct smtpd_proc *p = h->data;

	if (signum == SIGHUP) {
		log_info("smtpd: SIGHUP, reloading the tenant map");
		smtpd_refresh(p);
		return;
	}
	if (p->stopping)
		return;
	p->stopping = 1;
	log_info("smtpd: signal %d, draining %llu sessions", signum,
	         (unsigned long long)smtp_server_stats(p->srv)->sessions);
	uv_timer_start(&p->drain_deadline, on_drain_deadline, SMTPD_DRAIN_MAX_MS, 0);
	smtp_server_drain(p->srv, on_drained, p);
}

static void smtpd_params(const struct config *cfg, struct smtp_server_params *sp)
{
	memset(sp, 0, sizeof *sp);
	sp->session.hostname = cfg->smtp.hostname;
	sp->session.max_line = cfg->smtp.max_line;
	sp->session.max_message_size = cfg->smtp.max_message_size;
	sp->session.max_recipients = cfg->smtp.max_recipients;
	sp->session.max_errors = (unsigned)cfg->smtp.max_errors;
	sp->max_sessions = cfg->smtp.max_sessions;
	sp->max_sessions_per_ip = cfg->smtp.max_sessions_per_ip;
	sp->cmd_timeout_ms = cfg->smtp.cmd_timeout * 1000;
	sp->data_timeout_ms = cfg->smtp.data_timeout * 1000;
	sp->pregreet_ms = SMTPD_PREGREET_MS;
	sp->xclient_networks = cfg->smtp.xclient_networks;
}

static void close_walk(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

int smtpd_main(const struct config *cfg, int listen_fd, int index)
{
	struct smtpd_proc *p = calloc(1, sizeof *p);
	struct smtp_server_params sp;
	struct smtp_server_backend b;
	struct smtp_tls_ctx *tls = NULL;
	struct stat_segment *seg;
	char tlsdir[CONFIG_PATH];
	int status = 1;

	log_set_proc("smtpd");
	if (p == NULL)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	if ((seg = stats_map(cfg, 0)) != NULL)
		stats_claim(seg, "smtpd", index);
	uv_loop_init(&p->loop);
	p->d.cfg = cfg;
	p->d.loop = &p->loop;
	if ((p->d.queue = queue_open(cfg)) == NULL)
		goto out;
	if ((p->d.tdb = tenant_db_open(cfg)) == NULL)
		log_warn("smtpd: no tenant database: every recipient gets 451 until it opens");
	smtpd_refresh(p);
	if ((p->d.notifier = qmgr_notifier_new(cfg, &p->loop)) == NULL)
		log_warn("smtpd: no qmgr notifier: qmgr finds new mail by its directory scans");
	p->d.scan = scan_client_new(&p->loop, cfg);
	if (p->d.scan == NULL)
		log_warn("smtpd: no scan client: messages are committed unscanned");
	if (config_path(cfg, "tls", tlsdir, sizeof tlsdir) == 0)
		tls = smtp_tls_ctx_new(cfg->smtp.tls_cert, cfg->smtp.tls_key, tlsdir,
		                       cfg->smtp.hostname);
	smtpd_params(cfg, &sp);
	smtpd_queue_backend(&p->d, &b);
	p->srv = smtp_server_new(&p->loop, listen_fd, &sp, &b, tls);
	if (p->srv == NULL)
		goto out;
	uv_timer_init(&p->loop, &p->tick);
	uv_timer_init(&p->loop, &p->drain_deadline);
	p->tick.data = p->drain_deadline.data = p;
	uv_timer_start(&p->tick, on_tick, SMTPD_TICK_MS, SMTPD_TICK_MS);
	uv_signal_init(&p->loop, &p->sigterm);
	uv_signal_init(&p->loop, &p->sigint);
	uv_signal_init(&p->loop, &p->sighup);
	p->sigterm.data = p->sigint.data = p->sighup.data = p;
	uv_signal_start(&p->sigterm, on_signal, SIGTERM);
	uv_signal_start(&p->sigint, on_signal, SIGINT);
	uv_signal_start(&p->sighup, on_signal, SIGHUP);
	log_info("smtpd: worker %d serving as %s%s", index, cfg->smtp.hostname,
	         tls ? ", STARTTLS offered" : ", no STARTTLS");
	uv_run(&p->loop, UV_RUN_DEFAULT);
	smtpd_publish(p);
	status = 0;
out:
	/* Sessions first (open messages aborted, commits in flight orphaned), then the scan
	 * client, then the queue, whose committer delivers its last results on this loop. */
	if (p->srv)
		smtp_server_close(p->srv);
	if (p->d.scan)
		scan_client_free(p->d.scan);
	if (p->d.queue)
		queue_close(p->d.queue);
	qmgr_notifier_free(p->d.notifier); /* after the last commits' notes */
	uv_walk(&p->loop, close_walk, NULL);
	uv_run(&p->loop, UV_RUN_DEFAULT);
	smtp_server_free(p->srv);
	if (uv_loop_close(&p->loop) != 0)
		log_warn("smtpd: event loop still had handles at exit");
	smtp_tls_ctx_free(tls);
	if (p->d.map)
		tenant_map_free(p->d.map);
	if (p->d.tdb)
		tenant_db_close(p->d.tdb);
	free(p);
	return status;
}
