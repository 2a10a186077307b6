/*
 * model_test.c: YAML parsing and normalization. The real documents in the
 * shared conformance folder must parse and normalize unchanged; malformed
 * YAML must be refused with the right line and column; every document
 * limit is tried at the limit and one past it; hostile input (deep
 * nesting, binary garbage, a full arena) must fail cleanly; and the small
 * parsers (slugs, versions, percentages, durations) are pinned down.
 */
#include "proto/proto.h"
#include "tests/test.h"

#include <dirent.h>
#include <math.h>
#include <stdint.h>

#define ARENA_MAX (512u << 20)

static const char *conf_dir;

/* parse parses NUL-terminated text into a new arena *a. */
static weft_err
parse(pv_arena **a, const char *text, pv **out, weft_diag *d)
{
    *a = pv_arena_new(ARENA_MAX);
    d->msg[0] = 0;
    return proto_yaml_parse(*a, (const uint8_t *) text, strlen(text), out, d);
}

/* parse_err parses text that must fail; returns the error, keeps d. */
static weft_err
parse_err(const char *text, weft_diag *d)
{
    pv_arena *a;
    pv       *v = NULL;
    weft_err  err = parse(&a, text, &v, d);

    pv_arena_free(a);
    return err;
}

/* norm parses and normalizes text (domain "node-dom"). */
static weft_err
norm(pv_arena **a, const char *text, pv **out, weft_diag *d)
{
    pv      *doc;
    weft_err err = parse(a, text, &doc, d);

    if (err != WEFT_OK)
        return err;
    return proto_normalize(*a, doc, "node-dom", out, d);
}

static weft_err
norm_err(const char *text, weft_diag *d)
{
    pv_arena *a;
    pv       *m = NULL;
    weft_err  err = norm(&a, text, &m, d);

    pv_arena_free(a);
    return err;
}

/* at walks a dotted path: map keys, or list indexes as digits. */
static const pv *
at(const pv *v, const char *path)
{
    char        key[64];
    const char *p = path;

    while (v != NULL && *p != 0) {
        size_t n = strcspn(p, ".");

        if (n >= sizeof(key))
            return NULL;
        memcpy(key, p, n);
        key[n] = 0;
        p += n + (p[n] == '.');
        if (v->type == PV_ARR) {
            long i = strtol(key, NULL, 10);

            v = i >= 0 && (uint32_t) i < v->u.a.n ? v->u.a.v[i] : NULL;
        } else {
            v = pv_get(v, key);
        }
    }
    return v;
}

static bool
str_is(const pv *m, const char *path, const char *want)
{
    const pv *v = at(m, path);
    bool ok = v != NULL && v->type == PV_STR && strcmp(v->u.s.p, want) == 0;

    if (!ok)
        fprintf(stderr, "  %s: expected '%s', got %s%s\n", path, want,
            v == NULL               ? "(absent)"
                : v->type == PV_STR ? v->u.s.p
                                    : "",
            v != NULL && v->type != PV_STR ? "(not a string)" : "");
    return ok;
}

static bool
is_nil(const pv *m, const char *path)
{
    const pv *v = at(m, path);

    return v != NULL && v->type == PV_NIL;
}

static bool
msg_has(const weft_diag *d, const char *want)
{
    bool ok = strstr(d->msg, want) != NULL;

    if (!ok)
        fprintf(stderr, "  message '%s' lacks '%s'\n", d->msg, want);
    return ok;
}

static uint32_t
len_of(const pv *m, const char *path)
{
    const pv *v = at(m, path);

    return v != NULL && v->type == PV_ARR ? v->u.a.n : UINT32_MAX;
}

/* ---- conformance ------------------------------------------------------- */

/* conform parses and normalizes one conformance file into *a / *out. */
static weft_err
conform(const char *rel, pv_arena **a, pv **out)
{
    char           path[1024];
    unsigned char *text;
    size_t         n;
    pv            *doc = NULL;
    weft_diag      d = { { 0 } };
    weft_err       err;
    weft_buf       b;

    snprintf(path, sizeof(path), "%s/%s", conf_dir, rel);
    text = test_read_file(path, &n);
    *a = pv_arena_new(ARENA_MAX);
    err = proto_yaml_parse(*a, text, n, &doc, &d);
    if (err == WEFT_OK)
        err = proto_normalize(*a, doc, "node-dom", out, &d);
    if (err != WEFT_OK)
        fprintf(stderr, "  %s: %s: %s\n", rel, weft_errname(err), d.msg);
    free(text);
    if (err == WEFT_OK) { /* the model must have a canonical encoding */
        weft_buf_init(&b, WEFT_DESC_MAX);
        err = proto_encode(*out, &b);
        weft_buf_free(&b);
    }
    return err;
}

static void
test_customer360(void)
{
    pv_arena *a;
    pv       *m = NULL;
    const pv *v;

    CHECK_EQ_INT(conform("article/customer-360.yaml", &a, &m), WEFT_OK);
    CHECK(str_is(m, "kind", "product"));
    CHECK(str_is(m, "format", "article"));
    CHECK(str_is(m, "id", "customer-management/customer-360"));
    CHECK(str_is(m, "name", "customer-360"));
    CHECK(str_is(m, "domain", "customer-management"));
    CHECK(str_is(m, "owner", "customer-domain-team"));
    CHECK(str_is(m, "version", "1.2.0"));
    CHECK(str_is(m, "status", "active"));
    CHECK(at(m, "quality.completeness") != NULL
        && at(m, "quality.completeness")->u.f == 99.5);
    CHECK(at(m, "quality.accuracy") != NULL
        && at(m, "quality.accuracy")->u.f == 98.7);
    v = at(m, "quality.freshness_s");
    CHECK(v != NULL && v->type == PV_INT && v->u.i == 300);
    CHECK_EQ_INT(len_of(m, "interfaces"), 3);
    CHECK(str_is(m, "interfaces.0.type", "rest-api"));
    CHECK(str_is(m, "interfaces.1.type", "graphql"));
    CHECK(str_is(m, "interfaces.2.type", "streaming"));
    CHECK(str_is(m, "interfaces.2.url", "customer-360-updates"));
    CHECK_EQ_INT(len_of(m, "schemas"), 2);
    CHECK(str_is(m, "schemas.0.name", "customer_profile"));
    CHECK_EQ_INT(len_of(m, "formats"), 1);
    CHECK(str_is(m, "formats.0", "avro"));
    CHECK(is_nil(m, "source_id") && is_nil(m, "data_product"));
    CHECK(str_is(m, "source.data-product.quality.monitoring_dashboard",
        "https://monitoring.example.com/dashboards/customer-360"));
    pv_arena_free(a);
}

