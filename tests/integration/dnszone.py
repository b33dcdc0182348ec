"""dnszone - a real DNS server for the auth and dnsbl tests: dnsmasq on 127.0.0.1 and a free
port, answering only from the records it is given (no upstream, no /etc/hosts), authoritative
for their domains (--local), so an unknown name is NXDOMAIN rather than REFUSED. Every query
is logged, so a test can tell whether the node asked anything at all.

Records: ("TXT", name, text) with text of any length (split into 255-byte strings, as DKIM keys
need), ("A", name, addr), ("AAAA", name, addr), ("MX", name, host)."""
import os
import shutil
import subprocess
import tempfile

from mxtest import _live, free_port, wait_until


class DnsServer:
    def __init__(self, records, domains):
        self.tmp = tempfile.mkdtemp(prefix="mxdns-")
        self.port = free_port()
        self.logpath = os.path.join(self.tmp, "dnsmasq.log")
        self.records = records
        self.domains = domains
        self.proc = None

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def start(self):
        # free_port() asks TCP; the UDP port may still be taken: try a few ports.
        for attempt in range(3):
            try:
                return self._start()
            except AssertionError:
                if attempt == 2:
                    raise
                self.port = free_port()

    def _start(self):
        args = [shutil.which("dnsmasq") or "/usr/sbin/dnsmasq", "--keep-in-foreground",
                "--conf-file=/dev/null", "--port=%d" % self.port, "--listen-address=127.0.0.1",
                "--bind-interfaces", "--no-resolv", "--no-hosts", "--pid-file=",
                "--log-queries", "--log-facility=" + self.logpath, "--user=root"]
        for d in self.domains:
            args.append("--local=/%s/" % d)
        for kind, name, value in self.records:
            if kind == "TXT":
                chunks = [value[i:i + 255] for i in range(0, len(value), 255)] or [""]
                args.append("--txt-record=%s,%s" % (name, ",".join(chunks)))
            elif kind in ("A", "AAAA"):
                args.append("--host-record=%s,%s" % (name, value))
            elif kind == "MX":
                args.append("--mx-host=%s,%s" % (name, value))
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if self not in _live:
            _live.append(self)
        wait_until(lambda: self.proc.poll() is not None or "started" in self.log(), 10,
                   what="dnsmasq to start")
        if self.proc.poll() is not None:
            raise AssertionError("dnsmasq exited: %s" % self.proc.stderr.read().decode())
        return self

    def log(self):
        try:
            with open(self.logpath) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def queries(self):
        return [l for l in self.log().splitlines() if " query[" in l]

    def stop(self, check=True):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()
        if self in _live:
            _live.remove(self)
        shutil.rmtree(self.tmp, ignore_errors=True)
