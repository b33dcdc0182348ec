"""auth: SPF, DKIM and DMARC on a real node against a real DNS server (dnsmasq on loopback).

Mail signed in the test with a fresh RSA key (made by openssl, signed by dkimpy, an independent
DKIM implementation) passes DKIM and DMARC although SPF fails, and is delivered with an
Authentication-Results header; the same mail altered after signing fails and, its domain
publishing p=reject, is refused at end of DATA; a forged From of a p=quarantine domain is
quarantined; SPF alone aligns for a domain that lists the client. With no dns.resolver the
node still delivers, says AUTH_SKIPPED, and the DNS server hears nothing."""
import email
import json
import os
import subprocess
import tempfile
import unittest

from dnszone import DnsServer
from mxtest import stop_node_and_sink, Node, Sink, make_message, wait_until

SIGNER = "/usr/bin/python3"  # Debian's python, where python3-dkim is installed

SIGN = r"""
import sys, dkim
msg = sys.stdin.buffer.read()
sig = dkim.sign(msg, b"mx2026", b"signed.test", open(sys.argv[1], "rb").read(),
                canonicalize=(b"relaxed", b"relaxed"),
                include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
sys.stdout.buffer.write(sig + msg)
"""


def send(node, sender, rcpt, msg):
    """None when accepted, else the SMTP code of the refusal at end of DATA."""
    r = node.refusal(sender, [rcpt], msg)
    return r and r[0]


class AuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="mxauth-")
        cls.key = os.path.join(cls.tmp, "dkim.pem")
        subprocess.run(["openssl", "genrsa", "-out", cls.key, "2048"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        der = subprocess.run(["openssl", "rsa", "-in", cls.key, "-pubout", "-outform", "DER"],
                             check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
        import base64
        pub = base64.b64encode(der).decode()
        records = [
            # signed.test: SPF does not list us; DKIM must carry DMARC.
            ("TXT", "signed.test", "v=spf1 ip4:192.0.2.1 -all"),
            ("TXT", "_dmarc.signed.test", "v=DMARC1; p=reject"),
            ("TXT", "mx2026._domainkey.signed.test", "v=DKIM1; k=rsa; p=" + pub),
            # bank.test: a forged From is refused.
            ("TXT", "bank.test", "v=spf1 ip4:192.0.2.1 -all"),
            ("TXT", "_dmarc.bank.test", "v=DMARC1; p=reject; rua=mailto:d@bank.test"),
            # shop.test: quarantine.
            ("TXT", "shop.test", "v=spf1 -all"),
            ("TXT", "_dmarc.shop.test", "v=DMARC1; p=quarantine"),
            # spfok.test: lists the loopback client through include and a:
            ("TXT", "spfok.test", "v=spf1 include:_spf.spfok.test -all"),
            ("TXT", "_spf.spfok.test", "v=spf1 a:relay.spfok.test ~all"),
            ("A", "relay.spfok.test", "127.0.0.1"),
            ("TXT", "_dmarc.spfok.test", "v=DMARC1; p=reject"),
        ]
        cls.dns = DnsServer(records, ["signed.test", "bank.test", "shop.test", "spfok.test"]).start()
        cls.sink = Sink().start()
        cls.node = Node(config={"dns.resolver": cls.dns.addr})
        cls.node.add_tenant("acme", "acme-corp.test", cls.sink.route)
        cls.node.start()

    @classmethod
    def tearDownClass(cls):
        stop_node_and_sink(cls.node, cls.sink)
        cls.dns.stop()

    def sign(self, msg):
        p = subprocess.run([SIGNER, "-c", SIGN, self.key], input=msg, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, check=True)
        return p.stdout

    def delivered_with(self, marker):
        def find():
            for m in self.sink.parsed():
                if marker in m.get("Subject", ""):
                    return m
            return None
        return wait_until(find, 30, what="delivery of %r" % marker)

    def test_dkim_signed_mail_passes_and_is_delivered(self):
        msg = self.sign(make_message(sender="news@signed.test", to="bob@acme-corp.test",
                                     subject="signed letter 1", body="Quarterly figures.\r\n"))
        self.assertIsNone(send(self.node, "news@signed.test", "bob@acme-corp.test", msg))
        m = self.delivered_with("signed letter 1")
        ar = m.get("Authentication-Results", "")
        self.assertIn("mx.node1.test;", ar)
        self.assertIn("dkim=pass header.d=signed.test", ar)
        self.assertIn("spf=fail smtp.mailfrom=signed.test", ar)
        self.assertIn("dmarc=pass header.from=signed.test", ar)
        self.assertIn("DKIM_PASS", m.get("X-Spam-Status", ""))

    def test_altered_signed_mail_fails_dmarc_and_is_refused(self):
        msg = self.sign(make_message(sender="news@signed.test", to="bob@acme-corp.test",
                                     subject="signed letter 2", body="Pay 100 EUR.\r\n"))
        forged = msg.replace(b"Pay 100 EUR.", b"Pay 900 EUR.")
        before = len(self.sink.files())
        code = send(self.node, "news@signed.test", "bob@acme-corp.test", forged)
        self.assertIsNotNone(code)
        self.assertEqual(code // 100, 5)
        self.assertEqual(len(self.sink.files()), before)

    def test_forged_from_of_reject_domain_refused(self):
        msg = make_message(sender="security@bank.test", to="bob@acme-corp.test",
                           subject="Verify your account", body="Click here.\r\n")
        self.assertEqual(send(self.node, "security@bank.test", "bob@acme-corp.test", msg) // 100, 5)

    def test_forged_from_of_quarantine_domain_quarantined(self):
        q = len(self.node.queue_files("quarantine"))
        msg = make_message(sender="orders@shop.test", to="bob@acme-corp.test",
                           subject="Your order", body="Order 1234 shipped.\r\n")
        self.assertIsNone(send(self.node, "orders@shop.test", "bob@acme-corp.test", msg))
        wait_until(lambda: len(self.node.queue_files("quarantine")) > q, 20,
                   what="the message in quarantine")

    def test_spf_pass_aligns_for_dmarc(self):
        msg = make_message(sender="team@spfok.test", to="bob@acme-corp.test",
                           subject="spf aligned 1", body="Hello.\r\n")
        self.assertIsNone(send(self.node, "team@spfok.test", "bob@acme-corp.test", msg))
        m = self.delivered_with("spf aligned 1")
        ar = m.get("Authentication-Results", "")
        self.assertIn("spf=pass smtp.mailfrom=spfok.test", ar)
        self.assertIn("dkim=none", ar)
        self.assertIn("dmarc=pass", ar)

    def test_scan_cli_takes_envelope(self):
        path = os.path.join(self.tmp, "cli.eml")
        with open(path, "wb") as f:
            f.write(make_message(sender="x@bank.test", to="bob@acme-corp.test", subject="cli"))
        rows = {}
        for ip in ("192.0.2.1", "198.51.100.20"):
            p = self.node.mx("scan", "--json", "--ip", ip, "--helo", "mail.bank.test",
                             "--from", "x@bank.test", path, check=True)
            o = json.loads(p.stdout.strip().splitlines()[-1])
            rows[ip] = {s["name"] for s in o["symbols"]}
        self.assertIn("SPF_PASS", rows["192.0.2.1"])
        self.assertIn("DMARC_PASS", rows["192.0.2.1"])
        self.assertIn("SPF_FAIL", rows["198.51.100.20"])
        self.assertIn("DMARC_POLICY_REJECT", rows["198.51.100.20"])

    def test_cache_answers_repeat_lookups(self):
        d = tempfile.mkdtemp(prefix="mxauthcache-", dir=self.tmp)
        for i in range(3):
            with open(os.path.join(d, "m%d.eml" % i), "wb") as f:
                f.write(make_message(sender="x@cache.spfok.test", to="bob@acme-corp.test",
                                     subject="cache %d" % i))
        before = len([q for q in self.dns.queries() if "query[TXT] cache.spfok.test" in q])
        p = self.node.mx("scan", "--json", "--ip", "127.0.0.1", "--helo", "h.test",
                         "--from", "x@cache.spfok.test", d, check=True)
        self.assertEqual(len(p.stdout.strip().splitlines()), 3)
        after = len([q for q in self.dns.queries() if "query[TXT] cache.spfok.test" in q])
        # Three messages, one process: the SPF TXT lookup (a negative answer) left once.
        self.assertEqual(after - before, 1)


class NoResolverTest(unittest.TestCase):
    """No dns.resolver: nothing is asked of anyone, mail flows, the symbol says why."""

    def test_delivers_without_queries(self):
        dns = DnsServer([("TXT", "bank.test", "v=spf1 -all"),
                         ("TXT", "_dmarc.bank.test", "v=DMARC1; p=reject")], ["bank.test"]).start()
        sink = Sink().start()
        node = Node()
        try:
            node.add_tenant("acme", "acme-corp.test", sink.route)
            node.start()
            msg = make_message(sender="security@bank.test", to="bob@acme-corp.test",
                               subject="no resolver", body="Hello.\r\n")
            self.assertIsNone(send(node, "security@bank.test", "bob@acme-corp.test", msg))
            sink.wait_count(1)
            m = sink.parsed()[0]
            self.assertIn("AUTH_SKIPPED", m.get("X-Spam-Status", ""))
            self.assertIsNone(m.get("Authentication-Results"))
            self.assertEqual(dns.queries(), [])
        finally:
            node.stop()
            sink.stop()
            dns.stop()
            node.cleanup()


if __name__ == "__main__":
    unittest.main()