static void
test_odps(void)
{
    pv_arena *a;
    pv       *m = NULL;

    CHECK_EQ_INT(
        conform("odps/customer-data-product.odps.yaml", &a, &m), WEFT_OK);
    CHECK(str_is(m, "owner", "john.doe@retailcorp.com"));
    CHECK(str_is(m, "domain", "seller"));
    CHECK(str_is(m, "name", "Customer Data Product"));
    CHECK(str_is(m, "slug", "customer-data-product"));
    CHECK(str_is(m, "id", "seller/customer-data-product"));
    CHECK(str_is(m, "status", "draft"));
    CHECK(str_is(m, "version", "0.0.0"));
    CHECK(str_is(m, "description", "Enterprise view of a customer."));
    CHECK(str_is(m, "usage",
        "Check the various artefacts for their own "
        "description."));
    CHECK(str_is(m, "tags.0", "customer"));
    CHECK(str_is(m, "source_id", "fbe8d147-28db-4f1d-bedf-a3fe9f458427"));
    CHECK_EQ_INT(len_of(m, "contracts"), 4);
    CHECK_EQ_INT(len_of(m, "interfaces"), 5);
    CHECK(str_is(m, "interfaces.4.type", "topic"));
    /* 4 input ports; the inputContracts add 1 new (one repeats a port). */
    CHECK_EQ_INT(len_of(m, "inputs"), 6);
    CHECK(str_is(m, "inputs.0.name", "payments"));
    CHECK(str_is(m, "inputs.4.name", "dbb7b1eb-7628-436e-8914-2a00638ba6db"));
    CHECK_EQ_INT(len_of(m, "schemas"), 0);
    pv_arena_free(a);

    CHECK_EQ_INT(
        conform("odps/deprecated-data-product.odps.yaml", &a, &m), WEFT_OK);
    CHECK(str_is(m, "version", "2.0.0"));
    CHECK(str_is(m, "domain", "node-dom"));
    CHECK(str_is(m, "id", "node-dom/customer-360"));
    CHECK(is_nil(m, "owner"));
    CHECK(at(m, "interfaces.0.deprecated")->u.b);
    CHECK(!at(m, "interfaces.1.deprecated")->u.b);
    CHECK(str_is(
        m, "interfaces.1.contract", "11112222-3333-4444-5555-666677778888"));
    CHECK(is_nil(m, "limitations"));
    pv_arena_free(a);

    CHECK_EQ_INT(
        conform("odps/simple-data-product.odps.yaml", &a, &m), WEFT_OK);
    CHECK(str_is(m, "version", "1.0.0"));
    CHECK(str_is(m, "domain", "node-dom"));
    CHECK_EQ_INT(len_of(m, "tags"), 2);
    pv_arena_free(a);
}

static void
test_odcs(void)
{
    pv_arena *a;
    pv       *m = NULL;
    const pv *v;

    CHECK_EQ_INT(conform("odcs/full-example.odcs.yaml", &a, &m), WEFT_OK);
    CHECK(str_is(m, "kind", "contract"));
    CHECK(str_is(m, "classification", "restricted"));
    CHECK(str_is(m, "owner", "daustin"));
    CHECK(str_is(m, "domain", "seller"));
    CHECK(str_is(m, "name", "53581432-6c55-4ba2-a65f-72344a91553a"));
    CHECK(str_is(m, "slug", "53581432-6c55-4ba2-a65f-72344a91553a"));
    CHECK(str_is(m, "data_product", "my-quantum"));
    CHECK(str_is(m, "description", "Views built on top of the seller tables."));
    CHECK(str_is(m, "tags.0", "transactions"));
    CHECK(str_is(m, "tags.1", "finance"));
    CHECK_EQ_INT(len_of(m, "schemas"), 2);
    CHECK_EQ_INT(len_of(m, "schemas.0.fields"), 3);
    CHECK(str_is(m, "schemas.0.fields.1.classification", "restricted"));
    CHECK(str_is(m, "schemas.0.fields.0.type", "date"));
    v = at(m, "quality.checks");
    CHECK(v != NULL && v->type == PV_INT && v->u.i == 2);
    v = at(m, "quality.freshness_s");
    CHECK(v != NULL && v->type == PV_INT && v->u.i == 4 * 86400);
    CHECK_EQ_INT(len_of(m, "sla"), 8);
    CHECK(str_is(m, "sla.0.property", "latency"));
    CHECK(str_is(m, "sla.0.value", "4"));
    CHECK(at(m, "sla.4.seconds")->u.i == 3 * 365 * 86400);
    CHECK(is_nil(m, "sla.1.seconds"));
    CHECK(str_is(m, "sla.6.value", "09:00-08:00"));
    CHECK(str_is(m, "interfaces.0.type", "postgres"));
    CHECK(str_is(m, "interfaces.0.name", "my-postgres"));
    CHECK(str_is(m, "interfaces.0.url", "localhost"));
    pv_arena_free(a);

    CHECK_EQ_INT(conform("odcs/kafka-schema.odcs.yaml", &a, &m), WEFT_OK);
    CHECK(str_is(m, "status", "draft"));
    CHECK(str_is(m, "name", "Orders Event Stream"));
    CHECK(str_is(m, "slug", "orders"));
    CHECK(str_is(m, "schemas.0.format", "avro"));
    CHECK(str_is(m, "schemas.0.fields.2.name", "qty"));
    CHECK(str_is(m, "schemas.0.fields.2.type", "integer"));
    CHECK(str_is(m, "formats.0", "avro"));
    CHECK(is_nil(m, "classification"));
    pv_arena_free(a);

    CHECK_EQ_INT(conform("odcs/kafka-server.odcs.yaml", &a, &m), WEFT_OK);
    CHECK(str_is(m, "status", "draft"));
    pv_arena_free(a);

    CHECK_EQ_INT(
        conform("odcs/column-completeness.odcs.yaml", &a, &m), WEFT_OK);
    CHECK(at(m, "quality.checks")->u.i == 1);
    CHECK_EQ_INT(len_of(m, "tags"), 2);
    pv_arena_free(a);

    CHECK_EQ_INT(
        conform("odcs/postgresql-adventureworks-contract.odcs.yaml", &a, &m),
        WEFT_OK);
    CHECK(str_is(m, "description", ""));
    CHECK(str_is(m, "id", "node-dom/6aeafdc1-ed62-4c8f-bf0a-da1061c98cdb"));
    pv_arena_free(a);
}

