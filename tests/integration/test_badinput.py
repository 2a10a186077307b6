"""Hostile and broken input: malformed YAML with its position, missing and
mistyped fields by path, documents over the size and depth limits, binary
garbage, and raw socket requests weft itself would never send. After each
one the node still answers and what it held is unchanged."""

import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Node, main, mp_pack, mp_unpack, rawreq,  # noqa: E402
                     sp_request, write)

DOC_MAX = 4 * 1024 * 1024

BASE = [
    ("base1.yaml", "data-product:\n  name: base-one\n  version: 1.0.0\n"
     "  owner: team-a\n  tags: [alpha]\n"),
    ("base2.yaml", "apiVersion: v1.0.0\nkind: DataProduct\nid: b2\n"
     "name: Base Two\nversion: 2.0.0\nstatus: active\n"),
]


class Fixture:
    """A seller node holding two products, and a check that they stay."""

    def __init__(self):
        self.node = Node("seller").start("seller")
        self.node.publish(*[write(n, t) for n, t in BASE])
        self.state = self.node.catalog_state()
        self.seq = self.node.status()["seq"]
        assert len(self.state) == 2 and self.seq == 2

    def unchanged(self, what, full=False):
        """The node answers, and its seq and catalog are as they were;
        full also reads every product back through weft."""
        n = self.node
        st = n.answers(what)
        assert st["seq"] == self.seq, "%s changed seq %d -> %d" % (
            what, self.seq, st["seq"])
        assert n.quick_state() == self.state, "%s changed the catalog" % what
        if full:
            assert n.catalog_state() == self.state, (
                "%s changed the catalog" % what)
            for pid, (_, _, _, h) in self.state.items():
                assert n.get(pid)["hash"] == h

    def refused(self, path, what, rc_want=2, input=None):
        """Publishes path; requires exit rc_want; returns stderr."""
        rc, out, err = self.node.weft("publish", path, input=input)
        assert rc == rc_want, "%s: exit %d, want %d; stderr %r" % (
            what, rc, rc_want, err[:500])
        assert err.startswith("weft: publish: "), err[:500]
        self.unchanged(what)
        return err

    def done(self):
        self.unchanged("everything above", full=True)


def test_malformed_yaml_names_file_line_and_column():
    f = Fixture()
    # Line 3, column 11 is the second ':' of "  owner: a: b".
    p = write("colon.yaml", "data-product:\n  name: demo\n  owner: a: b\n"
              "  version: 1.0.0\n")
    err = f.refused(p, "a mapping value in a scalar")
    assert "%s:3:11:" % p in err, "want %s:3:11: in %r" % (p, err)
    # An unclosed flow list: found at line 5, column 8 (the ':' of owner).
    p = write("flow.yaml", "data-product:\n  name: x\n  version: 1.0.0\n"
              "  tags: [a, b\n  owner: me\n")
    err = f.refused(p, "an unclosed flow list")
    assert "%s:5:8:" % p in err, "want %s:5:8: in %r" % (p, err)
    # A duplicate key is refused where the second one is.
    p = write("dup.yaml", "data-product:\n  name: demo\n  version: 1.0.0\n"
              "  name: again\n")
    err = f.refused(p, "a duplicate key")
    assert "%s:4:3:" % p in err and "name" in err, err
    # Several documents in one file, and aliases, are not descriptors.
    p = write("two.yaml", "data-product:\n  name: a\n  version: 1.0.0\n"
              "---\ndata-product:\n  name: b\n  version: 1.0.0\n")
    err = f.refused(p, "two documents")
    assert "%s:4:1:" % p in err, err
    p = write("alias.yaml", "data-product:\n  name: &n x\n  version: 1.0.0\n"
              "  owner: *n\n")
    err = f.refused(p, "an alias")
    assert re.search(re.escape(p) + r":\d+:\d+: .*alias", err), err
    p = write("empty.yaml", "")
    f.refused(p, "an empty file")
    p = write("notproduct.yaml", "hello: world\n")
    err = f.refused(p, "a document of no known form")
    assert "data-product" in err and "DataProduct" in err, err
    f.done()


def test_missing_fields_are_named():
    f = Fixture()
    cases = [
        ("data-product:\n  version: 1.0.0\n  owner: me\n",
         "data-product.name"),
        ("data-product:\n  name: demo\n  owner: me\n", "data-product.version"),
        ("apiVersion: v1.0.0\nkind: DataProduct\nversion: 1.0.0\n",
         "odps.name"),
        ("apiVersion: v3.0.2\nkind: DataContract\nid: c1\nstatus: active\n",
         "odcs.version"),
    ]
    for i, (text, field) in enumerate(cases):
        p = write("missing%d.yaml" % i, text)
        err = f.refused(p, "a document without %s" % field)
        assert field in err and "required" in err, "want %s named: %r" % (
            field, err)
    f.done()


