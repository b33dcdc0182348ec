"""Retro-scan finds what a live scan refuses: EICAR in every wrapping of test_av (raw, zip, zip in
zip, base64, quoted-printable, message/rfc822, base64 and QP HTML) is accepted while no signature
is installed and held in the queue (the client's server is down); `sig add` of the EICAR
signature then moves every one of them to quarantine and leaves the clean message where it was.
Retro-scan runs the live scan's passes (our MIME parse, the raw message, each decoded leaf, the
raw bytes of encoded HTML), so the HTML forms, which libclamav's own mail parser misses, are
moved too."""
import json
import os
import tempfile
import unittest

from mxtest import Node, Sink, free_port, make_message, wait_until
from test_av import eicar_forms, eicar_sig, rejected, start_ready


def queued(node):
    p = node.mx("queue", "list", "--json", check=True)
    return [json.loads(l) for l in p.stdout.splitlines() if l.strip().startswith("{")]


def quarantined(node):
    p = node.mx("quarantine", "list", "--json", check=True)
    return [json.loads(l) for l in p.stdout.splitlines() if l.strip()]


class RetroScan(unittest.TestCase):
    def test_every_form_is_moved(self):
        sink = Sink(port=free_port())  # never started: mail stays in the queue
        # av alone: the heuristics would quarantine some forms (an executable's name) at
        # arrival, and this test is about what the signatures find afterwards.
        node = Node(config={"scan.scanners": "av"})
        tmp = tempfile.mkdtemp(prefix="mxretro-")
        try:
            node.add_tenant("example", "example.test", sink.route)
            start_ready(node)
            forms = eicar_forms()
            for name, msg in forms.items():
                self.assertIsNone(rejected(node, msg), "%s refused with no signature" % name)
            self.assertIsNone(rejected(node, make_message(body="nothing to see\r\n")))
            wait_until(lambda: len(queued(node)) == len(forms) + 1, 60,
                       what="every message in the queue")
            # Held, so that no delivery attempt moves them while the retro-scan runs.
            def all_held():
                for m in queued(node):
                    if m["dir"] != "hold":
                        node.mx("queue", "hold", m["id"])
                return all(m["dir"] == "hold" for m in queued(node))
            wait_until(all_held, 60, what="every message held")
            p = node.mx("sig", "add", eicar_sig(tmp), check=True)
            self.assertIn("scanned %d, matched %d, moved to quarantine %d" % (
                len(forms) + 1, len(forms), len(forms)), p.stdout)
            q = quarantined(node)
            self.assertEqual(len(q), len(forms), q)
            for e in q:
                self.assertIn("retro-scan: virus Eicar-Test-Signature", e["reason"])
            left = [m for m in queued(node) if m["dir"] != "quarantine"]
            self.assertEqual([m["dir"] for m in left], ["hold"], left)
        finally:
            node.stop()
            node.cleanup()


if __name__ == "__main__":
    unittest.main()
