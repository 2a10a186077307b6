/*
 * governance.c: the node's side of federated governance. The trust anchor
 * (the council's keys and threshold, fixed on first start, rotated only
 * by a bundle K of the current keys signed), the policy held (the newest
 * valid bundle, from `weft governance publish` or a peer), the local
 * policy (--local-policy: may only tighten), and verdicts: every current
 * summary is judged when it arrives, and all of them again when the
 * policy changes. Verdicts other than "accepted" are kept in the VERD
 * table (id -> [severity, policy version]); `weft why` judges again to
 * show every rule, which gives the same answer because judging is a pure
 * function of the policy and the summary.
 *
 * Key layout: META "gov_council" -> canonical {keys, threshold};
 * META "gov_bundle" -> the bundle held.
 */
#include "node/index.h"
#include "node/node.h"
#include "proto/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct gov {
    pv_arena *a;       /* council, global, local (trees below) */
    pv       *council; /* {keys, threshold}; NULL: no governance keys */
    pv       *global;  /* the normalized policy held, or NULL */
    pv       *local;   /* the normalized local policy, or NULL */
    policy   *eff;     /* global tightened by local, compiled; or NULL */
    weft_buf  bundle;  /* the bundle held (empty: none) */
    uint64_t  refused; /* bundles refused */
    char      last[WEFT_REASON_MAX]; /* why the last one was refused */
    uint64_t  judged_ms;             /* the last re-judging took */
};

bool
gov_local(const node *n)
{
    return n->gov && n->gov->local;
}

int64_t
gov_version(const node *n)
{
    return n->gov && n->gov->global ? pv_getint(n->gov->global, "version", 0)
                                    : 0;
}

const weft_buf *
gov_bundle(const node *n)
{
    return n->gov && n->gov->bundle.len ? &n->gov->bundle : NULL;
}

/* compile builds g->eff from global and local; the caller has checked
 * that local does not loosen global. */
static weft_err
compile(gov *g, weft_diag *d)
{
    pv_arena *a = pv_arena_new((size_t) PROTO_POLICY_MAX * 8);
    pv       *merged = NULL;
    policy   *p = NULL;
    weft_err  err = WEFT_OK;

    if (a == NULL)
        return WEFT_ENOMEM;
    if (g->global && g->local)
        err = policy_merge(a, g->global, g->local, &merged, d);
    else
        merged = g->global ? g->global : g->local;
    if (err == WEFT_OK && merged != NULL)
        err = policy_compile(merged, &p, d);
    pv_arena_free(a);
    if (err != WEFT_OK)
        return err;
    policy_free(g->eff);
    g->eff = p;
    return WEFT_OK;
}

weft_err
gov_reasons(const pv *verdict, const char *what, weft_diag *d)
{
    const pv *rules = pv_get(verdict, "rules");
    char      buf[WEFT_REASON_MAX];
    size_t    len = 0;

    buf[0] = 0;
    for (uint32_t i = 0; rules && rules->type == PV_ARR && i < rules->u.a.n;
         i++) {
        const pv   *r = rules->u.a.v[i];
        const char *out = pv_getstr(r, "outcome");
        int         w;

        if (out == NULL || strcmp(out, "pass") == 0)
            continue;
        w = snprintf(buf + len, sizeof(buf) - len, "%s%s (%s): %s",
            len ? "; " : "", pv_getstr(r, "rule"), out, pv_getstr(r, "reason"));
        if (w < 0 || (size_t) w >= sizeof(buf) - len)
            break;
        len += (size_t) w;
    }
    return weft_diagf(d, WEFT_EPOLICY, "%s: %s by governance policy v%lld: %s",
        what, pv_getstr(verdict, "verdict"),
        (long long) pv_getint(verdict, "version", 0), buf);
}

weft_err
gov_judge(node *n, pv_arena *a, const pv *sum, pv **verdict)
{
    return policy_judge(n->gov ? n->gov->eff : NULL, a, sum, verdict);
}

/* record keeps (or with accepted, drops) the verdict of id in t, and
 * moves it between the search index's verdict sets. */
static weft_err
record(store_txn *t, const char *id, policy_sev sev, int64_t version)
{
    uint8_t  v[9];
    weft_err err;

