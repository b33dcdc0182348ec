"""test_mime_gmime - differential test of our MIME parser against GMime over every corpus file.

Both tools print one line per part (depth, type/subtype, and for a leaf the length and sha256 of
its transfer-decoded bytes): tests/tools/mimedump.c (ours, -g: without the uuencode/yEnc leaves
GMime cannot see) and tests/tools/mimedump_gmime.c. Files whose dumps differ must be listed in
tests/data/mime_gmime_known.txt with a category explained in docs/mime.md and the hash of our
dump, so a NEW difference fails, a listed difference that went away fails (the list stays
true), and a known-different file whose parse changed fails until someone looks at it again.

  python3 tests/integration/test_mime_gmime.py --regen   # print a fresh list (new = UNCLASSIFIED)
"""
import concurrent.futures
import hashlib
import os
import re
import subprocess
import sys
import unittest

from mxtest import CORPORA, ROOT, SANITIZER_RE, TOOLS

KNOWN = os.path.join(ROOT, "tests", "data", "mime_gmime_known.txt")
DOC = os.path.join(ROOT, "docs", "mime.md")
# Files per tool run: amortises process start-up, stays far below ARG_MAX.
BATCH = 400


def corpus_files():
    out = []
    for d, _, names in os.walk(CORPORA):
        for n in names:
            out.append(os.path.relpath(os.path.join(d, n), CORPORA))
    return sorted(out)


def run_tool(argv, files, env):
    """Run a dump tool over files in batches; returns ({relpath: [lines]}, [stderr texts])."""
    batches = [files[i:i + BATCH] for i in range(0, len(files), BATCH)]

    def one(batch):
        p = subprocess.run(argv + [os.path.join(CORPORA, f) for f in batch], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=900)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")

    dumps, errs = {}, []
    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        for rc, out, err in ex.map(one, batches):
            if err.strip():
                errs.append(err)
            cur = None
            for line in out.splitlines():
                if line.startswith("== "):
                    cur = os.path.relpath(line[3:], CORPORA)
                    dumps[cur] = []
                elif cur is not None:
                    dumps[cur].append(line)
    return dumps, errs


def dump_hash(lines):
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def load_known():
    known = {}
    with open(KNOWN) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            cat, h, path = line.split("\t")
            known[path] = (cat, h)
    return known


def compare():
    files = corpus_files()
    env = dict(os.environ)
    ours, our_errs = run_tool([os.path.join(TOOLS, "mimedump"), "-g"], files, env)
    genv = dict(env)
    # GMime and GLib keep caches for the process lifetime; their leaks are not ours.
    genv["ASAN_OPTIONS"] = "detect_leaks=0"
    theirs, _ = run_tool([os.path.join(TOOLS, "mimedump_gmime")], files, genv)
    return files, ours, theirs, our_errs


class MimeGmimeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.files, cls.ours, cls.theirs, cls.errs = compare()

    def test_every_file_dumped_by_both(self):
        self.assertGreater(len(self.files), 5000, "corpora missing? %s" % CORPORA)
        self.assertEqual(sorted(self.ours), self.files)
        self.assertEqual(sorted(self.theirs), self.files)
        for e in self.errs:
            self.assertIsNone(SANITIZER_RE.search(e), e[-3000:])

    def test_differences_are_known(self):
        known = load_known()
        with open(DOC) as f:
            doc = f.read()
        new, changed, gone = [], [], []
        for path in self.files:
            differ = self.ours[path] != self.theirs[path]
            if differ and path not in known:
                new.append(path)
            elif differ and known[path][1] != dump_hash(self.ours[path]):
                changed.append("%s (now %s)" % (path, dump_hash(self.ours[path])))
            elif not differ and path in known:
                gone.append(path)
        for path in new[:5] + [c.split(" ")[0] for c in changed[:5]]:
            sys.stderr.write("\n== %s\nours:   %s\ngmime:  %s\n" % (
                path, "\n        ".join(self.ours[path][:8]), "\n        ".join(self.theirs[path][:8])))
        self.assertEqual(new, [], "new differences from GMime (classify them, see --regen)")
        self.assertEqual(changed, [], "our parse of a known-different file changed")
        self.assertEqual(gone, [], "listed differences that no longer exist")
        for cat in sorted({c for c, _ in known.values()}):
            self.assertIn("`%s`" % cat, doc, "category %s is not explained in docs/mime.md" % cat)

    def test_most_files_agree(self):
        # The point of the exercise: agreement is the rule, the list the exception.
        same = sum(1 for p in self.files if self.ours[p] == self.theirs[p])
        self.assertGreater(same / len(self.files), 0.9)


def regen():
    known = load_known() if os.path.exists(KNOWN) else {}
    files, ours, theirs, _ = compare()
    print("# Files whose part tree or decoded bytes differ from GMime's; CATEGORY<TAB>HASH<TAB>PATH.")
    print("# Categories are explained in docs/mime.md; HASH is the first 16 hex of sha256 of our dump.")
    for p in files:
        if ours[p] != theirs[p]:
            cat = known.get(p, ("UNCLASSIFIED", ""))[0]
            print("%s\t%s\t%s" % (cat, dump_hash(ours[p]), p))


if __name__ == "__main__":
    if "--regen" in sys.argv:
        regen()
    else:
        unittest.main()