/* test_every_file normalizes every file in the three folders. */
static void
test_every_file(void)
{
    static const char *const dirs[] = { "odps", "odcs" };
    char                     dir[1024], rel[512];
    struct dirent           *e;
    DIR                     *dp;
    pv_arena                *a;
    pv                      *m;
    size_t                   i, n = 0;

    for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(dir, sizeof(dir), "%s/%s", conf_dir, dirs[i]);
        CHECK((dp = opendir(dir)) != NULL);
        while (dp != NULL && (e = readdir(dp)) != NULL) {
            size_t len = strlen(e->d_name);

            if (len < 5 || strcmp(e->d_name + len - 5, ".yaml") != 0)
                continue;
            snprintf(rel, sizeof(rel), "%s/%s", dirs[i], e->d_name);
            CHECK_EQ_INT(conform(rel, &a, &m), WEFT_OK);
            pv_arena_free(a);
            n++;
        }
        if (dp != NULL)
            closedir(dp);
    }
    CHECK(n >= 10);
}

/* ---- YAML ------------------------------------------------------------ */

static void
test_scalars(void)
{
    pv_arena *a;
    pv       *v = NULL;
    weft_diag d;

    CHECK_EQ_INT(parse(&a,
                     "n1: null\nn2: ~\nn3:\nn4: NULL\nb1: true\nb2: False\n"
                     "i1: 42\ni2: -7\ni3: 0x1F\ni4: 0o17\ni5: +3\n"
                     "i6: 9223372036854775807\ni7: -9223372036854775808\n"
                     "s1: 9223372036854775808\nf1: 1.5\nf2: 1e3\nf3: .5\n"
                     "s2: .inf\ns3: .nan\ns4: 1e999\ns5: 1.2.0\ns6: 99.5%\n"
                     "s7: 'true'\ns8: yes\ns9: \"42\"\ns10: |\n  12\n"
                     "s11: !!str 7\ni8: !!int \"8\"\nf4: !!float 2\n"
                     "s12: 0x\ns13: 0o8\n",
                     &v, &d),
        WEFT_OK);
    CHECK(is_nil(v, "n1") && is_nil(v, "n2") && is_nil(v, "n3")
        && is_nil(v, "n4"));
    CHECK(at(v, "b1")->type == PV_BOOL && at(v, "b1")->u.b);
    CHECK(at(v, "b2")->type == PV_BOOL && !at(v, "b2")->u.b);
    CHECK(at(v, "i1")->type == PV_INT && at(v, "i1")->u.i == 42);
    CHECK(at(v, "i2")->u.i == -7 && at(v, "i3")->u.i == 31
        && at(v, "i4")->u.i == 15 && at(v, "i5")->u.i == 3);
    CHECK(at(v, "i6")->type == PV_INT && at(v, "i6")->u.i == INT64_MAX);
    CHECK(at(v, "i7")->type == PV_INT && at(v, "i7")->u.i == INT64_MIN);
    CHECK(str_is(v, "s1", "9223372036854775808"));
    CHECK(at(v, "f1")->type == PV_FLOAT && at(v, "f1")->u.f == 1.5);
    CHECK(at(v, "f2")->type == PV_FLOAT && at(v, "f2")->u.f == 1000.0);
    CHECK(at(v, "f3")->type == PV_FLOAT && at(v, "f3")->u.f == 0.5);
    CHECK(str_is(v, "s2", ".inf") && str_is(v, "s3", ".nan"));
    CHECK(str_is(v, "s4", "1e999") && str_is(v, "s5", "1.2.0"));
    CHECK(str_is(v, "s6", "99.5%") && str_is(v, "s7", "true"));
    CHECK(str_is(v, "s8", "yes") && str_is(v, "s9", "42"));
    CHECK(str_is(v, "s10", "12\n") && str_is(v, "s11", "7"));
    CHECK(at(v, "i8")->type == PV_INT && at(v, "i8")->u.i == 8);
    CHECK(at(v, "f4")->type == PV_FLOAT && at(v, "f4")->u.f == 2.0);
    CHECK(str_is(v, "s12", "0x") && str_is(v, "s13", "0o8"));
    /* positions are 1-based */
    CHECK_EQ_INT(v->line, 1);
    CHECK_EQ_INT(v->col, 1);
    CHECK_EQ_INT(at(v, "i1")->line, 7);
    CHECK_EQ_INT(at(v, "i1")->col, 5);
    CHECK_EQ_INT(v->u.m.kv[6].k->line, 7);
    CHECK_EQ_INT(v->u.m.kv[6].k->col, 1);
    pv_arena_free(a);
}

/* bad is one input that must fail with err and a message holding msg. */
typedef struct bad {
    const char *text;
    weft_err    err;
    const char *msg;
} bad;

static const bad yaml_bad[] = {
    { "a: [1, 2\nb: 3", WEFT_ESYNTAX,
        "line 2, column 2: did not find expected ',' or ']' (while parsing a "
        "flow sequence at line 1, column 4)" },
    { "a:\n\tb: 1\n", WEFT_ESYNTAX, "line 2, column 1:" },
    { "a:\n  b: 1\n c: 2\n", WEFT_ESYNTAX, "line 3, column 2:" },
    { "a: 1\nb: 2\na: 3\n", WEFT_ESYNTAX,
        "line 3, column 1: duplicate key 'a' (first at line 1)" },
    { "x:\n  - {k: 1, k: 2}\n", WEFT_ESYNTAX,
        "line 2, column 12: duplicate key 'k'" },
    { "a: &x 1\nb: *x\n", WEFT_ESYNTAX,
        "line 1, column 4: anchors and aliases are not supported" },
    { "a: *x\n", WEFT_ESYNTAX, "anchors and aliases" },
    { "a: 1\n---\nb: 2\n", WEFT_ESYNTAX,
        "line 2, column 1: only one document" },
    { "", WEFT_ESCHEMA, "empty document" },
    { "# nothing\n\n", WEFT_ESCHEMA, "empty document" },
    { "a: !foo 1\n", WEFT_ESYNTAX, "line 1, column 4: tag" },
    { "a: !!int x\n", WEFT_ESYNTAX, "tag" },
    { "a: !!binary aGk=\n", WEFT_ESYNTAX, "tag" },
    { "a: !!set {x}\n", WEFT_ESYNTAX, "tag" },
    { "? [a]\n: 1\n", WEFT_ESYNTAX, "line 1, column 3: a map key must be" },
    { "{[a]: 1}\n", WEFT_ESYNTAX, "a map key must be a scalar" },
    { "a: \"x\\0y\"\n", WEFT_ESYNTAX, "line 1, column 4: NUL" },
    { "a: \"bad \\uD800\"\n", WEFT_ESYNTAX, "line 1, column " },
    { "a: 'unterminated\n", WEFT_ESYNTAX, "line 2, column 1:" },
    { "a: b: c\n", WEFT_ESYNTAX, "line 1, column 5:" },
};

