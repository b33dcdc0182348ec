"""Delivery: qmgr takes committed mail to the tenant's route.

- 1,000 messages from Postfix's smtp-source all reach the sink, and the queue is empty after;
- delivered mail carries the verdict headers (X-Spam-Status / X-Spam-Score / X-MXTower-Verdict);
- delivery uses STARTTLS when the route's server offers it;
- a 5xx recipient bounces: an RFC 3464 DSN reaches the sender (from the null sender), with the
  status, the diagnostic and the original headers; the good recipient is delivered once;
- the null sender never gets a DSN;
- a 4xx is retried with backoff and then delivered;
- a partial delivery is resumed after a restart without repeating the done recipient.
"""
import email
import os
import re
import subprocess
import time
import unittest

from mxtest import Node, NodeCase, Sink, sink_header, make_message, wait_until

SMTP_SOURCE = "/usr/sbin/smtp-source"


def rcpt_of(raw):
    return sink_header(raw, "Rcpt-To")


def mail_from_of(raw):
    return sink_header(raw, "Mail-From")


class DeliveryTest(NodeCase):

    def start(self, sink, config=None):
        self.sinks.append(sink.start())
        # A scanner slow to start (a loaded machine) must not make the client time out.
        self.node = Node(config=dict({"scan.deadline_ms": "10000"}, **(config or {})))
        self.node.add_tenant("acme", "example.test", sink.route)
        self.node.add_tenant("senders", "sender.test", sink.route)
        self.node.start()
        return self.node

    def queue_empty(self):
        return not any(self.node.queue_files(d) for d in ("active", "deferred", "incoming"))

    def test_thousand_messages_smtp_source(self):
        sink = Sink()
        node = self.start(sink, {"scan.workers": "2", "smtp.max_sessions_per_ip": "100"})
        p = subprocess.run([SMTP_SOURCE, "-c", "-s", "10", "-m", "1000", "-l", "2000",
                            "-f", "alice@sender.test", "-t", "bob@example.test",
                            "127.0.0.1:%d" % node.smtp_port],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
        self.assertEqual(p.returncode, 0, p.stdout[-2000:])
        sink.wait_count(1000, timeout=600)
        wait_until(self.queue_empty, 60, what="an empty queue")
        msgs = sink.messages()
        self.assertEqual(len(msgs), 1000)
        for raw in msgs:
            self.assertEqual(rcpt_of(raw), "bob@example.test")
            self.assertEqual(mail_from_of(raw), "alice@sender.test")
        delivered = len(re.findall(r"status=delivered", node.log()))
        self.assertEqual(delivered, 1000)

    def test_verdict_headers_and_bounce(self):
        sink = Sink(fail={"bad@example.test": "550 5.1.1 no such user"})
        node = self.start(sink)
        msg = make_message(to="bad@example.test", subject="bounce me please")
        node.send("alice@sender.test", ["bob@example.test", "bad@example.test"], msg)
        sink.wait_count(2, timeout=60)
        wait_until(self.queue_empty, 30, what="an empty queue")
        msgs = sink.messages()
        self.assertEqual(len(msgs), 2)
        good = [m for m in msgs if rcpt_of(m) == "bob@example.test"]
        dsn = [m for m in msgs if rcpt_of(m) == "alice@sender.test"]
        self.assertEqual(len(good), 1)
        self.assertEqual(len(dsn), 1)
        # The delivered copy carries the stored verdict in SpamAssassin's layout.
        g = email.message_from_bytes(good[0])
        self.assertRegex(g["X-Spam-Status"], r"^(Yes|No), score=-?\d+\.\d required=\d+\.\d tests=\S+\s+autolearn=no$")
        self.assertRegex(g["X-Spam-Score"], r"^-?\d+\.\d$")
        self.assertRegex(g["X-MXTower-Verdict"], r"^(clean|spam|phish|malware|suspect);")
        self.assertEqual(g["Subject"], "bounce me please")
        # The DSN: from the null sender, multipart/report with a delivery-status part.
        self.assertEqual(mail_from_of(dsn[0]), "")
        d = email.message_from_bytes(dsn[0])
        self.assertEqual(d.get_content_type(), "multipart/report")
        self.assertEqual(d.get_param("report-type"), "delivery-status")
        parts = list(d.walk())
        types = [p.get_content_type() for p in parts]
        self.assertIn("message/delivery-status", types)
        self.assertIn("text/rfc822-headers", types)
        text = dsn[0].decode("utf-8", "replace")
        self.assertIn("Final-Recipient: rfc822; bad@example.test", text)
        self.assertIn("Action: failed", text)
        self.assertIn("Status: 5.1.1", text)
        self.assertIn("Diagnostic-Code: smtp; 550 5.1.1 no such user", text)
        self.assertNotIn("Final-Recipient: rfc822; bob@example.test", text)
        self.assertIn("Subject: bounce me please", text)  # the original headers
        self.assertRegex(node.log(), r"status=bounced dsn=[0-9A-F]+")
        # The sink offers STARTTLS: delivery took it (opportunistic, unverified).
        self.assertRegex(node.log(), r"to=<bob@example.test> relay=\S+ tls=yes status=delivered")

    def test_null_sender_gets_no_dsn(self):
        sink = Sink(fail={"bad@example.test": "550 5.1.1 no such user"})
        node = self.start(sink)
        node.send("", ["bad@example.test"], make_message(sender="", to="bad@example.test"))
        wait_until(lambda: "null sender, no DSN" in node.log(), 60, what="the bounce")
        wait_until(self.queue_empty, 30, what="an empty queue")
        self.assertEqual(sink.messages(), [])
        self.assertNotIn("dsn: queued", node.log())

    def test_temporary_failure_retried_then_delivered(self):
        sink = Sink(fail={"bob@example.test": "451 4.3.0 try again later"}, fail_times=2)
        node = self.start(sink)
        node.send("alice@sender.test", ["bob@example.test"], make_message(subject="retry me"))
        msgs = sink.wait_count(1, timeout=60)
        self.assertEqual(len(msgs), 1)
        self.assertEqual(email.message_from_bytes(msgs[0])["Subject"], "retry me")
        log = node.log()
        self.assertGreaterEqual(len(re.findall(r"status=deferred \(451 4\.3\.0", log)), 2)
        self.assertRegex(log, r"qmgr: deferred attempts=2 ")
        wait_until(self.queue_empty, 30, what="an empty queue")
        self.assertEqual(len(sink.messages()), 1)

    def test_partial_delivery_resumed_after_restart(self):
        sink = Sink(fail={"bob@example.test": "451 4.3.0 mailbox busy"}, fail_times=1000)
        node = self.start(sink)
        node.send("alice@sender.test", ["carol@example.test", "bob@example.test"],
                  make_message(subject="half and half"))
        sink.wait_count(1, timeout=60)
        wait_until(lambda: node.queue_files("deferred"), 30, what="the message deferred")
        show = node.mx("queue", "list", "--json", check=True).stdout
        self.assertIn('"addr":"carol@example.test","state":"D"', show)
        self.assertIn('"addr":"bob@example.test","state":"P"', show)
        node.stop()
        sink.stop()
        # The same server, healthy now.
        good = Sink(maildir=sink.maildir, port=sink.port)
        self.sinks.append(good.start())
        node.start()
        good.wait_count(2, timeout=60)
        wait_until(self.queue_empty, 30, what="an empty queue")
        rcpts = sorted(rcpt_of(m) for m in good.messages())
        self.assertEqual(rcpts, ["bob@example.test", "carol@example.test"])


if __name__ == "__main__":
    unittest.main()
