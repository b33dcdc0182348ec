/*
 * phish scanner - applies the checks of phish_match.c to one message, against the client's
 * domains (t->tenant) and the brands list, and remembers which sender domains each client has
 * received mail from (<home>/db/phish.lmdb, key "tenant NUL domain").
 *
 * Symbols, and which of them make the verdict "phish" (scan_raise_verdict):
 *   PHISH_LOOKALIKE_CLIENT  sender domain imitates the client's domain        verdict
 *   PHISH_LOOKALIKE_BRAND   sender domain imitates a brand                    verdict
 *   PHISH_LINK_LOOKALIKE    a link goes to a domain imitating one of those    verdict
 *   PHISH_LINK_SPOOFS       link text shows a protected domain, href elsewhere verdict
 *   PHISH_HTML_CREDFORM     an HTML attachment with a password form           verdict
 *   PHISH_DOMAIN_EMBEDS     a protected name inside another domain (paypal-login.com)
 *   PHISH_DISPLAY_NAME_ADDRESS  display name holds an address of another domain
 *   PHISH_IMPERSONATE_CLIENT    display name uses the client's name, sender outside
 *   PHISH_IMPERSONATE_PERSON    display name is one of the client's people, sender outside
 *   PHISH_LINK_TEXT_MISMATCH    link text shows one domain, the link goes to another
 *   PHISH_REPLYTO_DIFFERS       Reply-To in another domain than From (more if freemail);
 *                               not for list mail (List-Id, List-Post, Mailing-List)
 *   PHISH_FIRST_CONTACT         the client never received mail from this domain before
 */
#include "scan/phish.h"

#include "core/fsutil.h"
#include "core/log.h"
#include "scan/tokenize.h"
#include "store/lmdb_env.h"

#include <ctype.h>
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PHISH_SCORE_LOOKALIKE_CLIENT 9.0
#define PHISH_SCORE_LOOKALIKE_BRAND 7.0
#define PHISH_SCORE_LINK_LOOKALIKE 5.0
#define PHISH_SCORE_LINK_SPOOFS 5.0
#define PHISH_SCORE_CREDFORM 6.0
#define PHISH_SCORE_EMBEDS 3.0
#define PHISH_SCORE_DISPLAY_ADDRESS 1.0
#define PHISH_SCORE_IMPERSONATE_CLIENT 3.0
#define PHISH_SCORE_IMPERSONATE_PERSON 4.0
#define PHISH_SCORE_LINK_MISMATCH 0.5
#define PHISH_SCORE_REPLYTO 1.0
#define PHISH_SCORE_REPLYTO_FREEMAIL 2.0
#define PHISH_SCORE_FIRST_CONTACT 0.5
/* Links looked at per message: beyond this a message is a link farm, judged by other means. */
#define PHISH_MAX_URLS 200
/* "First contact" says something only once the client has a history: 50 sender domains. */
#define PHISH_HISTORY_MIN 50
/* Mail scoring at least this is not remembered as a sender the client corresponds with. */
#define PHISH_REMEMBER_BELOW 5.0
/* 256 MiB: tens of millions of (client, domain) pairs. */
#define PHISH_MAP_SIZE (256ULL << 20)

static MDB_env *phish_env;
static MDB_dbi phish_senders;

static const char *const freemail[] = {
	"gmail.com", "googlemail.com", "yahoo.com", "outlook.com", "hotmail.com", "live.com",
	"aol.com", "mail.ru", "yandex.ru", "gmx.com", "gmx.net", "protonmail.com", "proton.me",
	"icloud.com", "zoho.com", "qq.com", "163.com", NULL,
};

