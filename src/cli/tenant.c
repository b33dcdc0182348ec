/*
 * tenant - `mxtower tenant add|list|show|set|remove`: client companies, their domains, route,
 * routing host name, optional recipient list, allow/block lists and policy.
 */
#include "cli/cli.h"

#include "core/config.h"
#include "core/log.h"
#include "core/parse.h"
#include "store/tenant.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char tenant_usage[] =
	"usage: mxtower tenant add NAME --domain D [--domain D2]... --route HOST:PORT\n"
	"                          [--routing-host H] [--recipient ADDR]... [policy options]\n"
	"       mxtower tenant list [--json]\n"
	"       mxtower tenant show NAME [--json]\n"
	"       mxtower tenant set NAME [--route HOST:PORT] [--routing-host H]\n"
	"                          [--domain D] [--no-domain D] [--recipient A] [--no-recipient A]\n"
	"                          [--allow X] [--no-allow X] [--block X] [--no-block X]\n"
	"                          [policy options]\n"
	"       mxtower tenant remove NAME\n"
	"policy options: --tag-at S --quarantine-at S --reject-at S --quarantine-days N\n"
	"                --on-malware|--on-suspect|--on-phish deliver|tag|quarantine|reject\n"
	"allow/block entries: user@domain, domain, or an IP address / CIDR.\n"
	"Common options: -c FILE, --home DIR, -o section.key=value.\n"
	"A running node sees every change within a second.\n";

static int strv_add(char ***v, size_t *n, const char *s)
{
	char **nv;

	for (size_t i = 0; i < *n; i++)
		if (strcasecmp((*v)[i], s) == 0)
			return 0;
	nv = realloc(*v, (*n + 1) * sizeof **v);
	if (nv == NULL)
		return -ENOMEM;
	*v = nv;
	nv[*n] = strdup(s);
	if (nv[*n] == NULL)
		return -ENOMEM;
	for (char *c = nv[*n]; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c + 32);
	(*n)++;
	return 0;
}

static int strv_del(char **v, size_t *n, const char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (strcasecmp(v[i], s) == 0) {
			free(v[i]);
			v[i] = v[*n - 1];
			(*n)--;
			return 0;
		}
	return -ENOENT;
}

static int parse_score(const char *s, double *out)
{
	char *end;
	double d = strtod(s, &end);

	if (end == s || *end != '\0' || d < -1000 || d > 1000)
		return -EINVAL;
	*out = d;
	return 0;
}

/* Apply option words argv[i..] to t. Returns 0 or prints and returns 2. */
static int tenant_apply_opts(struct tenant *t, int argc, char **argv, int i)
{
	char host[256];
	uint16_t port;

	for (; i < argc; i += 2) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int r = 0;

		if (v == NULL)
			goto bad;
		if (strcmp(o, "--domain") == 0)
			r = strv_add(&t->domains, &t->ndomains, v);
		else if (strcmp(o, "--no-domain") == 0)
			r = strv_del(t->domains, &t->ndomains, v);
		else if (strcmp(o, "--recipient") == 0) {
			if (strchr(v, '@') == NULL)
				goto bad;
			r = strv_add(&t->recipients, &t->nrecipients, v);
		} else if (strcmp(o, "--no-recipient") == 0)
			r = strv_del(t->recipients, &t->nrecipients, v);
		else if (strcmp(o, "--allow") == 0)
			r = strv_add(&t->allow, &t->nallow, v);
		else if (strcmp(o, "--no-allow") == 0)
			r = strv_del(t->allow, &t->nallow, v);
		else if (strcmp(o, "--block") == 0)
			r = strv_add(&t->block, &t->nblock, v);
		else if (strcmp(o, "--no-block") == 0)
			r = strv_del(t->block, &t->nblock, v);
		else if (strcmp(o, "--route") == 0) {
			if (parse_hostport(v, host, sizeof host, &port) < 0) {
				fprintf(stderr, "mxtower tenant: --route wants HOST:PORT, got '%s'\n",
					v);
				return 2;
			}
			snprintf(t->route, sizeof t->route, "%s", v);
		} else if (strcmp(o, "--routing-host") == 0)
			snprintf(t->routing_host, sizeof t->routing_host, "%s", v);
		else if (strcmp(o, "--tag-at") == 0)
			r = parse_score(v, &t->policy.tag_at);
		else if (strcmp(o, "--quarantine-at") == 0)
			r = parse_score(v, &t->policy.quarantine_at);
		else if (strcmp(o, "--reject-at") == 0)
			r = parse_score(v, &t->policy.reject_at);
		else if (strcmp(o, "--quarantine-days") == 0)
			r = parse_u64(v, 0, 3650, &t->policy.quarantine_days);
		else if (strcmp(o, "--on-malware") == 0)
			r = policy_action_parse(v, &t->policy.on_malware);
		else if (strcmp(o, "--on-suspect") == 0)
			r = policy_action_parse(v, &t->policy.on_suspect);
		else if (strcmp(o, "--on-phish") == 0)
			r = policy_action_parse(v, &t->policy.on_phish);
		else
			goto bad;
		if (r == -ENOENT) {
			fprintf(stderr, "mxtower tenant: %s: '%s' is not there\n", o, v);
			return 2;
		}
		if (r < 0) {
			fprintf(stderr, "mxtower tenant: bad value for %s: '%s'\n", o, v);
			return 2;
		}
	}
	return 0;
