/*
 * proto.h: weft's data model and everything that crosses a boundary as
 * bytes: the value tree (pv) that YAML documents, descriptors, summaries and
 * CLI messages all decode into; the canonical msgpack codec (sorted keys,
 * shortest forms) with its strict, bounded decoder; YAML parsing; the
 * normalization of the article, ODPS and ODCS forms into one model; and the
 * signed summary envelope.
 *
 * Thread use: no shared state; an arena and the trees in it belong to one
 * thread at a time. Lifetime: every pv lives in the pv_arena it was made in
 * and dies with pv_arena_free. Strings in a tree are always NUL-terminated
 * copies, never pointers into an input buffer.
 */
#ifndef WEFT_PROTO_H
#define WEFT_PROTO_H

#include "util/weft.h"

#include <stdbool.h>
#include <stdint.h>

/* ---- value trees ---------------------------------------------------- */

typedef struct pv_arena pv_arena;

/* pv_arena_new makes an arena that may hold at most max bytes in all. */
pv_arena *pv_arena_new(size_t max);

/* pv_arena_free releases the arena and every value in it; NULL is a no-op. */
void pv_arena_free(pv_arena *a);

/* pv_arena_reset drops every value in a but keeps memory for reuse. */
void pv_arena_reset(pv_arena *a);

/* pv_alloc returns n zeroed bytes from a, or NULL past its maximum. */
void *pv_alloc(pv_arena *a, size_t n);

/* pv_strdup copies n bytes plus a NUL into a; NULL on failure. */
char *pv_strdup(pv_arena *a, const char *s, size_t n);

typedef enum pv_type {
    PV_NIL = 0,
    PV_BOOL = 1,
    PV_INT = 2,
    PV_FLOAT = 3,
    PV_STR = 4,
    PV_BIN = 5,
    PV_ARR = 6,
    PV_MAP = 7
} pv_type;

typedef struct pv    pv;
typedef struct pv_kv pv_kv;

/*
 * pv is one value. line and col (1-based, 0 if unknown) say where a value
 * parsed from YAML started, for error messages. Map keys are always PV_STR.
 */
struct pv {
    pv_type  type;
    uint32_t line;
    uint32_t col;
    union {
        bool    b;
        int64_t i;
        double  f;
        struct {
            const char *p; /* NUL-terminated; len excludes the NUL */
            uint32_t    len;
        } s; /* PV_STR and PV_BIN */
        struct {
            pv     **v;
            uint32_t n, cap;
        } a;
        struct {
            pv_kv   *kv;
            uint32_t n, cap;
        } m;
    } u;
};

struct pv_kv {
    pv *k;
    pv *v;
};

/* Constructors: each returns a new value in a, or NULL when a is full. */
pv *pv_nil(pv_arena *a);
pv *pv_bool(pv_arena *a, bool b);
pv *pv_int(pv_arena *a, int64_t i);
pv *pv_float(pv_arena *a, double f);
pv *pv_str(pv_arena *a, const char *s, size_t n);
pv *pv_strz(pv_arena *a, const char *s);
pv *pv_bin(pv_arena *a, const void *p, size_t n);
pv *pv_arr(pv_arena *a);
pv *pv_map(pv_arena *a);

/* pv_push appends item to array arr. */
weft_err pv_push(pv_arena *a, pv *arr, pv *item);

/* pv_set sets key in map m to val, replacing an existing entry. */
weft_err pv_set(pv_arena *a, pv *m, const char *key, pv *val);

/*
 * pv_append adds k: v to map m without pv_set's search, for a caller that
 * knows the key is new (decoders that checked uniqueness themselves); the
 * entries grow by doubling as they arrive. WEFT_ETOOBIG when a is full.
 */
weft_err pv_append(pv_arena *a, pv *m, pv *k, pv *v);

/* proto_domain_ok reports whether s is a domain name:
 * ^[a-z0-9][a-z0-9._-]{0,63}$. */
bool proto_domain_ok(const char *s);

/* pv_setstr sets key to a copy of the NUL-terminated string s (nil if NULL). */
weft_err pv_setstr(pv_arena *a, pv *m, const char *key, const char *s);

/* pv_setint sets key to the integer i. */
weft_err pv_setint(pv_arena *a, pv *m, const char *key, int64_t i);

/* pv_get returns the value at key in map m, or NULL (also if m is no map). */
pv *pv_get(const pv *m, const char *key);

/* pv_getstr returns the string at key, or NULL if absent or not a string. */
const char *pv_getstr(const pv *m, const char *key);

/* pv_getint returns the integer at key, or def if absent or not an int. */
int64_t pv_getint(const pv *m, const char *key, int64_t def);

/* pv_getbool is true when key holds the boolean true. */
bool pv_getbool(const pv *m, const char *key);

/* pv_copy deep-copies v into arena a; NULL when a is full. */
pv *pv_copy(pv_arena *a, const pv *v);

/* pv_equal reports whether two trees hold the same content. */
bool pv_equal(const pv *x, const pv *y);

