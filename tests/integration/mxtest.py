"""mxtest - what every integration test uses: a real node, a real sink, free ports, waiting.

Everything runs on 127.0.0.1. A Node is `mxtower serve` with its own temporary home and config;
a Sink is `mxtower sink` standing in for a client company's server. Both are stopped when the test
process exits, and a Node's log is checked for sanitizer reports when it stops: an ASan or UBSan
report in any node process fails the test that stopped it.
"""
import atexit
import email
import glob
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MXTOWER = os.environ.get("MXTOWER", os.path.join(ROOT, "build", "asan", "mxtower"))
MXTOWER_REL = os.environ.get("MXTOWER_REL", os.path.join(ROOT, "build", "mxtower"))
TOOLS = os.environ.get("MXTOWER_TOOLS", os.path.join(ROOT, "build", "tools"))
CORPORA = os.environ.get("MXTOWER_CORPORA", os.path.normpath(os.path.join(ROOT, "..", "shared", "corpora")))

SANITIZER_RE = re.compile(r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer")

_live = []
_homes = []


def shm_scratch_glob(home):
    """The scan workers' tmpfs scratch dirs of HOME (src/scan/worker.c: FNV-1a of its real path)."""
    h = 1469598103934665603
    for c in os.path.realpath(home).encode():
        h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "/dev/shm/mxtower-%016x.scan-*" % h


def _cleanup():
    for obj in list(_live):
        try:
            obj.stop(check=False)
        except Exception:
            pass
    # A node killed with -9 leaves its workers' scratch on /dev/shm; its home is gone with
    # the test, so no later node would reuse (and empty) it.
    for home in _homes:
        for d in glob.glob(shm_scratch_glob(home)):
            shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(fn, timeout=10.0, interval=0.05, what="condition"):
    """Call fn until it returns a true value; return that value, or raise after timeout."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = fn()
            if last:
                return last
        except (OSError, smtplib.SMTPException) as e:
            last = e
        time.sleep(interval)
    raise AssertionError("timed out after %.1fs waiting for %s (last: %r)" % (timeout, what, last))


def smtp_answers(port, timeout=1.0):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        banner = s.recv(512)
        s.sendall(b"QUIT\r\n")
        return banner.startswith(b"220")


def make_message(sender="alice@sender.test", to="bob@example.test", subject="hello", body="Hello there.\r\n", headers=None):
    """A small RFC 5322 message with CRLF line ends, as bytes."""
    lines = ["From: <%s>" % sender, "To: <%s>" % to, "Subject: %s" % subject,
             "Message-ID: <%d.%d@sender.test>" % (time.time_ns(), os.getpid()),
             "Date: Sat, 28 Nov 2026 12:00:00 +0000", "MIME-Version: 1.0",
             "Content-Type: text/plain; charset=us-ascii"]
    for k, v in (headers or {}).items():
        lines.append("%s: %s" % (k, v))
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


class Sink:
    """`mxtower sink`: a client's server that writes what it receives into a Maildir."""

    def __init__(self, maildir=None, port=None, fail=None, fail_times=None, binary=None):
        self.dir = tempfile.mkdtemp(prefix="mxsink-")
        self.maildir = maildir or os.path.join(self.dir, "Maildir")
        self.port = port or free_port()
        self.fail = fail or {}
        self.fail_times = fail_times
        self.binary = binary or MXTOWER
        self.proc = None
        self.logpath = os.path.join(self.dir, "sink.log")

    @property
    def route(self):
        return "127.0.0.1:%d" % self.port

    def start(self):
        cmd = [self.binary, "sink", "--listen", self.route, "--maildir", self.maildir]
        for addr, reply in self.fail.items():
            cmd += ["--fail", "%s=%s" % (addr, reply)]
        if self.fail_times is not None:
            cmd += ["--fail-times", str(self.fail_times)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(self.logpath, "ab"),
                                     start_new_session=True)
        _live.append(self)
        wait_until(lambda: self.proc.poll() is not None or smtp_answers(self.port), 15, what="sink to listen")
        if self.proc.poll() is not None:
            raise AssertionError("sink exited: %s" % self.log())
        return self

    def stop(self, check=True):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self in _live:
            _live.remove(self)
        if check and SANITIZER_RE.search(self.log()):
            raise AssertionError("sanitizer report in sink log:\n" + self.log()[-4000:])

    def log(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def files(self):
        d = os.path.join(self.maildir, "new")
        if not os.path.isdir(d):
            return []
        names = [os.path.join(d, n) for n in os.listdir(d)]
        return sorted(names, key=lambda p: (os.stat(p).st_mtime_ns, p))

    def messages(self):
        out = []
        for p in self.files():
            with open(p, "rb") as f:
                out.append(f.read())
        return out

    def parsed(self):
        return [email.message_from_bytes(m) for m in self.messages()]

    def wait_count(self, n, timeout=30):
        wait_until(lambda: len(self.files()) >= n, timeout, what="%d messages in the sink" % n)
        return self.messages()


class Node:
    """`mxtower serve` with its own home, config and ports."""

    def __init__(self, config=None, home=None, binary=None, scan_workers=None, env=None):
        self.tmp = tempfile.mkdtemp(prefix="mxnode-")
        self.home = home or os.path.join(self.tmp, "home")
        os.makedirs(self.home, exist_ok=True)
        _homes.append(self.home)
        self.smtp_port = free_port()
        self.http_port = free_port()
        self.binary = binary or MXTOWER
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.logpath = os.path.join(self.tmp, "node.log")
        self.ini = os.path.join(self.tmp, "mxtower.ini")
        cfg = {
            "node.name": "node1", "node.tower": "tower1", "node.datacentre": "dc1",
            "smtp.listen": "127.0.0.1:%d" % self.smtp_port, "smtp.hostname": "mx.node1.test",
            "http.listen": "127.0.0.1:%d" % self.http_port,
            "queue.retry_min": "1", "queue.retry_max": "4",
            "scan.workers": "1",
        }
        cfg.update(config or {})
        self.config = cfg
        self.write_config()

    def write_config(self):
        sections = {}
        for k, v in self.config.items():
            sec, key = k.split(".", 1)
            sections.setdefault(sec, []).append("%s = %s" % (key, v))
        with open(self.ini, "w") as f:
            for sec, lines in sections.items():
                f.write("[%s]\n%s\n\n" % (sec, "\n".join(lines)))

    def mx(self, *args, check=False, input=None, timeout=120, binary=None):
        """Run `mxtower ARGS -c INI --home HOME`; returns the CompletedProcess (text)."""
        cmd = [binary or self.binary, *args, "-c", self.ini, "--home", self.home]
        p = subprocess.run(cmd, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, text=True)
        if check and p.returncode != 0:
            raise AssertionError("%s failed (%d): %s%s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
        return p

    def add_tenant(self, name, domain, route, *extra):
        domains = [domain] if isinstance(domain, str) else list(domain)
        args = ["tenant", "add", name]
        for d in domains:
            args += ["--domain", d]
        args += ["--route", route, *extra]
        return self.mx(*args, check=True)

    def start(self, timeout=60, wait_scan=True):
        """Start and wait until SMTP answers and (wait_scan) every scan worker is ready, so
        that the first message gets a verdict instead of the scan deadline."""
        self._log_size_at_start = len(self.log())
        self.proc = subprocess.Popen([self.binary, "serve", "-c", self.ini, "--home", self.home],
                                     stdout=subprocess.DEVNULL, stderr=open(self.logpath, "ab"),
                                     start_new_session=True, env=self.env)
        if self not in _live:
            _live.append(self)
        wait_until(lambda: self.proc.poll() is not None or smtp_answers(self.smtp_port), timeout,
                   what="node to answer SMTP")
        if self.proc.poll() is not None:
            raise AssertionError("node exited (%s):\n%s" % (self.proc.returncode, self.log()[-4000:]))
        workers = int(self.config.get("scan.workers", "1"))
        if wait_scan and workers > 0 and self.config.get("scan.scanners", "all") != "none":
            mark = self._log_size_at_start
            wait_until(lambda: len(set(re.findall(r"scan: worker (\d+) ready", self.log()[mark:]))) >= workers,
                       timeout, what="%d scan workers ready" % workers)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, check=True, timeout=40):
        """SIGTERM: the node drains and stops. Fails the test on a sanitizer report."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
                if check:
                    raise AssertionError("node did not stop within %ds" % timeout)
        self._reap_group()
        if self in _live:
            _live.remove(self)
        if check:
            self.check_log()

    def check_log(self):
        log = self.log()
        m = SANITIZER_RE.search(log)
        if m:
            raise AssertionError("sanitizer report in node log:\n" + log[max(0, m.start() - 2000):m.start() + 6000])

    def kill9(self):
        """kill -9 the master and every child at once (a crash of the whole node)."""
        if self.proc:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self._reap_group()

    def _reap_group(self):
        # Children may outlive a killed master for a moment; wait until the group is empty.
        if not self.proc:
            return
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def children(self):
        """{kind: [pid, ...]} of the live children, from the master's 'started' log lines."""
        out = {}
        for m in re.finditer(r"started (\w+)\[(\d+)\] pid=(\d+)", self.log()):
            pid = int(m.group(3))
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                continue
            out.setdefault(m.group(1), []).append(pid)
        return out

    def kill9_child(self, kind):
        """kill -9 one child of that kind ('smtpd', 'qmgr', 'scan', 'web'); returns its pid."""
        pids = self.children().get(kind)
        if not pids:
            raise AssertionError("no live %s child" % kind)
        os.kill(pids[-1], signal.SIGKILL)
        return pids[-1]

    def log(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def smtp(self, timeout=60):
        s = smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=timeout)
        return s

    def send(self, sender, rcpts, msg, ehlo="client.test"):
        """One SMTP transaction; returns smtplib's refused-recipients dict (raises on 5xx)."""
        with self.smtp() as s:
            s.ehlo(ehlo)
            return s.sendmail(sender, rcpts, msg)

    def transaction(self, sender, rcpts, msg, timeout=60):
        """One SMTP transaction; the (code, text) of the end-of-DATA reply, accepted (250 and
        the queue id) or refused. A refused sender, or every recipient refused, raises as
        smtplib's sendmail does."""
        s = self.smtp(timeout=timeout)
        try:
            s.ehlo("client.test")
            code, resp = s.mail(sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, resp, sender)
            refused = {}
            for r in rcpts:
                code, resp = s.rcpt(r)
                if code not in (250, 251):
                    refused[r] = (code, resp)
            if len(refused) == len(rcpts):
                raise smtplib.SMTPRecipientsRefused(refused)
            code, text = s.data(msg)
            return code, text.decode("utf-8", "replace")
        except smtplib.SMTPDataError as e:
            return e.smtp_code, e.smtp_error.decode("utf-8", "replace")
        finally:
            try:
                s.quit()
            except smtplib.SMTPException:
                s.close()

    def refusal(self, sender, rcpts, msg, timeout=60):
        """One SMTP transaction; None when the message was accepted, else the (code, text) of
        the refusal at end of DATA."""
        code, text = self.transaction(sender, rcpts, msg, timeout=timeout)
        return None if code == 250 else (code, text)

    def token(self):
        return self.mx("token", check=True).stdout.strip()

    def queue_files(self, d="active"):
        base = os.path.join(self.home, "queue", d)
        out = []
        for root, _, files in os.walk(base):
            out += [os.path.join(root, f) for f in files]
        return out

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def node_with_sink(config=None, tenant="acme", domain="example.test"):
    """A started sink and a started node (with config) whose tenant is routed to it."""
    sink = Sink().start()
    node = Node(config=config)
    node.add_tenant(tenant, domain, sink.route)
    node.start()
    return sink, node


def stop_node_and_sink(node, sink):
    node.stop()
    sink.stop()
    node.cleanup()


def sink_header(raw, name):
    """The <address> of the sink's X-Sink-NAME header (Rcpt-To, Mail-From) in raw, or None."""
    m = re.search(rb"^X-Sink-" + name.encode() + rb": <([^>]*)>", raw, re.M)
    return m.group(1).decode() if m else None


class NodeCase(unittest.TestCase):
    """A test case whose tests start their own node (self.node) and sinks (self.sinks); both
    are stopped after each test, whatever happened."""

    def setUp(self):
        self.sinks = []
        self.node = None

    def tearDown(self):
        if self.node:
            self.node.stop()
            self.node.cleanup()
        for s in self.sinks:
            s.stop()
