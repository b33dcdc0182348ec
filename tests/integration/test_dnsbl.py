"""dnsbl: the client address and link domains against block lists served by a real DNS server
(dnsmasq on loopback). The loopback client listed in a test zone gets RBL_<ZONE> on a delivered
message, with the zone's score; a zone that answers 127.255.255.254 (refused) is an error, never
a listing; a code outside the zone's accepted codes does not count; a link's registered domain
listed in a domain zone gets DBL_<ZONE>; IPv6 clients are looked up in nibble form."""
import json
import os
import smtplib
import tempfile
import unittest

from dnszone import DnsServer
from mxtest import stop_node_and_sink, Node, Sink, make_message, wait_until

V6_NIBBLES = ".".join(reversed("20010db8000000000000000000000001"))  # 2001:db8::1


class DnsblTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        records = [
            ("A", "1.0.0.127.zen.test", "127.0.0.4"),
            ("A", "1.0.0.127.refuse.test", "127.255.255.254"),
            ("A", "1.0.0.127.codes.test", "127.0.0.9"),
            ("A", V6_NIBBLES + ".zen.test", "127.0.0.3"),
            ("A", "bad-pharmacy.test.dbl.test", "127.0.0.2"),
        ]
        cls.dns = DnsServer(records, ["zen.test", "refuse.test", "codes.test", "dbl.test"]).start()
        cls.sink = Sink().start()
        cls.node = Node(config={
            "dns.resolver": cls.dns.addr,
            "dnsbl.zones": "zen.test:2.5, refuse.test:9, codes.test:9:2-4",
            "dnsbl.domain_zones": "dbl.test:3:2+3",
        })
        cls.node.add_tenant("acme", "acme-corp.test", cls.sink.route)
        cls.node.start()

    @classmethod
    def tearDownClass(cls):
        stop_node_and_sink(cls.node, cls.sink)
        cls.dns.stop()

    def deliver(self, subject, body):
        msg = make_message(sender="a@sender.test", to="bob@acme-corp.test", subject=subject,
                           body=body)
        s = self.node.smtp()
        try:
            s.ehlo("client.test")
            s.sendmail("a@sender.test", ["bob@acme-corp.test"], msg)
        finally:
            s.quit()

        def find():
            for m in self.sink.parsed():
                if m.get("Subject") == subject:
                    return m
            return None
        return wait_until(find, 30, what="delivery of %r" % subject)

    def test_listed_client_gets_symbol(self):
        m = self.deliver("dnsbl 1", "Hello.\r\n")
        verdict = m.get("X-MXTower-Verdict", "")
        self.assertIn("RBL_ZEN_TEST(2.50)", verdict)
        # 127.255.255.254 is the list refusing us: an error, never a listing.
        self.assertNotIn("RBL_REFUSE_TEST", verdict)
        self.assertIn("DNSBL_ERROR", verdict)
        # 127.0.0.9 is outside codes.test's accepted 2-4.
        self.assertNotIn("RBL_CODES_TEST", verdict)

    def test_link_domain_listed(self):
        m = self.deliver("dnsbl 2", "Cheap pills at http://shop.bad-pharmacy.test/buy now.\r\n")
        self.assertIn("DBL_DBL_TEST(3.00)", m.get("X-MXTower-Verdict", ""))
        m = self.deliver("dnsbl 3", "See http://www.example.org/ for details.\r\n")
        self.assertNotIn("DBL_DBL_TEST", m.get("X-MXTower-Verdict", ""))

    def test_ipv6_client_nibbles(self):
        d = tempfile.mkdtemp(prefix="mxdnsbl-")
        path = os.path.join(d, "m.eml")
        with open(path, "wb") as f:
            f.write(make_message(subject="v6"))
        rows = {}
        for ip in ("2001:db8::1", "2001:db8::2"):
            p = self.node.mx("scan", "--json", "--ip", ip, path, check=True)
            o = json.loads(p.stdout.strip().splitlines()[-1])
            rows[ip] = {s["name"]: s for s in o["symbols"]}
        self.assertIn("RBL_ZEN_TEST", rows["2001:db8::1"])
        self.assertIn("127.0.0.3", rows["2001:db8::1"]["RBL_ZEN_TEST"]["detail"])
        self.assertNotIn("RBL_ZEN_TEST", rows["2001:db8::2"])


if __name__ == "__main__":
    unittest.main()
