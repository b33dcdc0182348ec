"""eval floor: the accuracy harness (bench/eval) on a subset of the SpamAssassin corpus must stay
well above a floor. The subset (every 8th message, the same fixed train/test split as the full
run) keeps it within CI time under ASan; the floors sit well below what it measured when they
were set (caught 84%, FP 0 of 139 ham, (1-ROCA) 0.9%; after the Bayes retune of 2026-11-28:
caught 79.7%, FP 0, (1-ROCA) 0.16%, so the ROC ceiling came down from 3% to 1%; after the
Bayes tie-break and rip: tokens, 2026-11-28 21:40: caught 84.1% (58 of 69), FP 0 of 139,
(1-ROCA) 0.16%), so only a real regression trips them. The floors stay where they were: the
subset has 69 spam, so one message is 1.4 points, and the caught floor (70%) is ten messages
under the measured value.
The harness also fits the learned combination (`mxtower train-weights`) on the subset's
training part and scans again; the same floors hold for it (2026-11-28 23:41, ASan binary:
caught 88.4% (61 of 69), FP 0 of 139, (1-ROCA) 0.073%, against 84.1%, 0, 0.167% for the
hand-set scores in the same run), so a broken fit or a model that wrecks the ranking fails.
After the 60-clue, punctuation-token and cue-rule changes of 2026-11-29 (ASan binary, 02:33):
hand-set caught 84.1% (58 of 69), FP 0 of 139, (1-ROCA) 0.146%; learned combination 84.1%, 0,
0.063%: the same caught figure, so the floors stay.
The full figures are in bench/results/eval-*.md (`make eval`)."""
import json
import os
import subprocess
import sys
import unittest

from mxtest import CORPORA, MXTOWER, ROOT

FLOOR_CAUGHT_PCT = 70.0
CEIL_FP_PCT = 1.5
CEIL_ONE_MINUS_ROCA_PCT = 1.0


class EvalFloorTest(unittest.TestCase):
    def test_subset_figures_above_floor(self):
        p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "eval"), "--bin", MXTOWER,
                            "--corpora", CORPORA, "--subset", "8", "--json", "--no-write"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=800)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        o = json.loads(p.stdout.strip().splitlines()[-1])
        t = o["test"]
        self.assertEqual(t["missing"], 0, "messages without a scan result")
        self.assertGreater(t["ham"], 100)
        self.assertGreater(t["spam"], 50)
        self.assertGreaterEqual(t["caught_pct"], FLOOR_CAUGHT_PCT, t)
        self.assertLessEqual(t["fp_pct"], CEIL_FP_PCT, t)
        self.assertLessEqual(t["one_minus_roca_pct"], CEIL_ONE_MINUS_ROCA_PCT, t)
        c = o["test_combined"]
        self.assertIsNotNone(c, "the learned combination did not run")
        self.assertEqual(c["missing"], 0, "messages without a scan result (combined)")
        self.assertGreaterEqual(c["caught_pct"], FLOOR_CAUGHT_PCT, c)
        self.assertLessEqual(c["fp_pct"], CEIL_FP_PCT, c)
        self.assertLessEqual(c["one_minus_roca_pct"], CEIL_ONE_MINUS_ROCA_PCT, c)


if __name__ == "__main__":
    unittest.main()
