"""phish: targeted attacks on a client behind real SMTP sessions. Mail from a look-alike of the
client's own domain (digit for letter, or an IDN homoglyph) is quarantined as phish while the
same text from an unrelated domain is delivered; a password form in an HTML attachment is
quarantined; `mxtower scan --tenant` shows the symbols and the phish verdict."""
import email.mime.application
import email.mime.multipart
import email.mime.text
import json
import os
import tempfile
import unittest

from mxtest import Node, Sink, make_message, wait_until

BODY = ("Hello Bob,\r\n\r\nPlease review the attached remittance and approve the payment to the "
        "new supplier account today; I am in meetings all afternoon.\r\n\r\nThanks,\r\nCarol\r\n")


def send(node, sender, rcpt, msg):
    """None when accepted, else the SMTP code of the refusal at end of DATA."""
    r = node.refusal(sender, [rcpt], msg)
    return r and r[0]


def credform_message():
    m = email.mime.multipart.MIMEMultipart()
    m["From"] = "billing@invoices-online.test"
    m["To"] = "bob@acme-corp.test"
    m["Subject"] = "Invoice 4471"
    m.attach(email.mime.text.MIMEText("Your invoice is attached.\n"))
    page = (b"<html><body><form action='https://collect.invalid/p' method=post>"
            b"<input name=email><input type=\"password\" name=pw></form></body></html>")
    a = email.mime.application.MIMEApplication(page, _subtype="octet-stream")
    a.add_header("Content-Disposition", "attachment", filename="invoice.html")
    m.attach(a)
    return m.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class PhishTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sink = Sink().start()
        cls.node = Node()
        cls.node.add_tenant("acme", "acme-corp.test", cls.sink.route)
        cls.node.start()

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()
        cls.sink.stop()
        cls.node.cleanup()

    def quarantined(self):
        return len(self.node.queue_files("quarantine"))

    def check_quarantined(self, sender, msg):
        q, delivered = self.quarantined(), len(self.sink.files())
        self.assertIsNone(send(self.node, sender, "bob@acme-corp.test", msg))
        wait_until(lambda: self.quarantined() > q, 10, what="the message in quarantine")
        self.assertEqual(len(self.sink.files()), delivered)

    def test_lookalike_domain_quarantined(self):
        for dom in ("acme-c0rp.test", "xn--acme-crp-sbh.test"):  # digit 0; Cyrillic o (U+043E)
            msg = make_message(sender="carol@" + dom, to="bob@acme-corp.test",
                               subject="Supplier payment", body=BODY)
            self.check_quarantined("carol@" + dom, msg)

    def test_unrelated_domain_delivered(self):
        before = len(self.sink.files())
        msg = make_message(sender="carol@suppliers-ltd.test", to="bob@acme-corp.test",
                           subject="Supplier payment", body=BODY)
        self.assertIsNone(send(self.node, "carol@suppliers-ltd.test", "bob@acme-corp.test", msg))
        self.sink.wait_count(before + 1)

    def test_html_credential_form_quarantined(self):
        self.check_quarantined("billing@invoices-online.test", credform_message())

    def test_scan_cli_verdict(self):
        d = tempfile.mkdtemp(prefix="mxphish-")
        path = os.path.join(d, "p.eml")
        with open(path, "wb") as f:
            f.write(make_message(sender="it@acme-c0rp.test", to="bob@acme-corp.test",
                                 subject="Password expiry", body=BODY))
        p = self.node.mx("scan", "--json", "--tenant", "acme", path, check=True)
        o = json.loads(p.stdout.strip().splitlines()[-1])
        self.assertEqual(o["verdict"], "phish")
        names = {s["name"]: s for s in o["symbols"]}
        self.assertIn("PHISH_LOOKALIKE_CLIENT", names)
        self.assertIn("acme-corp.test", names["PHISH_LOOKALIKE_CLIENT"]["detail"])


if __name__ == "__main__":
    unittest.main()
