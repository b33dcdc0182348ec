"""smtpd around the edges of a node's life: SIGTERM drain (new sessions get 421, the one in
flight finishes and gets its 250, then the process exits) and a full queue file system (452
4.3.1, nothing acknowledged, and recovery without a restart once space returns).

The full file system is a small tmpfs mounted over <home>/queue (we run as root) and filled
with a ballast file; it is unmounted when the test ends.
"""
import errno
import os
import signal
import subprocess
import unittest

import mxtest
from test_smtp_server import Raw, accepted_ids, start_node


class SmtpdDrainTest(unittest.TestCase):
    def test_421_while_draining_in_flight_finishes(self):
        node, sink = start_node()
        try:
            inflight = Raw(node.smtp_port)
            self.assertEqual(inflight.cmd("EHLO client.test")[0], 250)
            self.assertEqual(inflight.cmd("MAIL FROM:<inflight@sender.test>")[0], 250)
            self.assertEqual(inflight.cmd("RCPT TO:<bob@acme.test>")[0], 250)
            node.proc.send_signal(signal.SIGTERM)
            mxtest.wait_until(lambda: "smtpd: signal 15, draining" in node.log(), 15,
                              what="smtpd to start draining")
            late = Raw(node.smtp_port)
            code, lines = late.greeting
            self.assertEqual((code, lines[-1][:9]), (421, "421 4.3.2"), "new session while draining")
            late.close()
            self.assertEqual(inflight.cmd("DATA")[0], 354)
            code, lines = inflight.cmd(b"Subject: drained\r\n\r\nfinished while draining\r\n.\r\n")
            self.assertEqual(code, 250, lines)
            self.assertRegex(lines[-1], r"queued as \w+")
            code, lines = inflight.reply()
            self.assertEqual(code, 421, "closed after its transaction")
            self.assertTrue(inflight.closed())
            inflight.close()
            node.proc.wait(40)
            self.assertIn("inflight@sender.test", [s for _, s in accepted_ids(node)])
            self.assertIn("smtpd: drained, exiting", node.log())
        finally:
            node.stop()
            sink.stop()
            node.cleanup()


class SmtpdDiskFullTest(unittest.TestCase):
    def setUp(self):
        self.node = mxtest.Node(config={"scan.workers": "0"})
        self.sink = mxtest.Sink().start()
        self.queue = os.path.join(self.node.home, "queue")
        os.makedirs(self.queue, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", self.queue], check=True)
        self.node.add_tenant("acme", "acme.test", self.sink.route)
        self.node.start()

    def tearDown(self):
        self.node.stop()
        self.sink.stop()
        subprocess.run(["umount", self.queue], check=True)
        self.node.cleanup()

    def fill(self):
        path = os.path.join(self.queue, "ballast")
        with open(path, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError as e:
                self.assertEqual(e.errno, errno.ENOSPC)
        return path

    def send(self, subject):
        """Final reply code and text for one message (DATA refused or end of data)."""
        r = Raw(self.node.smtp_port)
        try:
            r.cmd("EHLO client.test")
            r.cmd("MAIL FROM:<full@sender.test>")
            self.assertEqual(r.cmd("RCPT TO:<bob@acme.test>")[0], 250)
            code, lines = r.cmd("DATA")
            if code == 354:
                code, lines = r.cmd(b"Subject: " + subject + b"\r\n\r\n" +
                                    b"payload line\r\n" * 200 + b".\r\n")
            return code, lines[-1]
        finally:
            r.close()

    def test_full_queue_452_then_recovers(self):
        ballast = self.fill()
        before = len(accepted_ids(self.node))
        code, text = self.send(b"while full")
        self.assertEqual((code, text[:9]), (452, "452 4.3.1"), text)
        mxtest.wait_until(lambda: self.node.queue_files("incoming") == [], 10,
                          what="no half-written spool left")
        self.assertEqual(len(accepted_ids(self.node)), before, "nothing acknowledged")
        os.unlink(ballast)
        code, text = self.send(b"after space returned")
        self.assertEqual(code, 250, text)
        self.assertIn("queued as", text)


if __name__ == "__main__":
    unittest.main()
