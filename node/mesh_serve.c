/*
 * mesh_serve.c: the peer socket's side of the mesh. Sessions (a hello
 * proves the caller's key on our fresh nonce, auth proves ours was met),
 * the shut-out of misbehaving keys, and the answers to push, sync and
 * fetch. Runs on the loop thread, called through server.c.
 */
#include "node/mesh_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the peer socket: sessions and requests ----------------------------- */

/*
 * sync_budget is the bytes of summaries a sync reply rep may still carry
 * within MESH_MSG_MAX, and at most MESH_SYNC_BYTES: rep holds the rest of
 * the reply but the summaries and upto, which takes no more than the
 * heads (one small entry per domain they hold too).
 */
static size_t
sync_budget(const pv *rep, const pv *heads)
{
    weft_buf b, h;
    size_t   used, room = MESH_MSG_MAX - (64u << 10); /* framing, lists */

    weft_buf_init(&b, MESH_MSG_MAX);
    weft_buf_init(&h, MESH_MSG_MAX);
    used
        = proto_encode(rep, &b) == WEFT_OK && proto_encode(heads, &h) == WEFT_OK
        ? b.len + h.len
        : room;
    weft_buf_free(&b);
    weft_buf_free(&h);
    if (used + (64u << 10) > room) /* a very large mesh: a small reply */
        return 64u << 10;
    return room - used < MESH_SYNC_BYTES ? room - used : MESH_SYNC_BYTES;
}

static session *
session_find(mesh *m, const pv *req)
{
    const pv *id = pv_get(req, "session");

    if (id == NULL || id->type != PV_BIN || id->u.s.len != 16)
        return NULL;
    for (int i = 0; i < MESH_SESSIONS_MAX; i++)
        if (m->sessions[i].used
            && memcmp(m->sessions[i].id, id->u.s.p, 16) == 0)
            return &m->sessions[i];
    return NULL;
}

/* session_new takes a free slot, or the least recently used one. */
static session *
session_new(mesh *m)
{
    session *s = &m->sessions[0];

    for (int i = 0; i < MESH_SESSIONS_MAX; i++) {
        if (!m->sessions[i].used) {
            s = &m->sessions[i];
            break;
        }
        if (m->sessions[i].last_ms < s->last_ms)
            s = &m->sessions[i];
    }
    memset(s, 0, sizeof(*s));
    s->used = true;
    s->last_ms = mesh__now_ms();
    crypto_random(s->id, 16);
    crypto_random(s->nonce, 32);
    return s;
}

/* banned returns the ms a key is still shut out for (0: not). */
static uint64_t
banned(mesh *m, const uint8_t *key)
{
    uint64_t now = mesh__now_ms();

    for (int i = 0; i < MESH_BANS_MAX; i++)
        if (memcmp(m->bans[i].key, key, 32) == 0 && m->bans[i].until_ms > now)
            return m->bans[i].until_ms - now;
    return 0;
}

/* ban shuts a misbehaving key out, twice as long each time. */
static void
ban(mesh *m, const uint8_t *key, const char *domain, const char *why)
{
    int slot = 0;

    for (int i = 0; i < MESH_BANS_MAX; i++) {
        if (memcmp(m->bans[i].key, key, 32) == 0) {
            slot = i;
            break;
        }
        if (m->bans[i].until_ms < m->bans[slot].until_ms)
            slot = i;
    }
    if (memcmp(m->bans[slot].key, key, 32) != 0) {
        memcpy(m->bans[slot].key, key, 32);
        m->bans[slot].dur_ms = 0;
    }
    m->bans[slot].dur_ms = m->bans[slot].dur_ms
        ? (m->bans[slot].dur_ms * 2 > MESH_BAN_MAX_MS
                ? MESH_BAN_MAX_MS
                : m->bans[slot].dur_ms * 2)
        : MESH_BAN_MIN_MS;
    m->bans[slot].until_ms = mesh__now_ms() + m->bans[slot].dur_ms;
    m->n->stats.refused[REFUSED_SHUT_OUT]++;
    log_msg(LOG_WARN, "peer of domain '%s' %s: its key is shut out for %llu ms",
        domain, why, (unsigned long long) m->bans[slot].dur_ms);
}