static int phish_init(const struct config *cfg)
{
	char dir[CONFIG_PATH], path[CONFIG_PATH];
	MDB_txn *txn;
	int r;

	if (phish_env)
		return 0;
	if (scan_home_path(cfg, "db", dir, sizeof dir) < 0 ||
	    scan_home_path(cfg, "db/phish.lmdb", path, sizeof path) < 0)
		return -ENAMETOOLONG;
	if ((r = fs_mkdir_p(dir, 0755)) < 0)
		return r;
	if (lmdb_env_open("phish", path, PHISH_MAP_SIZE, 0, LMDB_ENV_NOSYNC, &phish_env) < 0) {
		log_warn("phish: first-contact check off");
		return 0; /* the other checks need no storage: the scanner still runs */
	}
	if ((r = mdb_txn_begin(phish_env, NULL, 0, &txn)) != 0)
		goto fail;
	if ((r = mdb_dbi_open(txn, NULL, 0, &phish_senders)) != 0) {
		mdb_txn_abort(txn); /* before the environment closes under it */
		goto fail;
	}
	if ((r = mdb_txn_commit(txn)) != 0)
		goto fail;
	return 0;
fail:
	log_warn("phish: open %s: %s (first-contact check off)", path, mdb_strerror(r));
	if (phish_env)
		mdb_env_close(phish_env);
	phish_env = NULL;
	/* The other checks need no storage: the scanner still runs. */
	return 0;
}

static int is_freemail(const char *dom)
{
	for (size_t i = 0; freemail[i]; i++)
		if (strcasecmp(dom, freemail[i]) == 0)
			return 1;
	return 0;
}

static int same_org(const char *a, const char *b)
{
	return strcasecmp(tok_registrable_domain(a), tok_registrable_domain(b)) == 0;
}

/* The brands, prepared once per process (phish_brands is constant). */
#define PHISH_BRANDS_MAX 64
static struct phish_name brand_names[PHISH_BRANDS_MAX];
static size_t nbrand_names;
static int brand_names_ready;

static void brands_prepare(void)
{
	if (brand_names_ready)
		return;
	/* one slot per brand, so brand_names[i] is phish_brands[i] (an empty name matches nothing) */
	for (size_t i = 0; phish_brands[i] && i < PHISH_BRANDS_MAX; i++)
		phish_name_prepare(&brand_names[nbrand_names++], phish_brands[i]);
	brand_names_ready = 1;
}

/*
 * The brands' verdict on a host name is a pure function of the name, and the same hosts come
 * back message after message (a list's own domain, a newsletter's link host): so it is kept
 * per process in a direct-mapped table, keyed by the exact name. A hit costs a hash and a
 * compare instead of preparing the name's skeleton and comparing it with every brand
 * (about 12,600 instructions per host on the corpus, two thirds of phish).
 */
#define PHISH_MEMO_SLOTS 1024
struct brand_memo {
	uint64_t h;
	int16_t idx; /* brand of the verdict, -1 for none */
	uint8_t look;
	uint8_t used;
	char name[PHISH_DOMAIN_MAX];
};
static struct brand_memo *brand_memo;

static struct brand_memo *memo_slot(const char *dom, size_t len, uint64_t *h)
{
	if (brand_memo == NULL && (brand_memo = calloc(PHISH_MEMO_SLOTS, sizeof *brand_memo)) == NULL)
		return NULL;
	*h = tok_hash(dom, len, 0x7068697368ULL);
	return &brand_memo[*h % PHISH_MEMO_SLOTS];
}

/* The brands' part of protected_look, for a name no client domain looks like. */
static enum phish_look brand_look(const struct phish_name *d, int prepared, const char *dom,
				  const char **which)
{
	enum phish_look best = PHISH_LOOK_NONE;
	size_t len = strlen(dom);
	struct brand_memo *m = NULL;
	struct phish_name own;
	int idx = -1;
	uint64_t h = 0;

	if (len < PHISH_DOMAIN_MAX && (m = memo_slot(dom, len, &h)) != NULL && m->used &&
	    m->h == h && strcmp(m->name, dom) == 0) {
		*which = m->idx >= 0 ? phish_brands[m->idx] : NULL;
		return (enum phish_look)m->look;
	}
	if (!prepared) {
		if (phish_name_prepare(&own, dom) < 0)
			goto out;
		d = &own;
	}
	brands_prepare();
	for (size_t i = 0; i < nbrand_names; i++) {
		enum phish_look l = phish_lookalike_names(d, &brand_names[i]);

		if (l == PHISH_LOOK_SAME) {
			best = l;
			idx = (int)i;
			break;
		}
		if (l != PHISH_LOOK_NONE && (best == PHISH_LOOK_NONE || best == PHISH_LOOK_EMBED)) {
			best = l;
			idx = (int)i;
		}
	}
out:
	if (m) {
		m->h = h;
		m->idx = (int16_t)idx;
		m->look = (uint8_t)best;
		m->used = 1;
		memcpy(m->name, dom, len + 1);
	}
	*which = idx >= 0 ? phish_brands[idx] : NULL;
	return best;
}