def test_wrong_types_name_the_field_path():
    f = Fixture()
    cases = [
        ("data-product:\n  name: demo\n  version: 1.0.0\n  tags: 5\n",
         "data-product.tags", "line 4"),
        ("apiVersion: v1.0.0\nkind: DataProduct\nname: t\nversion: 1.0.0\n"
         "tags: [a, [b]]\n", "odps.tags[1]", "line 5"),
        ("data-product:\n  name: demo\n  version: [1]\n",
         "data-product.version", "line 3"),
        ("apiVersion: v1.0.0\nkind: DataProduct\nname: t\nversion: 1.0.0\n"
         "outputPorts:\n  - name: x\n    contractId: 7\n",
         "odps.outputPorts[0].contractId", "line 7"),
        ("data-product:\n  name: demo\n  version: 1.0.0\n"
         "  domain: Not A Domain\n", "data-product.domain", "line 4"),
    ]
    for i, (text, path, line) in enumerate(cases):
        p = write("type%d.yaml" % i, text)
        err = f.refused(p, "a wrong type at %s" % path)
        assert path in err and line in err, "want %s (%s) in %r" % (
            path, line, err)
    f.done()


def test_size_limits():
    f = Fixture()
    # 50 MB (sparse): refused by its size before it is read or sent.
    big = write("big.yaml", "")
    with open(big, "r+b") as fh:
        fh.truncate(50 * 1000 * 1000)
    err = f.refused(big, "a 50 MB file")
    assert str(DOC_MAX) in err and "limit" in err, err
    assert str(50 * 1000 * 1000) in err, "the file's size: %r" % err

    # Exactly 4 MiB: a valid product padded with comments is accepted.
    head = "data-product:\n  name: padded\n  version: 1.0.0\n"
    line = "#" + "x" * 1022 + "\n"
    body = head + line * ((DOC_MAX - len(head)) // len(line))
    body += "#" * (DOC_MAX - len(body) - 1) + "\n"
    assert len(body) == DOC_MAX
    exact = write("exact.yaml", body)
    r = f.node.publish(exact)[0]
    assert r["id"] == "seller/padded", r
    f.state = f.node.catalog_state()
    f.seq = r["seq"]

    # One byte more: refused, the limit named.
    plus1 = write("plus1.yaml", body + "\n")
    err = f.refused(plus1, "a file of 4 MiB + 1 byte")
    assert str(DOC_MAX) in err and str(DOC_MAX + 1) in err, err
    # The same over stdin (no size known up front).
    err = f.refused("-", "4 MiB + 1 byte on stdin", input=body + "\n")
    assert str(DOC_MAX) in err, err
    err = f.refused("-", "5 MiB on stdin", input=b"#" * (5 << 20))
    assert str(DOC_MAX) in err, err
    f.done()


def test_binary_garbage():
    f = Fixture()
    rng = random.Random(1)
    for i, size in enumerate((1, 64, 4096, 65536, 1 << 20)):
        p = write("garbage%d.bin" % i, rng.randbytes(size))
        err = f.refused(p, "%d bytes of random garbage" % size)
        assert p in err, err
    p = write("nul.yaml", b"data-product:\n  name: a\x00b\n  version: 1.0.0\n")
    err = f.refused(p, "a NUL byte")
    assert "%s:2:" % p in err, err
    f.done()


def test_deep_nesting():
    f = Fixture()
    p = write("deep.yaml", "a: " + "[" * 10000 + "]" * 10000 + "\n")
    err = f.refused(p, "a document nested 10,000 deep")
    assert "nesting" in err and "64" in err, err
    p = write("deepmap.yaml", "".join("%sk:\n" % (" " * i) for i in range(200))
              + " " * 200 + "k: 1\n")
    err = f.refused(p, "maps nested 200 deep")
    assert "nesting" in err and "64" in err, err
    # One level past the limit: the root map, data-product, and 63 lists.
    p = write("deep65.yaml", "data-product:\n  name: d\n  version: 1.0.0\n"
              "  x: " + "[" * 63 + "]" * 63 + "\n")
    err = f.refused(p, "a document 65 deep")
    assert "nesting" in err and "64" in err, err
    f.done()


def test_deepest_accepted_document_reads_back():
    # The deepest document publish accepts (the YAML limit is 64 levels;
    # the model holds the document one level down, so the node may stop
    # one short of that) must read back whole with get, --json or not,
    # and travel whole in a bundle.
    f = Fixture()
    for lists in (62, 61, 60, 59):  # + the root map and data-product
        p = write("deep%d.yaml" % lists, "data-product:\n  name: deep\n"
                  "  version: 1.0.0\n  x: " + "[" * lists + "]" * lists + "\n")
        rc, out, err = f.node.weft("publish", p)
        if rc == 0:
            break
        assert rc == 2 and "deep" in err, (rc, err)
        f.unchanged("a refused document %d deep" % (lists + 2))
    else:
        raise AssertionError("no document 61 to 64 deep was accepted")
    depth = lists + 2
    rc, doc, err = f.node.weft("get", "seller/deep", json=True)
    assert rc == 0, ("a document %d deep was published, but `weft get "
                     "seller/deep --json` fails: exit %d: %s"
                     % (depth, rc, err))
    assert doc["descriptor"] is not None
    rc, out, err = f.node.weft("get", "seller/deep")
    assert rc == 0, "get (text): exit %d: %s" % (rc, err)
    bundle = os.path.join(os.path.dirname(p), "deep.bundle")
    f.node.ok("export", "-o", bundle)
    other = Node("other").start("other")
    other.ok("import", bundle)
    assert other.get("seller/deep")["descriptor"] is not None, (
        "the export left out the descriptor of seller/deep")


def check_error_reply(reply, what):
    assert b"error" in reply, "%s: reply without an error: %r" % (
        what, reply[:200])
    m = mp_unpack(reply)
    assert m.get("ok") is False and isinstance(m.get("code"), int), m
    assert m["code"] != 0 and m.get("error"), m
    return m


def test_raw_requests_get_error_replies():
    f = Fixture()
    n = f.node
    status = mp_pack({"op": "status"})
    rc, reply, err = rawreq(n, status)
    assert rc == 0 and mp_unpack(reply)["ok"] is True, (rc, reply[:100], err)
    cases = [
        ("random bytes", random.Random(2).randbytes(4096)),
        ("truncated msgpack", status[:-3]),
        ("an empty request", b""),
        ("a map without op", mp_pack({"x": 1})),
        ("an op that is not a string", mp_pack({"op": 5})),
        ("an unknown op", mp_pack({"op": "frobnicate"})),
        ("a list, not a map", mp_pack(["status"])),
        ("trailing bytes", status + b"\x00"),
        ("non-canonical key order", b"\x82\xa2op\xa3get\xa2id\xa1x"),
        ("a count larger than the input", b"\xdf\xff\xff\xff\xff"),
        ("an ext type", b"\xd4\x01\x00"),
        ("get without id", mp_pack({"op": "get"})),
        ("get with an int id", mp_pack({"op": "get", "id": 5})),
        ("publish without docs", mp_pack({"op": "publish"})),
        ("publish with docs not a list", mp_pack({"op": "publish",
                                                  "docs": "x"})),
        ("search with words not a list", mp_pack({"op": "search",
                                                  "words": 5})),
        ("search with a word not a string", mp_pack({"op": "search",
                                                     "words": [5]})),
        ("import without data", mp_pack({"op": "import"})),
        ("import of garbage", mp_pack({"op": "import", "data": b"abc"})),
        ("deprecate without reason", mp_pack({"op": "deprecate",
                                              "id": "seller/base-one"})),
        ("retire of another domain's id", mp_pack({"op": "retire",
                                                   "id": "x/y"})),
        ("deep nesting", b"\x91" * 100 + b"\xc0"),
    ]
    for i, (what, data) in enumerate(cases):
        if i < 6:  # through rawreq, the C client
            rc, reply, err = rawreq(n, data)
            assert rc == 0, "%s: rawreq failed (%s): no reply?" % (what, err)
        else:  # in-process: the same bytes on the wire, no process to start
            reply = sp_request(n.sock, data)
        check_error_reply(reply, what)
        f.unchanged("a raw request with %s" % what)
    # The op name is echoed, but bounded.
    reply = sp_request(n.sock, mp_pack({"op": "x" * 5000}))
    m = check_error_reply(reply, "a long unknown op")
    assert len(m["error"]) < 200, m
    f.done()


def test_raw_error_messages_are_not_garbled():
    # The decoder's detail is reported once, after one prefix.
    f = Fixture()
    for what, data in (("random bytes", random.Random(3).randbytes(64)),
                       ("an empty request", b""),
                       ("truncated msgpack", mp_pack({"op": "status"})[:-2])):
        rc, reply, err = rawreq(f.node, data)
        m = check_error_reply(reply, what)
        msg = m["error"]
        assert msg.count("not valid msgpack") == 1, (
            "%s: error message repeats its prefix: %r" % (what, msg))
    f.done()


def test_raw_publish_of_a_doc_without_data():
    # A doc that is not {name, data: bytes} is refused as malformed, not
    # as "0 bytes, over the 4194304-byte document limit".
    f = Fixture()
    for what, docs in (("a doc that is not a map", [5]),
                       ("a doc without data", [{"name": "x"}]),
                       ("a doc whose data is a string",
                        [{"name": "x", "data": "data-product: {}"}])):
        rc, reply, err = rawreq(f.node, mp_pack({"op": "publish",
                                                 "docs": docs}))
        m = mp_unpack(reply)
        res = m["results"][0] if m.get("ok") else m
        assert res["code"] != 0, (what, m)
        assert "over the" not in res["error"], (
            "%s: reported as over the size limit: %r" % (what, res["error"]))
        f.unchanged(what)
    f.done()


if __name__ == "__main__":
    main(globals())