static void
test_yaml_errors(void)
{
    weft_diag d;
    size_t    i;

    for (i = 0; i < sizeof(yaml_bad) / sizeof(yaml_bad[0]); i++) {
        CHECK_EQ_INT(parse_err(yaml_bad[i].text, &d), yaml_bad[i].err);
        CHECK(msg_has(&d, yaml_bad[i].msg));
    }
    /* the same key in two maps is fine */
    CHECK_EQ_INT(parse_err("a: {k: 1}\nb: {k: 1}\n", &d), WEFT_OK);
}

static void
test_bytes(void)
{
    static const uint8_t nul[] = "a: 1\nb: x\0y\n";
    static const uint8_t badutf[] = "a: 1\nb: caf\xc3\n";
    static const uint8_t ok[] = "\xef\xbb\xbf"
                                "a: caf\xc3\xa9\n";
    pv_arena            *a = pv_arena_new(ARENA_MAX);
    pv                  *v;
    weft_diag            d;

    CHECK_EQ_INT(
        proto_yaml_parse(a, nul, sizeof(nul) - 1, &v, &d), WEFT_ESYNTAX);
    CHECK(msg_has(&d, "line 2, column 5:"));
    CHECK_EQ_INT(
        proto_yaml_parse(a, badutf, sizeof(badutf) - 1, &v, &d), WEFT_ESYNTAX);
    CHECK(msg_has(&d, "line 2, column 8: invalid trailing UTF-8 octet"));
    CHECK_EQ_INT(proto_yaml_parse(a, ok, sizeof(ok) - 1, &v, &d), WEFT_OK);
    CHECK(str_is(v, "a", "caf\xc3\xa9"));
    pv_arena_free(a);
}

/* garbage feeds pseudo-random bytes (fixed seed) to the parser. */
static void
test_garbage(void)
{
    uint8_t   buf[4096];
    uint64_t  x = 0x9E3779B97F4A7C15ull;
    weft_diag d;
    pv       *v;
    int       round;
    size_t    i, n;

    for (round = 0; round < 300; round++) {
        pv_arena *a = pv_arena_new(round % 2 ? ARENA_MAX : 4096);

        n = 1 + (size_t) (round * 13) % sizeof(buf);
        for (i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            /* half the rounds printable, to get past the reader */
            buf[i] = round % 3
                ? (uint8_t) x
                : (uint8_t) ("[]{}:,-?&*!|>'\"#%@ \n\tab1."[x % 25]);
        }
        if (round % 3)
            buf[n / 2] = 0;
        d.msg[0] = 0;
        if (proto_yaml_parse(a, buf, n, &v, &d) != WEFT_OK)
            CHECK(d.msg[0] != 0);
        else
            CHECK(round % 3 == 0);
        pv_arena_free(a);
    }
}

/* ---- limits ---------------------------------------------------------- */

/* nest makes k nested flow lists (or maps) around a scalar. */
static char *
nest(size_t k, bool map)
{
    char  *s = malloc(k * 5 + 2);
    size_t i, n = 0;

    for (i = 0; i < k; i++) {
        if (map) {
            memcpy(s + n, "{a: ", 4);
            n += 4;
        } else {
            s[n++] = '[';
        }
    }
    s[n++] = '1';
    for (i = 0; i < k; i++)
        s[n++] = map ? '}' : ']';
    s[n] = 0;
    return s;
}

static void
test_depth(void)
{
    weft_diag d;
    char     *s;
    size_t    i;
    char     *blk;

    s = nest(WEFT_DEPTH_MAX, false);
    CHECK_EQ_INT(parse_err(s, &d), WEFT_OK);
    free(s);
    s = nest(WEFT_DEPTH_MAX + 1, false);
    CHECK_EQ_INT(parse_err(s, &d), WEFT_ETOOBIG);
    CHECK(msg_has(&d, "line 1, column 65: nesting deeper than 64"));
    free(s);
    s = nest(WEFT_DEPTH_MAX, true);
    CHECK_EQ_INT(parse_err(s, &d), WEFT_OK);
    free(s);
    s = nest(WEFT_DEPTH_MAX + 1, true);
    CHECK_EQ_INT(parse_err(s, &d), WEFT_ETOOBIG);
    free(s);
    s = nest(10000, false);
    CHECK_EQ_INT(parse_err(s, &d), WEFT_ETOOBIG);
    free(s);
    s = nest(10000, true);
    CHECK_EQ_INT(parse_err(s, &d), WEFT_ETOOBIG);
    free(s);
    blk = malloc(10000 * 2 + 2); /* "- - - ... - 1" in block style */
    for (i = 0; i < 10000; i++)
        memcpy(blk + 2 * i, "- ", 2);
    memcpy(blk + 20000, "1", 2);
    CHECK_EQ_INT(parse_err(blk, &d), WEFT_ETOOBIG);
    free(blk);
}

static void
test_str_max(void)
{
    size_t    n = 3 + WEFT_STR_MAX + 1;
    char     *s = malloc(n + 2);
    weft_diag d;

    memcpy(s, "a: ", 3);
    memset(s + 3, 'x', WEFT_STR_MAX + 1);
    s[3 + WEFT_STR_MAX] = 0;
    CHECK_EQ_INT(parse_err(s, &d), WEFT_OK);
    s[3 + WEFT_STR_MAX] = 'x';
    s[3 + WEFT_STR_MAX + 1] = 0;
    CHECK_EQ_INT(parse_err(s, &d), WEFT_ETOOBIG);
    CHECK(msg_has(&d, "line 1, column 4:"));
    /* a key counts too */
    s[0] = 'k';
    memset(s + 1, 'k', WEFT_STR_MAX);
    memcpy(s + 1 + WEFT_STR_MAX, ": 1", 4);
    CHECK_EQ_INT(parse_err(s, &d), WEFT_ETOOBIG);
    free(s);
}

