/*
 * netlist - see netlist.h. A v4-mapped v6 address ("::ffff:192.0.2.1") is matched as IPv4,
 * since that is what a dual-stack listener reports for an IPv4 peer.
 */
#include "smtp/netlist.h"

#include "core/parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

static int addr_parse(const char *s, int *family, unsigned char *bin)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (inet_pton(AF_INET, s, bin) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, bin) == 1) {
		*family = AF_INET6;
		if (memcmp(bin, mapped, 12) == 0) {
			memmove(bin, bin + 12, 4);
			*family = AF_INET;
		}
		return 0;
	}
	return -EINVAL;
}

int netlist_parse(struct netlist *nl, const char *s)
{
	nl->n = 0;
	while (*s) {
		char item[64], *slash;
		size_t len = strcspn(s, ", ");
		struct netlist_entry *e;
		uint64_t prefix;

		if (len == 0) {
			s++;
			continue;
		}
		if (len >= sizeof item || nl->n == NETLIST_MAX)
			goto bad;
		memcpy(item, s, len);
		item[len] = '\0';
		s += len;
		e = &nl->e[nl->n];
		memset(e, 0, sizeof *e);
		slash = strchr(item, '/');
		if (slash)
			*slash = '\0';
		if (addr_parse(item, &e->family, e->addr) < 0)
			goto bad;
		e->prefix = e->family == AF_INET ? 32 : 128;
		if (slash) {
			if (parse_u64(slash + 1, 0, e->prefix, &prefix) < 0)
				goto bad;
			e->prefix = (unsigned)prefix;
		}
		nl->n++;
	}
	return 0;
bad:
	nl->n = 0;
	return -EINVAL;
}

static int prefix_eq(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, bytes) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[bytes] ^ b[bytes]) & (0xff << (8 - rest))) == 0;
}

int netlist_match(const struct netlist *nl, const char *ip)
{
	unsigned char bin[16];
	int family;

	if (addr_parse(ip, &family, bin) < 0)
		return 0;
	for (size_t i = 0; i < nl->n; i++)
		if (nl->e[i].family == family && prefix_eq(bin, nl->e[i].addr, nl->e[i].prefix))
			return 1;
	return 0;
}
