/*
 * deliver - one delivery job, on a libuv pool thread: take the connection qmgr handed over
 * (or open one), run one SMTP transaction for the job's recipients, and record the recipients
 * the server accepted in the queue file (state byte + one fdatasync) before the loop thread
 * hears of it, so a crash right after never delivers them twice... unless the crash falls
 * between the server's 250 and the fdatasync: delivery is at-least-once, never at-most-once.
 * When the job settled every recipient still pending, the file is removed next and the marks
 * are not synced: a process crash keeps them (page cache); only a machine crash before the
 * removal could deliver those recipients again, which at-least-once allows.
 *
 * Also builds the headers prepended at delivery (SpamAssassin's layout for X-Spam-Status). The
 * Received: line is smtpd's, written into the spool at DATA time.
 */
#include "queue/qmgr_int.h"

#include "core/buf.h"
#include "core/log.h"
#include "core/parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The prepended headers: three verdict headers with up to 64 symbols. */
#define QMGR_PREFIX_MAX (16 * 1024)
/* SpamAssassin folds X-Spam-Status near 78 columns. */
#define QMGR_FOLD_AT 76

void qmgr_job_work(uv_work_t *w)
{
	struct qjob *j = w->data;
	struct qmsg *msg = j->msg;
	const struct envelope *e = &msg->m.env;
	struct smtp_client_opts opts = {
	    .helo = j->qm->cfg.smtp.hostname,
	    .tls = j->qm->tls,
	    .timeout_s = QMGR_IO_TIMEOUT,
	};
	struct smtp_client_msg cm = {
	    .from = e->sender,
	    .rcpts = j->rcpts,
	    .nrcpts = j->n,
	    .body_8bit = e->body_8bit,
	    .smtputf8 = e->smtputf8,
	    .prefix = msg->prefix,
	    .prefix_len = msg->prefix_len,
	    .fd = msg->fd,
	    .off = e->body_off,
	    .len = e->body_len,
	};
	int reused = j->conn != NULL;
	int marked = 0;

	for (;;) {
		int accepted = 0;

		if (j->conn == NULL) {
			j->conn =
			    smtp_client_connect(j->dest->host, j->dest->port, &opts, &j->final);
			if (j->conn == NULL) {
				j->rc = -ECONNREFUSED;
				for (size_t i = 0; i < j->n; i++)
					j->replies[i] = j->final;
				return;
			}
		}
		j->tls = smtp_client_tls(j->conn);
		j->rc = smtp_client_send(j->conn, &cm, j->replies, &j->final, &j->bytes);
		for (size_t i = 0; i < j->n; i++)
			accepted |= j->replies[i].code / 100 == 2;
		/* A reused connection the server had closed meanwhile: one fresh try. */
		if (j->rc < 0 && reused && !accepted) {
			smtp_client_close(j->conn);
			j->conn = NULL;
			reused = 0;
			continue;
		}
		break;
	}
	if (!smtp_client_usable(j->conn)) {
		smtp_client_close(j->conn);
		j->conn = NULL;
	}
	if (j->rc == 0 && j->final.code / 100 == 2) {
		for (size_t i = 0; i < j->n; i++) {
			if (j->replies[i].code / 100 != 2)
				continue;
			if (queue_rcpt_write_state(msg->fd, &e->rcpts[j->idx[i]], RCPT_DONE) == 0)
				marked++;
		}
		/* When every recipient is done the file is removed next: a sync would only
		 * protect marks that nobody reads again. */
		if (marked > 0 && !(j->whole && (size_t)marked == j->n) && fdatasync(msg->fd) < 0)
			log_warn("id=%s qmgr: fdatasync after delivery: %s", msg->id,
			         strerror(errno));
	}
}

/* Append word (control bytes replaced: scanner output must not forge headers), folding. */
static void fold_append(struct buf *b, size_t *col, const char *word, const char *sep)
{
	size_t wl = strlen(word) + strlen(sep);
	char clean[SCAN_VIRUS_MAX + 64];

	snprintf(clean, sizeof clean, "%s", word);
	for (char *c = clean; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	word = clean;

	if (*col + wl > QMGR_FOLD_AT && *col > 8) {
		buf_puts(b, "\r\n\t");
		*col = 8;
	}
	buf_puts(b, word);
	buf_puts(b, sep);
	*col += wl;
}

char *qmgr_delivery_headers(const struct qmgr *qm, const struct qmsg *msg, size_t *len)
{
	const struct envelope *e = &msg->m.env;
	const struct scan_result *v = &e->verdict;
	const struct tenant *t =
	    e->tenant && e->tenant[0] ? tenant_map_name(qm->map, e->tenant) : NULL;
	double required = t ? t->policy.tag_at : 5.0;
	char word[SCAN_VIRUS_MAX + 64];
	struct buf b;
	size_t col;

	buf_init(&b, QMGR_PREFIX_MAX);
	/* DSNs we made ourselves carry no verdict to report. */
	if (e->proto == NULL || strcmp(e->proto, "DSN") != 0) {
		buf_printf(&b, "X-Spam-Status: %s, score=%.1f required=%.1f tests=",
		           v->score >= required || v->verdict == VERDICT_SPAM ? "Yes" : "No",
		           v->score, required);
		col = (size_t)b.len - (size_t)(strrchr(b.p, '\n') ? strrchr(b.p, '\n') - b.p : 0);
		if (v->nsym == 0)
			fold_append(&b, &col, "none", " ");
		for (unsigned i = 0; i < v->nsym && i < SCAN_MAX_SYMBOLS; i++)
			fold_append(&b, &col, v->sym[i].name, i + 1 < v->nsym ? "," : " ");
		fold_append(&b, &col, "autolearn=no", "");
		buf_printf(&b, "\r\nX-Spam-Score: %.1f\r\n", v->score);
		buf_printf(&b, "X-MXTower-Verdict: %s;", envelope_verdict_name(v->verdict));
		col = 26;
		if (v->virus[0]) {
			snprintf(word, sizeof word, " virus=%.100s", v->virus);
			fold_append(&b, &col, word, "");
		}
		for (unsigned i = 0; i < v->nsym && i < SCAN_MAX_SYMBOLS; i++) {
			snprintf(word, sizeof word, " %s(%.2f)", v->sym[i].name, v->sym[i].score);
			fold_append(&b, &col, word, "");
		}
		if (v->nsym == 0 && !v->virus[0])
			fold_append(&b, &col, " none", "");
		buf_puts(&b, "\r\n");
		/* The auth scanner's results (RFC 8601), under this node's name as authserv-id. */
		for (unsigned i = 0; i < v->nsym && i < SCAN_MAX_SYMBOLS; i++) {
			if (strcmp(v->sym[i].name, "AUTH_RESULTS") != 0)
				continue;
			buf_printf(&b, "Authentication-Results: %s;\r\n\t", qm->cfg.smtp.hostname);
			for (const char *c = v->sym[i].detail; *c; c++)
				buf_printf(&b, "%c", (unsigned char)*c < 0x20 || *c == 0x7f ? '?' : *c);
			buf_puts(&b, "\r\n");
		}
	}
	*len = b.len;
	return b.p; /* the buf's storage, now the caller's */
}
