"""harness.py: what the weft integration tests share.

Real weftd processes on their own temporary data directories, driven
through the real weft CLI, exactly as a user would (the CLI sockets are
ipc:// under a temporary directory; only the mesh tests' peer sockets use
TCP, on 127.0.0.1). The pieces:

  Node          one weftd: start, stop (SIGTERM, exit code 0 required),
                kill9, restart (the arguments of the last start),
                try_start (for refusals), and weft(...) to run the CLI
                against it; prefix and cwd run weftd under a command
                (e.g. ip netns exec NS) or in a directory.
  free_port     a TCP port on 127.0.0.1 that nothing listens on now, for
                a node's --listen (the mesh tests).
  wait_for      polls a condition until it holds, within a bound.
  weft_cli      the CLI without a node (help, usage errors, no node).
  rawreq        send raw bytes to a node's socket (build/tests/rawreq).
  sp_request    the same in-process (a minimal nng REQ client), so the
                tests can check a node after every step without paying
                for a process each time (slow under sanitizers).
  mp_pack/mp_unpack  a small msgpack codec (canonical: sorted keys,
                shortest ints) for raw requests and for taking bundles
                apart; binary values decode to Bin, which remembers its
                offset in the input so a test can flip a byte inside it.
  snapshot      names, sizes, modes, mtimes and sha256 of a directory.
  main          the test runner: every test_* function of the calling
                module, in source order, then "N passed, M failed".

Every process is stopped by its own PID (at the end of its test, and
again at exit as a fallback) and every temporary directory is removed.

Environment: WEFT_BIN (the build directory holding weftd, weft and
tests/rawreq) and WEFT_CONFORMANCE (shared/conformance); both default
to the paths relative to this file.
"""

import atexit
import hashlib
import json as jsonlib
import os
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.abspath(
    os.environ.get("WEFT_BIN") or os.path.join(HERE, "..", "..", "build"))
CONFORMANCE = os.path.abspath(
    os.environ.get("WEFT_CONFORMANCE")
    or os.path.join(HERE, "..", "..", "..", "shared", "conformance"))
WEFTD = os.path.join(BIN, "weftd")
WEFT = os.path.join(BIN, "weft")
RAWREQ = os.path.join(BIN, "tests", "rawreq")

# How long to wait for things that should happen promptly. These only
# bound a wait: nothing is asserted about how long it took, and sanitizer
# builds are slow, so they are generous.
CALL_TIMEOUT = 120  # one CLI call
STOP_TIMEOUT = 30  # weftd to exit after SIGTERM
START_POLLS = 400  # x 25 ms for a new node's socket to answer
START_POLL_S = 0.025

_all_nodes = []  # every Node ever made, for the atexit fallback
_test_nodes = []  # Nodes made by the running test
_tmpdirs = []  # every temporary directory, removed at exit
_test_tmp = [None]  # the running test's temporary directory


def conformance(rel):
    """Returns the path of a conformance document (e.g. "odps/x.yaml")."""
    p = os.path.join(CONFORMANCE, rel)
    assert os.path.isfile(p), "conformance file missing: %s" % p
    return p


def tmpdir():
    """Returns the running test's temporary directory (made on first use)."""
    if _test_tmp[0] is None:
        d = tempfile.mkdtemp(prefix="weft-it-")
        _tmpdirs.append(d)
        _test_tmp[0] = d
    return _test_tmp[0]


