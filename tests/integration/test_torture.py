"""Allocation-failure torture: every parser of outside input survives each failed allocation."""
import os
import re
import subprocess
import unittest

from mxtest import ROOT

B = os.environ.get("B", "build")
TORTURE = os.path.join(ROOT, B, "torture", "torture_parsers")


class Torture(unittest.TestCase):
    def test_every_allocation_fails_in_turn_without_crash_or_leak(self):
        p = subprocess.run([TORTURE], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
        self.assertEqual(p.returncode, 0, p.stdout)
        lines = dict(re.findall(r"^torture (\w+)\s+(\d+) allocation points failed in turn, 0 leaks$", p.stdout, re.M))
        # Each parser really allocates, so the torture really failed something in each.
        for parser in ("mime", "envelope", "smtp"):
            self.assertIn(parser, lines, p.stdout)
            self.assertGreater(int(lines[parser]), 3, p.stdout)
        self.assertIn("config", lines, p.stdout)


if __name__ == "__main__":
    unittest.main()
