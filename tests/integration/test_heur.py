"""heur: with no signature installed, the heuristics alone catch unseen malware. The 44 Debian
clamav-testfiles (clam.exe packed, archived, mailed in many ways) mailed as attachments are
accepted, quarantined as "suspected new virus" and kept as samples for the analysts
(`mxtower suspect list|show|export`); Office macros and HTML smuggling go the same way, and clean
mail is delivered."""
import base64
import io
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import zipfile

from mxtest import Node, Sink, make_message, wait_until
import rarfixture
from test_av import TESTFILES, attachment_message, rejected, start_ready, zipped


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


def sevenzip(tmp, name, files, *opts):
    """A real 7z archive made by 7-Zip (p7zip-full): files is [(name, bytes)]."""
    src = tempfile.mkdtemp(dir=tmp)
    for fname, data in files:
        with open(os.path.join(src, fname), "wb") as f:
            f.write(data)
    out = os.path.join(tmp, name)
    subprocess.run(["7z", "a", "-bd", "-y", *opts, out] + [f for f, _ in files], cwd=src,
                   check=True, stdout=subprocess.DEVNULL)
    with open(out, "rb") as f:
        return f.read()


def listed(tmp, name, data):
    """What 7-Zip's lister says of an archive: [(path, encrypted)], or None when it cannot
    open it without the password."""
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    p = subprocess.run(["7z", "l", "-slt", "-pwrong", path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        return None
    items = p.stdout.split("----------\n", 1)[1].split("\n\n")
    out = []
    for it in items:
        kv = dict(l.split(" = ", 1) for l in it.splitlines() if " = " in l)
        if "Path" in kv:
            out.append((kv["Path"], kv.get("Encrypted") == "+"))
    return out


def header_kind(data):
    """0x01: a plain 7z header; 0x17: an encoded (packed, maybe encrypted) one."""
    off = int.from_bytes(data[12:20], "little")
    return data[32 + off]


EXE = b"MZ\x90\x00" + b"\x00" * 60 + b"PE\x00\x00" + b"\x00" * 200
ENTRIES = [("docs/readme.txt", b"read me\n", False), ("invoice.pdf.exe", EXE, True),
           ("setup.exe", EXE, False)]


class EncryptedArchives(unittest.TestCase):
    """7z (made by 7-Zip) and RAR 4 / RAR 5 (rarfixture, checked against 7-Zip's lister): an
    encrypted entry with an executable name is HEUR_ENCRYPTED_EXEC; headers encrypted so that
    no name can be read is HEUR_ENCRYPTED_NAMES; both make the mail suspect. Encrypted
    archives of documents only are not flagged."""

    @classmethod
    def setUpClass(cls):
        cls.node = Node()  # not started: `mxtower scan` on its home
        cls.tmp = tempfile.mkdtemp(prefix="mxheur-")

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def scan(self, name, data, ctype=("application", "octet-stream")):
        path = os.path.join(self.tmp, name + ".eml")
        with open(path, "wb") as f:
            f.write(attachment_message(name, data, ctype=ctype))
        r = json.loads(self.node.mx("scan", "--json", "-o", "scan.scanners=av,heur", path,
                                    check=True).stdout)
        return r["verdict"], {s["name"]: s["detail"] for s in r["symbols"]}

    def test_7z(self):
        exe_enc = sevenzip(self.tmp, "a.7z", [("invoice.pdf.exe", EXE), ("readme.txt", b"x\n")],
                           "-psecret")
        verdict, syms = self.scan("a.7z", exe_enc)
        self.assertEqual(verdict, "suspect")
        self.assertIn("encrypted invoice.pdf.exe in 7z a.7z", syms.get("HEUR_ENCRYPTED_EXEC", ""))
        self.assertEqual(header_kind(exe_enc), 0x17)  # the header packed with LZMA
        # A plain header: asked for (-mhc=off), or 7-Zip's choice for one small file.
        for i, (files, opts) in enumerate(
                (([("run.scr", EXE), ("readme.txt", b"x\n")], ["-psecret", "-mhc=off"]),
                 ([("run.scr", EXE)], ["-psecret"]))):
            data = sevenzip(self.tmp, "b%d.7z" % i, files, *opts)
            self.assertEqual(header_kind(data), 0x01)
            verdict, syms = self.scan("b.7z", data)
            self.assertIn("encrypted run.scr", syms.get("HEUR_ENCRYPTED_EXEC", ""), opts)
        hidden = sevenzip(self.tmp, "h.7z", [("report.pdf", b"%PDF-1.4\n")], "-psecret", "-mhe=on")
        self.assertIsNone(listed(self.tmp, "h-check.7z", hidden))
        verdict, syms = self.scan("h.7z", hidden)
        self.assertEqual(verdict, "suspect")
        self.assertIn("names hidden", syms.get("HEUR_ENCRYPTED_NAMES", ""))
        # Encrypted documents only: no finding. Not encrypted: names still checked, not as
        # encrypted.
        docs = sevenzip(self.tmp, "d.7z", [("report.pdf", b"%PDF-1.4\n"), ("notes.txt", b"n\n")],
                        "-psecret")
        self.assertEqual(self.scan("d.7z", docs), ("clean", {}))
        verdict, syms = self.scan("p.7z", sevenzip(self.tmp, "p.7z", [("setup.exe", EXE)]))
        self.assertIn("HEUR_EXECUTABLE", syms)
        self.assertNotIn("HEUR_ENCRYPTED_EXEC", syms)
        # Inside a zip: seen as a layer libclamav unpacked.
        verdict, syms = self.scan("outer.zip", zipped("a.7z", exe_enc), ctype=("application", "zip"))
        self.assertIn("HEUR_ENCRYPTED_EXEC", syms)

    def test_rar4_and_rar5(self):
        for kind, make in (("rar4", rarfixture.rar4), ("rar5", rarfixture.rar5)):
            data = make(ENTRIES)
            self.assertEqual(listed(self.tmp, kind + ".rar", data),
                             [(n, e) for n, _, e in ENTRIES], kind)
            verdict, syms = self.scan(kind + ".rar", data)
            self.assertEqual(verdict, "suspect")
            self.assertIn("encrypted invoice.pdf.exe in rar", syms.get("HEUR_ENCRYPTED_EXEC", ""))
            self.assertIn("setup.exe", syms.get("HEUR_EXEC_NAME", ""))
            hidden = make(ENTRIES, hide_names=True)
            self.assertIsNone(listed(self.tmp, kind + "h.rar", hidden), kind)
            verdict, syms = self.scan(kind + "h.rar", hidden)
            self.assertEqual(verdict, "suspect")
            self.assertIn("HEUR_ENCRYPTED_NAMES", syms)
            docs = make([("photo.jpg", b"\xff\xd8\xff" + b"\0" * 64, True),
                         ("minutes.docx", b"PK\3\4" + b"\0" * 64, True)])
            self.assertEqual(self.scan(kind + "d.rar", docs), ("clean", {}), kind)


if __name__ == "__main__":
    unittest.main()