/* list makes "[1,1,...]" with k items, or a map "{k0: 1, ...}". */
static char *
items(size_t k, bool map)
{
    char  *s = malloc(k * 16 + 4);
    size_t i, n = 0;

    s[n++] = map ? '{' : '[';
    for (i = 0; i < k; i++)
        n += (size_t) (map ? snprintf(s + n, 16, "%sk%zu: 1", i ? ", " : "", i)
                           : snprintf(s + n, 16, "%s1", i ? "," : ""));
    s[n++] = map ? '}' : ']';
    s[n] = 0;
    return s;
}

static void
test_items_max(void)
{
    weft_diag d;
    char     *s;

    s = items(WEFT_ITEMS_MAX, false);
    CHECK_EQ_INT(parse_err(s, &d), WEFT_OK);
    free(s);
    s = items(WEFT_ITEMS_MAX + 1, false);
    CHECK_EQ_INT(parse_err(s, &d), WEFT_ETOOBIG);
    CHECK(msg_has(&d, "more than 65536 entries in one list"));
    free(s);
    s = items(WEFT_ITEMS_MAX, true);
    CHECK_EQ_INT(parse_err(s, &d), WEFT_OK);
    free(s);
    s = items(WEFT_ITEMS_MAX + 1, true);
    CHECK_EQ_INT(parse_err(s, &d), WEFT_ETOOBIG);
    CHECK(msg_has(&d, "more than 65536 entries in one map"));
    free(s);
}

/* nodes makes a list of 17 lists whose values (the 18 lists included)
 * number WEFT_NODES_MAX + extra. */
static char *
nodes(int extra)
{
    size_t total = WEFT_NODES_MAX - 18 + (size_t) extra, each = total / 17;
    char  *s = malloc(WEFT_NODES_MAX * 2 + 64);
    size_t i, j, n = 0, k;

    s[n++] = '[';
    for (i = 0; i < 17; i++) {
        k = i < 16 ? each : total - 16 * each;
        s[n++] = '[';
        for (j = 0; j < k; j++) {
            if (j)
                s[n++] = ',';
            s[n++] = '1';
        }
        s[n++] = ']';
        s[n++] = i < 16 ? ',' : ']';
    }
    s[n] = 0;
    return s;
}

static void
test_nodes_max(void)
{
    weft_diag d;
    char     *s;

    s = nodes(0);
    CHECK_EQ_INT(parse_err(s, &d), WEFT_OK);
    free(s);
    s = nodes(1);
    CHECK_EQ_INT(parse_err(s, &d), WEFT_ETOOBIG);
    CHECK(msg_has(&d, "more than 1048576 values"));
    free(s);
}

static void
test_doc_max(void)
{
    uint8_t  *s = malloc(WEFT_DOC_MAX + 1);
    pv_arena *a = pv_arena_new(ARENA_MAX);
    pv       *v = NULL;
    weft_diag d;
    size_t    i;

    /* "a: 1" then comment lines up to exactly the limit */
    for (i = 0; i < WEFT_DOC_MAX + 1; i++)
        s[i] = i % 100 == 99 ? '\n' : i % 100 == 0 ? '#' : 'x';
    memcpy(s, "a: 1 #", 6);
    s[WEFT_DOC_MAX - 1] = '\n';
    CHECK_EQ_INT(proto_yaml_parse(a, s, WEFT_DOC_MAX, &v, &d), WEFT_OK);
    CHECK(at(v, "a") != NULL && at(v, "a")->u.i == 1);
    CHECK_EQ_INT(
        proto_yaml_parse(a, s, WEFT_DOC_MAX + 1, &v, &d), WEFT_ETOOBIG);
    pv_arena_free(a);
    free(s);
}

/* test_arena_full parses a real document into arenas too small for it. */
static void
test_arena_full(void)
{
    char           path[1024];
    unsigned char *text;
    size_t         n, max;
    pv            *v, *m;
    weft_diag      d;
    weft_err       err;

    snprintf(path, sizeof(path), "%s/odcs/full-example.odcs.yaml", conf_dir);
    text = test_read_file(path, &n);
    for (max = 0; max <= (256u << 10); max += 16u << 10) {
        pv_arena *a = pv_arena_new(max);

        err = proto_yaml_parse(a, text, n, &v, &d);
        if (err == WEFT_OK)
            err = proto_normalize(a, v, "x", &m, &d);
        CHECK(err == WEFT_OK || err == WEFT_ETOOBIG || err == WEFT_ENOMEM);
        pv_arena_free(a);
    }
    free(text);
}

/* deep_product makes an article document whose maps and lists nest k deep. */
static char *
deep_product(int k)
{
    char *s = malloc(64 + (size_t) k * 2);
    int   i, n = snprintf(s, 64, "data-product: {name: x, version: 1, x: ");

    for (i = 0; i < k - 2; i++)
        s[n++] = '[';
    s[n++] = '1';
    for (i = 0; i < k - 2; i++)
        s[n++] = ']';
    memcpy(s + n, "}", 2);
    return s;
}

/* test_norm_limits: the model must stay encodable, and cheap to build. */
static void
test_norm_limits(void)
{
    weft_diag d;
    pv_arena *a;
    pv       *m;
    weft_buf  b;
    char     *s, *p;
    size_t    i, n;

    s = deep_product(WEFT_DEPTH_MAX - 1);
    CHECK_EQ_INT(norm(&a, s, &m, &d), WEFT_OK);
    weft_buf_init(&b, WEFT_DESC_MAX);
    CHECK_EQ_INT(proto_encode(m, &b), WEFT_OK);
    weft_buf_free(&b);
    pv_arena_free(a);
    free(s);
    s = deep_product(WEFT_DEPTH_MAX);
    CHECK_EQ_INT(norm_err(s, &d), WEFT_ETOOBIG);
    CHECK(msg_has(&d, "nests 64 deep"));
    free(s);

    /* a long parent name repeated in 60000 children: refused, not 4 GB */
    s = malloc(4u << 20);
    n = (size_t) snprintf(s, 200,
        "kind: DataContract\nid: c\nversion: 1\n"
        "schema:\n  - name: t\n    properties:\n"
        "      - name: ");
    memset(s + n, 'x', 65000);
    n += 65000;
    n += (size_t) snprintf(s + n, 40, "\n        properties:\n");
    for (i = 0; i < 60000; i++)
        n += (size_t) snprintf(s + n, 40, "          - {name: p%zu}\n", i);
    CHECK_EQ_INT(norm_err(s, &d), WEFT_ETOOBIG);
    CHECK(msg_has(&d, "nested property names add up"));

    /* a 65536-key map is copied in linear time */
    p = s + snprintf(s, 64, "data-product:\n  name: x\n  version: 1\n  x: {");
    for (i = 0; i < WEFT_ITEMS_MAX; i++)
        p += snprintf(p, 24, "%sk%zu: 1", i ? ", " : "", i);
    memcpy(p, "}\n", 3);
    CHECK_EQ_INT(norm(&a, s, &m, &d), WEFT_OK);
    CHECK_EQ_INT(at(m, "source.data-product.x")->u.m.n, WEFT_ITEMS_MAX);
    CHECK(at(m, "source.data-product.x.k65535")->u.i == 1);
    pv_arena_free(a);
    free(s);
}