/* The strongest relation of dom to any protected domain; *which names it. */
static enum phish_look protected_look(const struct tenant *tn, const char *dom, int *client,
				      const char **which)
{
	enum phish_look best = PHISH_LOOK_NONE, l;
	struct phish_name d, p;
	const char *bw;

	*client = 0;
	*which = NULL;
	if (tn && tn->ndomains) {
		if (phish_name_prepare(&d, dom) < 0)
			return best;
		for (size_t i = 0; i < tn->ndomains; i++) {
			l = PHISH_LOOK_NONE;
			if (phish_name_prepare(&p, tn->domains[i]) == 0)
				l = phish_lookalike_names(&d, &p);
			if (l == PHISH_LOOK_SAME) {
				*client = 1;
				*which = tn->domains[i];
				return l;
			}
			if (l != PHISH_LOOK_NONE &&
			    (best == PHISH_LOOK_NONE || best == PHISH_LOOK_EMBED)) {
				best = l;
				*client = 1;
				*which = tn->domains[i];
			}
		}
	}
	/* a brand's verdict replaces a client's only as it did when both were one loop: SAME
	 * always, anything else when the client gave nothing or only EMBED */
	l = brand_look(&d, tn && tn->ndomains, dom, &bw);
	if (l == PHISH_LOOK_NONE)
		return best;
	if (l == PHISH_LOOK_SAME || best == PHISH_LOOK_NONE || best == PHISH_LOOK_EMBED) {
		*client = 0;
		*which = bw;
		return l;
	}
	return best;
}

static void check_sender(struct scan_task *t, const char *fdom)
{
	int client;
	const char *which;
	enum phish_look l = protected_look(t->tenant, fdom, &client, &which);

	if (l == PHISH_LOOK_HOMOGLYPH || l == PHISH_LOOK_TYPO) {
		scan_add_symbol(t->res, client ? "PHISH_LOOKALIKE_CLIENT" : "PHISH_LOOKALIKE_BRAND",
				client ? PHISH_SCORE_LOOKALIKE_CLIENT : PHISH_SCORE_LOOKALIKE_BRAND,
				"%s looks like %s (%s)", fdom, which, phish_look_name(l));
		scan_raise_verdict(t->res, VERDICT_PHISH);
	} else if (l == PHISH_LOOK_EMBED) {
		scan_add_symbol(t->res, "PHISH_DOMAIN_EMBEDS", PHISH_SCORE_EMBEDS, "%s contains %s",
				fdom, which);
	}
}

/* "John Smith" matches john.smith@ / john_smith@ / john-smith@ of the client's people. */
static int display_is_person(const char *display, const char *addr)
{
	char want[128], have[128];
	size_t w = 0, h = 0;
	const char *at = strchr(addr, '@');

	if (at == NULL || !strpbrk(addr, "._-") || strpbrk(addr, "._-") > at)
		return 0;
	for (const char *p = addr; p < at && w + 1 < sizeof want; p++)
		if (isalpha((unsigned char)*p))
			want[w++] = (char)tolower((unsigned char)*p);
	for (const char *p = display; *p && h + 1 < sizeof have; p++)
		if (isalpha((unsigned char)*p))
			have[h++] = (char)tolower((unsigned char)*p);
	return w >= 5 && w == h && memcmp(want, have, w) == 0;
}

