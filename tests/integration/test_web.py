"""The web process: token on every API request, login cookie, HTTP limits, status agreeing
across the API and `mxtower status`, maintenance (blue) from the CLI and the API, and history
that survives a kill -9 of the web process."""
import http.client
import json
import os
import unittest

from mxtest import Node, Sink, make_message, wait_until
from webhttp import request, get_json, status, wait_colour, wait_web, web_node, web_node_stop

API_GETS = ["/api/v1/status", "/api/v1/nodes", "/api/v1/history", "/api/v1/history?res=1m",
            "/metrics", "/api/v1/quarantine", "/api/v1/stuck", "/api/v1/tracking?q=x",
            "/api/v1/suspects", "/api/v1/signatures"]


class WebTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sink, cls.node, cls.token = web_node({"node.spec_msgs": "1000"})

    @classmethod
    def tearDownClass(cls):
        web_node_stop(cls.sink, cls.node)

    def port(self):
        return self.node.http_port

    def maintenance_off(self):
        self.assertEqual(self.node.mx("node", "maintenance", check=True).stdout.strip(), "maintenance off")

    def test_no_token_or_bad_token_is_401_and_changes_nothing(self):
        wrong = ("0" if self.token[0] != "0" else "1") + self.token[1:]
        for path in API_GETS:
            for kw in ({}, {"token": wrong}, {"token": ""}, {"cookie": "mxtower_session=99999999999.abc"},
                       {"headers": {"Authorization": "Basic " + self.token}}):
                r = request(self.port(), "GET", path, **kw)
                self.assertEqual(r.status, 401, "%s %r" % (path, kw))
                self.assertNotIn(self.token.encode(), r.body)
        for kw in ({}, {"token": wrong}):
            r = request(self.port(), "POST", "/api/v1/maintenance", body={"on": True}, **kw)
            self.assertEqual(r.status, 401)
            r = request(self.port(), "POST", "/api/v1/quarantine/0123456789ABCDEF/delete", body={}, **kw)
            self.assertEqual(r.status, 401)
        self.maintenance_off()
        self.assertNotEqual(status(self.node, self.token)["node"]["colour"], "blue")
        # The refusals are logged, the token never is.
        wait_until(lambda: "http: 401" in self.node.log(), 5, what="401 in the log")
        self.assertNotIn(self.token, self.node.log())

    def test_page_is_public_and_holds_no_secret(self):
        for path, ctype in (("/", "text/html"), ("/app.js", "text/javascript"), ("/style.css", "text/css")):
            r = request(self.port(), "GET", path)
            self.assertEqual(r.status, 200, path)
            self.assertTrue(r.header("Content-Type").startswith(ctype), r.header("Content-Type"))
            self.assertNotIn(self.token.encode(), r.body)
            self.assertIn("default-src 'self'", r.header("Content-Security-Policy"))
        self.assertIn(b'id="login-token"', request(self.port(), "GET", "/").body)
        self.assertEqual(request(self.port(), "GET", "/nope").status, 404)
        self.assertEqual(request(self.port(), "POST", "/", body="x").status, 405)

    def test_login_gives_a_cookie_that_is_not_the_token(self):
        r = request(self.port(), "POST", "/api/v1/login", body={"token": "f" * 64})
        self.assertEqual(r.status, 401)
        self.assertIsNone(r.header("Set-Cookie"))
        r = request(self.port(), "POST", "/api/v1/login", body={"token": self.token})
        self.assertEqual(r.status, 200)
        setc = r.header("Set-Cookie")
        self.assertIn("HttpOnly", setc)
        self.assertIn("SameSite=Strict", setc)
        cookie = setc.split(";")[0]
        self.assertNotIn(self.token, cookie)
        self.assertEqual(request(self.port(), "GET", "/api/v1/nodes", cookie=cookie).status, 200)
        # A tampered cookie is refused.
        name, value = cookie.split("=", 1)
        bad = name + "=" + value[:-1] + ("0" if value[-1] != "0" else "1")
        self.assertEqual(request(self.port(), "GET", "/api/v1/nodes", cookie=bad).status, 401)
        # A write by cookie needs the page's CSRF header; without it: 403 and nothing changes.
        r = request(self.port(), "POST", "/api/v1/maintenance", body={"on": True}, cookie=cookie)
        self.assertEqual(r.status, 403)
        self.maintenance_off()
        r = request(self.port(), "POST", "/api/v1/maintenance", body={"on": False}, cookie=cookie,
                    headers={"X-Mxtower-Csrf": "1"})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"maintenance": False})

    def test_header_and_body_limits(self):
        r = request(self.port(), "GET", "/api/v1/status", token=self.token, headers={"X-Pad": "a" * 40000})
        self.assertEqual(r.status, 431)
        body = json.dumps({"on": True, "pad": "x" * 20000})
        r = request(self.port(), "POST", "/api/v1/maintenance", body=body, token=self.token)
        self.assertEqual(r.status, 413)
        self.maintenance_off()
        # Just under the limits is fine.
        r = request(self.port(), "GET", "/api/v1/status", token=self.token, headers={"X-Pad": "a" * 4000})
        self.assertEqual(r.status, 200)
        r = request(self.port(), "POST", "/api/v1/maintenance", token=self.token,
                    body=json.dumps({"on": False, "pad": "x" * 8000}))
        self.assertEqual(r.status, 200)

    def test_counters_move_and_status_agrees_with_the_api(self):
        before = status(self.node, self.token)["node"]["totals"]
        for i in range(2):
            self.node.send("alice@sender.test", ["bob@example.test"], make_message(subject="web %d" % i))

        def moved():
            t = status(self.node, self.token)["node"]["totals"]
            return (t["messages_accepted"] >= before["messages_accepted"] + 2 and
                    t["messages_delivered"] >= before["messages_delivered"] + 2 and
                    t["bytes_in"] > before["bytes_in"] and t["connections"] > before["connections"]) and t
        wait_until(moved, 60, 0.25, what="counters to move")
        api = status(self.node, self.token)
        cli = json.loads(self.node.mx("status", "--json", check=True).stdout)
        self.assertEqual(cli["node"]["name"], "node1")
        self.assertEqual(cli["towers"][0]["name"], "tower1")
        self.assertEqual((cli["node"]["colour"], cli["node"]["reason"]), (api["node"]["colour"], api["node"]["reason"]))
        self.assertGreaterEqual(cli["node"]["totals"]["messages_accepted"], before["messages_accepted"] + 2)
        kinds = {p["kind"] for p in api["node"]["processes"] if p["live"]}
        self.assertTrue({"master", "smtpd", "qmgr", "scan", "web"} <= kinds, kinds)
        text = self.node.mx("status", check=True).stdout
        self.assertIn("node node1 (dc1): %s" % api["node"]["colour"], text)
        self.assertEqual(api["towers"][0]["nodes"][0]["name"], "node1")

        # Tracking finds them by sender, by recipient and by queue id.
        def tracked():
            r = get_json(self.port(), "/api/v1/tracking?q=alice%40sender.test", self.token)["results"]
            return [x for x in r if x["fate"] == "delivered"] if len(r) >= 2 else None
        found = wait_until(tracked, 30, 0.25, what="tracking records")
        by_rcpt = get_json(self.port(), "/api/v1/tracking?q=bob%40example", self.token)["results"]
        self.assertTrue({x["id"] for x in found} <= {x["id"] for x in by_rcpt})
        one = get_json(self.port(), "/api/v1/tracking?q=" + found[0]["id"], self.token)["results"]
        self.assertEqual([x["id"] for x in one], [found[0]["id"]])
        self.assertEqual(get_json(self.port(), "/api/v1/quarantine", self.token), {"messages": [], "count": 0})
        r = request(self.port(), "POST", "/api/v1/quarantine/%s/release" % found[0]["id"], body={}, token=self.token)
        self.assertEqual(r.status, 404)
        r = request(self.port(), "POST", "/api/v1/quarantine/..%2F..%2Fdb/delete", body={}, token=self.token)
        self.assertIn(r.status, (400, 404))

    def test_maintenance_blue_from_cli_and_api_and_it_persists(self):
        self.assertEqual(self.node.mx("node", "maintenance", "on", check=True).stdout.strip(), "maintenance on")
        n = wait_colour(self.node, self.token, "blue", 15, "maintenance")
        self.assertTrue(n["maintenance"])
        cli = json.loads(self.node.mx("status", "--json", check=True).stdout)
        self.assertEqual(cli["node"]["colour"], "blue")
        r = request(self.port(), "POST", "/api/v1/maintenance", body={"on": False}, token=self.token)
        self.assertEqual(r.status, 200)
        self.maintenance_off()
        wait_colour(self.node, self.token, "green", 30)
        r = request(self.port(), "POST", "/api/v1/maintenance", body={"on": "maybe"}, token=self.token)
        self.assertEqual(r.status, 400)
        r = request(self.port(), "POST", "/api/v1/maintenance", body={"on": True}, token=self.token)
        self.assertEqual(r.status, 200)
        wait_colour(self.node, self.token, "blue", 15)
        # The flag survives a restart of the whole node.
        self.node.stop()
        self.node.start()
        wait_web(self.node, self.token)
        wait_colour(self.node, self.token, "blue", 15)
        self.node.mx("node", "maintenance", "off", check=True)
        wait_colour(self.node, self.token, "green", 30)
        self.assertEqual(self.node.mx("node", "maintenance", "sideways").returncode, 2)

    def test_history_survives_a_kill_of_the_web_process(self):
        wait_until(lambda: len(get_json(self.port(), "/api/v1/history", self.token)["t"]) >= 4, 20, 0.25,
                   what="history samples")
        before = get_json(self.port(), "/api/v1/history", self.token)
        self.assertEqual(before["resolution"], 1)
        self.assertIn("dc1", before["links"])
        for k in ("msgs", "accepted", "delivered", "queue", "colour"):
            self.assertEqual(len(before[k]), len(before["t"]), k)
        old = self.node.kill9_child("web")
        wait_until(lambda: self.node.children().get("web") and old not in self.node.children()["web"], 30,
                   what="web restarted")
        wait_web(self.node, self.token)
        after = get_json(self.port(), "/api/v1/history", self.token)
        self.assertTrue(set(before["t"][:3]) <= set(after["t"]), (before["t"][:3], after["t"][:5]))
        self.assertTrue(os.path.exists(os.path.join(self.node.home, "db", "history.ring")))
        mins = get_json(self.port(), "/api/v1/history?res=1m", self.token)
        self.assertEqual(mins["resolution"], 60)
        self.assertEqual(request(self.port(), "GET", "/api/v1/history?res=7d", token=self.token).status, 400)

        def restarted_event():
            ev = status(self.node, self.token)["node"]["events"]
            return any("web[0] restarted" in e["text"] for e in ev)
        wait_until(restarted_event, 10, 0.25, what="restart in the events")

    def test_zz_rate_limit(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port(), timeout=10)
        codes = []
        retry_after = None
        try:
            for _ in range(400):
                c.request("GET", "/api/v1/nodes", headers={"Authorization": "Bearer " + self.token})
                r = c.getresponse()
                r.read()
                codes.append(r.status)
                if r.status == 429:
                    retry_after = r.getheader("Retry-After")
                    break
        finally:
            c.close()
        self.assertEqual(codes[-1], 429, "no 429 after %d requests" % len(codes))
        self.assertEqual(retry_after, "1")
        self.assertTrue(all(s == 200 for s in codes[:-1]))
        self.assertGreaterEqual(len(codes) - 1, 10)  # what the bucket held was served
        # The bucket refills: the dashboard works again a moment later.
        wait_until(lambda: request(self.port(), "GET", "/api/v1/nodes", token=self.token).status == 200, 10,
                   0.2, what="rate limit to refill")


