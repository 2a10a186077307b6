"""weftd's life: refusals at start (each leaving the data directory as it
was), file modes, a clean SIGTERM, identity kept across restarts; and the
weft CLI's own behaviour: no node, help, usage errors."""

import os
import shutil
import signal
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Node, main, snapshot, snapshot_diff, tmpdir,  # noqa: E402
                     weft_cli, weftd_cli, write)

DOC = "data-product:\n  name: keeper\n  version: 1.0.0\n  owner: me\n"


def made_node(domain="seller"):
    """A stopped node that has published one product; returns (node, r)."""
    n = Node(domain).start(domain)
    r = n.publish(write("keeper.yaml", DOC))[0]
    n.stop()
    return n, r


# LMDB's lock file (the reader table) is compared on its own, in
# test_refused_starts_leave_lock_mdb_alone, so that the tests of each
# refusal check the data itself and one cause makes one failure.
VOLATILE = ("weftd.lock", "lock.mdb")


def assert_unchanged(before, d, what, exclude=VOLATILE):
    after = snapshot(d, exclude)
    assert after == before, "%s changed the data directory:\n%s" % (
        what, snapshot_diff(before, after))


def test_second_weftd_on_same_dir_is_refused():
    n, r = made_node()
    n.start()
    before = snapshot(n.dir, VOLATILE)
    rc, err = n.try_start()
    assert rc != 0, "a second weftd on the same directory started"
    assert "in use" in err, "message should say it is in use: %r" % err
    assert str(n.pid) in err, "message should name the running pid: %r" % err
    assert_unchanged(before, n.dir, "a refused second weftd")
    # The first node is unharmed and still answers.
    assert n.get("seller/keeper")["hash"] == r["hash"]
    # Even with a different --domain, the lock comes first.
    rc, err = n.try_start("other")
    assert rc != 0 and "in use" in err, err


def test_other_domain_than_stored_is_refused():
    n, r = made_node()
    before = snapshot(n.dir, VOLATILE)
    rc, err = n.try_start("buyer")
    assert rc != 0, "weftd started with a --domain other than the stored one"
    assert "seller" in err and "buyer" in err, err
    assert_unchanged(before, n.dir, "a refused start with --domain buyer")
    n.start("seller")
    assert n.get("seller/keeper")["hash"] == r["hash"]


def test_readable_key_file_is_refused():
    n, r = made_node()
    key = os.path.join(n.dir, "domain.key")
    os.chmod(key, 0o644)
    before = snapshot(n.dir, VOLATILE)
    rc, err = n.try_start()
    assert rc != 0, "weftd started with domain.key mode 0644"
    assert "chmod 600" in err, "message should say chmod 600: %r" % err
    assert "domain.key" in err, err
    assert_unchanged(before, n.dir, "a refused start with a 0644 key")
    os.chmod(key, 0o600)
    n.start()
    assert n.get("seller/keeper")["hash"] == r["hash"]


def test_first_start_needs_a_domain():
    n = Node("fresh")
    os.mkdir(n.dir, 0o700)
    before = snapshot(n.dir, VOLATILE)
    rc, err = n.try_start()
    assert rc != 0, "weftd started a new directory without --domain"
    assert "--domain" in err, err
    assert_unchanged(before, n.dir, "a refused first start without --domain")
    # And it then starts with one.
    n.start("fresh")
    assert n.status()["domain"] == "fresh"


def test_refused_starts_leave_lock_mdb_alone():
    # Every refusal happens before anything in the data directory changes
    # (weftd.c): that includes LMDB's lock.mdb, which opening the store
    # rewrites. Only weftd.lock (the directory lock itself) may change.
    n, r = made_node()
    key = os.path.join(n.dir, "domain.key")
    saved = os.path.join(tmpdir(), "domain.key.saved")
    cases = [("--domain buyer", lambda: None, lambda: None, ("buyer",)),
             ("no domain.key", lambda: os.rename(key, saved),
              lambda: os.rename(saved, key), ()),
             ("domain.key mode 0644", lambda: os.chmod(key, 0o644),
              lambda: os.chmod(key, 0o600), ())]
    changed = []
    for what, setup, undo, args in cases:
        setup()
        before = snapshot(n.dir, ("weftd.lock",))
        rc, err = n.try_start(*args)
        assert rc != 0, "%s: weftd started" % what
        diff = snapshot_diff(before, snapshot(n.dir, ("weftd.lock",)))
        if diff:
            changed.append("refused start with %s:\n%s" % (what, diff))
        undo()
    assert not changed, "\n".join(changed)


