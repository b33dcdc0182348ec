"""mxtower sink: the capture server that stands in for a client's own server.

Asserts: messages land in Maildir new/ with the X-Sink envelope headers; --fail rules answer
their reply and, with --fail-times, only for the first N attempts; PIPELINING (smtp-source),
STARTTLS (smtplib and swaks --tls), 8BITMIME and SMTPUTF8 are offered and work; SIGTERM exits 0.
"""
import os
import signal
import smtplib
import ssl
import subprocess
import unittest

import mxtest


def unverified():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class SinkTest(unittest.TestCase):
    def setUp(self):
        self.sink = mxtest.Sink(fail={"busy@client.test": "451 4.3.0 try later",
                                      "gone@client.test": "550 5.1.1 no such user"},
                                fail_times=2).start()

    def tearDown(self):
        self.sink.stop()

    def smtp(self):
        return smtplib.SMTP("127.0.0.1", self.sink.port, timeout=30)

    def test_envelope_headers_and_body(self):
        msg = mxtest.make_message(to="a@client.test", body="line one\r\n.leading dot\r\n")
        with self.smtp() as s:
            s.ehlo("tester")
            refused = s.sendmail("from@sender.test", ["a@client.test", "b@client.test"], msg)
        self.assertEqual(refused, {})
        got = self.sink.wait_count(1)[0]
        head, _, rest = got.partition(b"\r\n")
        self.assertEqual(head, b"X-Sink-Mail-From: <from@sender.test>")
        self.assertTrue(rest.startswith(b"X-Sink-Rcpt-To: <a@client.test>\r\n"
                                        b"X-Sink-Rcpt-To: <b@client.test>\r\n"))
        self.assertTrue(got.endswith(msg), "body stored byte for byte, dot-unstuffed")
        self.assertEqual(os.listdir(os.path.join(self.sink.maildir, "tmp")), [])
        self.assertIn("from=<from@sender.test> nrcpt=2", self.sink.log())

    def test_fail_rules_and_fail_times(self):
        for attempt in range(3):
            with self.smtp() as s:
                s.ehlo("tester")
                s.mail("from@sender.test")
                code, text = s.rcpt("busy@client.test")
                if attempt < 2:
                    self.assertEqual((code, text), (451, b"4.3.0 try later"))
                else:
                    self.assertEqual(code, 250, "accepted after --fail-times attempts")
                code, _ = s.rcpt("ok@client.test")
                self.assertEqual(code, 250)
        with self.smtp() as s:
            s.ehlo("tester")
            s.mail("from@sender.test")
            self.assertEqual(s.rcpt("GONE@client.test"), (550, b"5.1.1 no such user"))

    def test_extensions(self):
        with self.smtp() as s:
            code, _ = s.ehlo("tester")
            self.assertEqual(code, 250)
            for ext in ("pipelining", "8bitmime", "smtputf8", "starttls", "chunking", "size"):
                self.assertTrue(s.has_extn(ext), ext)
            msg = "Subject: caf\u00e9\r\n\r\nna\u00efve body\r\n".encode("utf-8")
            s.sendmail("j\u00f6rg@sender.test", ["r\u00e9ka@client.test"], msg,
                       mail_options=["SMTPUTF8", "BODY=8BITMIME"])
        got = self.sink.wait_count(1)[0]
        self.assertIn("X-Sink-Mail-From: <j\u00f6rg@sender.test>".encode("utf-8"), got)
        self.assertTrue(got.endswith(msg))

    def test_starttls_smtplib(self):
        with self.smtp() as s:
            s.ehlo("tester")
            self.assertEqual(s.starttls(context=unverified())[0], 220)
            s.ehlo("tester")
            self.assertFalse(s.has_extn("starttls"), "not offered twice")
            s.sendmail("from@sender.test", ["tls@client.test"], mxtest.make_message())
        self.sink.wait_count(1)
        self.assertIn("proto=ESMTPS", self.sink.log())

    def test_starttls_swaks(self):
        p = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % self.sink.port, "--tls",
                            "--from", "from@sender.test", "--to", "swaks@client.test",
                            "--helo", "tester"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60, text=True)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertIn("TLS started", p.stdout)
        self.sink.wait_count(1)

    def test_pipelining_smtp_source(self):
        # 200 messages over 10 sessions, each session pipelining its commands.
        p = subprocess.run(["smtp-source", "-s", "10", "-m", "200", "-c", "-f", "src@sender.test",
                            "-t", "dst@client.test", "127.0.0.1:%d" % self.sink.port],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120, text=True)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.sink.wait_count(200)
        self.assertEqual(len(self.sink.files()), 200)

    def test_sigterm_exits_cleanly(self):
        with self.smtp() as s:
            s.ehlo("tester")
            s.sendmail("from@sender.test", ["x@client.test"], mxtest.make_message())
        self.sink.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.sink.proc.wait(20), 0)
        self.assertIn("stored 1 messages", self.sink.log())


if __name__ == "__main__":
    unittest.main()