/* ---- canonical msgpack ---------------------------------------------- */

/*
 * proto_encode appends the canonical msgpack encoding of v to out: map keys
 * sorted bytewise (shorter first on a common prefix), integers and lengths
 * in their shortest form, floats as float64. Equal trees give equal bytes.
 * Fails with WEFT_EINVAL on duplicate map keys or NaN.
 */
weft_err proto_encode(const pv *v, weft_buf *out);

/*
 * proto_decode decodes exactly one canonical msgpack value filling all n
 * bytes. It refuses truncation (ETRUNC), trailing bytes (ETRAIL), anything
 * not canonical (ENONCANON), nesting deeper than WEFT_DEPTH_MAX and counts
 * larger than the input could hold (ETOOBIG), and ext types (ESYNTAX). The
 * tree lives in a; d names the byte offset of the problem.
 */
weft_err proto_decode(
    pv_arena *a, const uint8_t *p, size_t n, pv **out, weft_diag *d);

/* proto_hash is BLAKE2b-256 of the canonical encoding of v. */
weft_err proto_hash(const pv *v, uint8_t out[32]);

/* ---- YAML ----------------------------------------------------------- */

/*
 * proto_yaml_parse parses one YAML document of n bytes into a tree in a.
 * Plain scalars resolve as in the YAML core schema (null, true/false, ints,
 * floats); everything else, and every quoted scalar, is a string. Anchors
 * and aliases, tags, multiple documents and duplicate keys are refused.
 * Limits: WEFT_DOC_MAX, WEFT_DEPTH_MAX, WEFT_STR_MAX, WEFT_ITEMS_MAX,
 * WEFT_NODES_MAX. On failure d says "line L, column C: problem".
 */
weft_err proto_yaml_parse(
    pv_arena *a, const uint8_t *text, size_t n, pv **out, weft_diag *d);

/* ---- the data model ------------------------------------------------- */

/*
 * proto_normalize turns a parsed document (article `data-product:`, ODPS
 * `kind: DataProduct` or ODCS `kind: DataContract`) into weft's one model,
 * a map described in docs/formats.md. A document without a domain belongs
 * to node_domain. The original document is kept whole under "source".
 * Errors name the field path and position: "data-product.version (line 7,
 * column 12): must be a string or number".
 */
weft_err proto_normalize(pv_arena *a, const pv *doc, const char *node_domain,
    pv **out, weft_diag *d);

/* proto_status_ok reports whether s is one of the lifecycle statuses:
 * proposed, draft, active, deprecated, retired (ODPS and ODCS). */
bool proto_status_ok(const char *s);

/* proto_slug writes a stable lowercase [a-z0-9-] slug of s into out. */
weft_err proto_slug(const char *s, char *out, size_t outsz);

/* proto_version_norm writes version v without a leading 'v' into out. */
weft_err proto_version_norm(const char *v, char *out, size_t outsz);

/* proto_version_cmp orders two normalized versions like semver (<0, 0, >0). */
int proto_version_cmp(const char *x, const char *y);

/* proto_percent parses "99.5%", "99.5" or 99.5 into 99.5; EINVAL if not. */
weft_err proto_percent(const pv *v, double *out);

/* proto_duration parses "5 minutes", "24h", "1 day", 300 into seconds. */
weft_err proto_duration(const pv *v, int64_t *out);

/* ---- signed summaries ----------------------------------------------- */

/* The domain-separation prefixes every signature covers before its bytes. */
#define PROTO_SUMMARY_PREFIX "weft/summary/v1"
#define PROTO_BUNDLE_PREFIX  "weft/bundle/v1"

/* Summary lifetime: a summary expires this long after it was issued
 * (weftd --summary-ttl sets its own domain's, within these bounds). Its
 * domain signs it again before then (catalog_renew). */
#define PROTO_SUMMARY_TTL     (90 * 24 * 3600)
#define PROTO_SUMMARY_TTL_MIN 10
#define PROTO_SUMMARY_TTL_MAX (3650LL * 24 * 3600)

/* How far a summary's issue time may run ahead of a receiver's clock. */
#define PROTO_CLOCK_SKEW (24 * 3600)

/*
 * proto_summary_timely refuses a summary issued more than
 * PROTO_CLOCK_SKEW after now (WEFT_ESCHEMA). An expired one is not
 * refused: it is still its domain's signed word, a part of the history
 * every node keeps, and answers say it is expired (proto_summary_expired).
 */
weft_err proto_summary_timely(const pv *sum, int64_t now, weft_diag *d);

/* proto_summary_expired: sum's domain no longer vouched for it at now. */
bool proto_summary_expired(const pv *sum, int64_t now);

/*
 * proto_summary_build makes the summary of descriptor desc (a normalized
 * model) for publication: origin key, seq, times, status, body hash and the
 * fields needed to search and govern, trimmed to fit WEFT_SUMMARY_MAX.
 */
weft_err proto_summary_build(pv_arena *a, const pv *desc,
    const uint8_t origin[32], const uint8_t body_hash[32], uint64_t seq,
    int64_t issued, pv **out);

