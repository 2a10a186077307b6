"""The catalog page in a real browser: headless Chromium driven through
chromedriver's W3C WebDriver HTTP API, with the standard library only.

Three nodes in a line (raw <- mid <- top), products with lineage across
the three domains, one deprecated upstream; the browser loads the page
from the last node, which holds everyone's products. It searches with
the query language, applies a facet by clicking it, opens a product (a
product of another domain, whose descriptor the node fetches from a
peer), sees its lineage upstream and downstream with the deprecated
upstream marked, follows a lineage link, visits the domains view, and
saves screenshots (PNG) of the search, the product and the domains into
the test's directory (and into $WEFT_ARTIFACTS when set). Along the
way: no request leaves the node (every resource the page loaded is the
node's), the browser logged no error (a blocked resource or a script
error would show there), and a description written as markup stays
text.

Chromium and chromedriver are Debian's `chromium` and `chromium-driver`,
installed by scripts/setup. Without them this test fails, saying so: it
is part of CI. chromedriver and every browser process it started are
stopped by PID at the end (and their process group, to be sure).
"""

import base64
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import free_port, main, tmpdir, wait_for, write  # noqa: E402
from test_http import get_json, http_node, product  # noqa: E402
from test_mesh import CONVERGE_S, converge  # noqa: E402

CHROMIUM = os.environ.get("WEFT_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("WEFT_CHROMEDRIVER", "/usr/bin/chromedriver")
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C element key
WAIT_S = 30  # one thing to appear in the page (sanitizer builds are slow)


# ---- a WebDriver client ------------------------------------------------------


def _descendants(pid):
    """PIDs of every process under pid (from /proc)."""
    parents = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
            parents[int(d)] = int(st[st.rindex(")") + 2:].split()[1])
        except (OSError, ValueError):
            continue
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parents.items() if pp == p]
        out += kids
        todo += kids
    return out


