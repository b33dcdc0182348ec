"""The NOC page in real headless Chromium: tests/browser/dashboard.js (playwright-core driving
Debian's /usr/bin/chromium) against a running node and sink. The JS side logs in, watches the
counters move, drives load over a small spec (yellow), releases a quarantined message from the
page, kills a scan worker (red, then green); this side checks that the released message reached
the client's server and that the screenshots were written."""
import os
import shutil
import subprocess
import tempfile
import unittest

from mxtest import ROOT, Node, Sink
from webhttp import wait_web

BROWSER_DIR = os.path.join(ROOT, "tests", "browser")
ARTIFACTS = os.path.join(BROWSER_DIR, "artifacts")
# A marker the node's analysts' signature calls a virus: the quarantine gets a message to release.
MARKER = "MXTOWER-BROWSER-QUARANTINE-MARKER-7f3a9c"


class BrowserTest(unittest.TestCase):
    def test_dashboard_in_chromium(self):
        self.assertTrue(os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")),
                        "run scripts/install-deps (npm install in tests/browser)")
        self.assertTrue(os.access("/usr/bin/chromium", os.X_OK), "Debian's chromium is missing")
        sink = Sink().start()
        # spec 4 msg/s, yellow at 50%: a few SMTP loops make it yellow; a quiet node stays green.
        node = Node(config={"node.spec_msgs": "4", "node.yellow_at": "50"})
        tmp = tempfile.mkdtemp(prefix="mxbrowser-")
        try:
            sig = os.path.join(tmp, "browser-test.ndb")
            with open(sig, "w") as f:
                f.write("Mxtower.Browser.Test:0:*:%s\n" % MARKER.encode().hex())
            node.mx("sig", "add", sig, "--no-retro", check=True)
            node.add_tenant("acme", "example.test", sink.route, "--on-malware", "quarantine")
            node.start()
            token = node.token()
            wait_web(node, token)
            shutil.rmtree(ARTIFACTS, ignore_errors=True)
            env = dict(os.environ, MX_URL="http://127.0.0.1:%d" % node.http_port, MX_TOKEN=token,
                       MX_SMTP=str(node.smtp_port), MX_RCPT="bob@example.test", MX_MARKER=MARKER,
                       MX_ARTIFACTS=ARTIFACTS)
            p = subprocess.run(["node", os.path.join(BROWSER_DIR, "dashboard.js")], cwd=BROWSER_DIR, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=420)
            self.assertEqual(p.returncode, 0, p.stdout[-6000:] + "\n--- node log ---\n" + node.log()[-4000:])
            self.assertIn("BROWSER-TEST-OK", p.stdout)
            released = [l.split()[1] for l in p.stdout.splitlines() if l.startswith("RELEASED ")]
            self.assertEqual(len(released), 1, p.stdout)
            # The released message went on to the client's server.
            from mxtest import wait_until
            wait_until(lambda: any(b"quarantine-release-me" in m for m in sink.messages()), 60,
                       what="the released message at the sink")
            self.assertEqual(node.queue_files("quarantine"), [])
            for name in ("01-login-refused", "02-towers-green", "03-towers-yellow", "04-quarantine",
                         "06-towers-red", "08-towers-green-again", "09-server"):
                path = os.path.join(ARTIFACTS, name + ".png")
                self.assertTrue(os.path.getsize(path) > 1000, path)
            self.assertNotIn(token, node.log())
        finally:
            node.stop()
            sink.stop()
            node.cleanup()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