/* ---- normalization errors -------------------------------------------- */

#define DP "data-product:\n  name: x\n  version: 1\n"

static const bad norm_bad[] = {
    { DP "  status: frozen\n", WEFT_ESCHEMA,
        "data-product.status (line 4, column 11): 'frozen' is not a status" },
    { "a: 1\n", WEFT_ESCHEMA, "unknown document: expected a top-level" },
    { "- 1\n", WEFT_ESCHEMA, "unknown document" },
    { "kind: Other\n", WEFT_ESCHEMA, "unknown document" },
    { "data-product: 3\n", WEFT_ESCHEMA,
        "data-product (line 1, column 15): must be a map" },
    { "data-product:\n  version: 1.0.0\n", WEFT_ESCHEMA,
        "data-product.name is required (in the map at line 2, column 3)" },
    { "data-product:\n  name: x\n", WEFT_ESCHEMA,
        "data-product.version is required" },
    { "data-product:\n  name: [x]\n  version: 1\n", WEFT_ESCHEMA,
        "data-product.name (line 2, column 9): must be a string" },
    { "data-product:\n  name: x\n  version: {a: 1}\n", WEFT_ESCHEMA,
        "data-product.version (line 3, column 12): must be a string or "
        "number" },
    { "data-product:\n  name: x\n  version: 1 2\n", WEFT_ESCHEMA,
        "data-product.version (line 3, column 12): '1 2' is not a version" },
    { "data-product:\n  name: '!!'\n  version: 1\n", WEFT_ESCHEMA,
        "data-product.name (line 2, column 9): has no letters" },
    { "kind: DataProduct\nid: p\ntags: [a, b, 3]\n", WEFT_ESCHEMA,
        "odps.tags[2] (line 3, column 14): must be a string" },
    { "kind: DataProduct\nid: p\ntags: a\n", WEFT_ESCHEMA,
        "odps.tags (line 3, column 7): must be a list" },
    { "kind: DataProduct\nid: p\noutputPorts:\n  - name: a\n    version: [1]\n",
        WEFT_ESCHEMA,
        "odps.outputPorts[0].version (line 5, column 14): must be a string or "
        "number" },
    { "kind: DataProduct\nid: p\nteam:\n  - {role: owner, username: 7}\n",
        WEFT_ESCHEMA,
        "odps.team[0].username (line 4, column 29): must be a string" },
    { "kind: DataProduct\nversion: 1\n", WEFT_ESCHEMA,
        "odps.name is required" },
    { "kind: DataContract\nid: c\n", WEFT_ESCHEMA, "odcs.version is required" },
    { "kind: DataContract\nid: c\nversion: 1\nschema:\n  - name: t\n"
      "    properties:\n      - logicalType: string\n",
        WEFT_ESCHEMA, "odcs.schema[0].properties[0].name is required" },
    { "kind: DataContract\nid: c\nversion: 1\nslaProperties:\n"
      "  - {property: p, value: [1]}\n",
        WEFT_ESCHEMA,
        "odcs.slaProperties[0].value (line 5, column 26): must be a string, "
        "number or boolean" },
    { DP "  quality:\n    completeness: abc\n", WEFT_ESCHEMA,
        "data-product.quality.completeness (line 5, column 19): expected a "
        "percentage like 99.5%, got 'abc'" },
    { DP "  quality:\n    accuracy: 101%\n", WEFT_ESCHEMA,
        "data-product.quality.accuracy (line 5, column 15)" },
    { DP "  quality:\n    freshness: soon\n", WEFT_ESCHEMA,
        "data-product.quality.freshness (line 5, column 16): expected a "
        "duration like 5 minutes, got 'soon'" },
    { DP "  interfaces:\n    - url: http://x\n", WEFT_ESCHEMA,
        "data-product.interfaces[0].type is required" },
    { DP "  interfaces: [3]\n", WEFT_ESCHEMA,
        "data-product.interfaces[0] (line 4, column 16): must be a map" },
    { DP "  domain: Sales Team\n", WEFT_ESCHEMA,
        "data-product.domain (line 4, column 11): 'Sales Team' is not a "
        "domain" },
    { DP "  domain: -x\n", WEFT_ESCHEMA, "data-product.domain" },
    { DP "  status: [a]\n", WEFT_ESCHEMA,
        "data-product.status (line 4, column 11): must be a string" },
    { DP "  inputs: [3]\n", WEFT_ESCHEMA,
        "data-product.inputs[0] (line 4, column 12): must be a string or map" },
};

static void
test_norm_errors(void)
{
    weft_diag d;
    pv_arena *a;
    pv       *m;
    size_t    i;

    for (i = 0; i < sizeof(norm_bad) / sizeof(norm_bad[0]); i++) {
        CHECK_EQ_INT(norm_err(norm_bad[i].text, &d), norm_bad[i].err);
        CHECK(msg_has(&d, norm_bad[i].msg));
    }
    /* without a domain in the document or the node there is none */
    CHECK_EQ_INT(parse(&a, DP, &m, &d), WEFT_OK);
    CHECK_EQ_INT(proto_normalize(a, m, NULL, &m, &d), WEFT_ESCHEMA);
    CHECK(msg_has(&d, "data-product.domain is required"));
    CHECK_EQ_INT(proto_normalize(a, m, "Bad Node", &m, &d), WEFT_EINVAL);
    CHECK(msg_has(&d, "node domain: 'Bad Node' is not a domain"));
    pv_arena_free(a);
}