    if ((err = index_sev(t, id, gov_stored(t, id, NULL), (int) sev)))
        return err;
    if (sev == POLICY_PASS) {
        err = store_del(t, STORE_VERD, id, strlen(id));
        return err == WEFT_ENOTFOUND ? WEFT_OK : err;
    }
    v[0] = (uint8_t) sev;
    store_u64_be(v + 1, (uint64_t) version);
    return store_put(t, STORE_VERD, id, strlen(id), v, sizeof(v));
}

weft_err
gov_record(node *n, store_txn *t, pv_arena *a, const pv *sum, const pv *verdict,
    int *sev)
{
    pv      *v = (pv *) verdict;
    weft_err err;

    if (v == NULL && (err = gov_judge(n, a, sum, &v)) != WEFT_OK)
        return err;
    *sev = (int) policy_verdict(v);
    return record(
        t, pv_getstr(sum, "id"), (policy_sev) *sev, pv_getint(v, "version", 0));
}

int
gov_stored(store_txn *t, const char *id, int64_t *version)
{
    store_val v;

    if (store_get(t, STORE_VERD, id, strlen(id), &v) != WEFT_OK || v.n != 9)
        return POLICY_PASS;
    if (version)
        *version = (int64_t) store_be_u64(v.p + 1);
    return v.p[0] <= POLICY_REJECT ? v.p[0] : POLICY_REJECT;
}

typedef struct rejudge {
    node      *n;
    store_txn *t;
    pv_arena  *a;
    uint64_t   counts[4];
} rejudge;

static int
rejudge_cb(void *ctx, store_val k, store_val v)
{
    rejudge   *r = ctx;
    pv        *sum, *verdict;
    policy_sev sev;
    char       id[WEFT_ID_MAX + 1];
    weft_err   err;

    if (k.n > WEFT_ID_MAX)
        return 0;
    memcpy(id, k.p, k.n);
    id[k.n] = 0;
    pv_arena_reset(r->a);
    if (catalog_cur_env(r->t, k, v, &v) != WEFT_OK
        || proto_envelope_read(r->a, v.p, v.n, &sum, NULL) != WEFT_OK)
        return 0; /* checked when it was stored */
    if ((err = gov_judge(r->n, r->a, sum, &verdict)) != WEFT_OK)
        return err;
    sev = policy_verdict(verdict);
    r->counts[sev]++;
    /* A walk of the whole catalog maps the whole store in: let it go
     * as we go (the pages stay in the kernel's cache). */
    if ((r->counts[0] + r->counts[1] + r->counts[2] + r->counts[3]) % 4096 == 0)
        store_trim(r->n->st, r->n->mapped_keep);
    return record(r->t, id, sev, pv_getint(verdict, "version", 0));
}

/* eff_hash names the effective policy: BLAKE2b of the global and local
 * normalized trees (either may be absent). */
static void
eff_hash(const gov *g, uint8_t out[32])
{
    weft_buf b;

    weft_buf_init(&b, (size_t) PROTO_POLICY_MAX * 4);
    if (g->global)
        proto_encode(g->global, &b);
    weft_buf_append(&b, "\0local\0", 7);
    if (g->local)
        proto_encode(g->local, &b);
    crypto_blake2b(b.p, b.len, out);
    weft_buf_free(&b);
}

/*
 * gov_rejudge judges every current summary again under the effective
 * policy (after it changed), in one transaction, and notes which policy
 * judged (META "gov_judged"), so a restart with other local rules knows
 * to judge again. The walk only reads CUR and writes VERD, so changing
 * VERD under the cursor is safe.
 */
