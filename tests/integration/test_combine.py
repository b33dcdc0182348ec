"""combine: the learned combination layer in a running node. `mxtower train-weights` on
labelled corpus mail (Bayes learned first) prints its cross-validation, leaves the Bayes counts
exactly as they were (each learned message is judged leave-one-out: unlearned and learned
back), and writes db/combine.model; the scan workers of a node started before it pick the model
up without a restart (delivered mail then carries the COMBINE symbol), GTUBE is still refused at
SMTP time with a model in force, and `train-weights --remove` takes the node back to the
hand-set scores, again live."""
import os
import re
import tempfile
import time
import unittest

from mxtest import CORPORA, Node, Sink, make_message, wait_until

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def corpus_dir(folder, n, prefix):
    """A directory of n messages of a corpus folder (every 5th, so not one sender's run)."""
    src = os.path.join(CORPORA, "spamassassin", folder)
    d = tempfile.mkdtemp(prefix=prefix)
    names = [x for x in sorted(os.listdir(src)) if not x.startswith(".") and x != "cmds"]
    for name in names[::5][:n]:
        os.symlink(os.path.join(src, name), os.path.join(d, name))
    return d


def send(node, sender, msg):
    """Send; return None when accepted, else (code, text)."""
    return node.refusal(sender, ["bob@example.test"], msg)


class CombineTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sink = Sink().start()
        cls.node = Node()
        cls.node.add_tenant("example", "example.test", cls.sink.route)
        cls.spam = corpus_dir("spam", 60, "mxcspam-")
        cls.ham = corpus_dir("easy_ham", 120, "mxcham-")
        cls.node.mx("learn", "--spam", cls.spam, check=True, timeout=300)
        cls.node.mx("learn", "--ham", cls.ham, check=True, timeout=300)
        cls.node.start()

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()
        cls.sink.stop()
        cls.node.cleanup()

    def deliver(self, subject):
        before = len(self.sink.files())
        msg = make_message(subject=subject, body="Are we still on for the review at three?\r\n")
        self.assertIsNone(send(self.node, "alice@sender.test", msg))
        return self.sink.wait_count(before + 1)[-1]

    def test_train_show_reload_remove(self):
        model = os.path.join(self.node.home, "db", "combine.model")
        stats = self.node.mx("learn", "--stats", check=True).stdout
        # without a model: hand-set scores, no COMBINE symbol
        self.assertNotIn(b"COMBINE", self.deliver("before the model"))
        out = self.node.mx("train-weights", "--spam", self.spam, "--ham", self.ham,
                           check=True, timeout=600).stdout
        self.assertIn("scanned 180 messages (0 failed)", out)
        self.assertIn("4-fold cross-validation", out)
        self.assertIn("<- chosen", out)
        self.assertIn("written: ", out)
        self.assertTrue(os.path.exists(model))
        # leave-one-out put every learned message back: the counts are as they were
        self.assertEqual(self.node.mx("learn", "--stats", check=True).stdout, stats)
        show = self.node.mx("train-weights", "--show", check=True).stdout
        self.assertRegex(show, r"log-odds per hand-set point")
        # the running workers load it within their reload tick: the next mail shows it
        wait_until(lambda: b"COMBINE(" in self.deliver("with the model"), 20, interval=1,
                   what="the model to be live in the scan workers")
        head = self.sink.messages()[-1].split(b"\r\n\r\n", 1)[0]
        m = re.search(rb"X-Spam-Score: (-?[0-9.]+)", head)
        self.assertIsNotNone(m, head)
        # GTUBE stays decisive with a model in force
        r = send(self.node, "alice@sender.test",
                 make_message(subject="test", body="GTUBE:\r\n%s\r\n" % GTUBE))
        self.assertIsNotNone(r, "GTUBE was accepted with a model")
        self.assertEqual(r[0] // 100, 5, r)
        # removed: hand-set scores again, live
        self.node.mx("train-weights", "--remove", check=True)
        self.assertFalse(os.path.exists(model))
        wait_until(lambda: b"COMBINE(" not in self.deliver("model removed"), 20, interval=1,
                   what="the workers to drop the model")

    def test_refuses_without_both_classes(self):
        p = self.node.mx("train-weights", "--spam", self.spam)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        p = self.node.mx("train-weights", "--spam", self.spam, "--ham", self.ham, "--folds", "1")
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main()
