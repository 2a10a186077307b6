/*
 * summary.c: the signed summary, the unit every node replicates. A summary
 * carries the origin key, domain, product id, version, seq, times, status,
 * the hash of the full descriptor, and the fields search and governance
 * need, trimmed to a hard cap (WEFT_SUMMARY_MAX) so a malicious or merely
 * verbose descriptor cannot bloat every replica. The envelope {sum, sig}
 * keeps the signature outside the signed bytes; the signature covers
 * PROTO_SUMMARY_PREFIX, a zero byte, and the canonical summary bytes.
 */
#include "crypto/crypto.h"
#include "proto/proto.h"

#include <string.h>

#define TAGS_MAX   32   /* tags kept in a summary */
#define NAMES_MAX  64   /* schema, field, input and interface names kept */
#define WORD_MAX   64   /* bytes kept of one tag or name */
#define PORTS_MAX  256  /* entries in ports (the last folds the rest in) */
#define TARGET_MAX 1900 /* stay inline in an LMDB page when we can */

/* utf8_cut returns the largest n' <= n that does not split a character. */
static size_t
utf8_cut(const char *s, size_t n)
{
    while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80)
        n--;
    return n;
}

static pv *
clip(pv_arena *a, const char *s, size_t max)
{
    size_t n;

    if (s == NULL)
        return pv_nil(a);
    n = strlen(s);
    return pv_str(a, s, n <= max ? n : utf8_cut(s, max));
}

/* add_names appends up to NAMES_MAX unique strings from list[*].key. */
static weft_err
add_names(pv_arena *a, pv *out, const pv *list, const char *key, size_t max)
{
    uint32_t i, j;
    weft_err err;

    if (list == NULL || list->type != PV_ARR)
        return WEFT_OK;
    for (i = 0; i < list->u.a.n && out->u.a.n < max; i++) {
        const pv   *it = list->u.a.v[i];
        const char *s = key ? pv_getstr(it, key)
                            : (it->type == PV_STR ? it->u.s.p : NULL);
        pv         *w;
        bool        dup = false;

        if (s == NULL || *s == 0)
            continue;
        if ((w = clip(a, s, WORD_MAX)) == NULL)
            return WEFT_ENOMEM;
        for (j = 0; j < out->u.a.n && !dup; j++)
            dup = pv_equal(out->u.a.v[j], w);
        if (!dup && (err = pv_push(a, out, w)) != WEFT_OK)
            return err;
    }
    return WEFT_OK;
}

/* add_fields appends "schema.field" names from every schema's fields. */
static weft_err
add_fields(pv_arena *a, pv *out, const pv *schemas, size_t max)
{
    const pv *s;
    uint32_t  i;
    weft_err  err;

    if (schemas == NULL || schemas->type != PV_ARR)
        return WEFT_OK;
    for (i = 0; i < schemas->u.a.n; i++) {
        s = schemas->u.a.v[i];
        if ((err = add_names(a, out, pv_get(s, "fields"), "name", max)))
            return err;
    }
    return WEFT_OK;
}

static weft_err
build_lists(pv_arena *a, pv *sum, const pv *desc, size_t max)
{
    static const char *const keys[] = { "tags", "ifaces", "formats", "schemas",
        "fields", "inputs", "contracts" };
    pv                      *l[7];
    weft_err                 err = WEFT_OK;

    for (int i = 0; i < 7; i++)
        if ((l[i] = pv_arr(a)) == NULL)
            return WEFT_ENOMEM;
    if ((err = add_names(a, l[0], pv_get(desc, "tags"), NULL,
             max < TAGS_MAX ? max : TAGS_MAX))
        || (err = add_names(a, l[1], pv_get(desc, "interfaces"), "type", max))
        || (err = add_names(a, l[2], pv_get(desc, "formats"), NULL, max))
        || (err = add_names(a, l[3], pv_get(desc, "schemas"), "name", max))
        || (err = add_fields(a, l[4], pv_get(desc, "schemas"), max))
        || (err = add_names(a, l[5], pv_get(desc, "inputs"), "name", max))
        || (err = add_names(a, l[6], pv_get(desc, "contracts"), NULL, max)))
        return err;
    for (int i = 0; i < 7 && err == WEFT_OK; i++)
        err = pv_set(a, sum, keys[i], l[i]);
    return err;
}