static void
test_norm_values(void)
{
    weft_diag d;
    pv_arena *a;
    pv       *m = NULL;

    CHECK_EQ_INT(norm(&a,
                     "data-product:\n  name: Sales Orders!\n  version: 2\n"
                     "  domain: ' sales '\n  status: ' Deprecated '\n"
                     "  classification: Confidential\n"
                     "  tags: [a, b, a]\n"
                     "  schemas:\n    - name: s\n      format: parquet\n"
                     "      fields: [id, {name: amount, type: decimal}]\n"
                     "  inputs: [orders, {name: cust, version: v3}, orders]\n"
                     "  quality: {completeness: 99, accuracy: '97 %',"
                     " freshness: PT1H}\n",
                     &m, &d),
        WEFT_OK);
    CHECK(str_is(m, "id", "sales/sales-orders"));
    CHECK(str_is(m, "name", "Sales Orders!"));
    CHECK(str_is(m, "version", "2"));
    CHECK(str_is(m, "status", "deprecated"));
    CHECK(str_is(m, "classification", "confidential"));
    CHECK(str_is(m, "description", ""));
    CHECK(is_nil(m, "owner") && is_nil(m, "usage"));
    CHECK_EQ_INT(len_of(m, "tags"), 2);
    CHECK(str_is(m, "schemas.0.fields.1.type", "decimal"));
    CHECK(str_is(m, "schemas.0.fields.0.name", "id"));
    CHECK_EQ_INT(len_of(m, "inputs"), 2);
    CHECK(str_is(m, "inputs.1.version", "3"));
    CHECK(at(m, "quality.completeness")->u.f == 99.0);
    CHECK(at(m, "quality.accuracy")->u.f == 97.0);
    CHECK(at(m, "quality.freshness_s")->u.i == 3600);
    CHECK(at(m, "quality.checks")->u.i == 0);
    CHECK(at(m, "source.data-product.tags")->u.a.n == 3);
    pv_arena_free(a);

    CHECK_EQ_INT(norm(&a, "data-product:\n  name: x\n  version: 1.5\n", &m, &d),
        WEFT_OK);
    CHECK(str_is(m, "version", "1.5"));
    CHECK(str_is(m, "id", "node-dom/x"));
    pv_arena_free(a);

    /* ODCS: property classification ranks; an unknown one is ignored */
    CHECK_EQ_INT(norm(&a,
                     "kind: DataContract\nid: C-1\nname: orders\n"
                     "version: v1\nclassification: secret\nschema:\n"
                     "  - name: t\n    properties:\n"
                     "      - {name: a, classification: Internal}\n"
                     "      - {name: b, classification: pii}\n"
                     "      - name: c\n        properties:\n"
                     "          - {name: d, physicalType: int}\n",
                     &m, &d),
        WEFT_OK);
    CHECK(str_is(m, "classification", "internal"));
    CHECK(str_is(m, "slug", "c-1"));
    CHECK(str_is(m, "name", "orders"));
    CHECK(str_is(m, "schemas.0.fields.3.name", "c.d"));
    CHECK(str_is(m, "schemas.0.fields.3.type", "int"));
    CHECK(is_nil(m, "schemas.0.format"));
    pv_arena_free(a);

    CHECK_EQ_INT(norm(&a,
                     "kind: DataContract\nid: c\nversion: 1\n"
                     "classification: secret\n",
                     &m, &d),
        WEFT_OK);
    CHECK(str_is(m, "classification", "secret"));
    pv_arena_free(a);
}

/* ---- slugs, versions, percentages, durations ------------------------ */

static void
test_slug(void)
{
    char out[200], big[200];

    CHECK(proto_slug("Customer Data Product", out, sizeof(out)) == WEFT_OK
        && strcmp(out, "customer-data-product") == 0);
    CHECK(proto_slug("  --Hello__World!! ", out, sizeof(out)) == WEFT_OK
        && strcmp(out, "hello-world") == 0);
    CHECK(proto_slug("\xc3\x9c"
                     "n\xc3\xaf"
                     "code",
              out, sizeof(out))
            == WEFT_OK
        && strcmp(out, "n-code") == 0);
    CHECK(proto_slug("a", out, sizeof(out)) == WEFT_OK && !strcmp(out, "a"));
    CHECK_EQ_INT(proto_slug("!!!", out, sizeof(out)), WEFT_EINVAL);
    CHECK_EQ_INT(proto_slug("", out, sizeof(out)), WEFT_EINVAL);
    memset(big, 'a', 128);
    big[128] = 0;
    CHECK_EQ_INT(proto_slug(big, out, sizeof(out)), WEFT_OK);
    CHECK_EQ_INT(strlen(out), 128);
    big[128] = 'b';
    big[129] = 0;
    CHECK_EQ_INT(proto_slug(big, out, sizeof(out)), WEFT_ETOOBIG);
    big[128] = ' '; /* trailing separators do not count */
    CHECK_EQ_INT(proto_slug(big, out, sizeof(out)), WEFT_OK);
    CHECK_EQ_INT(proto_slug("abcdef", out, 4), WEFT_ETOOBIG);
}

static void
test_version(void)
{
    char out[80], big[80];

    CHECK(proto_version_norm("v1.2.0", out, sizeof(out)) == WEFT_OK
        && !strcmp(out, "1.2.0"));
    CHECK(proto_version_norm("V2", out, sizeof(out)) == WEFT_OK
        && !strcmp(out, "2"));
    CHECK(proto_version_norm(" 1.0-rc.1 ", out, sizeof(out)) == WEFT_OK
        && !strcmp(out, "1.0-rc.1"));
    CHECK_EQ_INT(proto_version_norm("", out, sizeof(out)), WEFT_EINVAL);
    CHECK_EQ_INT(proto_version_norm("v", out, sizeof(out)), WEFT_EINVAL);
    CHECK_EQ_INT(proto_version_norm("1 2", out, sizeof(out)), WEFT_EINVAL);
    CHECK_EQ_INT(proto_version_norm("1\x01", out, sizeof(out)), WEFT_EINVAL);
    CHECK_EQ_INT(
        proto_version_norm("1.\xc3\xa9", out, sizeof(out)), WEFT_EINVAL);
    memset(big, '1', 64);
    big[64] = 0;
    CHECK_EQ_INT(proto_version_norm(big, out, sizeof(out)), WEFT_OK);
    big[64] = '1';
    big[65] = 0;
    CHECK_EQ_INT(proto_version_norm(big, out, sizeof(out)), WEFT_ETOOBIG);

    CHECK(proto_version_cmp("1.2.0", "1.10.0") < 0);
    CHECK(proto_version_cmp("1.10.0", "1.2.0") > 0);
    CHECK(proto_version_cmp("1.0", "1.0.0") == 0);
    CHECK(proto_version_cmp("1.0.0-rc1", "1.0.0") < 0);
    CHECK(proto_version_cmp("1.0.0", "1.0.0-rc1") > 0);
    CHECK(proto_version_cmp("1.0.0-alpha", "1.0.0-beta") < 0);
    CHECK(proto_version_cmp("1.0.0-alpha", "1.0.0-alpha.1") < 0);
    CHECK(proto_version_cmp("1.0.0-2", "1.0.0-10") < 0);
    CHECK(proto_version_cmp("2", "1.9.9") > 0);
    CHECK(proto_version_cmp("0.3.0", "1.0.0") < 0);
    CHECK(proto_version_cmp("01.2", "1.2") == 0);
    CHECK(proto_version_cmp("1.0.0+b1", "1.0.0") == 0);
    CHECK(proto_version_cmp("123456789012345678901234567890", "99") > 0);
    CHECK(proto_version_cmp("1.x", "1.2") > 0);
    CHECK(proto_version_cmp("2.0.0", "2.0.0") == 0);
}