static void check_display(struct scan_task *t, const char *display, const char *fdom)
{
	char d2[256], a2[256], dom2[PHISH_DOMAIN_MAX];
	const struct tenant *tn = t->tenant;
	int client;
	const char *which;

	if (display[0] == '\0')
		return;
	if (strchr(display, '@')) {
		phish_parse_address(display, d2, sizeof d2, a2, sizeof a2, dom2, sizeof dom2);
		if (dom2[0] && fdom[0] && !same_org(dom2, fdom))
			scan_add_symbol(t->res, "PHISH_DISPLAY_NAME_ADDRESS", PHISH_SCORE_DISPLAY_ADDRESS,
					"display shows %s, sent from %s", dom2, fdom);
	}
	if (tn == NULL || fdom[0] == '\0' ||
	    protected_look(tn, fdom, &client, &which) == PHISH_LOOK_SAME)
		return;
	for (size_t i = 0; i < tn->ndomains; i++) {
		const char *reg = tok_registrable_domain(tn->domains[i]);
		size_t n = strcspn(reg, ".");
		char name[PHISH_LABEL_MAX];

		if (n < 4 || n >= sizeof name)
			continue;
		memcpy(name, reg, n);
		name[n] = '\0';
		if (strcasestr(display, name)) {
			scan_add_symbol(t->res, "PHISH_IMPERSONATE_CLIENT",
					PHISH_SCORE_IMPERSONATE_CLIENT, "\"%s\" from %s", name, fdom);
			break;
		}
	}
	for (size_t i = 0; i < tn->nrecipients; i++)
		if (display_is_person(display, tn->recipients[i])) {
			scan_add_symbol(t->res, "PHISH_IMPERSONATE_PERSON",
					PHISH_SCORE_IMPERSONATE_PERSON, "%s from %s",
					tn->recipients[i], fdom);
			break;
		}
}

static void check_urls(struct scan_task *t)
{
	int mismatch = 0, look = 0, spoof = 0;
	unsigned n = 0;

	for (const struct mime_url *u = t->mime->urls; u && n < PHISH_MAX_URLS; u = u->next, n++) {
		char td[PHISH_DOMAIN_MAX];
		int client;
		const char *which;

		if (u->host == NULL || u->host[0] == '\0')
			continue;
		if (!look) {
			enum phish_look l = protected_look(t->tenant, u->host, &client, &which);

			if (l == PHISH_LOOK_HOMOGLYPH || l == PHISH_LOOK_TYPO) {
				look = 1;
				scan_add_symbol(t->res, "PHISH_LINK_LOOKALIKE", PHISH_SCORE_LINK_LOOKALIKE,
						"%s looks like %s (%s)", u->host, which,
						phish_look_name(l));
				scan_raise_verdict(t->res, VERDICT_PHISH);
			}
		}
		if (u->text == NULL || !phish_text_domain(u->text, td, sizeof td) ||
		    same_org(td, u->host))
			continue;
		if (!spoof && protected_look(t->tenant, td, &client, &which) == PHISH_LOOK_SAME &&
		    protected_look(t->tenant, u->host, &client, &which) != PHISH_LOOK_SAME) {
			spoof = 1;
			scan_add_symbol(t->res, "PHISH_LINK_SPOOFS", PHISH_SCORE_LINK_SPOOFS,
					"shows %s, goes to %s", td, u->host);
			scan_raise_verdict(t->res, VERDICT_PHISH);
		} else if (!mismatch && !spoof) {
			mismatch = 1;
			scan_add_symbol(t->res, "PHISH_LINK_TEXT_MISMATCH", PHISH_SCORE_LINK_MISMATCH,
					"shows %s, goes to %s", td, u->host);
		}
	}
}

static int html_attachment(const struct mime_part *p)
{
	const char *fn = p->filename ? p->filename : "";
	const char *dot = strrchr(fn, '.');

	if (dot && (strcasecmp(dot, ".htm") == 0 || strcasecmp(dot, ".html") == 0 ||
		    strcasecmp(dot, ".xhtml") == 0 || strcasecmp(dot, ".shtml") == 0 ||
		    strcasecmp(dot, ".svg") == 0))
		return 1;
	return strcmp(p->type, "text") == 0 && strcmp(p->subtype, "html") == 0 &&
	       strcmp(p->disposition, "attachment") == 0;
}

static void check_attachments(struct scan_task *t)
{
	for (const struct mime_part *p = t->mime->root; p; p = mime_part_next(p)) {
		if (!mime_part_is_leaf(p) || p->decoded == NULL || !html_attachment(p))
			continue;
		if (phish_html_credform((const char *)p->decoded, p->decoded_len)) {
			scan_add_symbol(t->res, "PHISH_HTML_CREDFORM", PHISH_SCORE_CREDFORM,
					"password form in %s", p->filename ? p->filename : "HTML part");
			scan_raise_verdict(t->res, VERDICT_PHISH);
			return;
		}
	}
}

