"""Quarantine and the client's policy on a live node: per-client choices (malware to quarantine
instead of a 550), the block list, retro-scan of held mail when a signature arrives, release
(delivered to the client's server), delete (suspects archived for the analysts) and retention."""
import json
import os
import tempfile
import time
import unittest

from mxtest import Node, Sink, free_port, make_message, wait_until
from test_av import attachment_message, eicar, eicar_sig, rejected, start_ready


def qlist(node):
    p = node.mx("quarantine", "list", "--json", check=True)
    return {e["id"]: e for e in map(json.loads, p.stdout.splitlines())}


def queue_ids(node):
    p = node.mx("queue", "list", "--json", check=True)
    out = []
    for line in p.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    if not out and p.stdout.strip().startswith("["):
        out = json.loads(p.stdout)
    return out


class Quarantine(unittest.TestCase):
    def setUp(self):
        self.sink_port = free_port()
        self.sink = Sink(port=self.sink_port)
        self.node = Node()
        self.node.add_tenant("example", "example.test", self.sink.route)
        self.tmp = tempfile.mkdtemp(prefix="mxq-")
        self.node.mx("sig", "add", eicar_sig(self.tmp), check=True)
        start_ready(self.node)

    def tearDown(self):
        self.node.stop()
        self.sink.stop()
        self.node.cleanup()

    def test_policy_quarantine_release_delete(self):
        n = self.node
        self.sink.start()
        n.mx("tenant", "set", "example", "--on-malware", "quarantine", check=True)
        # The workers see the change within a second; until then the default (reject) holds.
        wait_until(lambda: rejected(n, attachment_message("e.com", eicar())) is None, 30,
                   what="policy change to reach the scan workers")
        q = wait_until(lambda: [e for e in qlist(n).values() if e["verdict"] == "malware"], 30,
                       what="the infected mail in quarantine")
        entry = q[0]
        self.assertEqual(entry["virus"], "Eicar-Test-Signature")
        self.assertEqual(entry["reason"], "virus Eicar-Test-Signature")
        self.assertEqual(entry["tenant"], "example")
        shown = n.mx("quarantine", "show", entry["id"], check=True).stdout
        self.assertIn("symbol: AV_VIRUS", shown)
        self.assertIn("Subject: see attachment", shown)
        for e in q[1:]:
            n.mx("quarantine", "delete", e["id"], check=True)

        # release: the client's server gets it
        before = len(self.sink.files())
        p = n.mx("quarantine", "release", entry["id"], check=True)
        self.assertIn("released", p.stdout)
        self.assertNotIn(entry["id"], qlist(n))
        msgs = self.sink.wait_count(before + 1)
        self.assertIn(b"e.com", msgs[-1])

        # delete
        self.assertIsNone(rejected(n, attachment_message("f.com", eicar())))
        q = wait_until(lambda: [i for i, e in qlist(n).items() if e["verdict"] == "malware"], 30,
                       what="second infected mail in quarantine")
        n.mx("quarantine", "delete", q[0], check=True)
        self.assertNotIn(q[0], qlist(n))
        p = n.mx("quarantine", "delete", q[0])
        self.assertEqual(p.returncode, 1)
        self.assertIn("not in quarantine", p.stderr)

    def test_block_list_rejects(self):
        n = self.node
        self.sink.start()
        n.mx("tenant", "set", "example", "--block", "spammer.test", check=True)

        def blocked():
            s = n.smtp(timeout=120)
            try:
                s.ehlo("client.test")
                s.sendmail("x@spammer.test", ["bob@example.test"], make_message(sender="x@spammer.test"))
                return None
            except Exception as e:  # smtplib.SMTPDataError
                return e
            finally:
                s.close()
        e = wait_until(blocked, 30, what="the block list to reach the scan workers")
        self.assertEqual(e.smtp_code, 550)
        # others still get through
        self.assertIsNone(rejected(n, make_message()))
        self.sink.wait_count(1)

    def test_retro_scan_moves_held_mail(self):
        n = self.node
        token = "mxtower-retro-%d" % os.getpid()
        # The client's server is down: the mail stays in the queue.
        self.assertIsNone(rejected(n, make_message(body="payload %s here\r\n" % token)))
        held = wait_until(lambda: [m for m in queue_ids(n)], 30, what="the message in the queue")
        mid = held[0]["id"]
        n.mx("queue", "hold", mid, check=True)
        sig = os.path.join(self.tmp, "retro.ndb")
        with open(sig, "w") as f:
            f.write("Retro.Test:0:*:%s\n" % token.encode().hex())
        p = n.mx("sig", "add", sig, check=True)
        self.assertIn("moved to quarantine 1", p.stdout)
        q = qlist(n)
        self.assertIn(mid, q)
        self.assertIn("retro-scan: virus Retro.Test", q[mid]["reason"])
        self.assertIn("was in hold", q[mid]["reason"])
        # A second run finds it again, already in quarantine, and moves nothing.
        p = n.mx("sig", "retro", check=True)
        self.assertIn("matched 1, moved to quarantine 0", p.stdout)

    def test_retention_expires(self):
        n = self.node
        n.mx("tenant", "set", "example", "--on-malware", "quarantine", "--quarantine-days", "0",
             check=True)
        wait_until(lambda: rejected(n, attachment_message("e.com", eicar())) is None, 30,
                   what="policy change to reach the scan workers")
        wait_until(lambda: qlist(n), 30, what="mail in quarantine")
        p = n.mx("quarantine", "expire", check=True)
        self.assertRegex(p.stdout, r"expired [1-9]")
        self.assertEqual(qlist(n), {})


if __name__ == "__main__":
    unittest.main()