def write(name, data):
    """Writes data (str or bytes) to tmpdir()/name and returns the path."""
    p = os.path.join(tmpdir(), name)
    with open(p, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    return p


def _env(extra=None):
    env = dict(os.environ)
    env.pop("WEFT_DATA", None)
    if extra:
        env.update(extra)
    return env


def _run(argv, input=None, env=None):
    if isinstance(input, str):
        input = input.encode()
    p = subprocess.run(argv, input=input, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=_env(env),
                       timeout=CALL_TIMEOUT)
    return p.returncode, p.stdout, p.stderr


def _text(b):
    return b.decode("utf-8", "replace")


def weft_cli(*args, input=None, env=None):
    """Runs weft with exactly args (no --data); returns (rc, out, err)."""
    rc, out, err = _run([WEFT] + [str(a) for a in args], input, env)
    return rc, _text(out), _text(err)


def weftd_cli(*args, env=None):
    """Runs weftd with args and waits for it; returns (rc, out, err)."""
    rc, out, err = _run([WEFTD] + [str(a) for a in args], None, env)
    return rc, _text(out), _text(err)


class Node:
    """One weftd on its own data directory, tmpdir()/name."""

    def __init__(self, name="node"):
        base = tmpdir()
        self.name = name
        self.dir = os.path.join(base, name)
        self.log = os.path.join(base, name + ".log")
        self.sock = os.path.join(self.dir, "weft.sock")
        self.url = "ipc://" + self.sock
        self.proc = None
        self.start_args = None  # (domain, *extra) of the last start
        # Run weftd as prefix + [weftd, ...] in directory cwd (None: the
        # test's): e.g. ["ip", "netns", "exec", NS], which execs weftd, so
        # the process's PID stays weftd's and stop/kill9 reach it.
        self.prefix = []
        self.cwd = None
        _all_nodes.append(self)
        _test_nodes.append(self)

    # ---- processes -------------------------------------------------------

    def start(self, domain=None, *extra):
        """Starts weftd and waits until `weft status` answers."""
        assert self.proc is None, "%s: already running" % self.name
        self.start_args = (domain,) + tuple(extra)
        argv = self._argv(domain, extra)
        with open(self.log, "ab") as logf:
            logf.write(("--- %s\n" % " ".join(argv)).encode())
            logf.flush()
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=logf, stderr=logf,
                                         env=_env(), cwd=self.cwd)
        for _ in range(START_POLLS):
            rc = self.proc.poll()
            if rc is not None:
                self.proc = None
                raise AssertionError("%s: weftd exited with %d at start:\n%s"
                                     % (self.name, rc, self.log_text()))
            if os.path.exists(self.sock):
                if self.weft("status")[0] == 0:
                    return self
            time.sleep(START_POLL_S)
        self._kill()
        raise AssertionError("%s: weftd did not answer `weft status` in time"
                             % self.name)

    def _argv(self, domain, extra):
        argv = list(self.prefix) + [WEFTD, "run", "--data", self.dir]
        if domain is not None:
            argv += ["--domain", domain]
        return argv + [str(a) for a in extra]

    def stop(self):
        """SIGTERM, then require exit code 0 (SIGKILL and fail on timeout)."""
        assert self.proc is not None, "%s: not running" % self.name
        p, self.proc = self.proc, None
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise AssertionError("%s: weftd did not exit within %d s of "
                                 "SIGTERM (killed)"
                                 % (self.name, STOP_TIMEOUT))
        assert rc == 0, "%s: weftd exited with %d after SIGTERM, want 0" % (
            self.name, rc)
        return rc

    def restart(self, *extra):
        """Starts the node again (after stop or kill9) on the same data
        directory with the arguments of its last start; extra, if given,
        replaces the arguments after the domain."""
        assert self.start_args is not None, "%s: never started" % self.name
        domain = self.start_args[0]
        return self.start(domain, *(extra or self.start_args[1:]))

    def kill9(self):
        """SIGKILL, as a crash or power loss would stop it."""
        assert self.proc is not None, "%s: not running" % self.name
        self._kill()

    def _kill(self):
        p, self.proc = self.proc, None
        if p is not None and p.poll() is None:
            p.kill()
        if p is not None:
            p.wait()

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def try_start(self, domain=None, *extra):
        """Runs a weftd that is expected to refuse to start; returns
        (rc, stderr). A weftd that starts anyway is stopped and fails."""
        argv = self._argv(domain, extra)
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=_env(), cwd=self.cwd)
        try:
            out, err = p.communicate(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGTERM)
            try:
                p.communicate(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
            raise AssertionError("%s started although it should have "
                                 "refused" % " ".join(argv))
        text = _text(err) + _text(out)
        with open(self.log, "ab") as logf:
            logf.write(("--- %s (refused, rc %d)\n%s" % (
                " ".join(argv), p.returncode, text)).encode())
        return p.returncode, text

    def log_text(self):
        try:
            with open(self.log, "rb") as f:
                return _text(f.read())
        except OSError:
            return "(no log)"

    # ---- the CLI ---------------------------------------------------------

    def weft(self, *args, input=None, json=False):
        """Runs `weft --data DIR [--json] ARGS`; returns (rc, out, err).
        With json=True, out is the parsed JSON (None if stdout is empty)."""
        argv = [WEFT, "--data", self.dir] + (["--json"] if json else [])
        rc, out, err = _run(argv + [str(a) for a in args], input)
        if not json:
            return rc, _text(out), _text(err)
        try:
            doc = jsonlib.loads(out) if out.strip() else None
        except ValueError as e:
            raise AssertionError(
                "weft %s --json printed invalid JSON (%s):\n%r"
                % (" ".join(map(str, args)), e, out[:2000]))
        return rc, doc, _text(err)

    def ok(self, *args, input=None, json=True):
        """weft(...) that must exit 0; returns stdout (parsed with json)."""
        rc, out, err = self.weft(*args, input=input, json=json)
        assert rc == 0, "weft %s: exit %d, want 0; stderr: %s" % (
            " ".join(map(str, args)), rc, err)
        return out

    def publish(self, *paths, input=None):
        """Publishes and requires success; returns the list of results."""
        doc = self.ok("publish", *paths, input=input)
        res = doc["results"]
        for r in res:
            assert r["ok"] is True and r["code"] == 0, "publish %s: %r" % (
                r.get("file"), r)
        return res

    def get(self, pid, version=None):
        args = ["get", pid] + (["--version", version] if version else [])
        return self.ok(*args)

    def products(self, *args):
        """The products of `weft list ARGS --json`, keyed by id."""
        doc = self.ok("list", *args)
        assert set(doc) == {"products"}, "list --json: keys %r" % sorted(doc)
        return {p["id"]: p for p in doc["products"]}

    def status(self):
        return self.ok("status")

    def call(self, op, **fields):
        """Asks the node directly (no weft process): the decoded reply."""
        req = dict(fields)
        req["op"] = op
        return mp_unpack(sp_request(self.sock, mp_pack(req)))

    def answers(self, what="the last request"):
        """Requires the node to be running and to answer status; returns
        the status reply."""
        assert self.running(), "%s: weftd died after %s:\n%s" % (
            self.name, what, self.log_text())
        try:
            st = self.call("status")
        except (OSError, EOFError) as e:
            raise AssertionError("%s: weftd does not answer after %s: %s"
                                 % (self.name, what, e))
        assert st.get("ok") is True, "status after %s: %r" % (what, st)
        return st

    def quick_state(self):
        """{id: (version, seq, status, hash)} from a direct list request."""
        rep = self.call("list")
        assert rep.get("ok") is True, rep
        return {p["id"]: (p["version"], p["seq"], p["status"], p["hash"])
                for p in rep["products"]}

    def catalog_state(self):
        """{id: (version, seq, status, hash)} of everything listed."""
        return {k: (p["version"], p["seq"], p["status"], p["hash"])
                for k, p in self.products().items()}


def free_port():
    """A TCP port on 127.0.0.1 with no listener now (bound to port 0, then
    closed). Another process may take it before the caller binds it, so a
    caller that cannot bind it should ask for another."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def proc_kib(pid, field):
    """A field of /proc/PID/status in kB (VmHWM, VmRSS, RssFile...); 0 if
    absent."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def wait_for(cond, what, timeout=60, poll=0.05):
    """Calls cond() until it returns something true and returns that; after
    timeout seconds fails with what (a string, or a function returning one,
    called then, to describe the state that did not come)."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("not within %g s: %s" % (
                timeout, what() if callable(what) else what))
        time.sleep(poll)


def sp_request(sock, data, timeout=CALL_TIMEOUT):
    """Sends data as one request to the nng REP socket at path sock and
    returns the reply body: a minimal nng REQ client over the SP-over-IPC
    framing (8-byte hello, then 0x01 + 8-byte length + request id + body),
    so a test can ask a node something without starting a process."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)

    def read(n):
        b = b""
        while len(b) < n:
            c = s.recv(n - len(b))
            if not c:
                raise EOFError("%s closed the connection" % sock)
            b += c
        return b

    try:
        s.connect(sock)
        s.sendall(b"\x00SP\x00" + struct.pack(">HH", 0x30, 0))  # REQ0
        hello = read(8)
        assert hello[:4] == b"\x00SP\x00" and hello[4:6] == b"\x00\x31", (
            "%s: not an nng REP socket: %r" % (sock, hello))
        msg = struct.pack(">I", 0x80000001) + data
        s.sendall(b"\x01" + struct.pack(">Q", len(msg)) + msg)
        read(1)
        n = struct.unpack(">Q", read(8))[0]
        reply = read(n)
    finally:
        s.close()
    assert reply[:4] == b"\x80\x00\x00\x01", "bad request id in the reply"
    return reply[4:]


def rawreq(node, data):
    """Sends data as one raw request to node with build/tests/rawreq;
    returns (rc, reply bytes, stderr)."""
    p = subprocess.run([RAWREQ, node.url], input=data, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=CALL_TIMEOUT)
    return p.returncode, p.stdout, _text(p.stderr)


def snapshot(d, exclude=("weftd.lock",)):
    """{name: (size, mode, mtime_ns, sha256)} of everything in directory d."""
    out = {}
    for root, dirs, files in os.walk(d):
        for n in sorted(dirs + files):
            p = os.path.join(root, n)
            rel = os.path.relpath(p, d)
            if rel in exclude:
                continue
            st = os.lstat(p)
            h = None
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    h = hashlib.sha256(f.read()).hexdigest()
            out[rel] = (st.st_size, oct(st.st_mode), st.st_mtime_ns, h)
    return out


def snapshot_diff(a, b):
    """Says how two snapshots differ, for assertion messages."""
    lines = []
    for k in sorted(set(a) | set(b)):
        if k not in a:
            lines.append("  created  %s" % k)
        elif k not in b:
            lines.append("  removed  %s" % k)
        elif a[k] != b[k]:
            what = [f for f, x, y in zip(("size", "mode", "mtime", "sha256"),
                                         a[k], b[k]) if x != y]
            lines.append("  changed  %s (%s)" % (k, ", ".join(what)))
    return "\n".join(lines)


# ---- msgpack -------------------------------------------------------------


class Bin(bytes):
    """A msgpack bin value; offset is where its bytes start in the input."""
    offset = 0


def mp_pack(v):
    """Canonical msgpack: map keys sorted bytewise, shortest forms."""
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        if 0 <= v < 0x80:
            return bytes([v])
        if -32 <= v < 0:
            return struct.pack("b", v)
        for lo, hi, code, fmt in ((0, 0xff, 0xcc, ">B"),
                                  (0, 0xffff, 0xcd, ">H"),
                                  (0, 0xffffffff, 0xce, ">I"),
                                  (0, 2**64 - 1, 0xcf, ">Q"),
                                  (-0x80, 0x7f, 0xd0, ">b"),
                                  (-0x8000, 0x7fff, 0xd1, ">h"),
                                  (-2**31, 2**31 - 1, 0xd2, ">i"),
                                  (-2**63, 2**63 - 1, 0xd3, ">q")):
            if lo <= v <= hi:
                return bytes([code]) + struct.pack(fmt, v)
        raise ValueError("int out of range")
    if isinstance(v, str):
        b = v.encode()
        n = len(b)
        if n < 32:
            return bytes([0xa0 | n]) + b
        if n < 0x100:
            return b"\xd9" + bytes([n]) + b
        if n < 0x10000:
            return b"\xda" + struct.pack(">H", n) + b
        return b"\xdb" + struct.pack(">I", n) + b
    if isinstance(v, (bytes, bytearray)):
        n = len(v)
        if n < 0x100:
            return b"\xc4" + bytes([n]) + bytes(v)
        if n < 0x10000:
            return b"\xc5" + struct.pack(">H", n) + bytes(v)
        return b"\xc6" + struct.pack(">I", n) + bytes(v)
    if isinstance(v, (list, tuple)):
        n = len(v)
        head = (bytes([0x90 | n]) if n < 16 else
                b"\xdc" + struct.pack(">H", n) if n < 0x10000 else
                b"\xdd" + struct.pack(">I", n))
        return head + b"".join(mp_pack(x) for x in v)
    if isinstance(v, dict):
        n = len(v)
        head = (bytes([0x80 | n]) if n < 16 else
                b"\xde" + struct.pack(">H", n) if n < 0x10000 else
                b"\xdf" + struct.pack(">I", n))
        keys = sorted(v, key=lambda k: k.encode())
        return head + b"".join(mp_pack(k) + mp_pack(v[k]) for k in keys)
    raise TypeError("cannot pack %r" % type(v))


def mp_unpack(buf, base=0):
    """Decodes one msgpack value filling buf; Bin offsets count from base."""
    v, end = _mp_one(buf, 0, base)
    if end != len(buf):
        raise ValueError("trailing bytes at %d" % end)
    return v


def _mp_one(b, i, base):
    c = b[i]
    i += 1
    if c < 0x80:
        return c, i
    if c >= 0xe0:
        return c - 0x100, i
    if 0xa0 <= c <= 0xbf:
        n = c & 0x1f
        return b[i:i + n].decode("utf-8", "replace"), i + n
    if 0x90 <= c <= 0x9f:
        return _mp_arr(b, i, c & 0x0f, base)
    if 0x80 <= c <= 0x8f:
        return _mp_map(b, i, c & 0x0f, base)
    if c == 0xc0:
        return None, i
    if c in (0xc2, 0xc3):
        return c == 0xc3, i
    sizes = {0xcc: ">B", 0xcd: ">H", 0xce: ">I", 0xcf: ">Q",
             0xd0: ">b", 0xd1: ">h", 0xd2: ">i", 0xd3: ">q",
             0xca: ">f", 0xcb: ">d"}
    if c in sizes:
        fmt = sizes[c]
        n = struct.calcsize(fmt)
        return struct.unpack(fmt, b[i:i + n])[0], i + n
    lens = {0xc4: ">B", 0xc5: ">H", 0xc6: ">I", 0xd9: ">B", 0xda: ">H",
            0xdb: ">I", 0xdc: ">H", 0xdd: ">I", 0xde: ">H", 0xdf: ">I"}
    if c in lens:
        fmt = lens[c]
        k = struct.calcsize(fmt)
        n = struct.unpack(fmt, b[i:i + k])[0]
        i += k
        if c in (0xc4, 0xc5, 0xc6):
            if i + n > len(b):
                raise ValueError("truncated bin")
            v = Bin(b[i:i + n])
            v.offset = base + i
            return v, i + n
        if c in (0xd9, 0xda, 0xdb):
            return b[i:i + n].decode("utf-8", "replace"), i + n
        if c in (0xdc, 0xdd):
            return _mp_arr(b, i, n, base)
        return _mp_map(b, i, n, base)
    raise ValueError("unsupported msgpack byte 0x%02x at %d" % (c, i - 1))


def _mp_arr(b, i, n, base):
    out = []
    for _ in range(n):
        v, i = _mp_one(b, i, base)
        out.append(v)
    return out, i


def _mp_map(b, i, n, base):
    out = {}
    for _ in range(n):
        k, i = _mp_one(b, i, base)
        v, i = _mp_one(b, i, base)
        out[k] = v
    return out, i


# ---- Ed25519 (RFC 8032), to forge what only a key holder could make ------
#
# Small and slow (pure Python), for a handful of signatures in tests.

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRTM1 = pow(2, (_P - 1) // 4, _P)


def _ed_add(a, b):
    x = (a[1] - a[0]) * (b[1] - b[0]) % _P
    y = (a[1] + a[0]) * (b[1] + b[0]) % _P
    c = 2 * a[3] * b[3] * _D % _P
    d = 2 * a[2] * b[2] % _P
    e, f, g, h = y - x, d - c, d + c, y + x
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _ed_mul(s, pt):
    q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = _ed_add(q, pt)
        pt = _ed_add(pt, pt)
        s >>= 1
    return q


def _ed_x(y, sign):
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P)
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P != 0:
        x = x * _SQRTM1 % _P
    if (x & 1) != sign:
        x = _P - x
    return x


_GY = 4 * pow(5, _P - 2, _P) % _P
_GX = _ed_x(_GY, 0)
_G = (_GX, _GY, 1, _GX * _GY % _P)


def _ed_enc(pt):
    zi = pow(pt[2], _P - 2, _P)
    x, y = pt[0] * zi % _P, pt[1] * zi % _P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _ed_expand(seed):
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a = (a & ((1 << 254) - 8)) | (1 << 254)
    return a, h[32:]


def ed25519_public(seed):
    """The 32-byte public key of a 32-byte secret seed."""
    return _ed_enc(_ed_mul(_ed_expand(seed)[0], _G))


def ed25519_sign(seed, msg):
    """The 64-byte Ed25519 signature of msg by the key of seed."""
    a, prefix = _ed_expand(seed)
    pub = _ed_enc(_ed_mul(a, _G))
    r = int.from_bytes(hashlib.sha512(prefix + msg).digest(), "little") % _L
    rb = _ed_enc(_ed_mul(r, _G))
    k = int.from_bytes(hashlib.sha512(rb + pub + msg).digest(), "little") % _L
    return rb + ((r + k * a) % _L).to_bytes(32, "little")


def weft_sign(seed, prefix, msg):
    """Signs as weft does: Ed25519 over prefix, one 0 byte, then msg."""
    return ed25519_sign(seed, prefix.encode() + b"\x00" + msg)


# ---- the runner ----------------------------------------------------------


def _end_test(passed):
    """Stops what the test left running; a passed test must stop cleanly."""
    problems = []
    for n in list(_test_nodes):
        if n.proc is None:
            continue
        if passed:
            try:
                n.stop()
            except AssertionError as e:
                problems.append(str(e))
        else:
            n._kill()
    return problems


def _cleanup():
    for n in _all_nodes:
        try:
            n._kill()
        except Exception:
            pass
    for d in _tmpdirs:
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)