def test_bad_domain_name_is_refused_before_touching_anything():
    d = os.path.join(tmpdir(), "bad")
    for name in ("Seller", "-seller", "sel ler", "a" * 65, ""):
        rc, out, err = weftd_cli("run", "--data", d, "--domain", name)
        assert rc == 2, "--domain %r: exit %d, want 2" % (name, rc)
        assert "--domain" in err, err
    assert not os.path.exists(d), "a refused --domain created the directory"


def test_sigterm_modes_and_socket():
    n = Node("seller").start("seller")
    st = os.stat(n.sock)
    assert stat.S_ISSOCK(st.st_mode), "weft.sock is not a socket"
    assert stat.S_IMODE(st.st_mode) == 0o600, "weft.sock mode %o, want 600" % (
        stat.S_IMODE(st.st_mode))
    key = os.stat(os.path.join(n.dir, "domain.key"))
    assert stat.S_IMODE(key.st_mode) == 0o600, "domain.key mode %o" % (
        stat.S_IMODE(key.st_mode))
    dmode = stat.S_IMODE(os.stat(n.dir).st_mode)
    assert dmode & 0o077 == 0, "data directory mode %o lets others in" % dmode
    for f in ("data.mdb",):
        m = stat.S_IMODE(os.stat(os.path.join(n.dir, f)).st_mode)
        assert m & 0o077 == 0, "%s mode %o" % (f, m)
    n.stop()  # asserts exit code 0
    assert not os.path.exists(n.sock), "weft.sock left behind after SIGTERM"
    rc, out, err = n.weft("status")
    assert rc == 2, "status with the node stopped: exit %d" % rc


def test_sigint_also_stops_cleanly():
    n = Node("seller").start("seller")
    p, n.proc = n.proc, None
    p.send_signal(signal.SIGINT)
    assert p.wait(timeout=30) == 0, "weftd exit code after SIGINT"
    assert not os.path.exists(n.sock)


def test_restart_keeps_identity_and_data():
    n = Node("seller").start("seller")
    st1 = n.status()
    r = n.publish(write("keeper.yaml", DOC))[0]
    with open(os.path.join(n.dir, "domain.pub"), "rb") as f:
        pub = f.read()
    n.stop()
    n.start()  # no --domain: the stored one
    st2 = n.status()
    for k in ("domain", "key", "fingerprint"):
        assert st2[k] == st1[k], "%s changed across a restart: %r -> %r" % (
            k, st1[k], st2[k])
    assert st2["seq"] == r["seq"] and st2["products"] == 1, st2
    p = n.get("seller/keeper")
    assert (p["hash"], p["seq"]) == (r["hash"], r["seq"]), p
    assert p["summary"]["origin"] == st1["key"], "signed by another key"
    with open(os.path.join(n.dir, "domain.pub"), "rb") as f:
        assert f.read() == pub, "domain.pub rewritten by a restart"
    n.stop()
    n.start("seller")  # the same --domain again is fine
    assert n.status()["key"] == st1["key"]


def test_missing_key_with_existing_store_is_refused():
    n, r = made_node()
    os.rename(os.path.join(n.dir, "domain.key"),
              os.path.join(tmpdir(), "domain.key.saved"))
    before = snapshot(n.dir, VOLATILE)
    rc, err = n.try_start()
    assert rc != 0, "weftd started without its key"
    assert "domain.key" in err, err
    assert_unchanged(before, n.dir, "a refused start without domain.key")


def test_foreign_key_is_refused():
    n, r = made_node()
    other = Node("other").start("other")
    other.stop()
    shutil.copy(os.path.join(other.dir, "domain.key"),
                os.path.join(n.dir, "domain.key"))
    os.chmod(os.path.join(n.dir, "domain.key"), 0o600)
    before = snapshot(n.dir, VOLATILE)
    rc, err = n.try_start()
    assert rc != 0, "weftd started with another domain's key"
    assert "domain.key" in err and "seller" in err, err
    assert_unchanged(before, n.dir, "a refused start with a foreign key")


