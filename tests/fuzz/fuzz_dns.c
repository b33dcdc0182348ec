/*
 * fuzz_dns - raw DNS answer packets through c-ares's parsers (dns_answer_parse, for every
 * record type we ask for) and then through our record parsers: each TXT string as an SPF
 * record (and its terms' macros), a DKIM key record and a DMARC record; each A answer through
 * the DNSBL judgement. Invariants: at most 32 records come back, every string is readable and
 * NUL-terminated, a DNSBL "listed" code is one the bitmap accepts. A broken one aborts.
 * Seeds: answers captured from dnsmasq serving the integration tests' records.
 */
#include "core/arena.h"
#include "scan/auth_dkim.h"
#include "scan/auth_dmarc.h"
#include "scan/auth_dns.h"
#include "scan/auth_dnsbl.h"
#include "scan/auth_spf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static volatile size_t sink;

static void check_answer(const struct dns_answer *an, int type, struct arena *a)
{
	if (an->status == DNS_OK && an->n == 0)
		abort();
	if (an->n > 32)
		abort();
	for (unsigned i = 0; i < an->n; i++) {
		if (type == DNS_T_A || type == DNS_T_AAAA) {
			if (an->addr[i].af != (type == DNS_T_A ? AF_INET : AF_INET6))
				abort();
			continue;
		}
		sink += strlen(an->str[i]);
		if (type != DNS_T_TXT)
			continue;
		struct spf_record rec;
		struct dkim_key key;
		struct dmarc_record dm;
		if (spf_record_parse(an->str[i], a, &rec) == 0) {
			struct dns_addr ip = {AF_INET6, {0x20, 0x01, 0x0d, 0xb8, [15] = 1}};
			struct spf_macro_ctx c = {"user@example.com", "example.com", "helo.example",
			                          &ip};
			char out[300];
			for (unsigned t = 0; t < rec.n; t++)
				if (rec.t[t].domain &&
				    spf_macro_expand(rec.t[t].domain, &c, out, sizeof out) == 0 &&
				    strlen(out) > 253)
					abort();
		}
		if (dkim_key_parse(an->str[i], a, &key) == 0)
			sink += strlen(key.p);
		if (dmarc_record_parse(an->str[i], &dm) == 0 && dm.pct > 100)
			abort();
	}
	if (type == DNS_T_A && an->status == DNS_OK) {
		unsigned char codes[32], code = 0;
		char why[64];
		memset(codes, 0, sizeof codes);
		codes[0] = 0x04; /* 127.0.0.2 only */
		if (dnsbl_judge(an, codes, &code, why, sizeof why) == 1 && code != 2)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int types[] = {DNS_T_A, DNS_T_AAAA, DNS_T_TXT, DNS_T_MX, DNS_T_PTR};
	struct arena *a;

	if (size > 65535)
		return 0;
	a = arena_new(16u << 20);
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		struct dns_answer an;
		if (dns_answer_parse(types[i], data, (int)size, a, &an) == 0)
			check_answer(&an, types[i], a);
		arena_reset(a);
	}
	arena_free(a);
	return 0;
}