static pv *
quality(pv_arena *a, const pv *desc)
{
    const pv                *q = pv_get(desc, "quality");
    pv                      *m = pv_map(a);
    static const char *const keys[]
        = { "completeness", "accuracy", "freshness_s" };

    if (m == NULL)
        return NULL;
    for (int i = 0; i < 3; i++) {
        const pv *v = pv_get(q, keys[i]);

        if (pv_set(a, m, keys[i], v ? pv_copy(a, v) : pv_nil(a)) != WEFT_OK)
            return NULL;
    }
    return m;
}

/*
 * ports lists the security control bits each interface declares, in the
 * descriptor's order (governance checks that each declares what its
 * classification requires). Never trimmed, since a list cut short would
 * hide a port from the check: past PORTS_MAX interfaces the last entry is
 * the AND of all the rest (what every one of them declares).
 */
static pv *
ports(pv_arena *a, const pv *desc)
{
    const pv *l = pv_get(desc, "interfaces");
    pv       *out = pv_arr(a);
    int64_t   rest = 31;
    uint32_t  n = l && l->type == PV_ARR ? l->u.a.n : 0;

    for (uint32_t i = 0; out && i < n; i++) {
        int64_t bits = pv_getint(l->u.a.v[i], "controls", 0) & 31;

        if (i + 1 < PORTS_MAX || n == PORTS_MAX) {
            if (pv_push(a, out, pv_int(a, bits)))
                return NULL;
        } else
            rest &= bits;
    }
    if (out && n > PORTS_MAX && pv_push(a, out, pv_int(a, rest)))
        return NULL;
    return out;
}

/* size is the byte length of desc's canonical encoding (what body hashes),
 * for governance's size limit. */
static int64_t
size(const pv *desc)
{
    weft_buf b;
    int64_t  n;

    weft_buf_init(&b, WEFT_DESC_MAX);
    n = proto_encode(desc, &b) == WEFT_OK ? (int64_t) b.len : 0;
    weft_buf_free(&b);
    return n;
}

static weft_err
build(pv_arena *a, const pv *desc, const uint8_t origin[32],
    const uint8_t body[32], uint64_t seq, int64_t issued, size_t max,
    size_t text, int64_t dsize, pv **out)
{
    pv       *s = pv_map(a);
    const pv *dep = pv_get(desc, "deprecation");
    weft_err  err;

    if (s == NULL)
        return WEFT_ENOMEM;
    if ((err = pv_setint(a, s, "v", 1))
        || (err = pv_setstr(a, s, "kind", pv_getstr(desc, "kind")))
        || (err = pv_set(a, s, "origin", pv_bin(a, origin, 32)))
        || (err = pv_setstr(a, s, "domain", pv_getstr(desc, "domain")))
        || (err = pv_setstr(a, s, "id", pv_getstr(desc, "id")))
        || (err = pv_set(a, s, "name", clip(a, pv_getstr(desc, "name"), 200)))
        || (err = pv_setstr(a, s, "version", pv_getstr(desc, "version")))
        || (err = pv_setint(a, s, "seq", (int64_t) seq))
        || (err = pv_setint(a, s, "issued", issued))
        || (err = pv_setint(a, s, "expires", issued + PROTO_SUMMARY_TTL))
        || (err = pv_setstr(a, s, "status", pv_getstr(desc, "status")))
        || (err = pv_set(a, s, "body", pv_bin(a, body, 32)))
        || (err = pv_set(
                a, s, "desc", clip(a, pv_getstr(desc, "description"), text)))
        || (err = pv_set(a, s, "owner", clip(a, pv_getstr(desc, "owner"), 200)))
        || (err = pv_set(a, s, "class",
                clip(a, pv_getstr(desc, "classification"), WORD_MAX)))
        || (err = pv_set(a, s, "quality", quality(a, desc)))
        || (err = pv_set(a, s, "ports", ports(a, desc)))
        || (err = pv_setint(a, s, "size", dsize))
        || (err
            = pv_set(a, s, "deprecation", dep ? pv_copy(a, dep) : pv_nil(a)))
        || (err = build_lists(a, s, desc, max)))
        return err;
    *out = s;
    return WEFT_OK;
}

