"""test_mime_corpus - every corpus file through our MIME parser under ASan+UBSan with leak
detection: no crash, no sanitizer report, no leak, a parse for every file. Once with the default
limits and once with a tiny arena and tiny limits, so the limit paths run on real mail too.
"""
import os
import subprocess
import unittest

from mxtest import CORPORA, SANITIZER_RE, TOOLS

# Files per run of the tool.
BATCH = 400


def corpus_files():
    out = []
    for d, _, names in os.walk(CORPORA):
        out.extend(os.path.join(d, n) for n in names)
    return sorted(out)


class MimeCorpusTest(unittest.TestCase):
    def run_all(self, extra):
        files = corpus_files()
        self.assertGreater(len(files), 5000, "corpora missing? %s" % CORPORA)
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = "abort_on_error=1:detect_leaks=1"
        env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
        seen = parsed = 0
        flags = 0
        for i in range(0, len(files), BATCH):
            batch = files[i:i + BATCH]
            p = subprocess.run([os.path.join(TOOLS, "mimedump"), "-v"] + extra + batch, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=900)
            err = p.stderr.decode("utf-8", "replace")
            self.assertIsNone(SANITIZER_RE.search(err), err[-4000:])
            out = p.stdout.decode("utf-8", "replace")
            seen += out.count("\n== ") + out.startswith("== ")
            for line in out.splitlines():
                if line.startswith("msg flags="):
                    parsed += 1
                    flags |= int(line.split()[1].split("=")[1], 16)
            self.assertEqual(p.returncode, 0, "batch at %s: exit %d" % (batch[0], p.returncode))
        self.assertEqual(seen, len(files))
        self.assertEqual(parsed, len(files))
        return flags

    def test_default_limits(self):
        flags = self.run_all([])
        # The corpora hold broken mail; the parser must have noticed some of it.
        for bit, name in ((1 << 3, "BAD_HEADER"), (1 << 5, "UNCLOSED"), (1 << 6, "BAD_ENCODING"),
                          (1 << 7, "BAD_CHARSET")):
            self.assertTrue(flags & bit, "no message flagged %s" % name)

    def test_tiny_limits(self):
        flags = self.run_all(["-a", "100000", "-l", "2,8,4096"])
        for bit, name in ((1 << 0, "DEPTH_LIMIT"), (1 << 1, "PARTS_LIMIT"), (1 << 2, "DECODE_LIMIT"),
                          (1 << 10, "ARENA_FULL")):
            self.assertTrue(flags & bit, "no message hit %s" % name)


if __name__ == "__main__":
    unittest.main()
