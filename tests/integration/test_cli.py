"""The operator's commands that need no running node: tenants, config, token, --help."""
import json
import os
import stat
import subprocess
import unittest

from mxtest import MXTOWER, Node

COMMANDS = ["serve", "tenant", "queue", "sink", "scan", "learn", "rules", "sig", "quarantine",
            "suspect", "status", "node", "config", "token"]


class TenantCli(unittest.TestCase):
    def setUp(self):
        self.node = Node()

    def tearDown(self):
        self.node.cleanup()

    def test_add_show_set_remove(self):
        n = self.node
        p = n.mx("tenant", "add", "acme", "--domain", "Acme.test", "--domain", "acme.example",
                 "--route", "127.0.0.1:2600", check=True)
        self.assertIn("routing host", p.stdout)
        t = json.loads(n.mx("tenant", "show", "acme", "--json", check=True).stdout)
        self.assertEqual(t["domains"], ["acme.example", "acme.test"])
        self.assertEqual(t["route"], "127.0.0.1:2600")
        self.assertEqual(t["policy"]["on_malware"], "reject")
        self.assertTrue(t["routing_host"].startswith("acme."))

        n.mx("tenant", "set", "acme", "--recipient", "Bob@acme.test", "--allow", "friend.test",
             "--reject-at", "20", "--on-suspect", "reject", check=True)
        t = json.loads(n.mx("tenant", "show", "acme", "--json", check=True).stdout)
        self.assertEqual(t["recipients"], ["bob@acme.test"])
        self.assertEqual(t["allow"], ["friend.test"])
        self.assertEqual(t["policy"]["reject_at"], 20)
        self.assertEqual(t["policy"]["on_suspect"], "reject")

        listing = n.mx("tenant", "list", check=True).stdout
        self.assertIn("acme", listing)
        self.assertIn("acme.example", listing)
        n.mx("tenant", "remove", "acme", check=True)
        self.assertNotIn("acme", n.mx("tenant", "list", check=True).stdout)
        p = n.mx("tenant", "show", "acme")
        self.assertEqual(p.returncode, 1)
        self.assertIn("no such tenant", p.stderr)

    def test_a_domain_belongs_to_one_client(self):
        n = self.node
        n.add_tenant("one", "shared.test", "127.0.0.1:2600")
        p = n.mx("tenant", "add", "two", "--domain", "shared.test", "--route", "127.0.0.1:2601")
        self.assertEqual(p.returncode, 1)
        self.assertIn("taken", p.stderr)
        self.assertNotIn("two", n.mx("tenant", "list").stdout)

    def test_bad_input_is_refused(self):
        n = self.node
        for args in (["--domain", "x.test"],                      # no route
                     ["--route", "127.0.0.1:25"],                 # no domain
                     ["--domain", "x.test", "--route", "nohost"],  # bad route
                     ["--domain", "x.test", "--route", "h:1", "--tag-at", "lots"]):
            p = n.mx("tenant", "add", "bad", *args)
            self.assertNotEqual(p.returncode, 0, args)
        self.assertNotIn("bad", n.mx("tenant", "list").stdout)


class ConfigCli(unittest.TestCase):
    def test_show_applies_overrides_and_hides_secrets(self):
        n = Node(config={"cluster.redis_password": "s3cr3t-value", "smtp.max_recipients": "42"})
        try:
            out = n.mx("config", "show", "-o", "queue.hash_depth=2", check=True).stdout
            self.assertIn("smtp.max_recipients = 42", out)
            self.assertIn("queue.hash_depth = 2", out)
            self.assertIn("cluster.redis_password = (set)", out)
            self.assertNotIn("s3cr3t-value", out)
            p = n.mx("config", "show", "-o", "smtp.max_recipients=0")
            self.assertEqual(p.returncode, 2)
            self.assertIn("smtp.max_recipients", p.stderr)
            p = n.mx("config", "show", "-o", "nosuch.key=1")
            self.assertEqual(p.returncode, 2)
        finally:
            n.cleanup()

    def test_token_is_made_once_and_private(self):
        n = Node()
        try:
            t1 = n.token()
            t2 = n.token()
            self.assertEqual(t1, t2)
            self.assertRegex(t1, r"^[0-9a-f]{64}$")
            mode = stat.S_IMODE(os.stat(os.path.join(n.home, "api.token")).st_mode)
            self.assertEqual(mode, 0o600)
        finally:
            n.cleanup()


class Help(unittest.TestCase):
    def test_every_command_has_help(self):
        for c in COMMANDS:
            p = subprocess.run([MXTOWER, c, "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self.assertEqual(p.returncode, 0, "%s --help: %s" % (c, p.stderr))
            self.assertIn("usage", p.stdout.lower(), c)

    def test_unknown_command(self):
        p = subprocess.run([MXTOWER, "frobnicate"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown command", p.stderr)


if __name__ == "__main__":
    unittest.main()
