"""The queue on disk and `mxtower queue`.

- a node stopped with a full queue (the route was down) delivers every message after a restart;
- a file without its END record is never delivered: it goes to corrupt/ with a log line;
- queue list / --json / show / hold / release / delete / flush act on the right message;
- a message past queue.stuck_attempts is copied to central/ and listed by `queue stuck`;
- an expired message bounces with status 4.4.7;
- mail committed unscanned (no scanner) is not delivered until qmgr had it scanned, and then
  the verdict applies: clean -> delivered with its verdict headers, GTUBE (over the reject
  threshold) -> bounced with a 5.7.1 DSN, never delivered.
"""
import email
import json
import os
import re
import unittest

from mxtest import Node, NodeCase, Sink, sink_header, free_port, make_message, wait_until


def rcpt_of(raw):
    return sink_header(raw, "Rcpt-To")


class QueueTest(NodeCase):

    def node_with_dead_route(self, config=None):
        """A node whose tenant route has nobody listening yet; returns (node, sink-to-be)."""
        sink = Sink(port=free_port())
        # A scanner slow to start (a loaded machine) must not make the client time out.
        node = Node(config=dict({"scan.deadline_ms": "10000"}, **(config or {})))
        node.add_tenant("acme", "example.test", sink.route)
        node.add_tenant("senders", "sender.test", sink.route)
        self.node = node.start()
        return node, sink

    def queued_ids(self):
        p = self.node.mx("queue", "list", "--json", check=True)
        return {json.loads(l)["id"]: json.loads(l) for l in p.stdout.splitlines() if l.strip()}

    def test_restart_with_full_queue(self):
        node, sink = self.node_with_dead_route()
        sent = set()
        for i in range(40):
            mid = "<full-%d@sender.test>" % i
            node.send("alice@sender.test", ["bob@example.test"],
                      make_message(subject="full %d" % i, headers={"X-Test-Id": mid}))
            sent.add(mid)
        wait_until(lambda: len(node.queue_files("deferred")) == 40, 60, what="40 deferred")
        node.stop()
        self.assertEqual(len(node.queue_files("deferred")) + len(node.queue_files("active")), 40)
        self.sinks.append(sink.start())
        node.start()
        msgs = sink.wait_count(40, timeout=120)
        got = [email.message_from_bytes(m)["X-Test-Id"] for m in msgs]
        self.assertEqual(sorted(got), sorted(sent))
        wait_until(lambda: not node.queue_files("deferred") and not node.queue_files("active"),
                   30, what="an empty queue")

    def test_endless_file_goes_to_corrupt(self):
        node, sink = self.node_with_dead_route()
        node.send("alice@sender.test", ["bob@example.test"], make_message(subject="cut short"))
        wait_until(lambda: node.queue_files("deferred"), 60, what="the message deferred")
        node.stop()
        path = node.queue_files("deferred")[0]
        qid = os.path.basename(path)
        with open(path, "rb") as f:
            data = f.read()
        self.assertRegex(data[-25:], rb"^END \d{20}\n$")
        with open(path, "wb") as f:
            f.write(data[:-25])  # as if the machine died before END reached the disk
        self.sinks.append(sink.start())
        node.start()
        wait_until(lambda: node.queue_files("corrupt"), 60, what="the file in corrupt/")
        self.assertEqual(os.path.basename(node.queue_files("corrupt")[0]), qid)
        self.assertRegex(node.log(), r"id=%s qmgr: no END record.*moved to corrupt/" % qid)
        listed = self.queued_ids()
        self.assertEqual(listed[qid]["dir"], "corrupt")
        # Nothing was delivered, and a release from corrupt/ is refused.
        self.assertEqual(sink.messages(), [])
        self.assertEqual(node.mx("queue", "release", qid).returncode, 1)

    def test_queue_commands(self):
        # One attempt, then an hour's wait: the listing holds still while we look at it.
        node, sink = self.node_with_dead_route({"queue.retry_min": "3600", "queue.retry_max": "3600"})
        for i in range(3):
            node.send("alice@sender.test", ["bob@example.test"], make_message(subject="cmd %d" % i))
        wait_until(lambda: len(node.queue_files("deferred")) == 3, 60, what="3 deferred")
        ids = self.queued_ids()
        self.assertEqual(len(ids), 3)
        for q in ids.values():
            self.assertEqual(q["dir"], "deferred")
            self.assertEqual(q["sender"], "alice@sender.test")
            self.assertEqual(q["recipients"], [{"addr": "bob@example.test", "state": "P"}])
            self.assertGreaterEqual(q["attempts"], 1)
        text = node.mx("queue", "list", check=True).stdout
        self.assertIn("-- 3 messages", text)
        a, b, c = sorted(ids)
        self.assertRegex(text, r"%s\s+deferred\s+\d+s\s+\d+ <alice@sender.test> bob@example.test deferred" % a)
        show = node.mx("queue", "show", a, check=True).stdout
        self.assertIn("sender: <alice@sender.test>", show)
        self.assertIn("Subject: cmd", show)
        self.assertEqual(node.mx("queue", "show", "NOSUCHID").returncode, 1)
        node.mx("queue", "hold", a, check=True)
        node.mx("queue", "delete", b, check=True)
        ids = self.queued_ids()
        self.assertEqual(ids[a]["dir"], "hold")
        self.assertNotIn(b, ids)
        # The route comes up; flush sends c now, a stays held until released.
        self.sinks.append(sink.start())
        node.mx("queue", "flush", check=True)
        msgs = sink.wait_count(1, timeout=30)
        self.assertEqual(len(msgs), 1)
        self.assertEqual(self.queued_ids()[a]["dir"], "hold")
        node.mx("queue", "release", a, check=True)
        msgs = sink.wait_count(2, timeout=30)
        subjects = sorted(email.message_from_bytes(m)["Subject"] for m in msgs)
        self.assertEqual(len(subjects), 2)
        wait_until(lambda: self.queued_ids() == {}, 30, what="an empty queue")

    def test_stuck_copied_to_central(self):
        node, sink = self.node_with_dead_route({"queue.stuck_attempts": "2"})
        node.send("alice@sender.test", ["bob@example.test"], make_message(subject="stuck"))
        central = os.path.join(node.home, "central")
        # The copy is written beside its final name first (ID.tmp...); only the renamed one counts.
        copies = lambda: [f for f in os.listdir(central) if "." not in f] if os.path.isdir(central) else []
        qid = wait_until(copies, 60, what="a central copy")[0]
        self.assertRegex(node.log(), r"id=%s qmgr: stuck .*attempts=\d+, copied to central/" % qid)
        out = node.mx("queue", "stuck", "--json", check=True).stdout.splitlines()
        self.assertEqual(len(out), 1)
        rec = json.loads(out[0])
        self.assertEqual(rec["id"], qid)
        self.assertEqual(rec["recipients"], ["bob@example.test"])
        self.assertGreaterEqual(rec["attempts"], 2)
        # Once delivered, the central copy goes away.
        self.sinks.append(sink.start())
        node.mx("queue", "flush", check=True)
        sink.wait_count(1, timeout=30)
        wait_until(lambda: not os.listdir(central), 30, what="the central copy removed")
        self.assertIn("-- 0 stuck messages", node.mx("queue", "stuck", check=True).stdout)

    def test_expired_message_bounces(self):
        # The recipient's route is dead; the sender's tenant has a live server for the DSN.
        senders = Sink()
        self.sinks.append(senders.start())
        node = Node(config={"queue.max_lifetime": "3"})
        node.add_tenant("acme", "example.test", "127.0.0.1:%d" % free_port())
        node.add_tenant("senders", "sender.test", senders.route)
        self.node = node.start()
        node.send("alice@sender.test", ["bob@example.test"], make_message(subject="too late"))
        msgs = senders.wait_count(1, timeout=60)
        self.assertRegex(node.log(), r"to=<bob@example.test> relay=\S+ status=expired dsn=[0-9A-F]+")
        self.assertEqual(rcpt_of(msgs[0]), "alice@sender.test")
        self.assertIn(b"Status: 4.4.7", msgs[0])
        self.assertIn(b"Action: failed", msgs[0])
        self.assertIn(b"Subject: too late", msgs[0])
        wait_until(lambda: self.queued_ids() == {}, 30, what="an empty queue")

    def test_unscanned_mail_scanned_before_delivery(self):
        sink = Sink()
        self.sinks.append(sink.start())
        node = Node(config={"scan.workers": "0", "scan.deadline_ms": "500"})
        node.add_tenant("acme", "example.test", sink.route)
        node.add_tenant("senders", "sender.test", sink.route)
        self.node = node.start()
        node.send("alice@sender.test", ["bob@example.test"], make_message(subject="plain"))
        gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n"
        node.send("alice@sender.test", ["bob@example.test"], make_message(subject="gtube", body=gtube))
        wait_until(lambda: len(re.findall(r"still unscanned", node.log())) >= 2, 30,
                   what="qmgr finding no scanner")
        listed = self.queued_ids()
        self.assertEqual(len(listed), 2)
        self.assertTrue(all(q["unscanned"] for q in listed.values()))
        self.assertEqual(sink.messages(), [])  # never delivered unscanned
        node.stop()
        node.config["scan.workers"] = "1"
        node.config["scan.deadline_ms"] = "30000"
        node.write_config()
        node.start()
        msgs = sink.wait_count(2, timeout=120)
        wait_until(lambda: self.queued_ids() == {}, 30, what="an empty queue")
        self.assertEqual(len(msgs), 2)
        plain = [m for m in msgs if rcpt_of(m) == "bob@example.test"]
        dsn = [m for m in msgs if rcpt_of(m) == "alice@sender.test"]
        self.assertEqual(len(plain), 1)
        self.assertEqual(len(dsn), 1)
        m = email.message_from_bytes(plain[0])
        self.assertEqual(m["Subject"], "plain")
        self.assertRegex(m["X-MXTower-Verdict"], r"^clean;")
        self.assertRegex(node.log(), r"qmgr: scanned verdict=spam action=reject")
        self.assertIn(b"Status: 5.7.1", dsn[0])
        self.assertIn(b"Subject: gtube", dsn[0])
        self.assertNotIn(b"GTUBE-STANDARD", dsn[0])  # headers only, never the body


if __name__ == "__main__":
    unittest.main()