static void check_first_contact(struct scan_task *t, const char *fdom)
{
	const char *reg = tok_registrable_domain(fdom);
	size_t tl = strlen(t->tenant->name), rl = strlen(reg);
	char key[TENANT_NAME_MAX + PHISH_DOMAIN_MAX + 1];
	MDB_val k = {tl + 1 + rl, key}, v, ck = {tl + 1, key};
	MDB_txn *txn;
	uint64_t count = 0, now = (uint64_t)time(NULL);
	int remember = t->res->score < PHISH_REMEMBER_BELOW;

	if (phish_env == NULL || tl + 1 + rl > 511 || rl == 0)
		return;
	memcpy(key, t->tenant->name, tl);
	key[tl] = '\0';
	memcpy(key + tl + 1, reg, rl);
	if (mdb_txn_begin(phish_env, NULL, remember ? 0 : MDB_RDONLY, &txn) != 0)
		return;
	if (mdb_get(txn, phish_senders, &k, &v) == 0)
		goto out;
	if (mdb_get(txn, phish_senders, &ck, &v) == 0 && v.mv_size == sizeof count)
		memcpy(&count, v.mv_data, sizeof count);
	if (count >= PHISH_HISTORY_MIN)
		scan_add_symbol(t->res, "PHISH_FIRST_CONTACT", PHISH_SCORE_FIRST_CONTACT,
				"%s never wrote to %s before", reg, t->tenant->name);
	if (!remember)
		goto out;
	v.mv_size = sizeof now;
	v.mv_data = &now;
	if (mdb_put(txn, phish_senders, &k, &v, 0) != 0)
		goto out;
	count++;
	v.mv_size = sizeof count;
	v.mv_data = &count;
	if (mdb_put(txn, phish_senders, &ck, &v, 0) != 0)
		goto out;
	mdb_txn_commit(txn);
	return;
out:
	mdb_txn_abort(txn);
}

static int phish_scan(struct scan_task *t)
{
	char display[256], addr[256], fdom[PHISH_DOMAIN_MAX];
	char rd[256], ra[256], rdom[PHISH_DOMAIN_MAX];
	const char *from, *reply;

	if (t->mime == NULL || t->mime->root == NULL)
		return 0;
	from = mime_header_get(t->mime->root, "From");
	phish_parse_address(from ? from : "", display, sizeof display, addr, sizeof addr, fdom,
			    sizeof fdom);
	if (fdom[0] == '\0' && t->env && t->env->mail_from[0]) {
		const char *at = strrchr(t->env->mail_from, '@');

		if (at)
			snprintf(fdom, sizeof fdom, "%s", at + 1);
	}
	if (fdom[0])
		check_sender(t, fdom);
	check_display(t, display, fdom);
	reply = mime_header_get(t->mime->root, "Reply-To");
	/* Mailing lists set Reply-To to the list: normal there, and most list mail is ham. */
	if (reply && fdom[0] && !mime_header_get(t->mime->root, "List-Id") &&
	    !mime_header_get(t->mime->root, "List-Post") &&
	    !mime_header_get(t->mime->root, "Mailing-List")) {
		phish_parse_address(reply, rd, sizeof rd, ra, sizeof ra, rdom, sizeof rdom);
		if (rdom[0] && !same_org(rdom, fdom)) {
			int fm = is_freemail(rdom) && !is_freemail(fdom);

			scan_add_symbol(t->res, "PHISH_REPLYTO_DIFFERS",
					fm ? PHISH_SCORE_REPLYTO_FREEMAIL : PHISH_SCORE_REPLYTO,
					"reply to %s, from %s", rdom, fdom);
		}
	}
	check_urls(t);
	check_attachments(t);
	if (t->tenant && fdom[0])
		check_first_contact(t, fdom);
	return 0;
}

static void phish_fini(void)
{
	if (phish_env)
		mdb_env_close(phish_env);
	phish_env = NULL;
}

const struct scanner_ops phish_scanner = {
	.name = "phish",
	.init = phish_init,
	.scan = phish_scan,
	.reload = NULL,
	.fini = phish_fini,
};
