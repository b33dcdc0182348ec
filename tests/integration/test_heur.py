"""heur: with no signature installed, the heuristics alone catch unseen malware. The 44 Debian
clamav-testfiles (clam.exe packed, archived, mailed in many ways) mailed as attachments are
accepted, quarantined as "suspected new virus" and kept as samples for the analysts
(`mxtower suspect list|show|export`); Office macros and HTML smuggling go the same way, and clean
mail is delivered."""
import base64
import io
import json
import os
import tempfile
import unittest
import zipfile

from mxtest import Node, Sink, make_message, wait_until
from test_av import TESTFILES, attachment_message, rejected, start_ready


def docm_with_macros():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
        z.writestr("word/vbaProject.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    return out.getvalue()


def smuggling_html():
    exe = b"MZ\x90\x00\x03" + b"\x00" * 59 + b"This program cannot be run in DOS mode" + b"\x00" * 200
    blob = base64.b64encode(exe).decode()
    return ("<html><body><script>var d = \"%s\";\n"
            "var b = new Blob([Uint8Array.from(atob(d), c => c.charCodeAt(0))]);\n"
            "var a = document.createElement('a'); a.href = URL.createObjectURL(b);\n"
            "a.download = 'invoice.exe'; a.click();</script></body></html>" % blob).encode()


class Heuristics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sink = Sink().start()
        cls.node = Node()
        cls.node.add_tenant("example", "example.test", cls.sink.route)
        start_ready(cls.node)

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()
        cls.sink.stop()
        cls.node.cleanup()

    def suspects(self):
        p = self.node.mx("suspect", "list", "--json", check=True)
        return [json.loads(l) for l in p.stdout.splitlines()]

    def test_clamav_testfiles_without_signatures(self):
        files = sorted(os.listdir(TESTFILES))
        self.assertEqual(len(files), 44)
        before = {s["id"] for s in self.suspects()}
        for name in files:
            with open(os.path.join(TESTFILES, name), "rb") as f:
                self.assertIsNone(rejected(self.node, attachment_message(name, f.read())), name)
        new = wait_until(lambda: [s for s in self.suspects() if s["id"] not in before]
                         if len(self.suspects()) - len(before) >= 44 else None,
                         timeout=60, what="44 suspects in quarantine")
        # The share the heuristics catch (docs/scanning.md): all 44, by executable content.
        self.assertEqual(len(new), 44)
        for s in new:
            self.assertEqual(s["where"], "quarantine")
            self.assertIn("suspected new virus", s["reason"])
        one = new[0]["id"]
        shown = self.node.mx("suspect", "show", one, check=True).stdout
        self.assertIn("verdict: suspect", shown)
        self.assertIn("symbol: HEUR_EXECUTABLE", shown)
        out = os.path.join(self.node.tmp, "sample.eml")
        self.node.mx("suspect", "export", one, "--out", out, check=True)
        with open(out, "rb") as f:
            sample = f.read()
        self.assertIn(b"Content-Disposition: attachment", sample)
        q = self.node.mx("quarantine", "list", "--json", check=True).stdout
        self.assertIn(one, q)
        self.assertEqual(self.sink.files(), [])  # nothing reached the client's server
        # Deleted from quarantine, the sample stays for the analysts.
        self.node.mx("quarantine", "delete", one, check=True)
        after = {s["id"]: s for s in self.suspects()}
        self.assertEqual(after[one]["where"], "archive")
        self.assertIn("symbol: HEUR_EXECUTABLE", self.node.mx("suspect", "show", one, check=True).stdout)
        again = os.path.join(self.node.tmp, "again.eml")
        self.node.mx("suspect", "export", one, "--out", again, check=True)
        with open(again, "rb") as f:
            self.assertEqual(f.read(), sample)

    def test_scan_command_flags_the_executables(self):
        files = [os.path.join(TESTFILES, f) for f in sorted(os.listdir(TESTFILES))]
        p = self.node.mx("scan", "--json", *files, check=True)
        results = [json.loads(l) for l in p.stdout.splitlines()]
        self.assertEqual(len(results), 44)
        self.assertEqual([r["file"] for r in results if r["verdict"] != "suspect"], [])
        self.assertTrue(all(r["action"] == "quarantine" for r in results))

    def test_macros_smuggling_and_names(self):
        cases = {
            "HEUR_MACRO": attachment_message("report.docm", docm_with_macros(),
                                             ctype=("application", "vnd.ms-word.document.macroEnabled.12")),
            "HEUR_HTML_SMUGGLING": attachment_message("invoice.html", smuggling_html(),
                                                      ctype=("application", "octet-stream")),
            "HEUR_DOUBLE_EXT": attachment_message("invoice.pdf.js", b"var x = 1;\n"),
        }
        for sym, msg in cases.items():
            path = os.path.join(self.node.tmp, sym + ".eml")
            with open(path, "wb") as f:
                f.write(msg)
            r = json.loads(self.node.mx("scan", "--json", path, check=True).stdout)
            self.assertEqual(r["verdict"], "suspect", (sym, r))
            self.assertIn(sym, [s["name"] for s in r["symbols"]])
            self.assertIsNone(rejected(self.node, msg))

    def test_clean_mail_is_delivered(self):
        before = len(self.sink.files())
        self.assertIsNone(rejected(self.node, attachment_message("notes.txt", b"just notes\n",
                                                                 ctype=("application", "octet-stream"))))
        msgs = self.sink.wait_count(before + 1)
        self.assertIn(b"notes.txt", msgs[-1])


if __name__ == "__main__":
    unittest.main()
