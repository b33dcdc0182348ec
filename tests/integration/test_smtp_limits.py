"""smtpd limits, each with the bad input that hits it: line length (500 5.5.2), message size
(552 5.3.4, spool removed), recipients (452 4.5.3), errors (421), sessions per address and in
total (421), command and DATA timeouts (421 4.4.2), slowloris and idle floods (a legitimate
client still gets through), XCLIENT from outside smtp.xclient_networks (550 5.7.0).

Clients bind distinct 127.0.0.x source addresses so that per-address limits can be told apart.
"""
import time
import unittest

import mxtest
from test_smtp_server import Raw, accepted_ids, start_node

LIMITS = {
    "smtp.max_line": "512",
    "smtp.max_message_size": "2048",
    "smtp.max_recipients": "3",
    "smtp.max_errors": "3",
    "smtp.cmd_timeout": "2",
    "smtp.data_timeout": "3",
    "smtp.max_sessions_per_ip": "4",
    "smtp.max_sessions": "6",
    "smtp.xclient_networks": "192.0.2.0/24",
}


class SmtpdLimitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node, cls.sink = start_node(LIMITS)

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()
        cls.sink.stop()
        cls.node.cleanup()

    def setUp(self):
        self.conns = []

    def tearDown(self):
        for r in self.conns:
            r.close()
        # the next test starts with every session slot free again
        mxtest.wait_until(self.all_slots_free, 15, what="all sessions closed")

    def all_slots_free(self):
        probes = []
        try:
            for i in range(int(LIMITS["smtp.max_sessions"])):
                probes.append(Raw(self.node.smtp_port, src="127.0.0.%d" % (50 + i)))
            if any(p.greeting[0] != 220 for p in probes):
                return False
            for p in probes:
                p.cmd("QUIT")
                p.closed()
            return True
        finally:
            for p in probes:
                p.close()

    def raw(self, src="127.0.0.1", **kw):
        r = Raw(self.node.smtp_port, src=src, **kw)
        self.conns.append(r)
        return r

    def transaction(self, r, rcpts=("bob@acme.test",)):
        self.assertEqual(r.cmd("EHLO client.test")[0], 250)
        self.assertEqual(r.cmd("MAIL FROM:<limits@sender.test>")[0], 250)
        for rc in rcpts:
            r.cmd("RCPT TO:<%s>" % rc)

    def incoming_empty(self):
        mxtest.wait_until(lambda: self.node.queue_files("incoming") == [], 10,
                          what="queue/incoming empty (spool removed)")

    def test_command_line_length(self):
        r = self.raw("127.0.0.2")
        code, lines = r.cmd("NOOP " + "x" * 600)
        self.assertEqual(code, 500)
        self.assertTrue(lines[-1].startswith("500 5.5.2"), lines)
        self.assertEqual(r.cmd("NOOP " + "x" * 400)[0], 250, "510 octets with CRLF fit in 512")

    def test_data_line_length(self):
        r = self.raw("127.0.0.2")
        self.transaction(r)
        self.assertEqual(r.cmd("DATA")[0], 354)
        code, lines = r.cmd(b"Subject: long\r\n\r\n" + b"y" * 600 + b"\r\n.\r\n")
        self.assertEqual(code, 500)
        self.assertTrue(lines[-1].startswith("500 5.5.2"), lines)
        self.incoming_empty()

    def test_message_size(self):
        r = self.raw("127.0.0.2")
        self.assertEqual(r.cmd("EHLO client.test")[0], 250)
        code, lines = r.cmd("MAIL FROM:<big@sender.test> SIZE=4096")
        self.assertEqual((code, lines[-1][:9]), (552, "552 5.3.4"))
        r.cmd("MAIL FROM:<big@sender.test>")
        r.cmd("RCPT TO:<bob@acme.test>")
        self.assertEqual(r.cmd("DATA")[0], 354)
        body = b"Subject: big\r\n\r\n" + (b"z" * 78 + b"\r\n") * 40
        code, lines = r.cmd(body + b".\r\n")
        self.assertEqual((code, lines[-1][:9]), (552, "552 5.3.4"))
        self.incoming_empty()
        self.assertNotIn("big@sender.test", [s for _, s in accepted_ids(self.node)])
        # the session goes on: a small message passes
        r.cmd("MAIL FROM:<small@sender.test>")
        r.cmd("RCPT TO:<bob@acme.test>")
        r.cmd("DATA")
        self.assertEqual(r.cmd(b"Subject: small\r\n\r\nok\r\n.\r\n")[0], 250)

    def test_recipients_per_message(self):
        r = self.raw("127.0.0.2")
        self.assertEqual(r.cmd("EHLO client.test")[0], 250)
        r.cmd("MAIL FROM:<many@sender.test>")
        codes = [r.cmd("RCPT TO:<r%d@acme.test>" % i) for i in range(4)]
        self.assertEqual([c for c, _ in codes], [250, 250, 250, 452])
        self.assertTrue(codes[3][1][-1].startswith("452 4.5.3"))
        r.cmd("DATA")
        self.assertEqual(r.cmd(b"Subject: three\r\n\r\nx\r\n.\r\n")[0], 250)

    def test_errors_per_session(self):
        r = self.raw("127.0.0.2")
        self.assertEqual(r.cmd("BOGUS1")[0], 500)
        self.assertEqual(r.cmd("BOGUS2")[0], 500)
        code, lines = r.cmd("BOGUS3")
        self.assertEqual(code, 500)
        code, lines = r.reply()
        self.assertEqual(code, 421)
        self.assertIn("too many errors", lines[-1])
        self.assertTrue(r.closed())

    def test_xclient_refused_outside_networks(self):
        r = self.raw("127.0.0.2")
        code, lines = r.cmd("EHLO proxy.test")
        self.assertNotIn("250-XCLIENT", "\n".join(lines))
        code, lines = r.cmd("XCLIENT ADDR=192.0.2.9")
        self.assertEqual((code, lines[-1][:9]), (550, "550 5.7.0"))

    def test_sessions_per_address_and_total(self):
        for _ in range(4):
            self.assertEqual(self.raw("127.0.0.3").greeting[0], 220)
        code, lines = self.raw("127.0.0.3").greeting
        self.assertEqual((code, lines[-1][:9]), (421, "421 4.7.0"))
        for _ in range(2):
            self.assertEqual(self.raw("127.0.0.4").greeting[0], 220)
        code, lines = self.raw("127.0.0.5").greeting
        self.assertEqual((code, lines[-1][:9]), (421, "421 4.3.2"))
        self.assertIn("refused", self.node.log())

    def test_command_timeout(self):
        r = self.raw("127.0.0.6")
        t0 = time.time()
        code, lines = r.reply()
        self.assertEqual((code, lines[-1][:9]), (421, "421 4.4.2"))
        self.assertGreaterEqual(time.time() - t0, 1.5)
        self.assertTrue(r.closed())

    def test_data_timeout_removes_spool(self):
        r = self.raw("127.0.0.6")
        self.transaction(r)
        self.assertEqual(r.cmd("DATA")[0], 354)
        r.send(b"Subject: stalled\r\n\r\npartial")
        code, lines = r.reply()
        self.assertEqual((code, lines[-1][:9]), (421, "421 4.4.2"))
        self.incoming_empty()

    def test_slowloris_times_out_and_legit_client_passes(self):
        lorises = [self.raw("127.0.0.%d" % (10 + i)) for i in range(4)]
        t0 = time.time()
        verb = b"NOOP still here"
        for i in range(len(verb)):  # one byte each 0.25 s, never a whole command
            for r in lorises:
                try:
                    r.send(verb[i:i + 1])
                except OSError:
                    pass
            if i == 2:
                legit = self.raw("127.0.0.20")
                self.transaction(legit)
                legit.cmd("DATA")
                self.assertEqual(legit.cmd(b"Subject: legit\r\n\r\nhi\r\n.\r\n")[0], 250)
            time.sleep(0.25)
            if time.time() - t0 > 3.5:
                break
        for r in lorises:
            code, lines = r.reply()
            self.assertEqual((code, lines[-1][:9]), (421, "421 4.4.2"), "dribbling does not extend the command timeout")

    def test_idle_flood_then_legit_client_gets_through(self):
        idle = [self.raw("127.0.0.%d" % (30 + i // 3)) for i in range(6)]  # max_sessions
        code, _ = Raw(self.node.smtp_port, src="127.0.0.40").greeting
        self.assertEqual(code, 421, "the flood holds every session")

        def legit():
            r = Raw(self.node.smtp_port, src="127.0.0.40")
            self.conns.append(r)
            if r.greeting[0] != 220:
                return False
            self.transaction(r)
            r.cmd("DATA")
            return r.cmd(b"Subject: after flood\r\n\r\nhi\r\n.\r\n")[0] == 250

        self.assertTrue(mxtest.wait_until(legit, 15, interval=0.5, what="legit client through"))
        for r in idle:
            self.assertEqual(r.reply()[0], 421)


if __name__ == "__main__":
    unittest.main()
