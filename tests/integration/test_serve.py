"""The master: restarts crashed children, re-reads its config on SIGHUP, keeps one node per home."""
import os
import re
import signal
import smtplib
import time
import unittest

from mxtest import Node, Sink, make_message, smtp_answers, wait_until


class Supervision(unittest.TestCase):
    def setUp(self):
        self.sink = Sink().start()
        self.node = Node(config={"smtp.max_recipients": "3"})
        self.node.add_tenant("acme", "acme.test", self.sink.route)
        self.node.start(timeout=60)

    def tearDown(self):
        self.node.stop()
        self.sink.stop()
        self.node.cleanup()

    def rcpt_codes(self, n):
        with self.node.smtp() as s:
            s.ehlo("client.test")
            s.mail("alice@sender.test")
            return [s.rcpt("u%d@acme.test" % i)[0] for i in range(n)]

    def test_crashed_smtpd_and_qmgr_are_restarted(self):
        for kind in ("smtpd", "qmgr"):
            old = self.node.kill9_child(kind)
            wait_until(lambda: any(p != old for p in self.node.children().get(kind, [])), 30,
                       what="a new %s" % kind)
            self.assertIn("%s[0] pid=%d killed by signal 9" % (kind, old), self.node.log())
        wait_until(lambda: smtp_answers(self.node.smtp_port), 30, what="SMTP after the restart")
        # The node still takes and delivers mail after both restarts.
        self.node.send("alice@sender.test", ["bob@acme.test"], make_message(to="bob@acme.test"))
        self.sink.wait_count(1, 60)

    def test_sighup_rereads_the_config(self):
        self.assertEqual(self.rcpt_codes(4), [250, 250, 250, 452])
        self.node.config["smtp.max_recipients"] = "5"
        self.node.write_config()
        before = self.node.children()["smtpd"]
        self.node.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "reload: config re-read" in self.node.log(), 10, what="the reload")
        wait_until(lambda: set(self.node.children().get("smtpd", [])) - set(before), 30,
                   what="smtpd restarted with the new config")
        wait_until(lambda: self.rcpt_codes(5) == [250] * 5, 30, what="the new recipient limit")

    def test_a_bad_config_on_sighup_keeps_the_running_one(self):
        with open(self.node.ini, "a") as f:
            f.write("\n[smtp]\nmax_recipients = lots\n")
        self.node.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "keeping the running config" in self.node.log(), 10, what="the refusal")
        self.assertTrue(self.node.running())
        self.assertEqual(self.rcpt_codes(4), [250, 250, 250, 452])


class OneNodePerHome(unittest.TestCase):
    def test_second_serve_on_the_same_home_is_refused(self):
        import subprocess
        node = Node()
        node.start(timeout=60)
        try:
            other_port = node.smtp_port + 1
            p = subprocess.run([node.binary, "serve", "-c", node.ini, "--home", node.home,
                                "--smtp", "127.0.0.1:%d" % other_port, "--http", "127.0.0.1:%d" % (other_port + 1),
                                "-o", "node.name=intruder"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
            self.assertEqual(p.returncode, 1)
            self.assertIn("another node runs on", p.stderr)
            self.assertIn("master pid %d" % node.proc.pid, p.stderr)
            self.assertTrue(node.running())
        finally:
            node.stop()
            node.cleanup()


class Drain(unittest.TestCase):
    def test_sigterm_stops_every_process(self):
        node = Node()
        node.start(timeout=60)
        kids = [p for ps in node.children().values() for p in ps]
        self.assertGreaterEqual(len(kids), 4)
        node.stop()
        for p in kids:
            self.assertFalse(os.path.exists("/proc/%d" % p) and open("/proc/%d/stat" % p).read().split()[2] != "Z",
                             "child %d still running" % p)
        self.assertIn("stopped", node.log())
        node.cleanup()


if __name__ == "__main__":
    unittest.main()
