/*
 * policy.c: governance policies. One reader fills a struct policy from
 * either input: the YAML document (positions in errors, defaults and
 * implied rules, the article's spellings) or the normalized tree (exact
 * keys, every field required, nothing implied). The normalized tree is
 * written back from the struct, so what policy_normalize emits is exactly
 * what policy_compile accepts, and merge works on two structs.
 *
 * Judging is the hot path (every received summary): regexes are compiled
 * once, rules use bit masks, and reasons are formatted only when a rule
 * fails. Reasons carry no pointer, time or locale-dependent text, so every
 * node formats the same bytes.
 */
#include "proto/policy.h"
#include "proto/proto_int.h"

#include <inttypes.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define T(t)     (1u << (t))
#define PATH     PROTO_PATH
#define NELEM(x) (sizeof(x) / sizeof((x)[0]))

/* The rules, in their fixed evaluation order. */
enum {
    R_FIELDS,
    R_STATUSES,
    R_NAME,
    R_TAG,
    R_SIZE,
    R_CLASS,
    R_DEPR,
    R_QPRESENT,
    R_QTHRESH,
    R_COUNT
};

enum { P_NONE, P_FIELDS, P_STATUSES, P_PATTERNS, P_LIMIT };

static const struct {
    const char *name;
    policy_sev  sev;  /* default severity */
    int         kind; /* P_* */
    const char *key;  /* the parameter's key in the normalized tree */
    const char *ykey; /* ... and in YAML */
} rules[R_COUNT] = {
    { "required_fields", POLICY_REJECT, P_FIELDS, "fields", "fields" },
    { "allowed_statuses", POLICY_REJECT, P_STATUSES, "statuses", "statuses" },
    { "name_pattern", POLICY_WARN, P_PATTERNS, "patterns", "pattern" },
    { "tag_pattern", POLICY_WARN, P_PATTERNS, "patterns", "pattern" },
    { "max_descriptor_bytes", POLICY_REJECT, P_LIMIT, "limit", "limit" },
    { "classification", POLICY_QUARANTINE, P_NONE, NULL, NULL },
    { "deprecation", POLICY_QUARANTINE, P_NONE, NULL, NULL },
    { "quality_present", POLICY_QUARANTINE, P_NONE, NULL, NULL },
    { "quality_thresholds", POLICY_WARN, P_NONE, NULL, NULL },
};

/* Required field names; bit i of policy.fields is fields[i]. */
static const char *const fields[]
    = { "owner", "description", "classification", "version", "tags", "schemas",
          "interfaces", "inputs", "contracts", "quality" };
enum {
    F_OWNER,
    F_DESC,
    F_CLASS,
    F_VERSION,
    F_TAGS,
    F_SCHEMAS,
    F_IFACES,
    F_INPUTS,
    F_CONTRACTS,
    F_QUALITY
};

/* Lifecycle statuses; bit i of policy.statuses is statuses[i]. */
static const char *const statuses[]
    = { "proposed", "draft", "active", "deprecated", "retired" };

/* Controls; bit i of a level's controls is controls[i]. */
static const char *const controls[] = { "authentication_required",
    "authorization_required", "encryption_required", "access_logging_required",
    "purpose_limitation_required" };
#define CONTROLS_ALL ((1u << NELEM(controls)) - 1)

static const char *const sev_names[]
    = { "pass", "warn", "quarantine", "reject" };
static const char *const verdicts[]
    = { "accepted", "warned", "quarantined", "rejected" };

typedef struct pats {
    uint32_t n;   /* patterns */
    uint32_t nre; /* of which compiled (re[0..nre) need regfree) */
    char     src[POLICY_PATTERNS_MAX][POLICY_PATTERN_MAX + 1];
    regex_t  re[POLICY_PATTERNS_MAX];
} pats;

struct policy {
    int64_t    version;
    bool       on[R_COUNT];
    policy_sev sev[R_COUNT];
    uint32_t   fields;   /* required field bits */
    uint32_t   statuses; /* allowed status bits */
    pats       pat[2];   /* name_pattern, tag_pattern */
    int64_t    limit;
    uint32_t   nclass;
    struct {
        char     name[POLICY_NAME_MAX + 1];
        uint32_t controls;
    } cls[POLICY_CLASSES_MAX];
    bool    has_comp, has_acc, has_fresh;
    double  comp, acc;
    int64_t fresh;
};

/* rd is one reading: into p, from YAML (yaml) or a normalized tree. */
typedef struct rd {
    policy    *p;
    weft_diag *d;
    bool       yaml;
} rd;

/* ---- small helpers ---------------------------------------------------- */

#define sub proto__sub /* proto/model_norm.c */

static int
lookup(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return (int) i;
    return -1;
}

static weft_err
oom(weft_diag *d)
{
    return weft_diagf(d, WEFT_ENOMEM, "out of memory");
}

static pats *
pat_of(policy *p, int rule)
{
    return &p->pat[rule == R_NAME ? 0 : 1];
}

static const pats *
cpat_of(const policy *p, int rule)
{
    return &p->pat[rule == R_NAME ? 0 : 1];
}

/*
 * only refuses keys of map m (at path) that are not in allowed (NULL
 * ends the list; YAML maps may also hold a description) and duplicate keys
 * a hand-built tree could carry.
 */
static weft_err
only(rd *r, const pv *m, const char *path, const char *const *allowed)
{
    uint32_t seen = 0, i;
    char     kpath[PATH];

    for (i = 0; i < m->u.m.n; i++) {
        const pv   *k = m->u.m.kv[i].k;
        const char *s = k->type == PV_STR ? k->u.s.p : "";
        int         j = 0;

        while (allowed[j] != NULL && strcmp(allowed[j], s) != 0)
            j++;
        if (allowed[j] == NULL && r->yaml && strcmp(s, "description") == 0)
            continue;
        sub(kpath, path, s, 0);
        if (allowed[j] == NULL)
            return proto__fail(
                r->d, WEFT_ESCHEMA, kpath, k, "unknown key '%.64s'", s);
        if (seen & (1u << j))
            return proto__fail(
                r->d, WEFT_ESCHEMA, kpath, k, "duplicate key '%.64s'", s);
        seen |= 1u << j;
    }
    return WEFT_OK;
}

