"""av under load: a signature added while mail flows is live in every scan worker within 5 s and
no scan fails during the swap; a scan worker killed with kill -9 (after hanging) loses no mail,
and what was accepted unscanned meanwhile is scanned once a worker is back."""
import os
import re
import signal
import smtplib
import tempfile
import threading
import time
import unittest

from mxtest import Node, Sink, make_message, wait_until
from test_av import attachment_message, eicar, eicar_sig, start_ready


def send(node, msg):
    """One transaction; returns (code, text) of the DATA reply (or of the refusal)."""
    return node.transaction("alice@sender.test", ["bob@example.test"], msg, timeout=120)


class Load:
    """Senders in threads until stopped; every result is kept with its start time."""

    def __init__(self, node, make, threads=2):
        self.node, self.make = node, make
        self.results = []
        self.lock = threading.Lock()
        self.stop_flag = threading.Event()
        self.threads = [threading.Thread(target=self.run) for _ in range(threads)]

    def run(self):
        while not self.stop_flag.is_set():
            t0 = time.time()
            try:
                r = send(self.node, self.make())
            except (OSError, smtplib.SMTPException) as e:
                r = (0, repr(e))
            with self.lock:
                self.results.append((t0, r[0], r[1]))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        for t in self.threads:
            t.join(60)


class HotReload(unittest.TestCase):
    def setUp(self):
        self.sink = Sink().start()
        self.node = Node(config={"scan.workers": "2"})
        self.node.add_tenant("example", "example.test", self.sink.route)
        start_ready(self.node)
        self.tmp = tempfile.mkdtemp(prefix="mxreload-")

    def tearDown(self):
        self.node.stop()
        self.sink.stop()
        self.node.cleanup()

    def test_new_signature_live_within_5s_and_no_scan_fails(self):
        token = "mxtower-reload-%d" % os.getpid()
        sig = os.path.join(self.tmp, "reload.ndb")
        with open(sig, "w") as f:
            f.write("Reload.Test:0:*:%s\n" % token.encode().hex())
        with Load(self.node, lambda: make_message(body="load %s load\r\n" % token)) as load:
            wait_until(lambda: len(load.results) >= 10, 60, what="load to flow")
            self.node.mx("sig", "add", sig, "--no-retro", check=True)
            installed = time.time()
            wait_until(lambda: any(t > installed + 6 for t, _, _ in load.results), 60,
                       what="load to run past the reload window")
        res = load.results
        self.assertTrue(all(code in (250, 550) for _, code, _ in res),
                        [r for r in res if r[1] not in (250, 550)][:5])
        self.assertTrue(any(code == 250 for t, code, _ in res if t < installed))
        late = [(code, text) for t, code, text in res if t >= installed + 5]
        self.assertTrue(late)
        self.assertTrue(all(code == 550 and "Reload.Test" in text for code, text in late),
                        late[:5])
        self.assertIsNone(re.search(r"action=\w+ unscanned", self.node.log()))


class WorkerKilled(unittest.TestCase):
    def setUp(self):
        self.sink = Sink().start()
        self.node = Node(config={"scan.workers": "1", "scan.deadline_ms": "1500"})
        self.node.add_tenant("example", "example.test", self.sink.route)
        self.tmp = tempfile.mkdtemp(prefix="mxkill-")
        self.node.mx("sig", "add", eicar_sig(self.tmp), check=True)
        start_ready(self.node)

    def tearDown(self):
        self.node.stop()
        self.sink.stop()
        self.node.cleanup()

    def test_kill9_loses_no_mail_and_rescans(self):
        n = self.node
        with Load(n, lambda: make_message(body="clean\r\n")) as load:
            wait_until(lambda: len(load.results) >= 5, 60, what="load to flow")
            pid = n.children()["scan"][0]
            os.kill(pid, signal.SIGSTOP)  # hung: the client's deadline passes
            code, text = send(n, attachment_message("e.com", eicar()))
            self.assertEqual(code, 250, text)  # accepted unscanned, never lost
            infected = text.split()[-1]
            os.kill(pid, signal.SIGKILL)
            wait_until(lambda: [p for p in n.children().get("scan", []) if p != pid], 30,
                       what="the scan worker to be restarted")
            t_back = time.time()
            wait_until(lambda: any(t > t_back + 2 for t, _, _ in load.results), 60,
                       what="load after the restart")
        self.assertTrue(re.search(r"id=%s accepted .*action=\w+ unscanned" % infected, n.log()),
                        "the infected message was not committed unscanned")
        clean = [r for r in load.results if r[1] == 250]
        self.assertEqual([r for r in load.results if r[1] != 250], [])
        # Every accepted clean message arrives; the infected one is scanned, not delivered.
        msgs = self.sink.wait_count(len(clean), timeout=180)
        self.assertFalse(any(b"e.com" in m for m in msgs))
        wait_until(lambda: re.search(r"id=%s qmgr: scanned verdict=malware" % infected, n.log()),
                   60, what="qmgr to scan the unscanned message once a worker is back")
        self.assertEqual(len(self.sink.files()), len(clean))


if __name__ == "__main__":
    unittest.main()
