/*
 * netlist - a list of IPv4/IPv6 networks in CIDR notation ("127.0.0.0/8,::1/128") and the
 * question whether an address is in it. Used for smtp.xclient_networks.
 *
 * Limits: at most NETLIST_MAX entries (a config string of 256 bytes holds fewer anyway).
 */
#ifndef MX_SMTP_NETLIST_H
#define MX_SMTP_NETLIST_H

#include <stddef.h>

#define NETLIST_MAX 32

struct netlist_entry {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix;
};

struct netlist {
	struct netlist_entry e[NETLIST_MAX];
	size_t n;
};

/* Parse a comma/space separated list; "" is the empty list. 0 or -EINVAL (nl left empty). */
int netlist_parse(struct netlist *nl, const char *s);
/* Is the textual address ip (v4, v6, or v4-mapped v6) in the list? 1 or 0. */
int netlist_match(const struct netlist *nl, const char *ip);

#endif