/*
 * proto_summary_check validates the shape of a decoded summary: every
 * required field present with its type, sizes in bounds, id = domain/slug.
 */
weft_err proto_summary_check(const pv *sum, weft_diag *d);

typedef struct crypto_key crypto_key;

/*
 * proto_envelope_seal encodes summary sum canonically, signs prefix+bytes
 * with key k, and appends the envelope {sum: bytes, sig: 64 bytes} to out.
 */
weft_err proto_envelope_seal(const pv *sum, const crypto_key *k, weft_buf *out);

/*
 * proto_envelope_open strictly decodes an envelope of n bytes, checks the
 * summary's shape and verifies its signature against the summary's own
 * origin key. On success *sum is the summary tree (in a).
 */
weft_err proto_envelope_open(
    pv_arena *a, const uint8_t *p, size_t n, pv **sum, weft_diag *d);

/*
 * proto_envelope_read decodes an envelope from a trusted source (the
 * node's own store, checked when it was written) without verifying the
 * signature: strict decoding and the shape check still apply.
 */
weft_err proto_envelope_read(
    pv_arena *a, const uint8_t *p, size_t n, pv **sum, weft_diag *d);

/*
 * proto_envelope_verify verifies the signature of the envelope of n bytes
 * that proto_envelope_read decoded into sum: read then verify is
 * proto_envelope_open, for a caller that first looks at the summary (a
 * node that already holds these exact bytes need not check them again).
 */
weft_err proto_envelope_verify(
    pv_arena *a, const uint8_t *p, size_t n, const pv *sum, weft_diag *d);

/* ---- peer records ---------------------------------------------------- */

#define PROTO_PEER_PREFIX     "weft/peer/v1"
#define PROTO_PEER_RECORD_MAX 1024 /* bytes in one signed peer record */

/* proto_peer_record_seal appends the signed record {domain, key of k,
 * url, ts} to out. */
weft_err proto_peer_record_seal(const crypto_key *k, const char *domain,
    const char *url, int64_t ts, weft_buf *out);

/* proto_peer_record_open decodes and verifies a signed peer record; *rec
 * is the map {domain, key, url, ts} (in a). */
weft_err proto_peer_record_open(
    pv_arena *a, const uint8_t *p, size_t n, pv **rec, weft_diag *d);

/* ---- domain heads ---------------------------------------------------- */

#define PROTO_HEAD_PREFIX "weft/head/v1"
#define PROTO_HEAD_SKEW   300 /* seconds a head may be dated ahead of us */

/* proto_head_seal appends the signed head {domain, key of k, seq, tip,
 * ts} to out; tip is the BLAKE2b-256 of the envelope at seq (NULL when
 * seq is 0). */
weft_err proto_head_seal(const crypto_key *k, const char *domain, uint64_t seq,
    const uint8_t *tip, int64_t ts, weft_buf *out);

/* proto_head_open decodes and verifies a signed head; one dated more than
 * PROTO_HEAD_SKEW after now is refused. *head is the map (in a). */
weft_err proto_head_open(pv_arena *a, const uint8_t *p, size_t n, int64_t now,
    pv **head, weft_diag *d);

/* ---- governance policy bundles (govern.c) ---------------------------- */

#define PROTO_POLICY_PREFIX "weft/policy/v1"
#define PROTO_POLICY_MAX    (256 << 10) /* bytes in one policy bundle */
#define PROTO_COUNCIL_MAX   16          /* keys in a council, signatures */

/*
 * proto_policy_seal signs the normalized policy (proto/policy.h; it holds
 * its version) and council (nil, or a new {keys: [bin 32], threshold})
 * with each of the nkeys keys into a bundle appended to out.
 */
weft_err proto_policy_seal(const pv *policy, const pv *council, int64_t issued,
    crypto_key *const *keys, int nkeys, weft_buf *out);

/*
 * proto_policy_open decodes a bundle and checks its shape, not its
 * signatures: *body is the decoded body, *raw its signed bytes, *sigs the
 * list of [key, sig].
 */
weft_err proto_policy_open(pv_arena *a, const uint8_t *p, size_t n, pv **body,
    const pv **raw, const pv **sigs, weft_diag *d);

/*
 * proto_policy_verify checks the signatures sigs over raw against council
 * ({keys, threshold}) and, for a bundle that names a new council, next
 * (else NULL): every signer must be a distinct key of either whose
 * signature verifies, and each council must have its threshold of them
 * (TUF's root rotation: old and new both sign).
 */
weft_err proto_policy_verify(const pv *raw, const pv *sigs, const pv *council,
    const pv *next, weft_diag *d);

/* ---- JSON ----------------------------------------------------------- */

/*
 * proto_json_dump appends v as JSON to out (binary as lowercase hex),
 * pretty-printed when pretty is set. Built on jansson.
 */
weft_err proto_json_dump(const pv *v, bool pretty, weft_buf *out);

#endif
