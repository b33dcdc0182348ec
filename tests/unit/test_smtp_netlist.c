/*
 * test_smtp_netlist - CIDR lists for smtp.xclient_networks: parsing and matching, v4, v6 and
 * v4-mapped v6.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "smtp/netlist.h"

static void test_parse(void **state)
{
	struct netlist nl;

	(void)state;
	assert_int_equal(netlist_parse(&nl, ""), 0);
	assert_int_equal(nl.n, 0);
	assert_int_equal(netlist_parse(&nl, "127.0.0.0/8,::1/128 192.0.2.7"), 0);
	assert_int_equal(nl.n, 3);
	assert_int_equal(nl.e[2].prefix, 32);
	assert_int_equal(netlist_parse(&nl, "10.0.0.0/33"), -EINVAL);
	assert_int_equal(nl.n, 0);
	assert_int_equal(netlist_parse(&nl, "10.0.0.0/x"), -EINVAL);
	assert_int_equal(netlist_parse(&nl, "example.com"), -EINVAL);
	assert_int_equal(netlist_parse(&nl, "2001:db8::/129"), -EINVAL);
}

static void test_match(void **state)
{
	static const struct {
		const char *ip;
		int in;
	} cases[] = {
	    {"127.0.0.1", 1},
	    {"127.255.255.254", 1},
	    {"128.0.0.1", 0},
	    {"192.0.2.7", 1},
	    {"192.0.2.8", 0},
	    {"::1", 1},
	    {"::2", 0},
	    {"::ffff:127.0.0.9", 1},
	    {"2001:db8:0:1::5", 1},
	    {"2001:db8:0:2::5", 0},
	    {"10.1.2.3", 1},
	    {"10.1.3.3", 0},
	    {"not an ip", 0},
	    {"", 0},
	};
	struct netlist nl;

	(void)state;
	assert_int_equal(netlist_parse(&nl, "127.0.0.0/8, ::1/128,192.0.2.7,2001:db8:0:1::/64,"
	                                    "10.1.2.0/24"),
	                 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (netlist_match(&nl, cases[i].ip) != cases[i].in)
			fail_msg("%s: want %d", cases[i].ip, cases[i].in);
	/* a prefix that is not a whole octet: /23 holds 10.1.2.x and 10.1.3.x, /25 half of .2 */
	assert_int_equal(netlist_parse(&nl, "10.1.2.0/23"), 0);
	assert_int_equal(netlist_match(&nl, "10.1.3.3"), 1);
	assert_int_equal(netlist_match(&nl, "10.1.4.3"), 0);
	assert_int_equal(netlist_parse(&nl, "10.1.2.0/25"), 0);
	assert_int_equal(netlist_match(&nl, "10.1.2.127"), 1);
	assert_int_equal(netlist_match(&nl, "10.1.2.128"), 0);
	assert_int_equal(netlist_parse(&nl, "10.1.2.0/22"), 0);
	assert_int_equal(netlist_match(&nl, "10.1.3.3"), 1);
	assert_int_equal(netlist_parse(&nl, "0.0.0.0/0"), 0);
	assert_int_equal(netlist_match(&nl, "203.0.113.1"), 1);
	assert_int_equal(netlist_match(&nl, "2001:db8::1"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_match),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