weft_err
proto_summary_build(pv_arena *a, const pv *desc, const uint8_t origin[32],
    const uint8_t body_hash[32], uint64_t seq, int64_t issued, pv **out)
{
    size_t   max = NAMES_MAX, text = WEFT_SUMMARY_TEXT;
    int64_t  dsize = size(desc); /* once: the loop below may build often */
    weft_buf b;
    weft_err err;
    pv      *s;

    /*
     * Build with generous lists, then halve them until the encoding fits:
     * under TARGET_MAX when possible (inline in an LMDB page), and never
     * over WEFT_SUMMARY_MAX. The first build can be far larger than the
     * cap (64 long names in each list), so the buffer is not capped at it.
     */
    weft_buf_init(&b, WEFT_DESC_MAX);
    for (;;) {
        b.len = 0;
        if ((err = build(
                 a, desc, origin, body_hash, seq, issued, max, text, dsize, &s))
            != WEFT_OK)
            break;
        if ((err = proto_encode(s, &b)) != WEFT_OK)
            break;
        if (b.len <= TARGET_MAX || (max == 0 && b.len <= WEFT_SUMMARY_MAX)) {
            *out = s;
            break;
        }
        if (max == 0 && text == 0) {
            err = WEFT_ETOOBIG;
            break;
        }
        if (max > 0)
            max /= 2;
        else
            text /= 2;
    }
    weft_buf_free(&b);
    return err;
}

/* ---- checking ------------------------------------------------------- */

typedef struct field {
    const char *name;
    pv_type     type;
    bool        nil_ok;
} field;

static const field fields[] = {
    { "v", PV_INT, false },
    { "kind", PV_STR, false },
    { "origin", PV_BIN, false },
    { "domain", PV_STR, false },
    { "id", PV_STR, false },
    { "name", PV_STR, false },
    { "version", PV_STR, false },
    { "seq", PV_INT, false },
    { "issued", PV_INT, false },
    { "expires", PV_INT, false },
    { "status", PV_STR, false },
    { "body", PV_BIN, false },
    { "desc", PV_STR, false },
    { "owner", PV_STR, true },
    { "class", PV_STR, true },
    { "quality", PV_MAP, false },
    { "deprecation", PV_MAP, true },
    { "tags", PV_ARR, false },
    { "ifaces", PV_ARR, false },
    { "formats", PV_ARR, false },
    { "schemas", PV_ARR, false },
    { "fields", PV_ARR, false },
    { "inputs", PV_ARR, false },
    { "contracts", PV_ARR, false },
    { "ports", PV_ARR, false },
    { "size", PV_INT, false },
};

/* check_ports: at most PORTS_MAX ports, each control bits 0..31. */
static weft_err
check_ports(const pv *arr, weft_diag *d)
{
    if (arr->u.a.n > PORTS_MAX)
        return weft_diagf(
            d, WEFT_ESCHEMA, "summary: more than %d ports", PORTS_MAX);
    for (uint32_t i = 0; i < arr->u.a.n; i++) {
        const pv *p = arr->u.a.v[i];

        if (p->type != PV_INT || p->u.i < 0 || p->u.i > 31)
            return weft_diagf(d, WEFT_ESCHEMA,
                "summary: ports[%u] is not control bits (0 to 31)", i);
    }
    return WEFT_OK;
}

weft_err
proto_summary_timely(const pv *sum, int64_t now, weft_diag *d)
{
    if (pv_getint(sum, "issued", 0) > now + PROTO_CLOCK_SKEW)
        return weft_diagf(d, WEFT_ESCHEMA, "issued in the future");
    return WEFT_OK;
}

bool
proto_summary_expired(const pv *sum, int64_t now)
{
    return pv_getint(sum, "expires", 0) <= now;
}

bool
proto_domain_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > WEFT_DOMAIN_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                || (i > 0 && (c == '-' || c == '.' || c == '_'))))
            return false;
    }
    return true;
}

/* nul_free: a string is read as C text everywhere: a NUL inside would
 * make two different signed summaries read alike ("sales\0x" as
 * "sales"). */
static bool
nul_free(const pv *v)
{
    return v->type != PV_STR || memchr(v->u.s.p, 0, v->u.s.len) == NULL;
}

static weft_err
check_strings(const pv *arr, const char *name, weft_diag *d)
{
    for (uint32_t i = 0; i < arr->u.a.n; i++)
        if (arr->u.a.v[i]->type != PV_STR || !nul_free(arr->u.a.v[i]))
            return weft_diagf(d, WEFT_ESCHEMA,
                "summary: %s[%u] is not a "
                "string without NUL bytes",
                name, i);
    return WEFT_OK;
}