/* need is proto__field for a key that must be present and not null. */
static weft_err
need(rd *r, const pv *m, const char *mpath, const char *key, unsigned types,
    const pv **out)
{
    weft_err err = proto__field(m, mpath, key, types, out, r->d);

    if (err == WEFT_OK && *out == NULL)
        return proto__missing(r->d, mpath, key, m);
    return err;
}

/* ---- rule parameters (both forms) ------------------------------------- */

/*
 * pats_add checks pattern v (at path) and compiles it into s. Regexes
 * match in the process's locale; weft never calls setlocale, so that is
 * the C locale (byte semantics) on every node, as determinism needs.
 */
static weft_err
pats_add(rd *r, pats *s, const pv *v, const char *path)
{
    char msg[128];
    int  rc;

    if (v->type != PV_STR)
        return proto__fail(r->d, WEFT_ESCHEMA, path, v, "must be a string");
    if (v->u.s.len == 0 || v->u.s.len != strlen(v->u.s.p))
        return proto__fail(r->d, WEFT_ESCHEMA, path, v,
            "must be a non-empty string without NUL bytes");
    if (v->u.s.len > POLICY_PATTERN_MAX)
        return proto__fail(r->d, WEFT_ETOOBIG, path, v,
            "must be at most %d bytes", POLICY_PATTERN_MAX);
    if (s->n >= POLICY_PATTERNS_MAX)
        return proto__fail(r->d, WEFT_ETOOBIG, path, v, "at most %d patterns",
            POLICY_PATTERNS_MAX);
    for (uint32_t i = 0; i < s->n; i++)
        if (strcmp(s->src[i], v->u.s.p) == 0)
            return proto__fail(r->d, WEFT_ESCHEMA, path, v,
                "duplicate pattern '%s'", v->u.s.p);
    rc = regcomp(&s->re[s->n], v->u.s.p, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        regerror(rc, &s->re[s->n], msg, sizeof(msg));
        return proto__fail(r->d, WEFT_ESCHEMA, path, v,
            "'%s' is not a regular expression: %s", v->u.s.p, msg);
    }
    memcpy(s->src[s->n], v->u.s.p, v->u.s.len + 1);
    s->nre = ++s->n;
    return WEFT_OK;
}

/* name_bit maps string v (at path) to its bit in names, refusing
 * unknown names and duplicates in *bits. */
static weft_err
name_bit(rd *r, const pv *v, const char *path, const char *const *names,
    size_t n, const char *what, uint32_t *bits)
{
    int i;

    if (v->type != PV_STR)
        return proto__fail(r->d, WEFT_ESCHEMA, path, v, "must be a string");
    if ((i = lookup(names, n, v->u.s.p)) < 0) {
        char all[256] = "";
        for (size_t j = 0; j < n; j++)
            snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s%s",
                j ? ", " : "", names[j]);
        return proto__fail(r->d, WEFT_ESCHEMA, path, v,
            "'%.64s' is not a %s: use %s", v->u.s.p, what, all);
    }
    if (*bits & (1u << i))
        return proto__fail(
            r->d, WEFT_ESCHEMA, path, v, "duplicate '%s'", v->u.s.p);
    *bits |= 1u << i;
    return WEFT_OK;
}

/* param reads rule id's parameter from rule map m (at path). */
static weft_err
param(rd *r, int id, const pv *m, const char *path)
{
    const char *key = r->yaml ? rules[id].ykey : rules[id].key;
    unsigned    types = T(PV_ARR);
    const pv   *v;
    char        lpath[PATH], ipath[PATH];
    weft_err    err;

    if (rules[id].kind == P_LIMIT) {
        if ((err = need(r, m, path, key, T(PV_INT), &v)))
            return err;
        if (v->u.i < 1)
            return proto__fail(r->d, WEFT_ESCHEMA, sub(lpath, path, key, 0), v,
                "must be a positive integer");
        r->p->limit = v->u.i;
        return WEFT_OK;
    }
    if (rules[id].kind == P_PATTERNS && r->yaml)
        types |= T(PV_STR);
    if ((err = need(r, m, path, key, types, &v)))
        return err;
    sub(lpath, path, key, 0);
    if (v->type == PV_STR)
        return pats_add(r, pat_of(r->p, id), v, lpath);
    if (v->u.a.n == 0)
        return proto__fail(
            r->d, WEFT_ESCHEMA, lpath, v, "must list at least one entry");
    if (v->u.a.n > POLICY_LIST_MAX)
        return proto__fail(r->d, WEFT_ETOOBIG, lpath, v,
            "must list at most %d entries", POLICY_LIST_MAX);
    for (uint32_t i = 0; i < v->u.a.n; i++) {
        const pv *it = v->u.a.v[i];

        sub(ipath, lpath, NULL, i);
        if (rules[id].kind == P_FIELDS)
            err = name_bit(r, it, ipath, fields, NELEM(fields),
                "required field", &r->p->fields);
        else if (rules[id].kind == P_STATUSES)
            err = name_bit(r, it, ipath, statuses, NELEM(statuses), "status",
                &r->p->statuses);
        else
            err = pats_add(r, pat_of(r->p, id), it, ipath);
        if (err != WEFT_OK)
            return err;
    }
    return WEFT_OK;
}

/* rule reads one rule, v, of the rules map (at path). */
static weft_err
rule(rd *r, int id, const pv *v, const char *path)
{
    const char *allowed[3] = { "severity", NULL, NULL };
    const pv   *sv;
    int         s;
    weft_err    err;

    r->p->on[id] = true;
    r->p->sev[id] = rules[id].sev;
    if (r->yaml && v->type == PV_NIL)
        return rules[id].kind == P_NONE
            ? WEFT_OK
            : proto__missing(r->d, path, rules[id].ykey, v);
    if (v->type != PV_MAP)
        return proto__fail(r->d, WEFT_ESCHEMA, path, v, "must be a map");
    allowed[1] = r->yaml ? rules[id].ykey : rules[id].key;
    if ((err = only(r, v, path, allowed)))
        return err;
    err = r->yaml ? proto__field(v, path, "severity", T(PV_STR), &sv, r->d)
                  : need(r, v, path, "severity", T(PV_STR), &sv);
    if (err != WEFT_OK)
        return err;
    if (sv != NULL) {
        char spath[PATH];

        s = lookup(sev_names, NELEM(sev_names), sv->u.s.p);
        if (s < POLICY_WARN)
            return proto__fail(r->d, WEFT_ESCHEMA,
                sub(spath, path, "severity", 0), sv,
                "'%.64s' is not a severity: use warn, quarantine or reject",
                sv->u.s.p);
        r->p->sev[id] = (policy_sev) s;
    }
    return rules[id].kind == P_NONE ? WEFT_OK : param(r, id, v, path);
}