static weft_err
gov_rejudge(node *n)
{
    rejudge r
        = { n, NULL, pv_arena_new((size_t) WEFT_SUMMARY_MAX * 64), { 0 } };
    struct timespec ts0, ts1;
    weft_err        err;

    if (r.a == NULL)
        return WEFT_ENOMEM;
    clock_gettime(CLOCK_MONOTONIC, &ts0);
    if ((err = store_begin(n->st, true, &r.t)) == WEFT_OK) {
        uint8_t h[32];

        eff_hash(n->gov, h);
        if ((err = store_each(r.t, STORE_CUR, NULL, 0, false, rejudge_cb, &r))
                == WEFT_OK
            && (err = store_put(r.t, STORE_META, "gov_judged", 10, h, 32))
                == WEFT_OK)
            err = store_commit(r.t);
        else
            store_abort(r.t);
    }
    pv_arena_free(r.a);
    clock_gettime(CLOCK_MONOTONIC, &ts1);
    /* Wall time, the synced commit included: what the node was busy. */
    n->gov->judged_ms = (uint64_t) (ts1.tv_sec - ts0.tv_sec) * 1000
        + (uint64_t) (ts1.tv_nsec / 1000000)
        - (uint64_t) (ts0.tv_nsec / 1000000);
    log_msg(LOG_INFO,
        "governance: policy v%lld judged %llu accepted, %llu warned, %llu "
        "quarantined, %llu rejected (%llu ms)",
        (long long) gov_version(n), (unsigned long long) r.counts[0],
        (unsigned long long) r.counts[1], (unsigned long long) r.counts[2],
        (unsigned long long) r.counts[3],
        (unsigned long long) n->gov->judged_ms);
    return err;
}

/* refuse counts and logs a refused bundle; returns err. */
static weft_err
refuse(gov *g, weft_err err, weft_diag *d)
{
    g->refused++;
    snprintf(g->last, sizeof(g->last), "%s", d->msg[0] ? d->msg : "refused");
    log_msg(LOG_WARN, "governance: policy refused: %s", g->last);
    return err;
}

/* keep replaces the gov arena's trees: council (may be the same), global. */
static weft_err
adopt(gov *g, const pv *council, const pv *global, const uint8_t *bundle,
    size_t blen)
{
    pv_arena *a = pv_arena_new((size_t) PROTO_POLICY_MAX * 8);
    pv       *c = NULL, *gl = NULL, *lo = NULL;

    if (a == NULL || (council && (c = pv_copy(a, council)) == NULL)
        || (global && (gl = pv_copy(a, global)) == NULL)
        || (g->local && (lo = pv_copy(a, g->local)) == NULL)) {
        pv_arena_free(a);
        return WEFT_ENOMEM;
    }
    pv_arena_free(g->a);
    g->a = a;
    g->council = c;
    g->global = gl;
    g->local = lo;
    g->bundle.len = 0;
    if (bundle != NULL && weft_buf_append(&g->bundle, bundle, blen) != WEFT_OK)
        return WEFT_ENOMEM;
    return WEFT_OK;
}