def _on_term(signum, frame):
    # ctest's timeout sends SIGTERM: exit through atexit, stopping nodes.
    sys.exit(128 + signum)


signal.signal(signal.SIGTERM, _on_term)


def main(ns):
    """Runs the test_* functions of namespace ns (a module's globals()) in
    source order, or only those named on the command line."""
    tests = [(k, f) for k, f in ns.items()
             if k.startswith("test_") and callable(f)
             and getattr(f, "__module__", None) == ns.get("__name__")]
    tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
    only = set(sys.argv[1:])
    if only:
        tests = [t for t in tests if t[0] in only]
    for path, what in ((WEFTD, "weftd"), (WEFT, "weft"), (RAWREQ, "rawreq")):
        if not os.access(path, os.X_OK):
            print("missing %s at %s (set WEFT_BIN to the build directory)"
                  % (what, path))
            sys.exit(1)
    passed = failed = 0
    t_all = time.monotonic()
    for name, fn in tests:
        del _test_nodes[:]
        _test_tmp[0] = None
        t0 = time.monotonic()
        ok = True
        try:
            fn()
        except Exception:
            ok = False
            print("FAIL %s" % name)
            traceback.print_exc(file=sys.stdout)
        problems = _end_test(ok)
        if ok and problems:
            ok = False
            print("FAIL %s (at cleanup)" % name)
            for p in problems:
                print("  " + p)
        if ok:
            passed += 1
            print("ok   %s (%.2f s)" % (name, time.monotonic() - t0))
        else:
            failed += 1
            for n in _test_nodes:
                print("---- log of node %s (%s) ----" % (n.name, n.log))
                print(n.log_text().rstrip())
            print("----")
        if _test_tmp[0] is not None:
            shutil.rmtree(_test_tmp[0], ignore_errors=True)
            _tmpdirs.remove(_test_tmp[0])
        sys.stdout.flush()
    print("total %.2f s" % (time.monotonic() - t_all))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