weft_err
proto_summary_check(const pv *sum, weft_diag *d)
{
    const char *dom, *id;
    size_t      dl;

    if (sum->type != PV_MAP)
        return weft_diagf(d, WEFT_ESCHEMA, "summary: not a map");
    if (sum->u.m.n != sizeof(fields) / sizeof(fields[0]))
        return weft_diagf(d, WEFT_ESCHEMA,
            "summary: has %u fields, "
            "expected %zu",
            sum->u.m.n, sizeof(fields) / sizeof(fields[0]));
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        const pv *v = pv_get(sum, fields[i].name);

        if (v == NULL)
            return weft_diagf(
                d, WEFT_ESCHEMA, "summary: '%s' is missing", fields[i].name);
        if (v->type != fields[i].type
            && !(fields[i].nil_ok && v->type == PV_NIL))
            return weft_diagf(d, WEFT_ESCHEMA,
                "summary: '%s' has the wrong "
                "type",
                fields[i].name);
        if (!nul_free(v))
            return weft_diagf(d, WEFT_ESCHEMA, "summary: '%s' holds a NUL byte",
                fields[i].name);
        if (v->type == PV_ARR
            && (strcmp(fields[i].name, "ports") == 0
                       ? check_ports(v, d)
                       : check_strings(v, fields[i].name, d))
                != WEFT_OK)
            return WEFT_ESCHEMA;
    }
    dom = pv_getstr(sum, "domain");
    id = pv_getstr(sum, "id");
    dl = strlen(dom);
    if (!proto_status_ok(pv_getstr(sum, "status")))
        return weft_diagf(d, WEFT_ESCHEMA, "summary: unknown status");
    if (strcmp(pv_getstr(sum, "kind"), "product") != 0
        && strcmp(pv_getstr(sum, "kind"), "contract") != 0)
        return weft_diagf(d, WEFT_ESCHEMA, "summary: unknown kind");
    if (pv_getint(sum, "v", 0) != 1)
        return weft_diagf(d, WEFT_ESCHEMA, "summary: unknown format version");
    if (pv_get(sum, "origin")->u.s.len != 32
        || pv_get(sum, "body")->u.s.len != 32)
        return weft_diagf(d, WEFT_ESCHEMA, "summary: key or hash length");
    if (!proto_domain_ok(dom))
        return weft_diagf(d, WEFT_ESCHEMA, "summary: bad domain name");
    if (strncmp(id, dom, dl) != 0 || id[dl] != '/' || id[dl + 1] == 0
        || strlen(id) > WEFT_ID_MAX)
        return weft_diagf(d, WEFT_ESCHEMA,
            "summary: id '%.64s' is not "
            "'<domain>/<name>'",
            id);
    if (pv_getint(sum, "size", -1) < 0)
        return weft_diagf(d, WEFT_ESCHEMA, "summary: negative size");
    if (pv_getint(sum, "seq", 0) < 1
        || pv_getint(sum, "expires", 0) <= pv_getint(sum, "issued", 0))
        return weft_diagf(d, WEFT_ESCHEMA, "summary: bad seq or times");
    return WEFT_OK;
}

bool
proto_status_ok(const char *s)
{
    static const char *const all[]
        = { "proposed", "draft", "active", "deprecated", "retired" };

    for (size_t i = 0; s != NULL && i < sizeof(all) / sizeof(all[0]); i++)
        if (strcmp(s, all[i]) == 0)
            return true;
    return false;
}

/* ---- envelopes ------------------------------------------------------ */