/* rule_map reads the map of rules m (at path), if there is one. */
static weft_err
rule_map(rd *r, const pv *m, const char *path)
{
    static const char *const names[] = { "required_fields", "allowed_statuses",
        "name_pattern", "tag_pattern", "max_descriptor_bytes", "classification",
        "deprecation", "quality_present", "quality_thresholds", NULL };
    char                     rpath[PATH];
    weft_err                 err;

    if (m == NULL)
        return WEFT_OK;
    if ((err = only(r, m, path, names)))
        return err;
    for (int id = 0; id < R_COUNT; id++) {
        const pv *v = pv_get(m, rules[id].name);

        if (v != NULL
            && (err = rule(r, id, v, sub(rpath, path, rules[id].name, 0))))
            return err;
    }
    return WEFT_OK;
}

/* level_name checks a level's name v (at path) and stores it as level i. */
static weft_err
level_name(rd *r, const pv *v, const char *path, uint32_t i)
{
    policy *p = r->p;

    if (v->u.s.len == 0 || v->u.s.len > POLICY_NAME_MAX
        || v->u.s.len != strlen(v->u.s.p))
        return proto__fail(r->d, WEFT_ESCHEMA, path, v,
            "must be 1 to %d bytes without NUL", POLICY_NAME_MAX);
    for (uint32_t j = 0; j < i; j++)
        if (strcmp(p->cls[j].name, v->u.s.p) == 0)
            return proto__fail(
                r->d, WEFT_ESCHEMA, path, v, "duplicate level '%s'", v->u.s.p);
    memcpy(p->cls[i].name, v->u.s.p, v->u.s.len + 1);
    return WEFT_OK;
}

/* ---- the YAML form ---------------------------------------------------- */

/* y_control reads one item of a level's controls list into *bits. */
static weft_err
y_control(rd *r, const pv *it, const char *path, uint32_t *bits)
{
    const pv *on;
    uint32_t  bit = 0;
    char      cpath[PATH];
    weft_err  err;

    if (it->type == PV_STR)
        return name_bit(
            r, it, path, controls, NELEM(controls), "control", bits);
    if (it->type != PV_MAP || it->u.m.n != 1)
        return proto__fail(r->d, WEFT_ESCHEMA, path, it,
            "must be a control name or a single-key map like "
            "{encryption_required: true}");
    if ((err = name_bit(r, it->u.m.kv[0].k, path, controls, NELEM(controls),
             "control", &bit)))
        return err;
    sub(cpath, path, it->u.m.kv[0].k->u.s.p, 0);
    if ((on = it->u.m.kv[0].v)->type != PV_BOOL)
        return proto__fail(
            r->d, WEFT_ESCHEMA, cpath, on, "must be true or false");
    if (on->u.b && (*bits & bit))
        return proto__fail(r->d, WEFT_ESCHEMA, cpath, on, "duplicate control");
    if (on->u.b)
        *bits |= bit;
    return WEFT_OK;
}

static weft_err
y_level(rd *r, const pv *lv, const char *path, uint32_t i)
{
    static const char *const keys[] = { "name", "controls", NULL };
    const pv                *name, *cl;
    char                     cpath[PATH], ipath[PATH];
    weft_err                 err;

    if (lv->type != PV_MAP)
        return proto__fail(r->d, WEFT_ESCHEMA, path, lv, "must be a map");
    if ((err = only(r, lv, path, keys))
        || (err = need(r, lv, path, "name", T(PV_STR), &name))
        || (err = level_name(r, name, sub(cpath, path, "name", 0), i))
        || (err = proto__field(lv, path, "controls", T(PV_ARR), &cl, r->d)))
        return err;
    if (cl == NULL)
        return WEFT_OK;
    sub(cpath, path, "controls", 0);
    if (cl->u.a.n > POLICY_LIST_MAX)
        return proto__fail(r->d, WEFT_ETOOBIG, cpath, cl,
            "must list at most %d controls", POLICY_LIST_MAX);
    for (uint32_t j = 0; j < cl->u.a.n; j++)
        if ((err = y_control(r, cl->u.a.v[j], sub(ipath, cpath, NULL, j),
                 &r->p->cls[i].controls)))
            return err;
    return WEFT_OK;
}

static weft_err
y_levels(rd *r, const pv *l, const char *path)
{
    char     ipath[PATH];
    weft_err err;

    if (l->u.a.n == 0)
        return proto__fail(
            r->d, WEFT_ESCHEMA, path, l, "must list at least one level");
    if (l->u.a.n > POLICY_CLASSES_MAX)
        return proto__fail(r->d, WEFT_ETOOBIG, path, l,
            "must list at most %d levels", POLICY_CLASSES_MAX);
    for (uint32_t i = 0; i < l->u.a.n; i++)
        if ((err = y_level(r, l->u.a.v[i], sub(ipath, path, NULL, i), i)))
            return err;
    r->p->nclass = l->u.a.n;
    return WEFT_OK;
}

/* y_threshold reads one threshold of data_quality q (at path). */
static weft_err
y_threshold(rd *r, const pv *q, const char *path, const char *key)
{
    const pv   *v = pv_get(q, key);
    const char *text = NULL;
    char        tpath[PATH];
    policy     *p = r->p;
    weft_err    err;

    if (v == NULL || v->type == PV_NIL)
        return WEFT_OK;
    sub(tpath, path, key, 0);
    if (key[0] == 'f')
        err = proto_duration(v, &p->fresh), p->has_fresh = err == WEFT_OK;
    else if (key[0] == 'c')
        err = proto_percent(v, &p->comp), p->has_comp = err == WEFT_OK;
    else
        err = proto_percent(v, &p->acc), p->has_acc = err == WEFT_OK;
    if (err == WEFT_OK)
        return WEFT_OK;
    text = v->type == PV_STR                       ? v->u.s.p
        : v->type == PV_BOOL                       ? (v->u.b ? "true" : "false")
        : v->type == PV_INT || v->type == PV_FLOAT ? "a number"
        : v->type == PV_MAP                        ? "a map"
                                                   : "a list";
    return proto__fail(r->d, WEFT_ESCHEMA, tpath, v,
        key[0] == 'f' ? "expected a duration like 24 hours, got '%.64s'"
                      : "expected a percentage like 95%%, got '%.64s'",
        text);
}