weft_err
gov_offer(node *n, const uint8_t *p, size_t len, bool from_cli, bool *adopted,
    weft_diag *d)
{
    gov       *g = n->gov;
    pv_arena  *a = pv_arena_new((size_t) PROTO_POLICY_MAX * 8);
    pv        *body;
    const pv  *raw, *sigs, *council, *pol;
    policy    *check = NULL;
    store_txn *t;
    weft_buf   cb;
    weft_err   err;
    int64_t    version;

    *adopted = false;
    if (a == NULL)
        return WEFT_ENOMEM;
    if (g == NULL || g->council == NULL) {
        err = weft_diagf(d, WEFT_ESTATE,
            "this node has no governance keys (weftd run "
            "--governance-key ... on first start): it runs with no global "
            "policy");
        pv_arena_free(a);
        return from_cli ? refuse(g, err, d) : err;
    }
    if ((err = proto_policy_open(a, p, len, &body, &raw, &sigs, d)))
        goto refused;
    pol = pv_get(body, "policy");
    council = pv_get(body, "council");
    /* A new council must have signed too (as TUF rotates its root). */
    if ((err = proto_policy_verify(raw, sigs, g->council,
             council->type != PV_NIL ? council : NULL, d)))
        goto refused;
    version = pv_getint(pol, "version", 0);
    if (version <= gov_version(n)) {
        err = weft_diagf(d, WEFT_EVERSION,
            "policy version %lld is not above the version held (%lld)",
            (long long) version, (long long) gov_version(n));
        if (!from_cli) { /* old news from a peer: not a refusal */
            pv_arena_free(a);
            return err;
        }
        goto refused;
    }
    if ((err = policy_compile(pol, &check, d)) != WEFT_OK)
        goto refused;
    policy_free(check);
    if (g->local != NULL) {
        pv *merged;

        if ((err = policy_merge(a, pol, g->local, &merged, d)) != WEFT_OK) {
            /* The new global rules are stricter than the local file
             * allows for: the global policy wins; say so. */
            log_msg(LOG_WARN,
                "governance: --local-policy no longer tightens policy "
                "v%lld (%s): the local rules are set aside",
                (long long) version, d->msg);
            g->local = NULL;
        }
    }
    /* Store first: a policy the store did not take is not adopted. */
    weft_buf_init(&cb, PROTO_POLICY_MAX);
    if ((err = store_begin(n->st, true, &t)) == WEFT_OK) {
        if (council->type != PV_NIL
            && ((err = proto_encode(council, &cb))
                || (err = store_put(
                        t, STORE_META, "gov_council", 11, cb.p, cb.len))))
            store_abort(t);
        else if ((err = store_put(t, STORE_META, "gov_bundle", 10, p, len)))
            store_abort(t);
        else
            err = store_commit(t);
    }
    weft_buf_free(&cb);
    if (err != WEFT_OK) {
        weft_diagf(d, err, "governance: cannot store the policy: %s",
            weft_strerror(err));
        pv_arena_free(a);
        return err;
    }
    if ((err = adopt(
             g, council->type != PV_NIL ? council : g->council, pol, p, len))
        || (err = compile(g, d))) {
        pv_arena_free(a);
        return err;
    }
    log_msg(LOG_INFO, "governance: adopted policy v%lld (%u signatures)%s",
        (long long) version, sigs->u.a.n,
        council->type != PV_NIL ? ", and a new council" : "");
    pv_arena_free(a);
    *adopted = true;
    return gov_rejudge(n);
refused:
    pv_arena_free(a);
    return refuse(g, err, d);
}

/* council_of builds {keys, threshold} from the flags (keys sorted, so the
 * same set in any order is the same anchor). */
static pv *
council_of(pv_arena *a, const uint8_t (*keys)[32], int nkeys, int threshold)
{
    pv     *c = pv_map(a), *l = pv_arr(a);
    uint8_t sorted[PROTO_COUNCIL_MAX][32];

    if (c == NULL || l == NULL || nkeys > PROTO_COUNCIL_MAX)
        return NULL;
    memcpy(sorted, keys, (size_t) nkeys * 32);
    for (int i = 1; i < nkeys; i++)
        for (int j = i; j > 0 && memcmp(sorted[j - 1], sorted[j], 32) > 0;
             j--) {
            uint8_t tmp[32];

            memcpy(tmp, sorted[j], 32);
            memcpy(sorted[j], sorted[j - 1], 32);
            memcpy(sorted[j - 1], tmp, 32);
        }
    for (int i = 0; i < nkeys; i++)
        if (pv_push(a, l, pv_bin(a, sorted[i], 32)))
            return NULL;
    if (pv_set(a, c, "keys", l) || pv_setint(a, c, "threshold", threshold))
        return NULL;
    return c;
}

/* load_local reads, parses and normalizes the --local-policy file. */
static weft_err
load_local(pv_arena *a, const char *path, pv **out, weft_diag *d)
{
    FILE    *f = fopen(path, "rb");
    weft_buf b;
    pv      *doc;
    uint8_t  chunk[65536];
    size_t   got;
    weft_err err = WEFT_OK;

    if (f == NULL)
        return weft_diagf(d, WEFT_EIO, "--local-policy %s: cannot open", path);
    weft_buf_init(&b, WEFT_DOC_MAX);
    while (err == WEFT_OK && (got = fread(chunk, 1, sizeof(chunk), f)) > 0)
        err = weft_buf_append(&b, chunk, got);
    fclose(f);
    if (err != WEFT_OK)
        err = weft_diagf(
            d, err, "--local-policy %s: over %d bytes", path, WEFT_DOC_MAX);
    else if ((err = proto_yaml_parse(a, b.p, b.len, &doc, d))
        || (err = policy_normalize(a, doc, 1, out, d))) {
        weft_diag why = *d;

        weft_diagf(d, err, "--local-policy %s: %s", path, why.msg);
    }
    weft_buf_free(&b);
    return err;
}

