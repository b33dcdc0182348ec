"""spam: the content scanners behind real SMTP sessions. GTUBE is refused at end of DATA; a
campaign learned with `mxtower learn --spam` while the node runs gets its next variant
quarantined (Bayes and fuzzy, live within a second); an allow-listed sender passes with the same
content; a rule file dropped into <home>/rules is live without a restart; `mxtower rules check`
names the bad line; unlearn takes a learned campaign back. Autolearn (bayes.autolearn = 1)
learns a message far past the reject level after the reply, and nothing when it is off."""
import json
import os
import re
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

AGENTS = ["Mr David Hall", "Mrs Joan Price", "Mr Alan Moss", "Ms Carla Webb", "Mr Ian Cole",
          "Mrs Rita Shaw", "Mr Omar Reid", "Ms Tessa Ford", "Mr Hugh Lane", "Mrs Nina Park",
          "Mr Rob Dunn", "Ms Erin Hale"]
# Twelve variants: more than BAYES_MIN_LEARNED (10), so Bayes votes on the next one as well as
# fuzzy. With four, only fuzzy voted, and its 7..10 put a variant at 31/32 min-hashes just
# under the quarantine score of 10 (the test was fragile by construction).
VARIANTS = [dict(amount="%d,%03d" % (31 + 3 * i, (i * 317) % 1000), agent=a, ref="PR-%04d" % (1182 + 1109 * i))
            for i, a in enumerate(AGENTS)]
NEW_VARIANT = dict(amount="57,300", agent="Mr Peter Grant", ref="PR-9952")
# How far above Q the learned variant must land: a loaded machine changes timing, never
# scores, so a margin this wide means a real regression, not noise.
QUARANTINE_AT = 10
REJECT_AT_FOR_TEST = 60
MARGIN = 4


def campaign_message(v, sender="release@pensions-desk.test"):
    return make_message(sender=sender, subject="Your pension release %s" % v["ref"],
                        body=CAMPAIGN.format(**v))


def send(node, sender, msg):
    """Send; return None when accepted, else (code, text)."""
    return node.refusal(sender, ["bob@example.test"], msg)


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

    def quarantine_scores(self):
        out = self.node.mx("quarantine", "list", "--json", check=True).stdout
        return [float(x) for x in re.findall(r'"score":(-?[0-9.]+)', out)]

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
        self.assertIn("learned %d" % len(VARIANTS), out)
        # Bayes and fuzzy together take the variant past R (15) too; this client rejects only
        # at 60, so a confident verdict lands in quarantine and its margin over Q is visible.
        self.node.mx("tenant", "set", "example", "--reject-at", str(REJECT_AT_FOR_TEST), check=True)
        try:
            # learned while the node runs: the next variant is quarantined (no restart)
            q = self.quarantined()
            wait_until(lambda: send(self.node, "release@pensions-desk.test",
                                    campaign_message(NEW_VARIANT)) is None, 10, interval=0.5,
                       what="the new reject level to be live")
            # On a loaded machine the verdict may come from qmgr's rescan rather than at SMTP
            # time; either way the same scanners give the same score.
            wait_until(lambda: self.quarantined() > q, 60, what="the variant in quarantine")
            self.assertEqual(len(self.sink.files()), before_sink + 1, "the variant was delivered")
            scores = self.quarantine_scores()
            self.assertTrue(scores, "no score in quarantine list")
            self.assertGreaterEqual(max(scores), QUARANTINE_AT + MARGIN,
                                    "the variant is not clearly above Q: %s" % scores)
        finally:
            self.node.mx("tenant", "set", "example", "--reject-at", "15", check=True)
        # unlearn takes it back: another variant is delivered again
        out = self.node.mx("learn", "--unlearn", d, check=True).stdout
        self.assertIn("forgotten %d" % len(VARIANTS), out)
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


AUTOLEARN_WORD = "quantafrobnicator"


