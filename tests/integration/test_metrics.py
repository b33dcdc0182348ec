"""/metrics: Prometheus text format that promtool accepts, with the counters, gauges and the
scan latency histogram moving when mail flows; 401 without the token."""
import re
import subprocess
import unittest

from mxtest import make_message, wait_until
from webhttp import request, web_node, web_node_stop

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def parse(text):
    """{(name, labels): value} of every sample line; raises on a malformed line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise AssertionError("malformed sample line: %r" % line)
        out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sink, cls.node, cls.token = web_node({"node.datacentre": "ams-1"})

    @classmethod
    def tearDownClass(cls):
        web_node_stop(cls.sink, cls.node)

    def scrape(self):
        r = request(self.node.http_port, "GET", "/metrics", token=self.token)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("Content-Type").startswith("text/plain; version=0.0.4"))
        return r.body.decode()

    def test_promtool_accepts_it_and_it_moves(self):
        before = parse(self.scrape())
        acc = ('mxtower_messages_accepted_total', '{node="node1"}')
        self.assertIn(acc, before)
        for i in range(3):
            self.node.send("alice@sender.test", ["bob@example.test"], make_message(subject="m%d" % i))
        self.sink.wait_count(3, 60)

        def moved():
            m = parse(self.scrape())
            return (m[acc] >= before[acc] + 3 and
                    m[('mxtower_messages_delivered_total', '{node="node1"}')] >= 3 and
                    m[('mxtower_scan_latency_seconds_count', '{node="node1"}')] >= 3) and m
        m = wait_until(moved, 30, 0.25, what="metrics to move")
        text = self.scrape()
        p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

        # Bytes per link, queue gauges per queue, the colour as a state set.
        self.assertGreater(m[('mxtower_received_bytes_total', '{node="node1",link="ams-1"}')], 0)
        self.assertGreater(m[('mxtower_sent_bytes_total', '{node="node1",link="ams-1"}')], 0)
        for q in ("active", "deferred", "hold", "quarantine", "unscanned"):
            self.assertIn(('mxtower_queue_messages', '{node="node1",queue="%s"}' % q), m)
        colours = [k for k in m if k[0] == "mxtower_node_colour" and m[k] == 1]
        self.assertEqual(len(colours), 1, colours)

        # The histogram is cumulative and its +Inf bucket equals the count.
        buckets = sorted(((float(re.search(r'le="([^"]+)"', k[1]).group(1)), v) for k, v in m.items()
                          if k[0] == "mxtower_scan_latency_seconds_bucket"))
        self.assertEqual(len(buckets), 12)
        self.assertEqual(buckets[-1][0], float("inf"))
        self.assertEqual([v for _, v in buckets], sorted(v for _, v in buckets))
        self.assertEqual(buckets[-1][1], m[('mxtower_scan_latency_seconds_count', '{node="node1"}')])
        self.assertGreater(m[('mxtower_scan_latency_seconds_sum', '{node="node1"}')], 0)

    def test_metrics_need_the_token(self):
        self.assertEqual(request(self.node.http_port, "GET", "/metrics").status, 401)
        self.assertEqual(request(self.node.http_port, "GET", "/metrics", token="x" * 64).status, 401)


if __name__ == "__main__":
    unittest.main()