def test_weft_without_a_node():
    d = os.path.join(tmpdir(), "nobody")
    sock = os.path.join(d, "weft.sock")
    rc, out, err = weft_cli("--data", d, "status")
    assert rc == 2, "weft with no node: exit %d, want 2" % rc
    assert sock in err, "message should name %s: %r" % (sock, err)
    rc, out, err = weft_cli("status", env={"WEFT_DATA": d})
    assert rc == 2 and sock in err, "WEFT_DATA: %r" % err
    rc, out, err = weft_cli("--data", d, "list")
    assert rc == 2 and sock in err, err
    rc, out, err = weft_cli("status")
    assert rc == 2 and "WEFT_DATA" in err, "no data directory: %r" % err


def test_help_and_usage_errors():
    rc, out, err = weft_cli("help")
    assert rc == 0, "weft help: exit %d" % rc
    for cmd in ("publish", "get", "list", "search", "deprecate", "retire",
                "status", "export", "import", "help"):
        assert "  " + cmd in out, "weft help does not list %s" % cmd
    rc, out, err = weft_cli("help", "publish")
    assert rc == 0 and out.startswith("usage: weft publish"), out
    assert "--dry-run" in out
    rc, out, err = weft_cli("--help")
    assert rc == 0 and "usage: weft" in out, out
    rc, out, err = weft_cli()
    assert rc == 2 and "usage: weft" in err, (rc, err)
    rc, out, err = weft_cli("frobnicate")
    assert rc == 2, "unknown command: exit %d, want 2" % rc
    assert "frobnicate" in err and "unknown command" in err, err
    rc, out, err = weft_cli("--bogus", "status")
    assert rc == 2, "unknown global option: exit %d" % rc
    # Usage errors never need a node.
    d = os.path.join(tmpdir(), "nobody")
    for args in (["get"], ["get", "a", "b"], ["list", "--bogus"],
                 ["list", "extra"], ["search"], ["deprecate", "x/y"],
                 ["retire"], ["import"], ["publish"], ["status", "extra"]):
        rc, out, err = weft_cli("--data", d, *args)
        assert rc == 2, "weft %s: exit %d, want 2" % (" ".join(args), rc)
        assert "usage: weft" in err or "unrecognized" in err, (args, err)
    # weftd's own usage.
    rc, out, err = weftd_cli()
    assert rc == 2 and "usage: weftd" in err, (rc, err)
    rc, out, err = weftd_cli("version")
    assert rc == 0 and out.startswith("weftd "), out
    rc, out, err = weftd_cli("run")
    assert rc == 2 and "--data" in err, (rc, err)
    rc, out, err = weftd_cli("run", "--data", d, "--log-level", "loud")
    assert rc == 2 and "--log-level" in err, (rc, err)
    for bad in ("7", "65537", "64k", ""):
        rc, out, err = weftd_cli("run", "--data", d, "--search-cache", bad)
        assert rc == 2 and "--search-cache '%s'" % bad in err, (bad, rc, err)
    for bad in ("90", "9s", "3651d", "0d", "-1d", "+5d", " 5d", "1w", "1dd",
                "d", "", "99999999999999999999d"):
        rc, out, err = weftd_cli("run", "--data", d, "--summary-ttl", bad)
        assert rc == 2 and "--summary-ttl '%s'" % bad in err \
            and "s, m, h or d" in err, (bad, rc, err)
    assert not os.path.exists(d), "a usage error created %s" % d


def test_summary_ttl_bounds_are_taken_and_set_expires():
    for ttl, secs in (("10s", 10), ("3650d", 3650 * 86400), ("36h", 36 * 3600)):
        n = Node("ttl" + ttl).start("shop", "--summary-ttl", ttl)
        n.publish(write("t.yaml", "data-product:\n  name: ttl-product\n"
                        "  version: 1.0.0\n  owner: t\n"))
        p = n.products()["shop/ttl-product"]
        assert p["expires"] == p["issued"] + secs, (ttl, p)
        n.stop()

def test_help_for_an_unknown_command_is_an_error():
    rc, out, err = weft_cli("help", "frobnicate")
    assert "frobnicate" in out + err, (out, err)
    assert rc == 2, "weft help frobnicate: exit %d, want 2 (usage error)" % rc
    assert "frobnicate" in err and "frobnicate" not in out, (
        "the error should go to stderr, not stdout: out %r" % out)


def test_wrong_socket_is_not_a_node():
    # A file named weft.sock that is not a socket: a clear failure, exit 2.
    d = os.path.join(tmpdir(), "fake")
    os.mkdir(d)
    write("fake/weft.sock", "not a socket")
    rc, out, err = weft_cli("--data", d, "status")
    assert rc == 2 and os.path.join(d, "weft.sock") in err, (rc, err)


if __name__ == "__main__":
    main(globals())