class DeadNodeTest(unittest.TestCase):
    """A node killed outright: `mxtower status` (which needs no web process) says red, stopped
    reporting, with the totals it last had."""

    def test_killed_node_is_red_in_status(self):
        sink = Sink().start()
        node = Node()
        try:
            node.add_tenant("acme", "example.test", sink.route)
            node.start()
            token = node.token()
            wait_web(node, token)
            node.send("alice@sender.test", ["bob@example.test"], make_message())
            wait_until(lambda: status(node, token)["node"]["totals"]["messages_accepted"] >= 1, 30, 0.25,
                       what="the message counted")
            live = json.loads(node.mx("status", "--json", check=True).stdout)["node"]
            self.assertNotEqual(live["colour"], "red", live["reason"])
            node.kill9()

            def dead():
                n = json.loads(node.mx("status", "--json", check=True).stdout)["node"]
                return n if n["colour"] == "red" and "stopped reporting" in n["reason"] else None
            n = wait_until(dead, 40, 0.5, what="red: stopped reporting")
            self.assertGreaterEqual(n["totals"]["messages_accepted"], 1)
            self.assertFalse(any(p["live"] for p in n["processes"]))
            self.assertIn("red - stopped reporting", node.mx("status", check=True).stdout)
        finally:
            node.stop()
            sink.stop()
            node.cleanup()


if __name__ == "__main__":
    unittest.main()
