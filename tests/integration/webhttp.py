"""webhttp - small HTTP helpers for the web process's tests (standard library only)."""
import http.client
import json

from mxtest import wait_until


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


def request(port, method, path, body=None, token=None, cookie=None, headers=None, timeout=10):
    """One request on a fresh connection; returns a Reply (never raises on HTTP status)."""
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = "Bearer " + token
    if cookie is not None:
        h["Cookie"] = cookie
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        h.setdefault("Content-Type", "application/json")
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        return Reply(r.status, r.getheaders(), r.read())
    finally:
        c.close()


def get_json(port, path, token):
    r = request(port, "GET", path, token=token)
    if r.status != 200:
        raise AssertionError("GET %s: %d %r" % (path, r.status, r.body[:300]))
    return r.json()


def status(node, token):
    return get_json(node.http_port, "/api/v1/status", token)


def wait_colour(node, token, colour, timeout=60, reason=None):
    """Wait until the API shows colour (and reason contains `reason`); returns the node JSON."""
    def check():
        n = status(node, token)["node"]
        if n["colour"] == colour and (reason is None or reason in n["reason"]):
            return n
        return None
    return wait_until(check, timeout, 0.25, what="colour %s (%s)" % (colour, reason))


def web_node(config):
    """A started node (with config) whose tenant acme (example.test) is routed to a started
    sink, with its web process answering: (sink, node, token)."""
    from mxtest import node_with_sink
    sink, node = node_with_sink(config)
    token = node.token()
    wait_web(node, token)
    return sink, node, token


def web_node_stop(sink, node):
    from mxtest import stop_node_and_sink
    stop_node_and_sink(node, sink)


def wait_web(node, token, timeout=30):
    """Wait until the web process answers the API."""
    return wait_until(lambda: request(node.http_port, "GET", "/api/v1/nodes", token=token).status == 200,
                      timeout, 0.1, what="web process to answer")