weft_err
gov_start(node *n, const uint8_t (*keys)[32], int nkeys, int threshold,
    const char *local_path, weft_diag *d)
{
    gov       *g = calloc(1, sizeof(*g));
    pv_arena  *a = pv_arena_new((size_t) PROTO_POLICY_MAX * 8);
    store_txn *t;
    store_val  v;
    pv        *stored = NULL, *given = NULL, *body, *local = NULL, *merged;
    const pv  *raw, *sigs;
    weft_buf   b;
    weft_err   err;

    if (g == NULL || a == NULL) {
        free(g);
        pv_arena_free(a);
        return WEFT_ENOMEM;
    }
    n->gov = g;
    weft_buf_init(&g->bundle, PROTO_POLICY_MAX);
    weft_buf_init(&b, PROTO_POLICY_MAX);
    if (nkeys > 0
        && (threshold < 1 || threshold > nkeys || nkeys > PROTO_COUNCIL_MAX)) {
        err = weft_diagf(d, WEFT_EINVAL,
            "--governance-threshold %d: expected 1 to %d (the number of "
            "--governance-key given, at most %d)",
            threshold, nkeys, PROTO_COUNCIL_MAX);
        goto done;
    }
    if (nkeys > 0 && (given = council_of(a, keys, nkeys, threshold)) == NULL) {
        err = WEFT_ENOMEM;
        goto done;
    }
    if ((err = store_begin(n->st, true, &t)) != WEFT_OK)
        goto done;
    if (store_get(t, STORE_META, "gov_council", 11, &v) == WEFT_OK)
        err = proto_decode(a, v.p, v.n, &stored, d);
    if (err == WEFT_OK && stored == NULL && given != NULL) {
        /* First start with keys: this is the trust anchor from now on. */
        if ((err = proto_encode(given, &b)) == WEFT_OK
            && (err = store_put(t, STORE_META, "gov_council", 11, b.p, b.len))
                == WEFT_OK)
            stored = given;
    } else if (err == WEFT_OK && stored && given && !pv_equal(stored, given))
        /* Flags never move the anchor (a rotated council would otherwise
         * be undone by an old service file): say so, and go on. */
        log_msg(LOG_WARN,
            "--governance-key/--governance-threshold ignored: they differ "
            "from this node's trust anchor, which changes only through a "
            "policy signed by %lld of the current council keys (weft "
            "governance show)",
            (long long) pv_getint(stored, "threshold", 0));
    if (err == WEFT_OK
        && store_get(t, STORE_META, "gov_bundle", 10, &v) == WEFT_OK) {
        /* Ours, checked when it was taken: the signatures are not
         * checked again, the policy is compiled again. */
        if ((err = weft_buf_append(&g->bundle, v.p, v.n)) == WEFT_OK)
            err = proto_policy_open(
                a, g->bundle.p, g->bundle.len, &body, &raw, &sigs, d);
        if (err == WEFT_OK)
            g->global = pv_get(body, "policy");
    }
    if (err == WEFT_OK)
        err = store_commit(t);
    else
        store_abort(t);
    if (err != WEFT_OK)
        goto done;
    g->a = a;
    a = NULL;
    g->council = stored;
    if (local_path != NULL) {
        if ((err = load_local(g->a, local_path, &local, d)) != WEFT_OK)
            goto done;
        if (g->global
            && (err = policy_merge(g->a, g->global, local, &merged, d))) {
            weft_diag why = *d;

            weft_diagf(d, err, "--local-policy %s: %s", local_path, why.msg);
            goto done;
        }
        g->local = local;
    }
    if ((err = compile(g, d)) != WEFT_OK)
        goto done;
    /* Verdicts kept under another effective policy (other local rules,
     * or a store from before governance): judge everything again. */
    {
        uint8_t   h[32];
        store_val jv;
        bool      same = false;

        eff_hash(g, h);
        if (store_begin(n->st, false, &t) == WEFT_OK) {
            same = store_get(t, STORE_META, "gov_judged", 10, &jv) == WEFT_OK
                && jv.n == 32 && memcmp(jv.p, h, 32) == 0;
            store_abort(t);
        }
        if (!same && (err = gov_rejudge(n)) != WEFT_OK) {
            weft_diagf(d, err, "governance: cannot judge the catalog: %s",
                weft_strerror(err));
            goto done;
        }
    }
    if (g->council == NULL)
        log_msg(LOG_INFO, "governance: no council keys: no global policy");
    else
        log_msg(LOG_INFO,
            "governance: council of %u keys, threshold %lld; "
            "policy v%lld%s",
            pv_get(g->council, "keys")->u.a.n,
            (long long) pv_getint(g->council, "threshold", 0),
            (long long) gov_version(n), g->local ? " plus local rules" : "");
done:
    weft_buf_free(&b);
    pv_arena_free(a);
    return err;
}

