"""header rules: the header-structure shapes of rules/30-headers.rules. A message written the
way 2002-era bulk software wrote them (a Date with a -1900 zone, a zero-padded imitation of an
Outlook Message-ID, X-Priority 1, a Subject padded with spaces, HTML without MIME-Version)
collects the SPAM_HDR_* symbols and their points add up; the headers a mail program writes
(Bcc-only mail to "undisclosed-recipients:;" and an RFC 822 two-digit year included), and the
Received line mxtower itself adds to mail it accepts over SMTP, hit none of them."""
import email
import json
import os
import unittest

from mxtest import Node, make_message, node_with_sink, stop_node_and_sink

RATWARE = (
    "From: Best Offers <offers@bulk.test>\r\n"
    "To: Undisclosed Recipients\r\n"
    "Subject: Your quote is ready        84721\r\n"
    "Date: Thu, 22 Aug 2002 16:44:26 -1900\r\n"
    "Message-ID: <000043de651d$000038c1$00005639@mail.bulk.test>\r\n"
    "X-Priority: 1\r\n"
    "X-MSMail-Priority: High\r\n"
    "Content-Type: text/html\r\n"
    "\r\n"
    "<html><body><center><table><tr><td>Lowest rates of the year."
    "</td></tr></table></center></body></html>\r\n").encode()

# The headers Thunderbird writes, with the date shapes the rules must leave alone.
PROGRAM = (
    "From: Maria Lopez <maria@partner.test>\r\n"
    "To: Bob <bob@example.test>\r\n"
    "Subject: Figures for Thursday\r\n"
    "Date: Tue, 24 Nov 2026 09:15:02 +0530\r\n"
    "Message-ID: <8f1c2a9e-4b7d-4c1e-9a77-3e2f1b0c5d11@partner.test>\r\n"
    "MIME-Version: 1.0\r\n"
    "User-Agent: Mozilla Thunderbird\r\n"
    "Content-Type: text/html; charset=UTF-8\r\n"
    "\r\n"
    "<html><body><p>Hi Bob, the Q3 figures are attached as promised.</p></body></html>\r\n"
).encode()

HDR_POINTS = {"SPAM_HDR_DATE_ODD_TZ": 1.5, "SPAM_HDR_MID_RATWARE": 1.5,
              "SPAM_HDR_PRIORITY_HIGH": 1.5, "SPAM_HDR_MSMAIL_PRIORITY_HIGH": 1.5,
              "SPAM_HDR_SUBJECT_SPACES": 1.5, "SPAM_HDR_HTML_NO_MIME_VERSION": 1.0,
              "SPAM_HTML_CENTER_TABLE": 1.0}

# Forms the standards allow and mail programs write: no rule may hit them.
BCC_ONLY = PROGRAM.replace(b"To: Bob <bob@example.test>", b"To: undisclosed-recipients:;")
OLD_DATE = PROGRAM.replace(b"Date: Tue, 24 Nov 2026 09:15:02 +0530",
                           b"Date: Tue, 8 Oct 91 10:25:36 EDT")


def new_symbols(syms):
    return {k: v for k, v in syms.items() if k.startswith(("SPAM_HDR_", "SPAM_HTML_CENTER",
                                                           "SPAM_URI_ENCODED"))}


class HeaderRulesScanTest(unittest.TestCase):
    def setUp(self):
        self.node = Node()

    def tearDown(self):
        self.node.cleanup()

    def scan(self, raw):
        path = os.path.join(self.node.tmp, "msg.eml")
        with open(path, "wb") as f:
            f.write(raw)
        p = self.node.mx("scan", "--json", "-o", "scan.scanners=rules", path, check=True)
        o = json.loads(p.stdout.strip().splitlines()[-1])
        return {s["name"]: s["score"] for s in o["symbols"]}, o

    def test_ratware_headers_add_up(self):
        syms, o = self.scan(RATWARE)
        self.assertEqual(new_symbols(syms), HDR_POINTS, o)
        self.assertAlmostEqual(sum(syms[k] for k in HDR_POINTS), 9.5, places=2)

    def test_mail_program_headers_hit_none(self):
        for raw in (PROGRAM, BCC_ONLY, OLD_DATE, make_message(),
                    make_message(headers={"X-Priority": "3 (Normal)"})):
            syms, o = self.scan(raw)
            self.assertEqual(new_symbols(syms), {}, o)

    def test_shapes_one_by_one(self):
        base = PROGRAM.decode()
        cases = {
            "Date: Tue, 24 Nov 2026 09:15:02 +0530": [
                ("Date: Tue, 24 Nov 2026 09:15:02", "SPAM_HDR_DATE_NO_TZ"),
                ("Date: Tue, 24 Nov 2026 09:15:02 +2400", "SPAM_HDR_DATE_ODD_TZ")],
            "Message-ID: <8f1c2a9e-4b7d-4c1e-9a77-3e2f1b0c5d11@partner.test>": [
                ("Message-ID: <8f1c2a9e4b7d4c1e>", "SPAM_HDR_MID_NO_AT"),
                ("Message-ID: <8f1c2a9e4b7d4c1e@>", "SPAM_HDR_MID_EMPTY_DOMAIN")],
            "<p>Hi Bob": [("<p><a href=\"http://%77%77%77.partner.test/\">Hi</a> Bob",
                           "SPAM_URI_ENCODED_HOST")],
        }
        for old, variants in cases.items():
            for new, name in variants:
                syms, o = self.scan(base.replace(old, new).encode())
                self.assertEqual(new_symbols(syms), {name: syms.get(name)}, (new, o))
                self.assertIn(name, syms, (new, o))


class HeaderRulesSmtpTest(unittest.TestCase):
    """The Received line mxtower adds ("from HELO (unknown [IP])": it does not look the
    client's name up) is in the message the scanners see; none of these rules reads it."""

    @classmethod
    def setUpClass(cls):
        cls.sink, cls.node = node_with_sink(tenant="example", domain="example.test")

    @classmethod
    def tearDownClass(cls):
        stop_node_and_sink(cls.node, cls.sink)

    def test_own_received_line_hits_nothing(self):
        self.node.send("maria@partner.test", ["bob@example.test"], PROGRAM)
        got = self.sink.wait_count(1)
        m = email.message_from_bytes(got[-1])
        self.assertIn("(unknown [127.0.0.1])", " ".join(m.get_all("Received", [])))
        status = m.get("X-Spam-Status", "")
        self.assertTrue(status, m.as_string()[:2000])
        self.assertNotIn("SPAM_HDR_", status)


if __name__ == "__main__":
    unittest.main()
