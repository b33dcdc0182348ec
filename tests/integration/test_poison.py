"""A poison message: one the scanner dies on. It must not stall the node's other mail.

The test build's fault-injection hook (MX_FAULT_INJECTION, never in the release binary) kills a
scan worker when a message carries the marker named by MXTOWER_FAULT_SCAN_CRASH, as a parser
bug would. smtpd commits it unscanned, qmgr rescans it, the worker dies again; after three
crashes qmgr holds it for the analysts, and every other message keeps flowing.
"""
import os
import re
import unittest

from mxtest import Node, Sink, make_message, wait_until

MARKER = "POISON-7f3a9c"


class Poison(unittest.TestCase):
    def test_poison_message_is_held_and_other_mail_flows(self):
        sink = Sink().start()
        node = Node(config={"scan.workers": "1", "scan.deadline_ms": "3000"},
                    env={"MXTOWER_FAULT_SCAN_CRASH": MARKER})
        node.add_tenant("acme", "acme.test", sink.route)
        node.start()
        try:
            node.send("mallory@sender.test", ["bob@acme.test"],
                      make_message(to="bob@acme.test", subject="poison", body="x %s y\r\n" % MARKER))
            for i in range(3):
                node.send("alice@sender.test", ["bob@acme.test"],
                          make_message(to="bob@acme.test", subject="clean %d" % i))
            # The move comes first, then its log line: wait for the line, then look at hold/.
            wait_until(lambda: re.search(r"held: the scanner crashed on it 3 times \(poison message\)", node.log()),
                       120, what="the poison message held")
            self.assertEqual(len(node.queue_files("hold")), 1)
            msgs = sink.wait_count(3, 120)
            subjects = sorted(m.split(b"Subject: ", 1)[1].split(b"\r\n", 1)[0] for m in msgs)
            self.assertEqual(subjects, [b"clean 0", b"clean 1", b"clean 2"])
            self.assertNotIn(MARKER.encode(), b"".join(msgs))
            # The operator sees it, and it is not retried by itself.
            listing = node.mx("queue", "list", check=True).stdout
            self.assertIn("hold", listing)
            crashes = node.log().count("scan[0] pid=")
            self.assertLessEqual(node.log().count("killed by signal 6"), 4, "the worker kept dying")
        finally:
            node.stop()
            sink.stop()
            node.cleanup()


if __name__ == "__main__":
    unittest.main()