void
gov_free(node *n)
{
    gov *g = n->gov;

    if (g == NULL)
        return;
    policy_free(g->eff);
    pv_arena_free(g->a);
    weft_buf_free(&g->bundle);
    free(g);
    n->gov = NULL;
}

static int
verd_cb(void *ctx, store_val k, store_val v)
{
    uint64_t *counts = ctx;

    (void) k;
    if (v.n == 9 && v.p[0] >= POLICY_WARN && v.p[0] <= POLICY_REJECT)
        counts[v.p[0]]++;
    return 0;
}

weft_err
gov_show(node *n, pv_arena *a, pv *out)
{
    gov       *g = n->gov;
    pv        *keys = pv_arr(a), *signers = pv_arr(a);
    store_txn *t;
    uint64_t   counts[4] = { 0 }, total = 0;
    char       fp[CRYPTO_FP_CHARS + 1];
    pv_arena  *x;
    pv        *body;
    const pv  *raw, *sigs;

    if (keys == NULL || signers == NULL)
        return WEFT_ENOMEM;
    for (uint32_t i = 0;
         g && g->council && i < pv_get(g->council, "keys")->u.a.n; i++) {
        crypto_fingerprint(
            (const uint8_t *) pv_get(g->council, "keys")->u.a.v[i]->u.s.p, fp);
        if (pv_push(a, keys, pv_strz(a, fp)))
            return WEFT_ENOMEM;
    }
    if (g && g->bundle.len && (x = pv_arena_new(PROTO_POLICY_MAX * 8))) {
        if (proto_policy_open(
                x, g->bundle.p, g->bundle.len, &body, &raw, &sigs, NULL)
            == WEFT_OK)
            for (uint32_t i = 0; i < sigs->u.a.n; i++) {
                crypto_fingerprint(
                    (const uint8_t *) sigs->u.a.v[i]->u.a.v[0]->u.s.p, fp);
                pv_push(a, signers, pv_strz(a, fp));
            }
        pv_arena_free(x);
    }
    if (store_begin(n->st, false, &t) == WEFT_OK) {
        store_count(t, STORE_CUR, &total);
        /* VERD holds the verdicts that are not "accepted". */
        store_each(t, STORE_VERD, NULL, 0, false, verd_cb, counts);
        store_abort(t);
    }
    counts[0] = total - counts[1] - counts[2] - counts[3];
    if (pv_set(a, out, "council", keys)
        || pv_setint(a, out, "threshold",
            g && g->council ? pv_getint(g->council, "threshold", 0) : 0)
        || pv_setint(a, out, "version", gov_version(n))
        || pv_set(a, out, "signers", signers)
        || pv_set(a, out, "policy",
            g && g->global ? pv_copy(a, g->global) : pv_nil(a))
        || pv_set(
            a, out, "local", g && g->local ? pv_copy(a, g->local) : pv_nil(a))
        || pv_setint(a, out, "refused", g ? (int64_t) g->refused : 0)
        || pv_setstr(a, out, "last_refusal", g && g->last[0] ? g->last : NULL)
        || pv_setint(a, out, "judged_ms", g ? (int64_t) g->judged_ms : 0)
        || pv_setint(a, out, "accepted", (int64_t) counts[0])
        || pv_setint(a, out, "warned", (int64_t) counts[1])
        || pv_setint(a, out, "quarantined", (int64_t) counts[2])
        || pv_setint(a, out, "rejected", (int64_t) counts[3]))
        return WEFT_ENOMEM;
    return WEFT_OK;
}