static weft_err
on_hello(
    mesh *m, const pv *req, pv_arena *a, pv *rep, server_req *r, weft_diag *d)
{
    node       *n = m->n;
    const pv   *key = pv_get(req, "key"), *nonce = pv_get(req, "nonce");
    const char *dom = pv_getstr(req, "domain");
    const pv   *rec = pv_get(req, "rec");
    uint8_t     msg[96], sig[64];
    session    *s;
    pv         *peers = pv_arr(a);

    if (dom == NULL || strlen(dom) > WEFT_DOMAIN_MAX || key == NULL
        || key->type != PV_BIN || key->u.s.len != 32 || nonce == NULL
        || nonce->type != PV_BIN || nonce->u.s.len != 32 || peers == NULL)
        return weft_diagf(d, WEFT_EINVAL, "hello: expected domain, key, nonce");
    if (banned(m, (const uint8_t *) key->u.s.p)) {
        server_drop(r, "hello from a key that is shut out");
        return weft_diagf(d, WEFT_ESTATE,
            "hello: this key misbehaved and is shut out for %llu ms",
            (unsigned long long) banned(m, (const uint8_t *) key->u.s.p));
    }
    /* A hello costs us a signature and a session: one that is not
     * followed by an auth counts against the connection, as an error
     * does (an honest peer says hello once, then auth). */
    server_strike(r, "said hello too many times without auth");
    s = session_new(m);
    snprintf(s->domain, sizeof(s->domain), "%s", dom);
    memcpy(s->key, key->u.s.p, 32);
    memcpy(msg, nonce->u.s.p, 32);
    memcpy(msg + 32, key->u.s.p, 32);
    memcpy(msg + 64, crypto_key_public(n->key), 32);
    if (crypto_sign_msg(n->key, HELLO_PREFIX, msg, 96, sig) != WEFT_OK)
        return WEFT_EINVAL;
    /* The caller's own signed record: we may link back (next tick). */
    if (rec != NULL && rec->type == PV_BIN
        && mesh__know_record(m, (const uint8_t *) rec->u.s.p, rec->u.s.len)
        && pv_getint(req, "inbound", MESH_LONELY) < MESH_LONELY)
        mesh__dialback(m, (const uint8_t *) rec->u.s.p, rec->u.s.len);
    /* Peer exchange: our record, then records of peers we know. */
    if (m->myrec.len > 0)
        pv_push(a, peers, pv_bin(a, m->myrec.p, m->myrec.len));
    for (int i = 0; i < m->nknown && peers->u.a.n < MESH_RECORDS_MAX; i++)
        if (m->known[i].reclen > 0)
            pv_push(a, peers, pv_bin(a, m->known[i].rec, m->known[i].reclen));
    if (pv_setstr(a, rep, "domain", n->domain)
        || pv_set(a, rep, "key", pv_bin(a, crypto_key_public(n->key), 32))
        || pv_set(a, rep, "nonce", pv_bin(a, s->nonce, 32))
        || pv_set(a, rep, "sig", pv_bin(a, sig, 64))
        || pv_set(a, rep, "session", pv_bin(a, s->id, 16))
        || pv_set(a, rep, "peers", peers))
        return WEFT_ENOMEM;
    return WEFT_OK;
}

static weft_err
on_auth(mesh *m, session *s, const pv *req, server_req *r, weft_diag *d)
{
    const pv *sig = pv_get(req, "sig");
    uint8_t   msg[96];
    weft_err  err;

    if (sig == NULL || sig->type != PV_BIN || sig->u.s.len != 64)
        return weft_diagf(d, WEFT_EINVAL, "auth: expected sig");
    memcpy(msg, s->nonce, 32);
    memcpy(msg + 32, crypto_key_public(m->n->key), 32);
    memcpy(msg + 64, s->key, 32);
    if (crypto_verify_msg(
            s->key, HELLO_PREFIX, msg, 96, (const uint8_t *) sig->u.s.p)
        != WEFT_OK) {
        /* The key is not proven: shutting it out would let anyone shut
         * out an honest peer's key. The connection goes. */
        s->used = false;
        server_drop(r, "its key proof does not verify");
        return weft_diagf(d, WEFT_EBADSIG,
            "auth: the key proof does not "
            "verify");
    }
    if ((err = mesh__bind(m->n, s->domain, s->key)) != WEFT_OK) {
        /* A proven key claims a domain another key holds. */
        ban(m, s->key, s->domain, "claimed a domain bound to another key");
        s->used = false;
        server_drop(r, "its key claims a domain bound to another key");
        return weft_diagf(
            d, err, "auth: domain '%s' is bound to another key", s->domain);
    }
    s->authed = true;
    return WEFT_OK;
}

