"""Crash safety: the whole node is killed with kill -9 at random moments, 20 times, while
clients send mail and qmgr delivers it. Every message a client saw answered 250 must reach the
sink at least once after the final restart, and no message may arrive cut short: each carries a
SHA-256 of its body in a header, checked on arrival. Also: qmgr alone killed mid-delivery is
restarted by the master and every message reaches both its recipients.
"""
import hashlib
import os
import random
import re
import smtplib
import threading
import unittest

from mxtest import Node, Sink, make_message, wait_until

KILLS = 20
CLIENTS = 3


def split_body(raw):
    raw = raw.replace(b"\r\n", b"\n")
    head, _, body = raw.partition(b"\n\n")
    return head, body


def make_body(rng, n):
    lines = []
    for i in range(rng.randint(3, 400)):
        word = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz .,") for _ in range(rng.randint(0, 70)))
        # Lines that start with a dot exercise stuffing on both hops.
        lines.append(("." if rng.random() < 0.1 else "") + word)
    lines.append("end of message %d" % n)
    return "\r\n".join(lines) + "\r\n"


class CrashTest(unittest.TestCase):
    def test_kill9_twenty_times(self):
        sink = Sink().start()
        node = Node(config={"scan.deadline_ms": "3000", "queue.retry_min": "1", "queue.retry_max": "2"})
        node.add_tenant("acme", "example.test", sink.route)
        node.add_tenant("senders", "sender.test", sink.route)
        node.start()
        acked = {}
        lock = threading.Lock()
        stop = threading.Event()

        def client(k):
            rng = random.Random(1000 + k)
            n = 0
            while not stop.is_set():
                n += 1
                tid = "crash-%d-%d" % (k, n)
                body = make_body(rng, n)
                digest = hashlib.sha256(body.replace("\r\n", "\n").encode()).hexdigest()
                msg = make_message(subject=tid, body=body,
                                   headers={"X-Test-Id": tid, "X-Test-Sum": digest})
                try:
                    with smtplib.SMTP("127.0.0.1", node.smtp_port, timeout=15) as s:
                        s.ehlo("crash.test")
                        s.sendmail("alice@sender.test", ["bob@example.test"], msg)
                    with lock:
                        acked[tid] = digest
                except (OSError, smtplib.SMTPException):
                    # The node is down or restarting: back off a little, then go on.
                    stop.wait(0.05)

        threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(CLIENTS)]
        for t in threads:
            t.start()
        rng = random.Random(7)
        try:
            for kill in range(KILLS):
                with lock:
                    before = len(acked)
                # Let some mail in first so that every kill hits a working node.
                wait_until(lambda: len(acked) > before, 90, what="mail accepted after restart %d" % kill)
                stop.wait(rng.uniform(0.0, 1.5))
                node.kill9()
                node.start(timeout=60)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        self.assertGreater(len(acked), KILLS)

        def sink_ids():
            got = {}
            for raw in sink.messages():
                head, body = split_body(raw)
                m = re.search(rb"^X-Test-Id: (\S+)", head, re.M)
                s = re.search(rb"^X-Test-Sum: (\S+)", head, re.M)
                self.assertIsNotNone(m, "a message without its id arrived:\n%r" % raw[:500])
                self.assertIsNotNone(s)
                # Whole, byte for byte: the digest of what arrived matches the one sent.
                self.assertEqual(hashlib.sha256(body).hexdigest(), s.group(1).decode(),
                                 "partial or altered message %s" % m.group(1).decode())
                got[m.group(1).decode()] = s.group(1).decode()
            return got

        def all_arrived():
            got = sink_ids()
            return all(t in got for t in acked)

        wait_until(all_arrived, 300, interval=0.5, what="every acknowledged message in the sink")
        got = sink_ids()
        for tid, digest in acked.items():
            self.assertEqual(got[tid], digest)
        self.assertEqual(node.mx("queue", "list", "--json", check=True).returncode, 0)
        node.stop()
        node.cleanup()
        sink.stop()

    def test_kill9_qmgr_child(self):
        sink = Sink().start()
        node = Node()
        node.add_tenant("acme", "example.test", sink.route)
        node.start()
        ids = set()
        for i in range(60):
            tid = "qk-%d" % i
            node.send("alice@sender.test", ["bob@example.test", "carol@example.test"],
                      make_message(subject=tid, headers={"X-Test-Id": tid}))
            ids.add(tid)
            if i in (10, 30, 50):
                pid = node.kill9_child("qmgr")
                wait_until(lambda: node.children().get("qmgr") and pid not in node.children()["qmgr"],
                           30, what="qmgr restarted")
        def delivered():
            got = {}
            for raw in sink.messages():
                head, _ = split_body(raw)
                tid = re.search(rb"^X-Test-Id: (\S+)", head, re.M).group(1).decode()
                for rcpt in re.findall(rb"^X-Sink-Rcpt-To: <([^>]*)>", head, re.M):
                    got.setdefault(tid, set()).add(rcpt.decode())
            return got

        wait_until(lambda: set(delivered()) == ids, 120, what="all 60 messages")
        got = delivered()
        for tid in ids:
            self.assertEqual(got[tid], {"bob@example.test", "carol@example.test"})
        wait_until(lambda: not node.queue_files("active") and not node.queue_files("deferred"),
                   30, what="an empty queue")
        node.stop()
        node.cleanup()
        sink.stop()


if __name__ == "__main__":
    unittest.main()