/* pct runs proto_percent on a string value. */
static weft_err
pct(const char *s, double *f)
{
    pv v;

    memset(&v, 0, sizeof(v));
    v.type = PV_STR;
    v.u.s.p = s;
    v.u.s.len = (uint32_t) strlen(s);
    return proto_percent(&v, f);
}

static void
test_percent(void)
{
    pv     v;
    double f = -1;

    CHECK(pct("99.5%", &f) == WEFT_OK && f == 99.5);
    CHECK(pct("99.5", &f) == WEFT_OK && f == 99.5);
    CHECK(pct(" 98.7 % ", &f) == WEFT_OK && f == 98.7);
    CHECK(pct("100%", &f) == WEFT_OK && f == 100.0);
    CHECK(pct("0", &f) == WEFT_OK && f == 0.0);
    CHECK_EQ_INT(pct("100.1%", &f), WEFT_EINVAL);
    CHECK_EQ_INT(pct("-1", &f), WEFT_EINVAL);
    CHECK_EQ_INT(pct("abc", &f), WEFT_EINVAL);
    CHECK_EQ_INT(pct("", &f), WEFT_EINVAL);
    CHECK_EQ_INT(pct("%", &f), WEFT_EINVAL);
    CHECK_EQ_INT(pct(".", &f), WEFT_EINVAL);
    CHECK_EQ_INT(pct("1e2", &f), WEFT_EINVAL);
    CHECK_EQ_INT(pct("nan", &f), WEFT_EINVAL);
    CHECK_EQ_INT(pct("1.2.3", &f), WEFT_EINVAL);
    memset(&v, 0, sizeof(v));
    v.type = PV_INT;
    v.u.i = 99;
    CHECK(proto_percent(&v, &f) == WEFT_OK && f == 99.0);
    v.u.i = 101;
    CHECK_EQ_INT(proto_percent(&v, &f), WEFT_EINVAL);
    v.type = PV_FLOAT;
    v.u.f = 99.5;
    CHECK(proto_percent(&v, &f) == WEFT_OK && f == 99.5);
    v.u.f = NAN;
    CHECK_EQ_INT(proto_percent(&v, &f), WEFT_EINVAL);
    v.type = PV_MAP;
    CHECK_EQ_INT(proto_percent(&v, &f), WEFT_EINVAL);
}

static int64_t
dur(const char *s)
{
    pv      v;
    int64_t out = -1;

    memset(&v, 0, sizeof(v));
    v.type = PV_STR;
    v.u.s.p = s;
    v.u.s.len = (uint32_t) strlen(s);
    return proto_duration(&v, &out) == WEFT_OK ? out : -1;
}

static const struct {
    const char *text;
    int64_t     secs; /* -1: refused */
} durations[] = {
    { "5 minutes", 300 },
    { "5 min", 300 },
    { "5m", 300 },
    { "5 Minutes", 300 },
    { "24 hours", 86400 },
    { "24h", 86400 },
    { "1 day", 86400 },
    { "2d", 172800 },
    { "30s", 30 },
    { "30 seconds", 30 },
    { "1 week", 604800 },
    { "1h 30m", 5400 },
    { "1h30m", 5400 },
    { "1.5h", 5400 },
    { "300", 300 },
    { " 10 s ", 10 },
    { "PT5M", 300 },
    { "P1D", 86400 },
    { "P1DT2H", 93600 },
    { "PT1H30M", 5400 },
    { "P1W", 604800 },
    { "PT0.5S", 1 },
    { "9223372036854775807s", INT64_MAX },
    { "", -1 },
    { "P", -1 },
    { "PT", -1 },
    { "P1DT", -1 },
    { "PT5M1H", -1 },
    { "P5", -1 },
    { "P 5D", -1 },
    { "5 parsecs", -1 },
    { "-5m", -1 },
    { "m", -1 },
    { "5m 3", -1 },
    { "5m,", -1 },
    { "99999999999999999999s", -1 },
    { "9223372036854775807m", -1 },
    { "9223372036854775807s 1s", -1 },
};

static void
test_duration(void)
{
    pv      v;
    int64_t out;
    size_t  i;

    for (i = 0; i < sizeof(durations) / sizeof(durations[0]); i++)
        if (dur(durations[i].text) != durations[i].secs) {
            CHECK(!"duration");
            fprintf(stderr, "  '%s'\n", durations[i].text);
        }
    memset(&v, 0, sizeof(v));
    v.type = PV_INT;
    v.u.i = 300;
    CHECK(proto_duration(&v, &out) == WEFT_OK && out == 300);
    v.u.i = -1;
    CHECK_EQ_INT(proto_duration(&v, &out), WEFT_EINVAL);
    v.type = PV_FLOAT;
    v.u.f = 1.5;
    CHECK_EQ_INT(proto_duration(&v, &out), WEFT_EINVAL);
}

int
main(void)
{
    conf_dir = getenv("WEFT_CONFORMANCE");
    if (conf_dir == NULL)
        conf_dir = "../shared/conformance";
    test_customer360();
    test_odps();
    test_odcs();
    test_every_file();
    test_scalars();
    test_yaml_errors();
    test_bytes();
    test_garbage();
    test_depth();
    test_str_max();
    test_items_max();
    test_nodes_max();
    test_doc_max();
    test_arena_full();
    test_norm_limits();
    test_norm_errors();
    test_norm_values();
    test_slug();
    test_version();
    test_percent();
    test_duration();
    return test_done("model_test");
}