/* policy_of is the policy version in a peer's heads ("" entry), or 0. */
static int64_t
policy_of(const pv *heads)
{
    const pv *e = pv_get(heads, "");

    return e && e->type == PV_ARR && e->u.a.n >= 1
            && e->u.a.v[0]->type == PV_INT
        ? e->u.a.v[0]->u.i
        : 0;
}

static weft_err
on_request(
    mesh *m, const pv *req, pv_arena *a, pv *rep, server_req *r, weft_diag *d)
{
    const char *op = pv_getstr(req, "op");
    session    *s;
    uint64_t    refused = 0;
    weft_err    err = WEFT_OK;

    if (op == NULL)
        return weft_diagf(d, WEFT_EINVAL, "expected an 'op'");
    if (strcmp(op, "hello") == 0)
        return on_hello(m, req, a, rep, r, d);
    if ((s = session_find(m, req)) == NULL)
        return weft_diagf(d, WEFT_ESTATE, "no such session: say hello");
    s->last_ms = mesh__now_ms();
    s->last_unix = (uint64_t) time(NULL);
    s->msgs_in++;
    if (s->refusals >= MESH_REFUSALS_MAX)
        return weft_diagf(d, WEFT_ESTATE, "session closed: too many refusals");
    if (strcmp(op, "auth") == 0)
        return on_auth(m, s, req, r, d);
    if (!s->authed)
        return weft_diagf(d, WEFT_ESTATE, "session not authenticated");
    if (strcmp(op, "push") == 0) {
        const pv *envs = pv_get(req, "envs"), *heads = pv_get(req, "heads");
        const pv *pol = pv_get(req, "policy");

        if (envs == NULL || envs->type != PV_ARR
            || (heads != NULL && heads->type != PV_ARR))
            return weft_diagf(d, WEFT_EINVAL, "push: expected envs [heads]");
        err = pv_setint(a, rep, "accepted",
            (int64_t) mesh__receive(m->n, envs, s->key, true, &refused));
        /* After the envelopes: a head names a seq they may bring. */
        if (err == WEFT_OK && heads != NULL)
            err = pv_setint(a, rep, "heads_kept",
                (int64_t) mesh__heads_receive(
                    m->n, heads, s->key, true, &refused));
        if (err == WEFT_OK && pol != NULL) {
            if (pol->type != PV_BIN)
                return weft_diagf(d, WEFT_EINVAL, "push: policy is bytes");
            refused += (uint64_t) mesh__policy_receive(
                m->n, (const uint8_t *) pol->u.s.p, pol->u.s.len, s->key);
        }
    } else if (strcmp(op, "sync") == 0) {
        const pv *heads = pv_get(req, "heads"), *hd = pv_get(req, "hd");
        pv       *envs = pv_arr(a), *mine = pv_map(a), *sheads = pv_arr(a);
        pv       *upto = pv_map(a);
        uint8_t   h[32];
        bool      more;

        if (hd != NULL && hd->type == PV_BIN && hd->u.s.len == 32 && mine
            && mesh__heads(m->n, a, mine, false) == WEFT_OK
            && proto_hash(mine, h) == WEFT_OK)
            return pv_set(
                a, rep, "same", pv_bool(a, memcmp(h, hd->u.s.p, 32) == 0));
        if (heads == NULL || heads->type != PV_MAP || !envs || !mine || !sheads
            || !upto)
            return weft_diagf(d, WEFT_EINVAL, "sync: expected heads or hd");
        mesh__heads_newer(m->n, a, heads, MESH_BATCH_BYTES / 4, sheads);
        /* The caller's policy is older than ours: ours goes along. */
        if (gov_bundle(m->n) != NULL && policy_of(heads) < gov_version(m->n)
            && (err = pv_set(a, rep, "policy",
                    pv_bin(a, gov_bundle(m->n)->p, gov_bundle(m->n)->len))))
            return err;
        if ((err = mesh__heads(m->n, a, mine, true))
            || (err = pv_set(a, rep, "sheads", sheads))
            || (err = pv_set(a, rep, "heads", mine)))
            return err;
        /* The summaries fill what the message has left (upto takes at
         * most what the heads do). */
        more
            = mesh__missing(m->n, a, heads, sync_budget(rep, mine), envs, upto);
        if ((err = pv_set(a, rep, "envs", envs))
            || (err = pv_set(a, rep, "more", pv_bool(a, more)))
            /* Where the copy stands: the caller may ask for the next
             * reply before it has stored this one. */
            || (more && (err = pv_set(a, rep, "upto", upto))))
            return err;
    } else if (strcmp(op, "fetch") == 0) {
        const char *id = pv_getstr(req, "id");

        if (id == NULL)
            return weft_diagf(d, WEFT_EINVAL, "fetch: expected id");
        err = pv_set(a, rep, "desc", mesh__descriptor(m->n, a, id));
    } else
        return weft_diagf(d, WEFT_EINVAL, "unknown op '%.32s'", op);
    s->refusals += refused;
    m->refused += refused;
    if (s->refusals >= MESH_REFUSALS_MAX) {
        ban(m, s->key, s->domain,
            "sent too many refused summaries (MESH_REFUSALS_MAX)");
        s->used = false; /* the session ends: a new hello is refused */
        server_drop(r, "too many refused summaries: its key is shut out");
    }
    if (err == WEFT_OK)
        err = pv_setint(a, rep, "refused", (int64_t) refused);
    return err;
}