static weft_err
y_quality(rd *r, const pv *q, const char *path)
{
    static const char *const keys[] = { "completeness_threshold",
        "accuracy_threshold", "freshness_threshold", NULL };
    weft_err                 err;

    if ((err = only(r, q, path, keys)))
        return err;
    for (int i = 0; keys[i] != NULL; i++)
        if ((err = y_threshold(r, q, path, keys[i])))
            return err;
    if (!r->p->has_comp && !r->p->has_acc && !r->p->has_fresh)
        return proto__fail(
            r->d, WEFT_ESCHEMA, path, q, "must set at least one threshold");
    return WEFT_OK;
}

static weft_err
y_global(rd *r, const pv *g, const char *path, bool *cls, bool *qual)
{
    static const char *const keys[]
        = { "data_classification", "data_quality", NULL };
    const pv *l, *q;
    char      spath[PATH];
    weft_err  err;

    if ((err = only(r, g, path, keys))
        || (err
            = proto__field(g, path, "data_classification", T(PV_ARR), &l, r->d))
        || (err = proto__field(g, path, "data_quality", T(PV_MAP), &q, r->d)))
        return err;
    if (l != NULL
        && (err = y_levels(r, l, sub(spath, path, "data_classification", 0))))
        return err;
    if (q != NULL
        && (err = y_quality(r, q, sub(spath, path, "data_quality", 0))))
        return err;
    *cls = l != NULL;
    *qual = q != NULL;
    return WEFT_OK;
}

/* y_implied adds the rules a section implies and refuses a rule whose
 * section is missing. */
static weft_err
y_implied(rd *r, const pv *rm, bool cls, bool qual)
{
    static const int   id[2] = { R_CLASS, R_QTHRESH };
    static const char *sect[2] = { "data_classification", "data_quality" };
    bool               have[2] = { cls, qual };
    char               path[PATH];

    for (int i = 0; i < 2; i++) {
        if (have[i] && !r->p->on[id[i]]) {
            r->p->on[id[i]] = true;
            r->p->sev[id[i]] = rules[id[i]].sev;
        } else if (!have[i] && r->p->on[id[i]]) {
            sub(path, "governance.rules", rules[id[i]].name, 0);
            return proto__fail(r->d, WEFT_ESCHEMA, path,
                pv_get(rm, rules[id[i]].name),
                "needs governance.global_policies.%s", sect[i]);
        }
    }
    return WEFT_OK;
}

static weft_err
y_read(rd *r, const pv *doc, int64_t version)
{
    static const char *const top[] = { "governance", NULL };
    static const char *const keys[]
        = { "version", "global_policies", "rules", NULL };
    const pv *g, *v, *gp, *rm;
    bool      cls = false, qual = false;
    weft_err  err;

    if (doc == NULL || doc->type != PV_MAP)
        return weft_diagf(r->d, WEFT_ESCHEMA, "the document must be a map");
    if ((err = need(r, doc, "document", "governance", T(PV_MAP), &g))
        || (err = only(r, doc, "document", top))
        || (err = only(r, g, "governance", keys))
        || (err = proto__field(g, "governance", "version", T(PV_INT), &v, r->d))
        || (err = proto__field(
                g, "governance", "global_policies", T(PV_MAP), &gp, r->d))
        || (err = proto__field(g, "governance", "rules", T(PV_MAP), &rm, r->d)))
        return err;
    if (v != NULL && v->u.i < 1)
        return proto__fail(r->d, WEFT_ESCHEMA, "governance.version", v,
            "must be an integer >= 1");
    if (version == 0 && v == NULL)
        return weft_diagf(r->d, WEFT_ESCHEMA,
            "governance.version: required (or give --version)");
    r->p->version = version > 0 ? version : v->u.i;
    if (gp != NULL
        && (err = y_global(r, gp, "governance.global_policies", &cls, &qual)))
        return err;
    if ((err = rule_map(r, rm, "governance.rules")))
        return err;
    return y_implied(r, rm, cls, qual);
}

/* ---- the normalized form ---------------------------------------------- */

static weft_err
t_classes(rd *r, const pv *l, const char *path)
{
    static const char *const keys[] = { "name", "controls", NULL };
    char                     ipath[PATH], npath[PATH];
    const pv                *name, *c;
    weft_err                 err;

    if (l->u.a.n > POLICY_CLASSES_MAX)
        return proto__fail(r->d, WEFT_ETOOBIG, path, l,
            "must list at most %d levels", POLICY_CLASSES_MAX);
    for (uint32_t i = 0; i < l->u.a.n; i++) {
        const pv *lv = l->u.a.v[i];

        sub(ipath, path, NULL, i);
        if (lv->type != PV_MAP)
            return proto__fail(r->d, WEFT_ESCHEMA, ipath, lv, "must be a map");
        if ((err = only(r, lv, ipath, keys))
            || (err = need(r, lv, ipath, "name", T(PV_STR), &name))
            || (err = level_name(r, name, sub(npath, ipath, "name", 0), i))
            || (err = need(r, lv, ipath, "controls", T(PV_INT), &c)))
            return err;
        if (c->u.i < 0 || c->u.i > (int64_t) CONTROLS_ALL)
            return proto__fail(r->d, WEFT_ESCHEMA,
                sub(npath, ipath, "controls", 0), c,
                "must be a set of control bits (0 to %u)", CONTROLS_ALL);
        r->p->cls[i].controls = (uint32_t) c->u.i;
    }
    r->p->nclass = l->u.a.n;
    return WEFT_OK;
}