class Browser:
    """chromedriver and one Chromium session (headless)."""

    def __init__(self):
        missing = [p for p in (CHROMIUM, CHROMEDRIVER)
                   if not os.access(p, os.X_OK)]
        if missing:
            raise AssertionError(
                "the browser test needs Chromium and chromedriver (%s "
                "missing): run scripts/setup, which installs Debian's "
                "chromium and chromium-driver" % ", ".join(missing))
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.sid = None
        self.pids = []
        self.log = os.path.join(tmpdir(), "chromedriver.log")
        self.proc = subprocess.Popen(
            [CHROMEDRIVER, "--port=%d" % self.port, "--log-path=" + self.log],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_for(self._ready, "chromedriver did not start", WAIT_S, 0.1)
            profile = os.path.join(tmpdir(), "chromium-profile")
            caps = {"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:loggingPrefs": {"browser": "ALL"},
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                             "--disable-dev-shm-usage",
                             "--window-size=1280,1400",
                             "--user-data-dir=" + profile, "--no-first-run",
                             "--no-default-browser-check",
                             "--disable-background-networking",
                             "--disable-component-update",
                             "--disable-sync", "--disable-extensions"]}}}}
            self.sid = self.call("POST", "/session", caps, raw=True)[
                "sessionId"]
            self.pids = _descendants(self.proc.pid)
        except BaseException:
            self.quit()
            raise

    def _ready(self):
        try:
            with urllib.request.urlopen(self.base + "/status", timeout=2) as r:
                return json.loads(r.read())["value"].get("ready")
        except (OSError, ValueError):
            return False

    def call(self, method, path, body=None, raw=False):
        data = None if body is None else json.dumps(body).encode()
        url = self.base + (path if raw else "/session/%s%s" % (self.sid, path))
        req = urllib.request.Request(url, data=data, method=method, headers={
            "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return json.loads(r.read())["value"]
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace")
            raise AssertionError("webdriver %s %s: %s" % (
                method, path, detail[:2000]))

    def go(self, url):
        self.call("POST", "/url", {"url": url})

    def js(self, script, *args):
        return self.call("POST", "/execute/sync", {"script": script,
                                                    "args": list(args)})

    def find(self, css):
        return self.call("POST", "/element", {"using": "css selector",
                                              "value": css})[ELEMENT]

    def click(self, css):
        self.call("POST", "/element/%s/click" % self.find(css), {})

    def type(self, css, text):
        e = self.find(css)
        self.call("POST", "/element/%s/clear" % e, {})
        self.call("POST", "/element/%s/value" % e, {"text": text})

    def until(self, script, what, *args):
        """Waits until script (a JS function body) returns something true;
        returns it."""
        return wait_for(lambda: self.js(script, *args), what, WAIT_S, 0.1)

    def screenshot(self, path):
        png = base64.b64decode(self.call("GET", "/screenshot"))
        with open(path, "wb") as f:
            f.write(png)
        return png

    def browser_log(self):
        """The browser's console and network log since the last call
        (chromedriver's /se/log), or None when it keeps none."""
        try:
            return self.call("POST", "/se/log", {"type": "browser"})
        except AssertionError:
            return None

    def quit(self):
        """Ends the session, then stops chromedriver and every browser
        process it started, by PID, and their process group."""
        if self.sid is not None:
            try:
                self.call("DELETE", "")
            except (AssertionError, OSError):
                pass
            self.sid = None
        pids = set(self.pids) | set(_descendants(self.proc.pid))
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        # The browser's processes are chromedriver's children, not ours
        # to reap: wait (bounded) until they are gone or zombies.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(
                not _zombie(p) for p in pids):
            time.sleep(0.05)


# ---- the test ----------------------------------------------------------------

EVENTS = """  tags: [clicks, gold]
  quality: {completeness: 99.5%, accuracy: 98.7%, freshness: 5 minutes}
  schemas:
    - {name: click, format: avro, fields: [id, {name: email, type: string}, {name: ts, type: timestamp}]}
  interfaces:
    - {type: streaming, topic: raw-events}
"""

SESSIONS = """  tags: [sessions]
  quality: {completeness: 97%, freshness: 1 hour}
  schemas:
    - name: session
      format: parquet
      fields:
        - {name: session_id, type: string}
        - {name: user_id, type: string, classification: confidential}
        - {name: started, type: timestamp}
        - {name: clicks, type: int}
  interfaces:
    - {type: rest-api, url: "https://sessions.internal/api"}
    - {type: sql, name: warehouse}
"""

CANARY = "<img src=x onerror=window.__pwned=1> <script>window.__pwned=2</script>"


def snap(br, name):
    """Saves a screenshot of the page as it is into the test's directory
    (and $WEFT_ARTIFACTS, when set) and checks it is a real one."""
    path = os.path.join(tmpdir(), name + ".png")
    png = br.screenshot(path)
    w, h = png_size(png)
    assert w >= 800 and h >= 600 and len(png) > 20000, (name, w, h, len(png))
    keep = os.environ.get("WEFT_ARTIFACTS")
    if keep:
        os.makedirs(keep, exist_ok=True)
        shutil.copy(path, os.path.join(keep, "weft-%s.png" % name))
    return path


def png_size(png):
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert png[12:16] == b"IHDR", "no IHDR"
    return struct.unpack(">II", png[16:24])


def test_catalog_page():
    a = http_node("a", "raw")
    b = http_node("b", "mid", a)
    c = http_node("c", "top", b)
    a.publish(write("events.yaml", product(
        "events", cls="internal", desc="Raw click events from the web shop, "
        "one per click.", extra=EVENTS)))
    a.publish(write("clicks.yaml", product(
        "clicks-legacy", cls="public", desc="The old click feed. " + CANARY)))
    b.publish(write("sessions.yaml", product(
        "sessions", ["raw/events", "raw/clicks-legacy"], cls="confidential",
        desc="Web sessions built from raw click events.", extra=SESSIONS)))
    c.publish(write("report.yaml", product(
        "daily-report", ["mid/sessions"], cls="internal",
        desc="The daily traffic report.")))
    c.publish(write("kpi.yaml", product(
        "kpi", ["daily-report"], desc="Board KPIs for the week.")))
    a.ok("deprecate", "raw/clicks-legacy", "--reason", "use raw/events",
         "--replaced-by", "raw/events", "--sunset", "2027-01-31")
    converge([a, b, c], count=5)
    wait_for(lambda: any(
        x["id"] == "raw/clicks-legacy" and x["flag"] == "deprecated"
        for x in c.ok("lineage", "mid/sessions", "--up")["nodes"]),
        "the deprecation did not reach c", CONVERGE_S)
    wait_for(lambda: all(d["stale_s"] >= 0 for d in c.ok(
        "status", "--domains")["domains"]),
        "c does not hold every domain's signed head", CONVERGE_S)
    origin = "http://127.0.0.1:%d" % c.http

    br = Browser()
    try:
        # The page, with everything the node holds.
        br.go(origin + "/")
        br.until("return document.querySelector('#results').dataset.state"
                 " === 'ready'", "the first results")
        ids = br.js("return [...document.querySelectorAll('#results .result')]"
                    ".map(e => e.dataset.id)")
        assert sorted(ids) == ["mid/sessions", "raw/clicks-legacy",
                               "raw/events", "top/daily-report", "top/kpi"], ids
        # A description written as markup stays text.
        assert br.js("return window.__pwned === undefined && "
                     "document.querySelectorAll('img').length === 0")
        assert CANARY in br.js("return document.body.innerText"), \
            "the canary description is not shown as text"

        # Search with the query language.
        q = "(events OR sessions OR report) -tag:gold"
        br.type("#q", q + "\ue007")  # Enter submits
        br.until("return document.querySelector('#results').dataset.query"
                 " === arguments[0] && document.querySelector('#results')"
                 ".dataset.state === 'ready'", "the search's results", q)
        ids = br.js("return [...document.querySelectorAll('#results .result')]"
                    ".map(e => e.dataset.id)")
        assert sorted(ids) == ["mid/sessions", "top/daily-report"], ids
        assert br.js("return location.hash") == \
            "#/?q=" + urlquote(q), br.js("return location.hash")
        # Badges: classification, status, quality.
        card = br.js("return document.querySelector("
                     "'.result[data-id=\"mid/sessions\"]').innerText")
        for want in ("confidential", "active", "completeness 97%"):
            assert want in card, (want, card)

        # A facet: clicking it adds its filter to the query.
        br.click('#facets .facet[data-filter="domain:mid"]')
        want = q + " domain:mid"
        br.until("return document.querySelector('#results').dataset.query"
                 " === arguments[0] && document.querySelector('#results')"
                 ".dataset.state === 'ready'", "the facet's results", want)
        assert br.js("return document.querySelector('#q').value") == want
        ids = br.js("return [...document.querySelectorAll('#results .result')]"
                    ".map(e => e.dataset.id)")
        assert ids == ["mid/sessions"], ids
        assert br.js("return document.querySelector('#facets .facet"
                     "[data-filter=\"domain:mid\"]').classList.contains"
                     "('active')")
        shots = [snap(br, "search")]

        # A product of another domain: its page, lineage up and down.
        br.click('#results a.plink[data-id="mid/sessions"]')
        br.until("return document.querySelector('#view-product').dataset"
                 ".ready === 'mid/sessions'", "the product page")
        up = br.js("return [...document.querySelectorAll('.lineage-up li')]"
                   ".map(e => [e.dataset.id, e.dataset.flag, e.innerText])")
        down = br.js("return [...document.querySelectorAll('.lineage-down li')]"
                     ".map(e => [e.dataset.id, e.dataset.flag])")
        assert sorted(x[0] for x in up) == ["raw/clicks-legacy", "raw/events"], up
        flagged = [x for x in up if x[0] == "raw/clicks-legacy"][0]
        assert flagged[1] == "deprecated" and "deprecated" in flagged[2], up
        assert sorted(x[0] for x in down) == ["top/daily-report", "top/kpi"], \
            down
        text = br.js("return document.querySelector('#view-product')"
                     ".innerText")
        # The descriptor came from mid's node: schema, interfaces, owner.
        for want in ("sessions", "team-sessions", "session_id", "user_id",
                     "parquet", "rest-api", "warehouse", "Web sessions built",
                     "accepted", "completeness", "97 %",
                     "Upstream products to be wary of"):
            assert want in text, (want, text)
        shots.append(snap(br, "product"))
        # Following the lineage: a link opens the upstream product.
        br.click('.lineage-up li[data-id="raw/events"] a.plink')
        br.until("return document.querySelector('#view-product').dataset"
                 ".ready === 'raw/events'", "the upstream product page")
        assert "click" in br.js("return document.querySelector("
                                "'#view-product').innerText")

        # The domains, with how fresh each is.
        br.click('header nav a[data-nav="domains"]')
        br.until("return document.querySelector('#view-domains').dataset"
                 ".ready === '1'", "the domains view")
        rows = br.js("return [...document.querySelectorAll('a.dlink')]"
                     ".map(e => e.dataset.domain)")
        assert sorted(rows) == ["mid", "raw", "top"], rows
        fresh = br.js("return [...document.querySelectorAll('.stale-s')]"
                      ".map(e => [e.className, e.innerText])")
        assert len(fresh) == 3 and all(
            "fresh" in cls and "ago" in txt for cls, txt in fresh), fresh
        shots.append(snap(br, "domains"))

        # Nothing was loaded from anywhere but the node.
        urls = br.js("return [location.href].concat(performance"
                     ".getEntriesByType('resource').map(e => e.name))")
        assert len(urls) >= 4, urls
        assert all(u.startswith(origin + "/") for u in urls), urls
        refs = br.js("return [...document.querySelectorAll('[src],[href]')]"
                     ".map(e => e.src || e.href)")
        assert all(u.startswith(origin + "/") or u.startswith("data:")
                   for u in refs), refs
        # Script errors, resources that failed or were blocked by the
        # page's content security policy: the browser logs them SEVERE.
        log = br.browser_log()
        assert log is not None, "chromedriver gave no browser log"
        bad = [e for e in log if e.get("level") == "SEVERE"]
        assert not bad, bad
        # The node counted what the page asked.
        st = get_json(c, "/api/status")
        assert st["catalog"] == 5
    finally:
        br.quit()
    assert not [p for p in br.pids if os.path.exists("/proc/%d" % p)
                and not _zombie(p)], "browser processes left behind"


def _zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
        return st[st.rindex(")") + 2] == "Z"
    except OSError:
        return True


def urlquote(s):
    import urllib.parse
    return urllib.parse.quote(s, safe="-_.!~*'()")


if __name__ == "__main__":
    main(globals())
