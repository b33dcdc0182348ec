"""Chaos: under load, kill -9 a random mxtower process at least 100 times.

Two clients send mail all the while and record every message answered 250. Any process may die:
the master (this test then starts a new one, as init would), smtpd, qmgr, a scan worker, web.
At the end every recorded message must have reached the sink whole (its body checksum matches),
and duplicates (at-least-once delivery) are counted and reported, not failed.
"""
import hashlib
import os
import random
import re
import smtplib
import threading
import time
import unittest

from mxtest import Node, Sink, wait_until

KILLS = int(os.environ.get("MXTEST_CHAOS_KILLS", "100"))
# Bounded: the kill loop stops after this long even if fewer kills happened (and then fails).
KILL_PHASE_SECONDS = 480
MIN_AGE = 1.0
MASTER_SHARE = 0.1


def chaos_message(seq, tag):
    body = ("chaos message %d %s\r\n" % (seq, tag)) + ("line %d of filler text for the body\r\n" * 40) % tuple(range(40))
    digest = hashlib.sha256(body.encode()).hexdigest()
    head = ("From: <load@src.test>\r\nTo: <rcpt@chaos.test>\r\nSubject: chaos %d\r\n"
            "Message-ID: <chaos-%d-%s@src.test>\r\nX-Chaos-Seq: %d\r\nX-Chaos-Sum: %s\r\n\r\n" % (seq, seq, tag, seq, digest))
    return (head + body).encode()


class Loader(threading.Thread):
    def __init__(self, node, first_seq, tag):
        super().__init__(daemon=True)
        self.node, self.seq, self.tag = node, first_seq, tag
        self.accepted = set()
        self.stop_flag = threading.Event()
        self.attempts = 0

    def run(self):
        while not self.stop_flag.is_set():
            try:
                with smtplib.SMTP("127.0.0.1", self.node.smtp_port, timeout=20) as s:
                    s.ehlo("loader.test")
                    for _ in range(5):
                        if self.stop_flag.is_set():
                            break
                        self.seq += 1
                        self.attempts += 1
                        s.sendmail("load@src.test", ["rcpt@chaos.test"], chaos_message(self.seq, self.tag))
                        self.accepted.add(self.seq)
            except (OSError, smtplib.SMTPException):
                time.sleep(0.05)


class Chaos(unittest.TestCase):
    def test_random_kill9_loses_nothing(self):
        sink = Sink().start()
        node = Node(config={"scan.workers": "2", "scan.deadline_ms": "3000", "smtp.workers": "2"})
        node.add_tenant("chaos", "chaos.test", sink.route)
        node.start(timeout=60)
        loaders = [Loader(node, 0, "a"), Loader(node, 1000000, "b")]
        for l in loaders:
            l.start()
        rng = random.Random(int(os.environ.get("MXTEST_SEED", str(int(time.time())))))
        kills = {}
        first_seen = {}
        t0 = time.time()
        n = 0
        while n < KILLS and time.time() - t0 < KILL_PHASE_SECONDS:
            time.sleep(rng.uniform(0.1, 0.5))
            if not node.running():
                node.start(timeout=60)
                continue
            now = time.time()
            children = node.children()
            procs = [("master", node.proc.pid)] + [(k, p) for k, ps in children.items() for p in ps]
            for _, p in procs:
                first_seen.setdefault(p, now)
            # Only processes that have run a moment get killed, so that the node does some
            # work between kills (the master's restart backoff grows with every crash).
            choices = [(k, p) for k, p in procs if now - first_seen[p] >= MIN_AGE]
            if not choices:
                continue
            # The master is one process in ~ten; weight it so, since every master kill costs a
            # whole node restart (its children drain first), and the kill budget is bounded.
            masters = [c for c in choices if c[0] == "master"]
            others = [c for c in choices if c[0] != "master"]
            if masters and (not others or rng.random() < MASTER_SHARE):
                kind, pid = masters[0]
            else:
                kind, pid = rng.choice(others)
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                continue
            n += 1
            kills[kind] = kills.get(kind, 0) + 1
            if kind == "master":
                node.proc.wait()
                node._reap_group()  # children drain after their master died
                node.start(timeout=60)
        for l in loaders:
            l.stop_flag.set()
        for l in loaders:
            l.join(60)
        if not node.running():
            node.start(timeout=60)
        self.assertGreaterEqual(n, KILLS, "only %d kills in %ds: %r" % (n, KILL_PHASE_SECONDS, kills))

        accepted = set().union(*(l.accepted for l in loaders))
        self.assertGreaterEqual(len(accepted), 10, "the load never got going")

        def seen():
            got = {}
            for m in sink.messages():
                mm = re.search(rb"^X-Chaos-Seq: (\d+)\r?$", m, re.M)
                if mm:
                    got.setdefault(int(mm.group(1)), []).append(m)
            return got

        wait_until(lambda: accepted <= set(seen()), 180, interval=0.5,
                   what="every accepted message in the sink")
        got = seen()
        partial = []
        for seq, copies in got.items():
            for m in copies:
                head, _, body = m.partition(b"\r\n\r\n")
                if b"\r\n" not in m[:200]:
                    head, _, body = m.partition(b"\n\n")
                want = re.search(rb"^X-Chaos-Sum: ([0-9a-f]+)", head, re.M).group(1).decode()
                if hashlib.sha256(body).hexdigest() != want:
                    partial.append(seq)
        duplicates = sum(len(c) - 1 for c in got.values())
        print("chaos: %d kills %r; %d attempts, %d accepted, %d delivered copies, %d duplicates, %d not acknowledged but delivered"
              % (n, kills, sum(l.attempts for l in loaders), len(accepted), sum(len(c) for c in got.values()),
                 duplicates, len(set(got) - accepted)))
        self.assertEqual(partial, [], "partial messages delivered")
        # After the storm the node works normally.
        node.send("after@src.test", ["rcpt@chaos.test"], chaos_message(9999999, "after"))
        wait_until(lambda: 9999999 in seen(), 60, what="a message sent after the chaos")
        node.stop()
        sink.stop()
        node.cleanup()


if __name__ == "__main__":
    unittest.main()