def learned_counts(node):
    out = node.mx("learn", "--stats", check=True).stdout
    m = re.search(r"bayes: (\d+) spam, (\d+) ham learned", out)
    if not m:
        raise AssertionError("no counts in: %r" % out)
    return int(m.group(1)), int(m.group(2))


class AutolearnTest(unittest.TestCase):
    """A campaign learned as spam (fuzzy) plus a local rule (rules): two scanners, 15 + 7..10
    points, past reject (15) + the default margin (5) without Bayes. With bayes.autolearn = 1
    the node learns it after its 5xx reply; with it off (the default) nothing is learned."""

    def run_node(self, autolearn):
        sink = Sink().start()
        node = Node(config={"bayes.autolearn": "1"} if autolearn else None)
        try:
            node.add_tenant("example", "example.test", sink.route)
            node.mx("learn", "--ham", ham_dir(12), check=True)
            d = tempfile.mkdtemp(prefix="mxcampaign-")
            for i, v in enumerate(VARIANTS[:4]):
                with open(os.path.join(d, "%d.eml" % i), "wb") as f:
                    f.write(campaign_message(v))
            node.mx("learn", "--spam", d, check=True)
            rules = os.path.join(node.home, "rules")
            os.makedirs(rules, exist_ok=True)
            with open(os.path.join(rules, "local.rules"), "w") as f:
                f.write("rule LOCAL_AUTOLEARN\ntarget body\nmatch /%s/i\nscore 15\ndesc test\n"
                        % AUTOLEARN_WORD)
            node.start()
            spam0, ham0 = learned_counts(node)
            self.assertEqual((spam0, ham0), (4, 12))
            body = CAMPAIGN.format(**NEW_VARIANT) + "Order code %s.\r\n" % AUTOLEARN_WORD
            msg = make_message(sender="release@pensions-desk.test", subject="Your pension release",
                               body=body)
            r = send(node, "release@pensions-desk.test", msg)
            self.assertIsNotNone(r, "the message was accepted")
            self.assertEqual(r[0] // 100, 5, r)
            # One scan worker (the test node's default) serves requests in order: once a later
            # message is delivered, the learn that followed the 5xx has finished or never ran.
            n = len(sink.files())
            self.assertIsNone(send(node, "carol@sender.test", make_message(
                sender="carol@sender.test", subject="minutes",
                body="The minutes of Tuesday's meeting are attached to the wiki page.\r\n")))
            sink.wait_count(n + 1)
            return node, spam0, ham0
        except BaseException:
            node.stop(check=False)
            node.cleanup()
            raise
        finally:
            sink.stop()

    def test_autolearn_on_learns_past_the_threshold(self):
        node, spam0, ham0 = self.run_node(True)
        try:
            # the rejected message as spam; the plain one (0 points without Bayes, far under
            # tag) as ham
            wait_until(lambda: learned_counts(node) == (spam0 + 1, ham0 + 1), 20,
                       what="the rejected message learned as spam, the plain one as ham")
            self.assertIn("autolearn: learned as spam", node.log())
        finally:
            node.stop()
            node.cleanup()

    def test_autolearn_off_learns_nothing(self):
        node, spam0, ham0 = self.run_node(False)
        try:
            self.assertEqual(learned_counts(node), (spam0, ham0))
            self.assertNotIn("autolearn", node.log())
        finally:
            node.stop()
            node.cleanup()


# A fraud letter in the style of today's advance-fee mail (written for this test): several cues
# at once, none of them decisive alone.
ADVANCE_FEE = (
    "Dear Sir,\r\n\r\n"
    "I am the son of the late Chief Adeyemi, former minister of mines. Before his death my late "
    "father deposited US$18M (Eighteen Million United States Dollars) "
    "with a security company in Lome as family valuables. I need a trustworthy person and a "
    "foreign partner to receive the funds, and you will keep 20% of the total sum for your "
    "help. Treat this as strictly confidential.\r\n")
# Honest business mail with one of the weak cues ("urgent"), as staff write every day.
BUSINESS = (
    "Hi team,\r\n\r\nUrgent: the review with the auditors moved to Thursday at 10. Please send "
    "me the Q3 figures by Wednesday noon so I can prepare the slides.\r\n\r\nThanks, Maria\r\n")


# A bulk-marketing mail (written for this test) with the cues of the SPAM_BULK_* rules.
BULK = (
    "Dear Friend,\r\n\r\n"
    "We found your email address on a business directory. Start a home-based business this "
    "week: call toll-free 1-888-555-0199 and act now, places are few. You are on our opt-in "
    "list. This message complies with federal anti-spam law.\r\n")
# A supplier's note to a customer with one weak bulk cue ("order today").
SUPPLIER = (
    "Hello Ana,\r\n\r\nThe toner cartridges you asked about are back in stock; if you order "
    "today they ship on Monday with the rest of your invoice.\r\n\r\nBest, Tom\r\n")


class CueRulesTest(unittest.TestCase):
    """The SPAM_419_* cues of rules/20-spam.rules add up on a fraud letter and stay at half a
    point on business mail with a single weak cue; so do the SPAM_BULK_* cues on bulk
    marketing mail."""

    def setUp(self):
        self.node = Node()

    def tearDown(self):
        self.node.cleanup()

    def scan(self, body, subject="hello"):
        path = os.path.join(self.node.tmp, "msg.eml")
        with open(path, "wb") as f:
            f.write(make_message(subject=subject, body=body))
        p = self.node.mx("scan", "--json", "-o", "scan.scanners=rules", path, check=True)
        o = json.loads(p.stdout.strip().splitlines()[-1])
        return {s["name"]: s["score"] for s in o["symbols"]}, o

    def test_fraud_letter_collects_cues(self):
        syms, o = self.scan(ADVANCE_FEE)
        for name in ("SPAM_419_MILLIONS", "SPAM_419_AMOUNT_IN_WORDS", "SPAM_419_FOREIGN_PARTNER",
                     "SPAM_419_LATE_PERSON", "SPAM_419_TRUSTWORTHY", "SPAM_419_SHARE",
                     "SPAM_419_SECURITY_COMPANY", "SPAM_419_SECRECY", "SPAM_419_GREETING"):
            self.assertIn(name, syms, o)
        cues = sum(v for k, v in syms.items() if k.startswith("SPAM_419_"))
        self.assertAlmostEqual(cues, 6 * 1.5 + 3 * 0.5, places=2)
        self.assertNotEqual(o["verdict"], "clean", o)

    def test_business_mail_with_one_weak_cue(self):
        syms, o = self.scan(BUSINESS)
        self.assertEqual({k: v for k, v in syms.items() if k.startswith("SPAM_419_")},
                         {"SPAM_419_SECRECY": 0.5}, o)
        self.assertEqual(o["verdict"], "clean", o)

    def test_bulk_mail_collects_cues(self):
        syms, o = self.scan(BULK, subject="ADV: your own business")
        for name in ("SPAM_BULK_ADDRESS_HARVESTED", "SPAM_BULK_LEGAL_CLAIM", "SPAM_BULK_SUBJECT_ADV",
                     "SPAM_BULK_INCOME", "SPAM_BULK_TOLL_FREE", "SPAM_BULK_OPT_IN",
                     "SPAM_BULK_ACT_NOW", "SPAM_BULK_DEAR_FRIEND"):
            self.assertIn(name, syms, o)
        cues = sum(v for k, v in syms.items() if k.startswith("SPAM_BULK_"))
        self.assertAlmostEqual(cues, 6 * 1.5 + 2 * 0.5, places=2)
        self.assertNotEqual(o["verdict"], "clean", o)

    def test_supplier_mail_with_one_weak_cue(self):
        syms, o = self.scan(SUPPLIER, subject="Re: toner")
        self.assertEqual({k: v for k, v in syms.items() if k.startswith("SPAM_BULK_")},
                         {"SPAM_BULK_ACT_NOW": 0.5}, o)
        self.assertEqual(o["verdict"], "clean", o)


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