bad:
	fprintf(stderr, "mxtower tenant: unknown or incomplete option '%s'\n%s", argv[i],
		tenant_usage);
	return 2;
}

static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void json_strv(FILE *out, const char *key, char **v, size_t n)
{
	fprintf(out, ",\"%s\":[", key);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputc(',', out);
		json_str(out, v[i]);
	}
	fputc(']', out);
}

static void tenant_print_json(const struct tenant *t)
{
	printf("{\"name\":");
	json_str(stdout, t->name);
	printf(",\"route\":");
	json_str(stdout, t->route);
	printf(",\"routing_host\":");
	json_str(stdout, t->routing_host);
	json_strv(stdout, "domains", t->domains, t->ndomains);
	json_strv(stdout, "recipients", t->recipients, t->nrecipients);
	json_strv(stdout, "allow", t->allow, t->nallow);
	json_strv(stdout, "block", t->block, t->nblock);
	printf(",\"policy\":{\"tag_at\":%g,\"quarantine_at\":%g,\"reject_at\":%g,"
	       "\"quarantine_days\":%llu,\"on_malware\":\"%s\",\"on_suspect\":\"%s\","
	       "\"on_phish\":\"%s\"}}\n",
	       t->policy.tag_at, t->policy.quarantine_at, t->policy.reject_at,
	       (unsigned long long)t->policy.quarantine_days,
	       policy_action_name(t->policy.on_malware), policy_action_name(t->policy.on_suspect),
	       policy_action_name(t->policy.on_phish));
}

static void print_list(const char *label, char **v, size_t n)
{
	printf("%-16s", label);
	if (n == 0)
		printf("-");
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i ? " " : "", v[i]);
	printf("\n");
}

static void tenant_print(const struct tenant *t)
{
	printf("%-16s%s\n", "name:", t->name);
	printf("%-16s%s\n", "route:", t->route);
	printf("%-16s%s\n", "routing host:", t->routing_host);
	print_list("domains:", t->domains, t->ndomains);
	print_list("recipients:", t->recipients, t->nrecipients);
	print_list("allow:", t->allow, t->nallow);
	print_list("block:", t->block, t->nblock);
	printf("%-16stag at %g, quarantine at %g, reject at %g; malware %s, suspect %s, "
	       "phish %s; quarantine kept %llu days\n",
	       "policy:", t->policy.tag_at, t->policy.quarantine_at, t->policy.reject_at,
	       policy_action_name(t->policy.on_malware), policy_action_name(t->policy.on_suspect),
	       policy_action_name(t->policy.on_phish),
	       (unsigned long long)t->policy.quarantine_days);
}

static int has_flag(int argc, char **argv, const char *flag)
{
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], flag) == 0)
			return 1;
	return 0;
}