weft_err
proto_envelope_seal(const pv *sum, const crypto_key *k, weft_buf *out)
{
    uint8_t  sig[CRYPTO_SIG_BYTES], head[16];
    size_t   hl;
    weft_buf b;
    weft_err err;

    weft_buf_init(&b, WEFT_SUMMARY_MAX);
    if ((err = proto_encode(sum, &b)) != WEFT_OK
        || (err = crypto_sign_msg(k, PROTO_SUMMARY_PREFIX, b.p, b.len, sig)))
        goto done;
    /*
     * The envelope is always {sig: bin 64, sum: bin N} with N at most
     * WEFT_SUMMARY_MAX, so its canonical form is written directly: fixmap
     * of 2, the keys as fixstr in order, bin8 for the signature and bin8
     * or bin16 (shortest) for the summary. proto_decode checks it.
     */
    static const uint8_t sig_head[] = { 0x82, 0xa3, 's', 'i', 'g', 0xc4, 64 };
    static const uint8_t sum_key[] = { 0xa3, 's', 'u', 'm' };

    memcpy(head, sum_key, sizeof(sum_key));
    hl = sizeof(sum_key);
    if (b.len < 256) {
        head[hl++] = 0xc4;
        head[hl++] = (uint8_t) b.len;
    } else {
        head[hl++] = 0xc5;
        head[hl++] = (uint8_t) (b.len >> 8);
        head[hl++] = (uint8_t) b.len;
    }
    if ((err = weft_buf_append(out, sig_head, sizeof(sig_head)))
        || (err = weft_buf_append(out, sig, sizeof(sig)))
        || (err = weft_buf_append(out, head, hl))
        || (err = weft_buf_append(out, b.p, b.len)))
        goto done;
done:
    weft_buf_free(&b);
    return err;
}

/* outer decodes the envelope {sig, sum} of n bytes: *body and *sig are
 * its two byte strings. */
static weft_err
outer(pv_arena *a, const uint8_t *p, size_t n, const pv **body, const pv **sig,
    weft_diag *d)
{
    pv      *env;
    weft_err err;

    if (n > WEFT_SUMMARY_MAX + 128)
        return weft_diagf(d, WEFT_ETOOBIG, "envelope: %zu bytes, limit %u", n,
            WEFT_SUMMARY_MAX + 128);
    if ((err = proto_decode(a, p, n, &env, d)) != WEFT_OK)
        return err;
    *sig = pv_get(env, "sig");
    *body = pv_get(env, "sum");
    if (env->type != PV_MAP || env->u.m.n != 2 || *sig == NULL || *body == NULL
        || (*sig)->type != PV_BIN || (*body)->type != PV_BIN
        || (*sig)->u.s.len != CRYPTO_SIG_BYTES)
        return weft_diagf(
            d, WEFT_ESCHEMA, "envelope: expected exactly {sig, sum}");
    return WEFT_OK;
}

/* signed_by checks that sig signs body with the origin key of s. */
static weft_err
signed_by(const pv *s, const pv *body, const pv *sig, weft_diag *d)
{
    if (crypto_verify_msg((const uint8_t *) pv_get(s, "origin")->u.s.p,
            PROTO_SUMMARY_PREFIX, (const uint8_t *) body->u.s.p, body->u.s.len,
            (const uint8_t *) sig->u.s.p)
        != WEFT_OK)
        return weft_diagf(d, WEFT_EBADSIG,
            "envelope: signature of %s "
            "does not verify",
            pv_getstr(s, "id"));
    return WEFT_OK;
}

static weft_err
envelope(pv_arena *a, const uint8_t *p, size_t n, bool verify, pv **sum,
    weft_diag *d)
{
    const pv *sig, *body;
    pv       *s;
    weft_err  err;

    if ((err = outer(a, p, n, &body, &sig, d)) != WEFT_OK)
        return err;
    if ((err = proto_decode(
             a, (const uint8_t *) body->u.s.p, body->u.s.len, &s, d))
        != WEFT_OK)
        return err;
    if ((err = proto_summary_check(s, d)) != WEFT_OK)
        return err;
    if (verify && (err = signed_by(s, body, sig, d)) != WEFT_OK)
        return err;
    *sum = s;
    return WEFT_OK;
}

weft_err
proto_envelope_verify(
    pv_arena *a, const uint8_t *p, size_t n, const pv *sum, weft_diag *d)
{
    const pv *sig, *body;
    weft_err  err;

    if ((err = outer(a, p, n, &body, &sig, d)) != WEFT_OK)
        return err;
    return signed_by(sum, body, sig, d);
}

weft_err
proto_envelope_open(
    pv_arena *a, const uint8_t *p, size_t n, pv **sum, weft_diag *d)
{
    return envelope(a, p, n, true, sum, d);
}

weft_err
proto_envelope_read(
    pv_arena *a, const uint8_t *p, size_t n, pv **sum, weft_diag *d)
{
    return envelope(a, p, n, false, sum, d);
}