/* t_metric reads one quality threshold: present, nil or a number. */
static weft_err
t_metric(rd *r, const pv *q, const char *key, bool *has)
{
    const pv *v = pv_get(q, key);
    char      path[PATH];
    bool      fresh = key[0] == 'f';

    sub(path, "policy.quality", key, 0);
    if (v == NULL)
        return proto__missing(r->d, "policy.quality", key, q);
    *has = v->type != PV_NIL;
    if (!*has)
        return WEFT_OK;
    if (fresh && (v->type != PV_INT || v->u.i < 0))
        return proto__fail(
            r->d, WEFT_ESCHEMA, path, v, "must be nil or an integer >= 0");
    if (!fresh && (v->type != PV_FLOAT || !(v->u.f >= 0 && v->u.f <= 100)))
        return proto__fail(r->d, WEFT_ESCHEMA, path, v,
            "must be nil or a number from 0 to 100");
    if (fresh)
        r->p->fresh = v->u.i;
    else if (key[0] == 'c')
        r->p->comp = v->u.f;
    else
        r->p->acc = v->u.f;
    return WEFT_OK;
}

static weft_err
t_read(rd *r, const pv *t)
{
    static const char *const keys[]
        = { "v", "version", "classes", "quality", "rules", NULL };
    static const char *const qkeys[]
        = { "completeness", "accuracy", "freshness_s", NULL };
    const pv *v, *ver, *cl, *q, *rm;
    policy   *p = r->p;
    weft_err  err;

    if (t == NULL || t->type != PV_MAP)
        return weft_diagf(r->d, WEFT_ESCHEMA, "policy: must be a map");
    if ((err = only(r, t, "policy", keys))
        || (err = need(r, t, "policy", "v", T(PV_INT), &v))
        || (err = need(r, t, "policy", "version", T(PV_INT), &ver))
        || (err = need(r, t, "policy", "classes", T(PV_ARR), &cl))
        || (err = need(r, t, "policy", "quality", T(PV_MAP), &q))
        || (err = need(r, t, "policy", "rules", T(PV_MAP), &rm)))
        return err;
    if (v->u.i != 1)
        return proto__fail(r->d, WEFT_ESCHEMA, "policy.v", v,
            "unknown policy format %" PRId64, v->u.i);
    if (ver->u.i < 1)
        return proto__fail(
            r->d, WEFT_ESCHEMA, "policy.version", ver, "must be >= 1");
    p->version = ver->u.i;
    if ((err = t_classes(r, cl, "policy.classes"))
        || (err = only(r, q, "policy.quality", qkeys))
        || (err = t_metric(r, q, "completeness", &p->has_comp))
        || (err = t_metric(r, q, "accuracy", &p->has_acc))
        || (err = t_metric(r, q, "freshness_s", &p->has_fresh))
        || (err = rule_map(r, rm, "policy.rules")))
        return err;
    if (p->on[R_CLASS] && p->nclass == 0)
        return weft_diagf(r->d, WEFT_ESCHEMA,
            "policy.rules.classification: needs policy.classes");
    if (p->on[R_QTHRESH] && !p->has_comp && !p->has_acc && !p->has_fresh)
        return weft_diagf(r->d, WEFT_ESCHEMA,
            "policy.rules.quality_thresholds: needs a policy.quality "
            "threshold");
    return WEFT_OK;
}

/* ---- writing the normalized tree -------------------------------------- */

static pv *
bits_list(pv_arena *a, uint32_t bits, const char *const *names, size_t n)
{
    pv *l = pv_arr(a);

    for (size_t i = 0; l != NULL && i < n; i++)
        if ((bits & (1u << i)) && pv_push(a, l, pv_strz(a, names[i])))
            return NULL;
    return l;
}

static pv *
emit_rule(pv_arena *a, const policy *p, int id)
{
    pv         *m = pv_map(a), *l = NULL;
    const pats *s;

    if (m == NULL || pv_setstr(a, m, "severity", sev_names[p->sev[id]]))
        return NULL;
    switch (rules[id].kind) {
    case P_FIELDS:
        l = bits_list(a, p->fields, fields, NELEM(fields));
        break;
    case P_STATUSES:
        l = bits_list(a, p->statuses, statuses, NELEM(statuses));
        break;
    case P_PATTERNS:
        s = cpat_of(p, id);
        l = pv_arr(a);
        for (uint32_t i = 0; l != NULL && i < s->n; i++)
            if (pv_push(a, l, pv_strz(a, s->src[i])))
                l = NULL;
        break;
    case P_LIMIT:
        return pv_setint(a, m, "limit", p->limit) ? NULL : m;
    default:
        return m;
    }
    return l != NULL && pv_set(a, m, rules[id].key, l) == WEFT_OK ? m : NULL;
}

static pv *
metric(pv_arena *a, bool has, pv *v)
{
    return has ? v : pv_nil(a);
}

static weft_err
emit(pv_arena *a, const policy *p, pv **out, weft_diag *d)
{
    pv *t = pv_map(a), *cl = pv_arr(a), *q = pv_map(a), *rm = pv_map(a);

    if (t == NULL || cl == NULL || q == NULL || rm == NULL)
        return oom(d);
    for (uint32_t i = 0; i < p->nclass; i++) {
        pv *lv = pv_map(a);

        if (lv == NULL || pv_setstr(a, lv, "name", p->cls[i].name)
            || pv_setint(a, lv, "controls", p->cls[i].controls)
            || pv_push(a, cl, lv))
            return oom(d);
    }
    for (int id = 0; id < R_COUNT; id++)
        if (p->on[id] && pv_set(a, rm, rules[id].name, emit_rule(a, p, id)))
            return oom(d);
    if (pv_set(
            a, q, "completeness", metric(a, p->has_comp, pv_float(a, p->comp)))
        || pv_set(a, q, "accuracy", metric(a, p->has_acc, pv_float(a, p->acc)))
        || pv_set(
            a, q, "freshness_s", metric(a, p->has_fresh, pv_int(a, p->fresh)))
        || pv_setint(a, t, "v", 1) || pv_setint(a, t, "version", p->version)
        || pv_set(a, t, "classes", cl) || pv_set(a, t, "quality", q)
        || pv_set(a, t, "rules", rm))
        return oom(d);
    *out = t;
    return WEFT_OK;
}

/* ---- public: normalize, compile --------------------------------------- */

void
policy_free(policy *p)
{
    if (p == NULL)
        return;
    for (int k = 0; k < 2; k++)
        for (uint32_t i = 0; i < p->pat[k].nre; i++)
            regfree(&p->pat[k].re[i]);
    free(p);
}