static int tenant_err(const char *what, const char *name, int r)
{
	const char *why = r == -EEXIST   ? "the name or one of the domains is taken"
			  : r == -ENOENT ? "no such tenant"
			  : r == -EINVAL ? "a tenant needs a name (letters, digits, -_.), a --domain "
					   "and a --route"
					 : "database error";

	fprintf(stderr, "mxtower tenant %s %s: %s\n", what, name, why);
	return 1;
}

int cmd_tenant(int argc, char **argv)
{
	struct config cfg;
	struct tenant_db *db;
	struct tenant t;
	const char *sub, *name;
	int ret = 0, r;

	if (cli_wants_help(argc, argv, tenant_usage))
		return 0;
	config_defaults(&cfg);
	if (config_from_args(&cfg, &argc, argv) < 0)
		return 2;
	if (argc < 2) {
		fputs(tenant_usage, stderr);
		return 2;
	}
	sub = argv[1];
	name = argc > 2 ? argv[2] : NULL;
	log_set_level(LOG_LEVEL_WARN);
	db = tenant_db_open(&cfg);
	if (db == NULL) {
		fprintf(stderr, "mxtower tenant: cannot open the database under %s\n", cfg.home);
		return 1;
	}
	memset(&t, 0, sizeof t);
	if (strcmp(sub, "list") == 0) {
		struct tenant *arr;
		size_t n;
		int json = has_flag(argc, argv, "--json");

		if (tenant_list(db, &arr, &n) < 0) {
			ret = tenant_err("list", "", -EIO);
			goto out;
		}
		if (!json)
			printf("%-20s %-24s %-30s %s\n", "NAME", "ROUTE", "ROUTING HOST", "DOMAINS");
		for (size_t i = 0; i < n; i++) {
			if (json) {
				tenant_print_json(&arr[i]);
			} else {
				printf("%-20s %-24s %-30s", arr[i].name, arr[i].route,
				       arr[i].routing_host);
				for (size_t j = 0; j < arr[i].ndomains; j++)
					printf(" %s", arr[i].domains[j]);
				printf("\n");
			}
			tenant_free(&arr[i]);
		}
		free(arr);
	} else if (strcmp(sub, "show") == 0 && name) {
		r = tenant_get(db, name, &t);
		if (r < 0) {
			ret = tenant_err("show", name, r);
			goto out;
		}
		if (has_flag(argc, argv, "--json"))
			tenant_print_json(&t);
		else
			tenant_print(&t);
	} else if (strcmp(sub, "add") == 0 && name) {
		snprintf(t.name, sizeof t.name, "%s", name);
		tenant_policy_defaults(&t.policy);
		ret = tenant_apply_opts(&t, argc, argv, 3);
		if (ret)
			goto out;
		if (t.routing_host[0] == '\0')
			snprintf(t.routing_host, sizeof t.routing_host, "%.100s.%.140s", name,
				 cfg.smtp.hostname);
		r = tenant_add(db, &t);
		if (r < 0) {
			ret = tenant_err("add", name, r);
			goto out;
		}
		printf("tenant %s added: routing host %s\n", t.name, t.routing_host);
	} else if (strcmp(sub, "set") == 0 && name) {
		r = tenant_get(db, name, &t);
		if (r < 0) {
			ret = tenant_err("set", name, r);
			goto out;
		}
		ret = tenant_apply_opts(&t, argc, argv, 3);
		if (ret)
			goto out;
		r = tenant_update(db, &t);
		if (r < 0) {
			ret = tenant_err("set", name, r);
			goto out;
		}
		printf("tenant %s updated\n", name);
	} else if (strcmp(sub, "remove") == 0 && name) {
		r = tenant_remove(db, name);
		if (r < 0) {
			ret = tenant_err("remove", name, r);
			goto out;
		}
		printf("tenant %s removed\n", name);
	} else {
		fputs(tenant_usage, stderr);
		ret = 2;
	}
out:
	tenant_free(&t);
	tenant_db_close(db);
	return ret;
}
