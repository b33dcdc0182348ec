"""spam: the content scanners behind real SMTP sessions. GTUBE is refused at end of DATA; a
campaign learned with `mxtower learn --spam` while the node runs gets its next variant
quarantined (Bayes and fuzzy, live within a second); an allow-listed sender passes with the same
content; a rule file dropped into <home>/rules is live without a restart; `mxtower rules check`
names the bad line; unlearn takes a learned campaign back."""
import os
import smtplib
import tempfile
import unittest

from mxtest import CORPORA, Node, Sink, make_message, wait_until

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

CAMPAIGN = (
    "Dear valued customer,\r\n\r\n"
    "Our records show that your pension fund release of {amount} pounds is now ready for "
    "immediate transfer into your nominated bank account. To complete the release our "
    "senior consultant {agent} needs your full name, date of birth, sort code and account "
    "number before the deadline at the end of this week, after which the funds return to the "
    "treasury. Reply today to reference {ref} and a consultant will call you within the hour "
    "to finish the paperwork. This offer is confidential and limited to selected savers.\r\n\r\n"
    "Kind regards,\r\nThe Release Team\r\n")

VARIANTS = [
    dict(amount="48,200", agent="Mr David Hall", ref="PR-1182"),
    dict(amount="51,900", agent="Mrs Joan Price", ref="PR-2291"),
    dict(amount="39,750", agent="Mr Alan Moss", ref="PR-3307"),
    dict(amount="62,400", agent="Ms Carla Webb", ref="PR-4410"),
]
NEW_VARIANT = dict(amount="57,300", agent="Mr Peter Grant", ref="PR-9952")


def campaign_message(v, sender="release@pensions-desk.test"):
    return make_message(sender=sender, subject="Your pension release %s" % v["ref"],
                        body=CAMPAIGN.format(**v))


def send(node, sender, msg):
    """Send; return None when accepted, else (code, text)."""
    s = node.smtp()
    try:
        s.ehlo("client.test")
        s.sendmail(sender, ["bob@example.test"], msg)
        return None
    except smtplib.SMTPDataError as e:
        return e.smtp_code, e.smtp_error.decode("utf-8", "replace")
    finally:
        try:
            s.quit()
        except smtplib.SMTPException:
            pass


def ham_dir(n=30):
    """A directory of n real ham messages (easy_ham), so Bayes has both classes."""
    src = os.path.join(CORPORA, "spamassassin", "easy_ham")
    d = tempfile.mkdtemp(prefix="mxham-")
    for name in sorted(os.listdir(src))[:n]:
        os.symlink(os.path.join(src, name), os.path.join(d, name))
    return d


class SpamTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sink = Sink().start()
        cls.node = Node()
        cls.node.add_tenant("example", "example.test", cls.sink.route)
        cls.node.mx("learn", "--ham", ham_dir(), check=True)
        cls.node.start()

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()
        cls.sink.stop()
        cls.node.cleanup()

    def quarantined(self):
        return len(self.node.queue_files("quarantine"))

    def test_gtube_rejected_at_smtp(self):
        msg = make_message(subject="test", body="This is the GTUBE:\r\n%s\r\n" % GTUBE)
        r = send(self.node, "alice@sender.test", msg)
        self.assertIsNotNone(r, "GTUBE was accepted")
        self.assertEqual(r[0] // 100, 5, r)
        # a message without it passes on the same path
        before = len(self.sink.files())
        self.assertIsNone(send(self.node, "alice@sender.test",
                               make_message(subject="lunch", body="Lunch at noon?\r\n")))
        self.sink.wait_count(before + 1)

    def test_learned_campaign_variant_quarantined(self):
        d = tempfile.mkdtemp(prefix="mxcampaign-")
        for i, v in enumerate(VARIANTS):
            with open(os.path.join(d, "%d.eml" % i), "wb") as f:
                f.write(campaign_message(v))
        # before learning: the new variant is just mail
        before_sink = len(self.sink.files())
        self.assertIsNone(send(self.node, "release@pensions-desk.test",
                               campaign_message(dict(NEW_VARIANT, ref="PR-0001"))))
        self.sink.wait_count(before_sink + 1)
        out = self.node.mx("learn", "--spam", d, check=True).stdout
        self.assertIn("learned 4", out)
        # learned while the node runs: the next variant is quarantined (no restart, no wait
        # beyond the scan itself)
        q = self.quarantined()
        self.assertIsNone(send(self.node, "release@pensions-desk.test",
                               campaign_message(NEW_VARIANT)))
        # On a loaded machine the verdict may come from qmgr's rescan rather than at SMTP time.
        wait_until(lambda: self.quarantined() > q, 60, what="the variant in quarantine")
        self.assertEqual(len(self.sink.files()), before_sink + 1, "the variant was delivered")
        # unlearn takes it back: another variant is delivered again
        out = self.node.mx("learn", "--unlearn", d, check=True).stdout
        self.assertIn("forgotten 4", out)
        self.assertIsNone(send(self.node, "release@pensions-desk.test",
                               campaign_message(dict(NEW_VARIANT, ref="PR-7777", amount="12,000"))))
        self.sink.wait_count(before_sink + 2)

    def test_allow_listed_sender_passes(self):
        self.node.mx("tenant", "set", "example", "--allow", "friend@partner.test", check=True)
        msg = make_message(sender="friend@partner.test", subject="test",
                           body="Forwarding the filter test: %s\r\n" % GTUBE)

        def accepted():
            return send(self.node, "friend@partner.test", msg) is None
        before = len(self.sink.files())
        wait_until(accepted, 10, interval=0.5, what="the allow list to be live")
        got = self.sink.wait_count(before + 1)
        self.assertTrue(any(GTUBE.encode() in m for m in got))
        # the same content from anyone else is still refused
        self.assertIsNotNone(send(self.node, "stranger@else.test",
                                  make_message(sender="stranger@else.test", body=GTUBE + "\r\n")))

    def test_rule_file_reloads_live(self):
        rules = os.path.join(self.node.home, "rules")
        os.makedirs(rules, exist_ok=True)
        word = "zebracornium"
        msg = make_message(subject="catalogue", body="New in stock: %s crystals.\r\n" % word)
        self.assertIsNone(send(self.node, "shop@store.test", msg))
        with open(os.path.join(rules, "local.rules"), "w") as f:
            f.write("rule LOCAL_ZEBRA\ntarget body\nmatch /%s/i\nscore 50\ndesc test\n" % word)
        wait_until(lambda: send(self.node, "shop@store.test", msg) is not None, 15, interval=0.5,
                   what="the new rule to refuse the message")


class RulesCliTest(unittest.TestCase):
    def setUp(self):
        self.node = Node()

    def tearDown(self):
        self.node.cleanup()

    def test_check(self):
        d = tempfile.mkdtemp(prefix="mxrules-")
        good = os.path.join(d, "good.rules")
        bad = os.path.join(d, "bad.rules")
        with open(good, "w") as f:
            f.write("rule A\ntarget header:Subject\nmatch /x(?!y)/i\nscore 1\n")
        with open(bad, "w") as f:
            f.write("rule A\ntarget body\nmatch /x/\nscore 1\n\nrule B\ntarget bodyy\n")
        p = self.node.mx("rules", "check", good)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("1 rules (1 need PCRE2)", p.stdout)
        p = self.node.mx("rules", "check", bad)
        self.assertEqual(p.returncode, 1)
        self.assertIn("bad.rules:7: unknown target", p.stderr)
        p = self.node.mx("rules", "list", check=True)
        self.assertIn("GTUBE", p.stdout)


if __name__ == "__main__":
    unittest.main()
