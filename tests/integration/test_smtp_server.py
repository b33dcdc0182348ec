"""smtpd on a real node: the protocol, relay denial, smuggling, pipelining, BDAT, STARTTLS,
XCLIENT and the early-talker rule, each checked from the client side and in the queue.

Nodes here run with scan.workers = 0: every message is committed unscanned at once, which is
what these tests need (the scan path has its own tests). `Raw` is shared with the other
test_smtp_*.py files.
"""
import os
import re
import socket
import ssl
import subprocess
import time
import unittest

import mxtest


class Raw:
    """One TCP connection speaking SMTP by hand."""

    def __init__(self, port, src=None, timeout=15, greet=True):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                             source_address=(src, 0) if src else None)
        self.f = self.sock.makefile("rb")
        self.greeting = self.reply() if greet else None

    def send(self, data):
        self.sock.sendall(data)

    def reply(self):
        """(code, [lines]) of the next reply; (None, []) if the server closed the connection."""
        lines = []
        while True:
            line = self.f.readline()
            if not line:
                return None, lines
            lines.append(line.decode("utf-8", "replace").rstrip("\r\n"))
            if len(line) >= 4 and line[3:4] == b" ":
                return int(line[:3]), lines

    def cmd(self, line):
        self.send(line if isinstance(line, bytes) else line.encode() + b"\r\n")
        return self.reply()

    def closed(self, timeout=10):
        """True once the server has closed its side (EOF), within timeout."""
        self.sock.settimeout(timeout)
        try:
            return self.f.read() is not None and self.f.read() == b""
        except (ConnectionResetError, socket.timeout):
            return False

    def starttls(self):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock = ctx.wrap_socket(self.sock)
        self.f = self.sock.makefile("rb")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def wait_for(fn, timeout=10, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(interval)
    return fn()

SMUGGLE = b"MAIL FROM:<evil@attacker.test>\r\nRCPT TO:<victim@acme.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nsmuggled\r\n"
# The end-of-data look-alikes that must never end a message (each followed by SMUGGLE).
SMUGGLING = {
    "LF.LF": b"\n.\n",
    "CR.CR": b"\r.\r",
    "CRLF.LF": b"\r\n.\n",
    "LF.CRLF": b"\n.\r\n",
    "NUL.": b"\r\n\x00.\r\n",
}


def start_node(config=None, tenants=True):
    cfg = {"scan.workers": "0", "smtp.xclient_networks": "127.0.0.0/8"}
    cfg.update(config or {})
    sink = mxtest.Sink().start()
    node = mxtest.Node(config=cfg)
    if tenants:
        node.add_tenant("acme", "acme.test", sink.route)
        node.add_tenant("listed", "listed.test", sink.route, "--recipient", "known@listed.test")
    node.start()
    return node, sink


def _queue_scan(node, match):
    # qmgr may move a file between listing and reading it: look again.
    for _ in range(50):
        try:
            for d in ("active", "deferred", "hold", "quarantine"):
                for path in node.queue_files(d):
                    with open(path, "rb") as f:
                        data = f.read()
                    if match(path, data):
                        return data
            return None
        except FileNotFoundError:
            time.sleep(0.05)
    return None


def queued(node, qid):
    """The queue file of a message (in any queue directory), as bytes."""
    return _queue_scan(node, lambda path, data: os.path.basename(path) == qid)


def queued_by_subject(node, subject):
    return _queue_scan(node, lambda path, data: b"Subject: " + subject in data)


def accepted_ids(node):
    return re.findall(r"id=(\S+) accepted from=<([^>]*)>", node.log())


class SmtpdTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node, cls.sink = start_node()

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()
        cls.sink.stop()
        cls.node.cleanup()

    def raw(self, **kw):
        return Raw(self.node.smtp_port, **kw)

    def incoming_empty(self):
        return mxtest.wait_until(lambda: self.node.queue_files("incoming") == [], 10,
                                 what="queue/incoming to be empty") == True  # noqa: E712

    def test_accept_queue_and_received(self):
        with self.node.smtp() as s:
            s.ehlo("client.test")
            s.mail("alice@sender.test")
            self.assertEqual(s.rcpt("bob@acme.test")[0], 250)
            code, text = s.data(mxtest.make_message(subject="queued"))
        self.assertEqual(code, 250)
        m = re.match(rb"2\.0\.0 Ok: queued as (\w+)$", text)
        self.assertTrue(m, text)
        qid = m.group(1).decode()
        self.assertIn((qid, "alice@sender.test"), accepted_ids(self.node))
        # unscanned (no scan workers here), so it waits in active/ for qmgr's rescan
        got = queued(self.node, qid)
        self.assertIsNotNone(got)
        self.assertIn(mxtest.make_message(subject="queued").split(b"Message-ID")[0][-40:], got)
        self.assertRegex(got, rb"Received: from client\.test \(unknown \[127\.0\.0\.1\]\)\r\n"
                              rb"\tby mx\.node1\.test \(mxtower\) with ESMTP id " + qid.encode())

    def test_vrfy_noop_rset_help(self):
        r = self.raw()
        self.assertEqual(r.cmd("EHLO client.test")[0], 250)
        self.assertEqual(r.cmd("VRFY bob@acme.test")[0], 252)
        self.assertEqual(r.cmd("NOOP")[0], 250)
        self.assertEqual(r.cmd("RSET")[0], 250)
        self.assertEqual(r.cmd("HELP")[0], 214)
        self.assertEqual(r.cmd("FOO")[0], 500)
        self.assertEqual(r.cmd("QUIT")[0], 221)
        r.close()

    def test_relay_denied_and_tricks(self):
        refused = {
            "bob@nowhere.test": "5.7.1",                    # a domain of no client
            "bob%nowhere.test@acme.test": "5.7.1",          # percent hack
            "nowhere.test!bob@acme.test": "5.7.1",          # bang path
            "@acme.test:bob@nowhere.test": "5.7.1",         # source route
            '"bob@nowhere.test"@acme.test': "5.7.1",        # quoted local part with @
            "bob@": "5.7.1",                                # empty domain
            "bob": "5.7.1",                                 # no domain at all
            "bob@[127.0.0.1]": "5.7.1",                     # IP literal
            "stranger@listed.test": "5.1.1",                # not on the client's list
        }
        r = self.raw()
        r.cmd("EHLO client.test")
        self.assertEqual(r.cmd("MAIL FROM:<alice@sender.test>")[0], 250)
        for rcpt, enh in refused.items():
            code, lines = r.cmd("RCPT TO:<%s>" % rcpt)
            self.assertEqual(code, 550, rcpt)
            self.assertTrue(lines[-1].startswith("550 " + enh), (rcpt, lines))
            if enh == "5.7.1" and rcpt != "bob@nowhere.test":
                r.cmd("RSET")  # keep under max_errors
                r.cmd("MAIL FROM:<alice@sender.test>")
        self.assertEqual(r.cmd("RCPT TO:<known@listed.test>")[0], 250)
        r.close()

    def test_recipient_list_change_applies_without_restart(self):
        def rcpt_code():
            with self.node.smtp() as s:
                s.ehlo("client.test")
                s.mail("alice@sender.test")
                return s.rcpt("newhire@listed.test")[0]

        self.assertEqual(rcpt_code(), 550)
        t0 = time.time()
        self.node.mx("tenant", "set", "listed", "--recipient", "newhire@listed.test", check=True)
        mxtest.wait_until(lambda: rcpt_code() == 250, 5, what="the new recipient to be valid")
        self.assertLess(time.time() - t0, 5)

    def smuggle(self, name, eod):
        r = self.raw()
        r.cmd("EHLO client.test")
        r.cmd("MAIL FROM:<innocent@sender.test>")
        r.cmd("RCPT TO:<bob@acme.test>")
        self.assertEqual(r.cmd("DATA")[0], 354)
        r.send(b"Subject: carrier " + name.encode() + b"\r\n\r\nbody" + eod + SMUGGLE + b".\r\nQUIT\r\n")
        code, lines = r.reply()
        self.assertEqual(code, 521, (name, lines))
        self.assertIn("5.5.2", lines[-1])
        self.assertTrue(r.closed(), "disconnected after " + name)
        r.close()

    def test_smuggling_refused_never_delivered(self):
        for name, eod in SMUGGLING.items():
            with self.subTest(name=name):
                self.smuggle(name, eod)
        self.incoming_empty()
        senders = [s for _, s in accepted_ids(self.node)]
        self.assertNotIn("evil@attacker.test", senders)
        self.assertNotIn("innocent@sender.test", senders)
        for m in self.sink.messages():
            self.assertNotIn(b"smuggled", m)
            self.assertNotIn(b"carrier", m)

    def test_smuggling_pipelined_in_one_write(self):
        # The whole attack in one packet, pipelined from EHLO on, for each variant.
        for name, eod in SMUGGLING.items():
            r = self.raw()
            r.send(b"EHLO client.test\r\nMAIL FROM:<innocent@sender.test>\r\n"
                   b"RCPT TO:<bob@acme.test>\r\nDATA\r\nSubject: carrier\r\n\r\nx" + eod +
                   SMUGGLE + b".\r\n")
            codes = [r.reply()[0] for _ in range(5)]
            self.assertEqual(codes, [250, 250, 250, 354, 521], name)
            self.assertTrue(r.closed())
            r.close()
        self.incoming_empty()
        self.assertNotIn("evil@attacker.test", [s for _, s in accepted_ids(self.node)])

    def test_pipelining_two_messages_one_write(self):
        r = self.raw()
        r.send(b"EHLO client.test\r\nMAIL FROM:<pipe1@sender.test>\r\nRCPT TO:<bob@acme.test>\r\n"
               b"DATA\r\nSubject: pipe1\r\n\r\none\r\n.\r\nMAIL FROM:<pipe2@sender.test>\r\n"
               b"RCPT TO:<bob@acme.test>\r\nBDAT 21 LAST\r\nSubject: pipe2\r\n\r\ntwoNOOP\r\nQUIT\r\n")
        codes = [r.reply()[0] for _ in range(10)]
        self.assertEqual(codes, [250, 250, 250, 354, 250, 250, 250, 250, 250, 221])
        r.close()
        senders = [s for _, s in accepted_ids(self.node)]
        self.assertIn("pipe1@sender.test", senders)
        self.assertIn("pipe2@sender.test", senders)

    def test_smtp_source_pipelining(self):
        before = len(accepted_ids(self.node))
        p = subprocess.run(["smtp-source", "-s", "5", "-m", "40", "-f", "src@sender.test",
                            "-t", "bob@acme.test", "127.0.0.1:%d" % self.node.smtp_port],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=180, text=True)
        self.assertEqual(p.returncode, 0, p.stdout)
        mxtest.wait_until(lambda: len(accepted_ids(self.node)) - before >= 40, 30,
                          what="40 accepted")

    def bdat(self, r, chunk, last=False):
        return r.cmd(b"BDAT %d%s\r\n" % (len(chunk), b" LAST" if last else b"") + chunk)

    def test_bdat_chunks(self):
        head = b"Subject: chunked\r\n\r\n"
        r = self.raw()
        r.cmd("EHLO client.test")
        r.cmd("MAIL FROM:<bdat@sender.test>")
        r.cmd("RCPT TO:<bob@acme.test>")
        code, lines = self.bdat(r, head)
        self.assertEqual((code, lines[-1]), (250, "250 2.0.0 %d octets received" % len(head)))
        code, lines = self.bdat(r, b"hello\n", last=True)
        self.assertEqual(code, 521, "a bare LF in a chunk is refused too")
        r.close()
        r = self.raw()
        r.cmd("EHLO client.test")
        r.cmd("MAIL FROM:<bdat@sender.test>")
        r.cmd("RCPT TO:<bob@acme.test>")
        self.assertEqual(self.bdat(r, head)[0], 250)
        code, lines = self.bdat(r, b"hello\r\n", last=True)
        self.assertEqual(code, 250)
        qid = re.search(r"queued as (\w+)", lines[-1]).group(1)
        self.assertTrue(queued(self.node, qid).count(head + b"hello\r\n"))
        # chunk octets are never commands, even when the BDAT is refused
        self.assertEqual(self.bdat(r, b"QUIT\r\n", last=True)[0], 503)
        self.assertEqual(r.cmd("NOOP")[0], 250)
        r.close()

    def test_starttls_smtplib(self):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with self.node.smtp() as s:
            s.ehlo("client.test")
            self.assertTrue(s.has_extn("starttls"))
            self.assertEqual(s.starttls(context=ctx)[0], 220)
            s.ehlo("client.test")
            s.sendmail("tls@sender.test", ["bob@acme.test"], mxtest.make_message(subject="tls"))
        self.assertTrue(os.path.exists(os.path.join(self.node.home, "tls", "cert.pem")))
        self.assertEqual(os.stat(os.path.join(self.node.home, "tls", "key.pem")).st_mode & 0o777, 0o600)
        self.assertTrue(mxtest.wait_until(lambda: re.search(
            r"accepted from=<tls@sender\.test>", self.node.log()), 10))
        got = queued_by_subject(self.node, b"tls")
        self.assertRegex(got, rb"Received: from client\.test \(unknown \[127\.0\.0\.1\]\)\r\n"
                              rb"\t\(using TLSv1\.[23] \S+\)\r\n\tby mx\.node1\.test \(mxtower\) with ESMTPS")

    def test_starttls_swaks(self):
        p = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % self.node.smtp_port, "--tls",
                            "--from", "swaks@sender.test", "--to", "bob@acme.test",
                            "--helo", "client.test"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60, text=True)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertIn("TLS started", p.stdout)
        self.assertRegex(p.stdout, r"250 2\.0\.0 Ok: queued as \w+")

    def test_starttls_injection_dropped(self):
        # Commands pipelined after STARTTLS in clear text must never run (CVE-2011-0411 style).
        r = self.raw()
        r.cmd("EHLO client.test")
        r.send(b"STARTTLS\r\nMAIL FROM:<injected@attacker.test>\r\n")
        self.assertEqual(r.reply()[0], 220)
        r.starttls()
        self.assertEqual(r.cmd("RCPT TO:<bob@acme.test>")[0], 503, "no MAIL survived")
        r.close()

    def test_early_talker(self):
        # An address never seen before (one that waited for its greeting is greeted at once
        # for a while after, so 127.0.0.1 would not be tested).
        r = Raw(self.node.smtp_port, src="127.0.0.99", greet=False)
        r.send(b"EHLO early.test\r\nMAIL FROM:<early@sender.test>\r\n")
        code, lines = r.reply()
        self.assertEqual(code, 554, lines)
        self.assertEqual(r.cmd("EHLO early.test")[0], 503)
        self.assertEqual(r.cmd("QUIT")[0], 221)
        r.close()
        self.assertIn("client=127.0.0.99 pregreet", self.node.log())
        # still not trusted: the next connection waits for the greeting again
        r = Raw(self.node.smtp_port, src="127.0.0.99", greet=False)
        r.send(b"EHLO early.test\r\n")
        self.assertEqual(r.reply()[0], 554)
        r.close()

    def test_waited_client_greeted_at_once_next_time(self):
        Raw(self.node.smtp_port, src="127.0.0.98").close()  # waits ~300 ms, passes
        t0 = time.time()
        r = Raw(self.node.smtp_port, src="127.0.0.98")
        self.assertEqual(r.greeting[0], 220)
        self.assertLess(time.time() - t0, 0.25, "no pregreet wait for a known client")
        r.close()

    def test_xclient_allowed(self):
        r = self.raw()
        r.cmd("EHLO proxy.test")
        code, _ = r.cmd("XCLIENT ADDR=192.0.2.77 NAME=mail.example.org HELO=real.example.org")
        self.assertEqual(code, 220)
        r.cmd("EHLO real.example.org")
        r.cmd("MAIL FROM:<xclient@sender.test>")
        r.cmd("RCPT TO:<bob@acme.test>")
        r.cmd("DATA")
        code, _ = r.cmd(b"Subject: xclient\r\n\r\nvia proxy\r\n.\r\n")
        self.assertEqual(code, 250)
        r.close()
        got = queued_by_subject(self.node, b"xclient")
        self.assertIn(b"Received: from real.example.org (mail.example.org [192.0.2.77])", got)

    def test_two_tenants_split(self):
        r = self.raw()
        r.cmd("EHLO client.test")
        r.cmd("MAIL FROM:<alice@sender.test>")
        self.assertEqual(r.cmd("RCPT TO:<bob@acme.test>")[0], 250)
        code, lines = r.cmd("RCPT TO:<known@listed.test>")
        self.assertEqual(code, 452, "another tenant's recipient waits for its own transaction")
        r.close()


GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n"


class SmtpdScannedTest(unittest.TestCase):
    """With a scan worker: the verdict decides the reply, and clean mail reaches the client."""

    def test_reject_by_content_and_deliver_clean(self):
        sink = mxtest.Sink().start()
        node = mxtest.Node()
        try:
            node.add_tenant("acme", "acme.test", sink.route)
            node.start()
            mxtest.wait_until(lambda: "scan: worker 0 ready" in node.log(), 120,
                              what="the scan worker")
            with node.smtp() as s:
                s.ehlo("client.test")
                s.mail("spammer@sender.test")
                s.rcpt("bob@acme.test")
                code, text = s.data(mxtest.make_message(subject="gtube", body=GTUBE))
                self.assertEqual((code, text[:5]), (550, b"5.7.1"))
                self.assertIn(b"content rejected", text)
                s.rset()
                s.mail("alice@sender.test")
                s.rcpt("bob@acme.test")
                code, text = s.data(mxtest.make_message(subject="clean one"))
                self.assertEqual(code, 250, text)
            qid = re.search(rb"queued as (\w+)", text).group(1)
            got = sink.wait_count(1, 60)
            self.assertEqual(len(got), 1, "the rejected message was never delivered")
            self.assertIn(b"Subject: clean one", got[0])
            self.assertIn(b"with ESMTP id " + qid, got[0])
            self.assertEqual(node.queue_files("incoming"), [])
            self.assertRegex(node.log(), r"id=\S+ rejected from=<spammer@sender\.test>.*verdict=spam")
        finally:
            node.stop()
            sink.stop()
            node.cleanup()


if __name__ == "__main__":
    unittest.main()