weft_err
policy_normalize(
    pv_arena *a, const pv *doc, int64_t version, pv **out, weft_diag *d)
{
    rd       r = { calloc(1, sizeof(policy)), d, true };
    weft_err err;

    if (r.p == NULL)
        return oom(d);
    if (version < 0)
        err = weft_diagf(d, WEFT_EINVAL, "version: must be > 0");
    else if ((err = y_read(&r, doc, version)) == WEFT_OK)
        err = emit(a, r.p, out, d);
    policy_free(r.p);
    return err;
}

weft_err
policy_compile(const pv *normalized, policy **out, weft_diag *d)
{
    rd       r = { calloc(1, sizeof(policy)), d, false };
    weft_err err;

    if (r.p == NULL)
        return oom(d);
    if ((err = t_read(&r, normalized)) != WEFT_OK) {
        policy_free(r.p);
        return err;
    }
    *out = r.p;
    return WEFT_OK;
}

int64_t
policy_version(const policy *p)
{
    return p != NULL ? p->version : 0;
}

const char *
policy_sev_name(policy_sev s)
{
    return (unsigned) s < NELEM(sev_names) ? sev_names[s] : "reject";
}

policy_sev
policy_verdict(const pv *verdict)
{
    const pv *v = verdict;
    int       i;

    if (v != NULL && v->type == PV_MAP)
        v = pv_get(v, "verdict");
    if (v == NULL || v->type != PV_STR)
        return POLICY_REJECT;
    i = lookup(verdicts, NELEM(verdicts), v->u.s.p);
    return i < 0 ? POLICY_REJECT : (policy_sev) i;
}

/* ---- merge ------------------------------------------------------------ */

static weft_err
merge_params(policy *m, const policy *l, int id, weft_diag *d)
{
    const char *name = rules[id].name;
    pats       *s;
    const pats *ls;

    switch (rules[id].kind) {
    case P_FIELDS:
        m->fields |= l->fields;
        break;
    case P_STATUSES:
        for (size_t i = 0; i < NELEM(statuses); i++)
            if ((l->statuses & (1u << i)) && !(m->statuses & (1u << i)))
                return weft_diagf(d, WEFT_EINVAL,
                    "local policy loosens %s: status '%s' is not allowed "
                    "globally",
                    name, statuses[i]);
        m->statuses = l->statuses;
        break;
    case P_LIMIT:
        if (l->limit > m->limit)
            return weft_diagf(d, WEFT_EINVAL,
                "local policy loosens %s: limit %" PRId64
                " is above the global %" PRId64,
                name, l->limit, m->limit);
        m->limit = l->limit;
        break;
    case P_PATTERNS:
        s = pat_of(m, id);
        ls = cpat_of(l, id);
        for (uint32_t i = 0; i < ls->n; i++) {
            uint32_t j = 0;

            while (j < s->n && strcmp(s->src[j], ls->src[i]) != 0)
                j++;
            if (j < s->n)
                continue;
            if (s->n >= POLICY_PATTERNS_MAX)
                return weft_diagf(d, WEFT_ETOOBIG,
                    "%s: global and local policy together have more than "
                    "%d patterns",
                    name, POLICY_PATTERNS_MAX);
            memcpy(s->src[s->n++], ls->src[i], POLICY_PATTERN_MAX + 1);
        }
        break;
    }
    return WEFT_OK;
}

static weft_err
merge_rules(policy *m, const policy *l, weft_diag *d)
{
    weft_err err;

    for (int id = 0; id < R_COUNT; id++) {
        if (!l->on[id])
            continue;
        if (!m->on[id]) {
            /* A rule only local: global has no parameters for it. */
            m->on[id] = true;
            m->sev[id] = l->sev[id];
            if (id == R_STATUSES)
                m->statuses = l->statuses;
            else if (id == R_SIZE)
                m->limit = l->limit;
            else if ((err = merge_params(m, l, id, d)))
                return err;
            continue;
        }
        if (l->sev[id] < m->sev[id])
            return weft_diagf(d, WEFT_EINVAL,
                "local policy loosens %s: severity %s is below the global "
                "%s",
                rules[id].name, sev_names[l->sev[id]], sev_names[m->sev[id]]);
        m->sev[id] = l->sev[id];
        if ((err = merge_params(m, l, id, d)))
            return err;
    }
    return WEFT_OK;
}

static weft_err
merge_classes(policy *m, const policy *l, weft_diag *d)
{
    for (uint32_t i = 0; i < l->nclass; i++) {
        uint32_t j = 0, lost;

        while (j < m->nclass && strcmp(m->cls[j].name, l->cls[i].name) != 0)
            j++;
        if (j == m->nclass)
            return weft_diagf(d, WEFT_EINVAL,
                "local policy loosens classification: level '%s' is not a "
                "global level",
                l->cls[i].name);
        lost = m->cls[j].controls & ~l->cls[i].controls;
        for (size_t k = 0; lost != 0 && k < NELEM(controls); k++)
            if (lost & (1u << k))
                return weft_diagf(d, WEFT_EINVAL,
                    "local policy loosens classification: level '%s' drops "
                    "%s",
                    l->cls[i].name, controls[k]);
        m->cls[j].controls |= l->cls[i].controls;
    }
    return WEFT_OK;
}

static weft_err
merge_quality(policy *m, const policy *l, weft_diag *d)
{
    static const char *const w = "local policy loosens quality_thresholds: ";

    if (l->has_comp && m->has_comp && l->comp < m->comp)
        return weft_diagf(d, WEFT_EINVAL,
            "%scompleteness %g is below the global %g", w, l->comp, m->comp);
    if (l->has_acc && m->has_acc && l->acc < m->acc)
        return weft_diagf(d, WEFT_EINVAL,
            "%saccuracy %g is below the global %g", w, l->acc, m->acc);
    if (l->has_fresh && m->has_fresh && l->fresh > m->fresh)
        return weft_diagf(d, WEFT_EINVAL,
            "%sfreshness %" PRId64 " s is above the global %" PRId64 " s", w,
            l->fresh, m->fresh);
    if (l->has_comp)
        m->comp = m->has_comp && m->comp > l->comp ? m->comp : l->comp;
    if (l->has_acc)
        m->acc = m->has_acc && m->acc > l->acc ? m->acc : l->acc;
    if (l->has_fresh)
        m->fresh = m->has_fresh && m->fresh < l->fresh ? m->fresh : l->fresh;
    m->has_comp |= l->has_comp;
    m->has_acc |= l->has_acc;
    m->has_fresh |= l->has_fresh;
    return WEFT_OK;
}