bool
mesh_handle(
    node *n, const uint8_t *p, size_t len, weft_buf *out, server_req *later)
{
    mesh     *m = n->mesh;
    pv_arena *a = pv_arena_new((size_t) MESH_MSG_MAX * 8);
    pv       *req, *rep;
    weft_diag d = { "" };
    weft_err  err;

    if (a == NULL || (rep = pv_map(a)) == NULL) {
        pv_arena_free(a);
        return true;
    }
    /* What is not a peer message at all closes the connection: no
     * version of weft sends it. */
    if ((err = proto_decode(a, p, len, &req, &d)) != WEFT_OK
        || req->type != PV_MAP) {
        server_drop(later, "not a peer-protocol message (a msgpack map)");
        if (err == WEFT_OK)
            err = weft_diagf(&d, WEFT_EINVAL, "not a map");
    } else
        err = on_request(m, req, a, rep, later, &d);
    if (err == WEFT_OK)
        err = pv_set(a, rep, "ok", pv_bool(a, true));
    if (err != WEFT_OK) {
        m->refused++;
        n->stats.refused[REFUSED_REQUEST]++;
        server_strike(later, "too many refused requests in a row");
        log_msg(LOG_DEBUG, "peer request refused: %s", d.msg);
        rep = pv_map(a);
        pv_set(a, rep, "ok", pv_bool(a, false));
        pv_setint(a, rep, "code", err);
        pv_setstr(a, rep, "error", d.msg[0] ? d.msg : weft_strerror(err));
    }
    if (rep != NULL && proto_encode(rep, out) != WEFT_OK)
        out->len = 0;
    pv_arena_free(a);
    return true;
}

/* inbound lists the peers linked to us (authenticated sessions). */
weft_err
mesh__inbound(mesh *m, pv_arena *a, pv *list)
{
    for (int i = 0; m != NULL && i < MESH_SESSIONS_MAX; i++) {
        session *s = &m->sessions[i];
        pv      *p;
        char     fp[CRYPTO_FP_CHARS + 1];

        if (!s->used || !s->authed)
            continue;
        crypto_fingerprint(s->key, fp);
        if ((p = pv_map(a)) == NULL || pv_setstr(a, p, "url", NULL)
            || pv_setstr(a, p, "direction", "in")
            || pv_setstr(a, p, "domain", s->domain)
            || pv_setstr(a, p, "fingerprint", fp)
            || pv_setstr(a, p, "state", "in")
            || pv_setint(a, p, "last_seen", (int64_t) s->last_unix)
            || pv_setint(a, p, "msgs_in", (int64_t) s->msgs_in)
            || pv_setint(a, p, "refusals", (int64_t) s->refusals)
            || pv_push(a, list, p))
            return WEFT_ENOMEM;
    }
    return WEFT_OK;
}

int64_t
mesh__inbound_count(const mesh *m)
{
    int64_t n = 0;

    for (int i = 0; i < MESH_SESSIONS_MAX; i++)
        n += m->sessions[i].used && m->sessions[i].authed;
    return n;
}