weft_err
policy_merge(
    pv_arena *a, const pv *global, const pv *local, pv **out, weft_diag *d)
{
    policy  *g = NULL, *l = NULL, *m = NULL;
    weft_err err;

    if ((err = policy_compile(global, &g, d))
        || (err = policy_compile(local, &l, d)))
        goto done;
    if ((m = malloc(sizeof(*m))) == NULL) {
        err = oom(d);
        goto done;
    }
    /* m shares g's patterns only as text: it compiles nothing, frees
     * nothing (nre 0). */
    memcpy(m, g, sizeof(*m));
    m->pat[0].nre = m->pat[1].nre = 0;
    if ((err = merge_rules(m, l, d)) || (err = merge_classes(m, l, d))
        || (err = merge_quality(m, l, d)))
        goto done;
    err = emit(a, m, out, d);
done:
    policy_free(m);
    policy_free(l);
    policy_free(g);
    return err;
}

/* ---- judging ---------------------------------------------------------- */

/* why is a reason being written: a bounded buffer, truncated silently. */
typedef struct why {
    char   s[POLICY_REASON_MAX];
    size_t len;
} why;

static void say(why *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
say(why *w, const char *fmt, ...)
{
    va_list ap;
    int     n;

    if (w->len >= sizeof(w->s) - 1)
        return;
    va_start(ap, fmt);
    n = vsnprintf(w->s + w->len, sizeof(w->s) - w->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        w->len += (size_t) n < sizeof(w->s) - w->len
            ? (size_t) n
            : sizeof(w->s) - w->len - 1;
}

/* num reads a number (int or float) at key of map m; false if absent. */
static bool
num(const pv *m, const char *key, double *out)
{
    const pv *v = pv_get(m, key);

    if (v != NULL && v->type == PV_FLOAT && v->u.f == v->u.f)
        return *out = v->u.f, true;
    if (v != NULL && v->type == PV_INT)
        return *out = (double) v->u.i, true;
    return false;
}

/* fnum writes the shortest text that reads back as f. */
static void
fnum(double f, char *out, size_t outsz)
{
    if (f < 1e15 && f > -1e15 && f == (double) (int64_t) f) {
        snprintf(out, outsz, "%" PRId64, (int64_t) f);
        return;
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(out, outsz, "%.*g", p, f);
        if (strtod(out, NULL) == f)
            return;
    }
}

static bool
nonempty_str(const pv *v)
{
    return v != NULL && v->type == PV_STR && v->u.s.len > 0;
}

static bool
nonempty_arr(const pv *v)
{
    return v != NULL && v->type == PV_ARR && v->u.a.n > 0;
}

static bool
has_field(const pv *sum, int f)
{
    static const char *const keys[] = { "owner", "desc", "class", "version",
        "tags", "schemas", "ifaces", "inputs", "contracts", "quality" };
    const pv                *v = pv_get(sum, keys[f]);
    double                   x;

    if (f <= F_VERSION)
        return nonempty_str(v);
    if (f < F_QUALITY)
        return nonempty_arr(v);
    return num(v, "completeness", &x) || num(v, "accuracy", &x)
        || num(v, "freshness_s", &x);
}

static bool
j_fields(const policy *p, const pv *sum, why *w)
{
    bool ok = true;

    for (size_t f = 0; f < NELEM(fields); f++)
        if ((p->fields & (1u << f)) && !has_field(sum, (int) f)) {
            say(w, "%s%s", ok ? "missing: " : ", ", fields[f]);
            ok = false;
        }
    return ok;
}

static bool
j_statuses(const policy *p, const pv *sum, why *w)
{
    const char *s = pv_getstr(sum, "status");
    int         i = s != NULL ? lookup(statuses, NELEM(statuses), s) : -1;
    bool        first = true;

    if (i >= 0 && (p->statuses & (1u << i)))
        return true;
    if (s == NULL) {
        say(w, "the summary has no status");
        return false;
    }
    say(w, "status '%.64s' is not allowed (allowed: ", s);
    for (size_t k = 0; k < NELEM(statuses); k++)
        if (p->statuses & (1u << k)) {
            say(w, "%s%s", first ? "" : ", ", statuses[k]);
            first = false;
        }
    say(w, ")");
    return false;
}

/* first_miss returns the first pattern of s that text does not match. */
static int
first_miss(const pats *s, const char *text)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (regexec(&s->re[i], text, 0, NULL, 0) != 0)
            return (int) i;
    return -1;
}

static bool
j_name(const policy *p, const pv *sum, why *w)
{
    const char *name = pv_getstr(sum, "name");
    const pats *s = &p->pat[0];
    int         i;

    if (name == NULL) {
        say(w, "the summary has no name");
        return false;
    }
    if ((i = first_miss(s, name)) < 0)
        return true;
    say(w, "name '%.128s' does not match '%s'", name, s->src[i]);
    return false;
}

static bool
j_tags(const policy *p, const pv *sum, why *w)
{
    const pv   *tags = pv_get(sum, "tags");
    const pats *s = &p->pat[1];
    int         k;

    if (tags == NULL || tags->type != PV_ARR)
        return true;
    for (uint32_t i = 0; i < tags->u.a.n; i++) {
        const pv *t = tags->u.a.v[i];

        if (t->type != PV_STR) {
            say(w, "tag %lu is not a string", (unsigned long) i);
            return false;
        }
        if ((k = first_miss(s, t->u.s.p)) >= 0) {
            say(w, "tag '%.128s' does not match '%s'", t->u.s.p, s->src[k]);
            return false;
        }
    }
    return true;
}

static bool
j_size(const policy *p, const pv *sum, why *w)
{
    const pv *v = pv_get(sum, "size");

    if (v == NULL || v->type != PV_INT || v->u.i < 0) {
        say(w, "the summary does not say its descriptor size");
        return false;
    }
    if (v->u.i <= p->limit)
        return true;
    say(w, "descriptor is %" PRId64 " bytes, above the limit %" PRId64, v->u.i,
        p->limit);
    return false;
}

/* port reads the control bits of one port (an int; a malformed port
 * declares nothing). */
static uint32_t
port(const pv *pt)
{
    if (pt->type != PV_INT || pt->u.i < 0)
        return 0;
    return (uint32_t) pt->u.i & CONTROLS_ALL;
}

static bool
j_class(const policy *p, const pv *sum, why *w)
{
    const char *c = pv_getstr(sum, "class");
    const pv   *ports = pv_get(sum, "ports");
    uint32_t    i = 0, need, lack;

    if (c == NULL || c[0] == 0) {
        say(w, "no classification");
        return false;
    }
    while (i < p->nclass && strcmp(p->cls[i].name, c) != 0)
        i++;
    if (i == p->nclass) {
        say(w, "'%.64s' is not a classification level", c);
        return false;
    }
    need = p->cls[i].controls;
    if (need == 0 || ports == NULL || ports->type != PV_ARR)
        return true;
    for (i = 0; i < ports->u.a.n; i++) {
        if ((lack = need & ~port(ports->u.a.v[i])) == 0)
            continue;
        say(w, "port %lu lacks", (unsigned long) i);
        for (size_t k = 0; k < NELEM(controls); k++)
            if (lack & (1u << k))
                say(w, "%s%.*s", (lack & ((1u << k) - 1)) ? ", " : " ",
                    (int) (strlen(controls[k]) - strlen("_required")),
                    controls[k]);
        return false;
    }
    return true;
}

/* ymd reports whether s is a real calendar date YYYY-MM-DD. */
static bool
ymd(const char *s)
{
    static const int days[]
        = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    struct tm   tm;
    const char *end;
    int         y;

    if (strlen(s) != 10)
        return false;
    for (int i = 0; i < 10; i++)
        if (i == 4 || i == 7 ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
            return false;
    memset(&tm, 0, sizeof(tm));
    if ((end = strptime(s, "%Y-%m-%d", &tm)) == NULL || *end != 0)
        return false;
    y = tm.tm_year + 1900;
    if (tm.tm_mon == 1 && tm.tm_mday == 29)
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return tm.tm_mday <= days[tm.tm_mon];
}

static bool
j_depr(const pv *sum, why *w)
{
    const char *st = pv_getstr(sum, "status");
    const pv   *dep = pv_get(sum, "deprecation");
    const char *sunset = pv_getstr(dep, "sunset");
    const char *by = pv_getstr(dep, "replaced_by");
    bool        ok = true;

    if (st == NULL || strcmp(st, "deprecated") != 0)
        return true;
    if (dep == NULL || dep->type != PV_MAP) {
        say(w, "no deprecation notice");
        return false;
    }
    if (sunset == NULL || sunset[0] == 0)
        say(w, "no sunset date"), ok = false;
    else if (!ymd(sunset))
        say(w, "sunset '%.64s' is not a YYYY-MM-DD date", sunset), ok = false;
    if (by == NULL || by[0] == 0)
        say(w, "%sno replaced_by", ok ? "" : "; "), ok = false;
    return ok;
}

static bool
j_qpresent(const pv *sum, why *w)
{
    static const char *const keys[]
        = { "completeness", "accuracy", "freshness_s" };
    static const char *const names[]
        = { "completeness", "accuracy", "freshness" };
    const char *st = pv_getstr(sum, "status");
    const pv   *q = pv_get(sum, "quality");
    bool        ok = true;
    double      x;

    if (st == NULL || strcmp(st, "active") != 0)
        return true;
    for (int i = 0; i < 3; i++)
        if (!num(q, keys[i], &x)) {
            say(w, "%s%s", ok ? "missing quality: " : ", ", names[i]);
            ok = false;
        }
    return ok;
}

static bool
j_qthresh(const policy *p, const pv *sum, why *w)
{
    const pv *q = pv_get(sum, "quality");
    double    c, a, f;
    char      x[32], y[32];
    bool      ok = true;

    if (p->has_comp && num(q, "completeness", &c) && c < p->comp) {
        fnum(c, x, sizeof(x)), fnum(p->comp, y, sizeof(y));
        say(w, "completeness %s is below %s", x, y);
        ok = false;
    }
    if (p->has_acc && num(q, "accuracy", &a) && a < p->acc) {
        fnum(a, x, sizeof(x)), fnum(p->acc, y, sizeof(y));
        say(w, "%saccuracy %s is below %s", ok ? "" : "; ", x, y);
        ok = false;
    }
    if (p->has_fresh && num(q, "freshness_s", &f) && f > (double) p->fresh) {
        fnum(f, x, sizeof(x));
        say(w, "%sfreshness %s s is above %" PRId64 " s", ok ? "" : "; ", x,
            p->fresh);
        ok = false;
    }
    return ok;
}

static bool
j_rule(const policy *p, int id, const pv *sum, why *w)
{
    switch (id) {
    case R_FIELDS:
        return j_fields(p, sum, w);
    case R_STATUSES:
        return j_statuses(p, sum, w);
    case R_NAME:
        return j_name(p, sum, w);
    case R_TAG:
        return j_tags(p, sum, w);
    case R_SIZE:
        return j_size(p, sum, w);
    case R_CLASS:
        return j_class(p, sum, w);
    case R_DEPR:
        return j_depr(sum, w);
    case R_QPRESENT:
        return j_qpresent(sum, w);
    default:
        return j_qthresh(p, sum, w);
    }
}

weft_err
policy_judge(const policy *p, pv_arena *a, const pv *sum, pv **out)
{
    pv        *res = pv_map(a), *list = pv_arr(a), *e;
    policy_sev worst = POLICY_PASS, o;
    why        w;

    if (res == NULL || list == NULL)
        return WEFT_ENOMEM;
    for (int id = 0; p != NULL && id < R_COUNT; id++) {
        if (!p->on[id])
            continue;
        w.len = 0;
        w.s[0] = 0;
        o = j_rule(p, id, sum, &w) ? POLICY_PASS : p->sev[id];
        worst = o > worst ? o : worst;
        if ((e = pv_map(a)) == NULL || pv_setstr(a, e, "rule", rules[id].name)
            || pv_setstr(a, e, "outcome", sev_names[o])
            || pv_set(a, e, "reason", pv_str(a, w.s, w.len))
            || pv_push(a, list, e))
            return WEFT_ENOMEM;
    }
    if (pv_setstr(a, res, "verdict", verdicts[worst])
        || pv_setint(a, res, "version", policy_version(p))
        || pv_set(a, res, "rules", list))
        return WEFT_ENOMEM;
    *out = res;
    return WEFT_OK;
}
