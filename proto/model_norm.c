/*
 * model_norm.c: the form-specific half of normalization. One function per
 * accepted form reads its document and fills the model that model.c laid
 * out (every key already present, nil or empty). Fields are type-checked
 * as they are read; an error names the field's path ("odps.tags[2]") and
 * its line and column. Lists that must stay unique (tags, formats,
 * contracts, inputs) go through a hash set, so a hostile document cannot
 * make them quadratic.
 *
 * docs/formats.md says which source field becomes which model field.
 */
#include "proto/proto.h"
#include "proto/proto_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define T(t)   (1u << (t))
#define SCALAR (T(PV_STR) | T(PV_INT) | T(PV_FLOAT) | T(PV_BOOL))
#define NUMSTR (T(PV_STR) | T(PV_INT) | T(PV_FLOAT))
#define PATH   PROTO_PATH

/* The unique lists, each a scope of the one string set. */
enum { S_TAGS, S_FORMATS, S_CONTRACTS, S_INPUTS };

/* Classification labels from least to most sensitive; rank = index + 1. */
static const char *const classes[]
    = { "public", "internal", "confidential", "restricted" };

typedef struct nrm {
    pv_arena      *a;
    weft_diag     *d;
    pv            *out;
    const char    *root; /* "data-product", "odps" or "odcs" */
    proto__strset *uniq;
    int            rank;   /* highest classification seen (ODCS) */
    int64_t        checks; /* ODCS quality rules seen */
    size_t         flat;   /* bytes of flattened "parent.child" names */
    const pv      *server_format;
} nrm;

static weft_err
oom(nrm *n)
{
    return weft_diagf(n->d, WEFT_ENOMEM, "out of memory");
}

const char *
proto__sub(char *buf, const char *parent, const char *key, uint32_t i)
{
    int w = key
        ? snprintf(buf, PROTO_PATH, "%s.%s", parent, key)
        : snprintf(buf, PROTO_PATH, "%s[%lu]", parent, (unsigned long) i);

    if (w < 0)
        buf[0] = 0;
    return buf;
}

#define sub proto__sub

/* set stores a copy of source scalar v (or nil) under key in map m. */
static weft_err
set(nrm *n, pv *m, const char *key, const pv *v)
{
    pv *c = v != NULL ? pv_copy(n->a, v) : pv_nil(n->a);

    return pv_set(n->a, m, key, c) == WEFT_OK ? WEFT_OK : oom(n);
}

static weft_err
get(nrm *n, const pv *m, const char *mpath, const char *key, unsigned types,
    const pv **out)
{
    return proto__field(m, mpath, key, types, out, n->d);
}

/* need is get for a required field. */
static weft_err
need(nrm *n, const pv *m, const char *mpath, const char *key, unsigned types,
    const pv **out)
{
    weft_err err = get(n, m, mpath, key, types, out);

    if (err == WEFT_OK && *out == NULL)
        return proto__missing(n->d, mpath, key, m);
    return err;
}

/* item checks that list element i is a map. */
static weft_err
item(nrm *n, const pv *list, uint32_t i, const char *lpath, char *path,
    const pv **out)
{
    const pv *v = list->u.a.v[i];

    sub(path, lpath, NULL, i);
    if (v->type != PV_MAP)
        return proto__fail(n->d, WEFT_ESCHEMA, path, v, "must be a map");
    *out = v;
    return WEFT_OK;
}

/* unique appends string s to out[key] unless the scope already has it. */
static weft_err
unique(nrm *n, const char *key, int scope, pv *s)
{
    const void *old;

    if (s == NULL)
        return oom(n);
    if (proto__strset_put(
            n->uniq, (uint32_t) scope, s->u.s.p, s->u.s.len, s, &old)
        != WEFT_OK)
        return oom(n);
    if (old != NULL)
        return WEFT_OK;
    return pv_push(n->a, pv_get(n->out, key), s) == WEFT_OK ? WEFT_OK : oom(n);
}

/* tags adds the strings of list m.key to the model's tags. */
static weft_err
tags(nrm *n, const pv *m, const char *mpath)
{
    const pv *list;
    char      lpath[PATH], path[PATH];
    uint32_t  i;
    weft_err  err = get(n, m, mpath, "tags", T(PV_ARR), &list);

    if (err != WEFT_OK || list == NULL)
        return err;
    sub(lpath, mpath, "tags", 0);
    for (i = 0; i < list->u.a.n && err == WEFT_OK; i++) {
        const pv *t = list->u.a.v[i];

        if (t->type != PV_STR)
            return proto__fail(n->d, WEFT_ESCHEMA, sub(path, lpath, NULL, i), t,
                "must be a string");
        err = unique(n, "tags", S_TAGS, pv_copy(n->a, t));
    }
    return err;
}

/* ---- fields every form has ------------------------------------------- */

/* status stores the lowercase, trimmed status; "active" when absent. */
static weft_err
status(nrm *n, const pv *m, bool odcs)
{
    const pv   *v;
    const char *p;
    char        buf[64], path[PATH];
    size_t      len, i;
    weft_err    err = get(n, m, n->root, "status", T(PV_STR), &v);

    if (err != WEFT_OK)
        return err;
    p = v != NULL ? v->u.s.p : "";
    len = v != NULL ? v->u.s.len : 0;
    while (len > 0 && strchr(" \t\r\n", *p) != NULL)
        p++, len--;
    while (len > 0 && strchr(" \t\r\n", p[len - 1]) != NULL)
        len--;
    if (len >= sizeof(buf))
        return proto__fail(n->d, WEFT_ESCHEMA, sub(path, n->root, "status", 0),
            v, "must be at most %zu characters", sizeof(buf) - 1);
    for (i = 0; i < len; i++)
        buf[i] = (char) (p[i] >= 'A' && p[i] <= 'Z' ? p[i] - 'A' + 'a' : p[i]);
    buf[len] = 0;
    if (len == 0)
        snprintf(buf, sizeof(buf), "active");
    if (odcs && (!strcmp(buf, "development") || !strcmp(buf, "in development")))
        snprintf(buf, sizeof(buf), "draft");
    if (!proto_status_ok(buf))
        return proto__fail(n->d, WEFT_ESCHEMA, sub(path, n->root, "status", 0),
            v,
            "'%s' is not a status: use proposed, draft, active, deprecated "
            "or retired",
            buf);
    return pv_setstr(n->a, n->out, "status", buf) == WEFT_OK ? WEFT_OK : oom(n);
}

/* description takes a plain string, or the map {purpose, usage,
 * limitations} of ODPS and ODCS; "" when there is none. */
static weft_err
description(nrm *n, const pv *m)
{
    const pv *v, *purpose = NULL, *usage = NULL, *limits = NULL;
    char      path[PATH];
    weft_err err = get(n, m, n->root, "description", T(PV_STR) | T(PV_MAP), &v);

    if (err != WEFT_OK)
        return err;
    if (v != NULL && v->type == PV_MAP) {
        sub(path, n->root, "description", 0);
        if ((err = get(n, v, path, "purpose", T(PV_STR), &purpose))
            || (err = get(n, v, path, "usage", T(PV_STR), &usage))
            || (err = get(n, v, path, "limitations", T(PV_STR), &limits)))
            return err;
    } else {
        purpose = v;
    }
    if (purpose == NULL)
        err = pv_setstr(n->a, n->out, "description", "") ? oom(n) : WEFT_OK;
    else
        err = set(n, n->out, "description", purpose);
    if (err == WEFT_OK)
        err = set(n, n->out, "usage", usage);
    if (err == WEFT_OK)
        err = set(n, n->out, "limitations", limits);
    return err;
}

/* rank_of gives a classification label's rank, 0 if it is not known. */
static int
rank_of(const pv *label)
{
    const char *s = label->u.s.p;
    size_t      len = label->u.s.len, i;

    while (len > 0 && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
        if (strlen(classes[i]) == len && strncasecmp(classes[i], s, len) == 0)
            return (int) i + 1;
    return 0;
}

/* classify sets the model's classification from the document's own label:
 * a known label in lowercase, an unknown one as it is. */
static weft_err
classify(nrm *n, const pv *m)
{
    const pv *v;
    weft_err  err = get(n, m, n->root, "classification", T(PV_STR), &v);
    int       r;

    if (err != WEFT_OK || v == NULL)
        return err;
    r = rank_of(v);
    if (r > n->rank)
        n->rank = r;
    if (r == 0)
        return set(n, n->out, "classification", v);
    return pv_setstr(n->a, n->out, "classification", classes[r - 1]) ? oom(n)
                                                                     : WEFT_OK;
}

/* identity sets name, slug, version, status, description, domain and tags.
 * namev is the display name, slugv the string the slug comes from. */
static weft_err
identity(nrm *n, const pv *m, const pv *namev, const pv *slugv, const pv *versv)
{
    char      path[PATH];
    const pv *dom;
    pv       *slug, *vers;
    weft_err  err;

    if ((err = proto__slugpv(n->a, slugv,
             sub(path, n->root, slugv == namev ? "name" : "id", 0), &slug,
             n->d))
        || (err = proto__version(
                n->a, versv, sub(path, n->root, "version", 0), &vers, n->d)))
        return err;
    if (pv_set(n->a, n->out, "slug", slug)
        || pv_set(n->a, n->out, "version", vers))
        return oom(n);
    if ((err = set(n, n->out, "name", namev))
        || (err = get(n, m, n->root, "domain", T(PV_STR), &dom))
        || (err = set(n, n->out, "domain", dom)) || (err = description(n, m))
        || (err = tags(n, m, n->root)))
        return err;
    return WEFT_OK;
}

/* owner finds the member whose role is "owner" in team[] (ODPS, ODCS 3.0)
 * or team.members[] (ODCS 3.1) and takes its username, else its name. */
static weft_err
owner(nrm *n, const pv *m)
{
    const pv *team, *list = NULL, *mem = NULL, *role, *who;
    char      tpath[PATH], lpath[PATH], path[PATH];
    uint32_t  i;
    weft_err  err = get(n, m, n->root, "team", T(PV_ARR) | T(PV_MAP), &team);

    if (err != WEFT_OK || team == NULL)
        return err;
    sub(tpath, n->root, "team", 0);
    if (team->type == PV_ARR) {
        list = team;
        snprintf(lpath, sizeof(lpath), "%s", tpath);
    } else if ((err = get(n, team, tpath, "members", T(PV_ARR), &list))
        || list == NULL) {
        return err;
    } else {
        sub(lpath, tpath, "members", 0);
    }
    for (i = 0; i < list->u.a.n; i++) {
        if ((err = item(n, list, i, lpath, path, &mem))
            || (err = get(n, mem, path, "role", T(PV_STR), &role)))
            return err;
        if (role == NULL || strcasecmp(role->u.s.p, "owner") != 0)
            continue;
        if ((err = get(n, mem, path, "username", T(PV_STR), &who))
            || (who == NULL
                && (err = get(n, mem, path, "name", T(PV_STR), &who))))
            return err;
        return set(n, n->out, "owner", who);
    }
    return WEFT_OK;
}

/* ---- interfaces and inputs --------------------------------------------- */

/* declared reports whether a security key's value declares something:
 * true, a non-empty string, or a non-empty map or list. */
static bool
declared(const pv *v)
{
    if (v == NULL)
        return false;
    switch (v->type) {
    case PV_BOOL:
        return v->u.b;
    case PV_STR:
        return v->u.s.len > 0;
    case PV_ARR:
        return v->u.a.n > 0;
    case PV_MAP:
        return v->u.m.n > 0;
    default:
        return false;
    }
}

/*
 * controls reads the security controls an interface or port declares, as
 * bits (docs/formats.md): the keys authentication, authorization,
 * encryption, access_logging and purpose_limitation, on the interface
 * itself or in its `security:` map.
 */
static int64_t
controls(const pv *src)
{
    static const char *const keys[] = { "authentication", "authorization",
        "encryption", "access_logging", "purpose_limitation" };
    const pv                *sec = pv_get(src, "security");
    int64_t                  bits = 0;

    for (int i = 0; i < 5; i++)
        if (declared(pv_get(src, keys[i]))
            || (sec != NULL && sec->type == PV_MAP
                && declared(pv_get(sec, keys[i]))))
            bits |= (int64_t) 1 << i;
    return bits;
}

/* interface appends {type, name, url, version, contract, deprecated,
 * controls} read from the source map src. */
static weft_err
interface(nrm *n, const pv *src, const pv *type, const pv *name, const pv *url,
    pv *version, const pv *contract, const pv *deprecated)
{
    pv  *m = pv_map(n->a);
    bool dep = deprecated != NULL && deprecated->u.b;

    if (m == NULL || set(n, m, "type", type) || set(n, m, "name", name)
        || set(n, m, "url", url)
        || pv_set(n->a, m, "version", version ? version : pv_nil(n->a))
        || set(n, m, "contract", contract)
        || pv_set(n->a, m, "deprecated", pv_bool(n->a, dep))
        || pv_setint(n->a, m, "controls", controls(src))
        || pv_push(n->a, pv_get(n->out, "interfaces"), m))
        return oom(n);
    return WEFT_OK;
}

/* input appends {name, version, contract} unless the same one is there. */
static weft_err
input(nrm *n, const pv *name, pv *version, const pv *contract)
{
    pv         *m = pv_map(n->a);
    const char *key;
    size_t      len;
    const void *old;

    len = (name ? name->u.s.len : 0) + (version ? version->u.s.len : 0)
        + (contract ? contract->u.s.len : 0) + 3;
    if (m == NULL || (key = pv_alloc(n->a, len)) == NULL)
        return oom(n);
    snprintf((char *) key, len, "%s\037%s\037%s", name ? name->u.s.p : "",
        version ? version->u.s.p : "", contract ? contract->u.s.p : "");
    if (proto__strset_put(n->uniq, S_INPUTS, key, strlen(key), m, &old))
        return oom(n);
    if (old != NULL)
        return WEFT_OK;
    if (set(n, m, "name", name)
        || pv_set(n->a, m, "version", version ? version : pv_nil(n->a))
        || set(n, m, "contract", contract)
        || pv_push(n->a, pv_get(n->out, "inputs"), m))
        return oom(n);
    return WEFT_OK;
}

/* version_at normalizes the optional m.version into *out (NULL if none). */
static weft_err
version_at(nrm *n, const pv *m, const char *mpath, pv **out)
{
    const pv *v;
    char      path[PATH];
    weft_err  err = get(n, m, mpath, "version", NUMSTR, &v);

    *out = NULL;
    if (err != WEFT_OK || v == NULL)
        return err;
    return proto__version(n->a, v, sub(path, mpath, "version", 0), out, n->d);
}

/* list gets the optional list m.key and its path. */
static weft_err
list(nrm *n, const pv *m, const char *mpath, const char *key, char *lpath,
    const pv **out)
{
    sub(lpath, mpath, key, 0);
    return get(n, m, mpath, key, T(PV_ARR), out);
}

/* port_input reads one input port {name, version, contractId}. Article
 * inputs may also be a plain string (the name) and say `contract`. */
static weft_err
port_input(nrm *n, const pv *p, const char *path)
{
    const pv *name, *contract;
    pv       *vers;
    weft_err  err;

    if (p->type == PV_STR)
        return input(n, p, NULL, NULL);
    if (p->type != PV_MAP)
        return proto__fail(
            n->d, WEFT_ESCHEMA, path, p, "must be a string or map");
    if ((err = get(n, p, path, "name", T(PV_STR), &name))
        || (name == NULL && (err = get(n, p, path, "id", T(PV_STR), &name)))
        || (err = get(n, p, path, "contractId", T(PV_STR), &contract))
        || (contract == NULL
            && (err = get(n, p, path, "contract", T(PV_STR), &contract)))
        || (err = version_at(n, p, path, &vers)))
        return err;
    if (name == NULL)
        return proto__missing(n->d, path, "name", p);
    return input(n, name, vers, contract);
}

/* inputs reads every element of the optional list m.key as an input. */
static weft_err
inputs(nrm *n, const pv *m, const char *mpath, const char *key)
{
    const pv *l;
    char      lpath[PATH], path[PATH];
    uint32_t  i;
    weft_err  err = list(n, m, mpath, key, lpath, &l);

    for (i = 0; err == WEFT_OK && l != NULL && i < l->u.a.n; i++)
        err = port_input(n, l->u.a.v[i], sub(path, lpath, NULL, i));
    return err;
}

/* ---- the article's form --------------------------------------------- */

/* field appends one article schema field: a name, or {name, type,
 * classification}. */
static weft_err
article_field(nrm *n, const pv *f, const char *path, pv *fields)
{
    const pv *name = f, *type = NULL, *cls = NULL;
    pv       *m = pv_map(n->a);
    weft_err  err;

    if (m == NULL)
        return oom(n);
    if (f->type == PV_MAP) {
        if ((err = need(n, f, path, "name", T(PV_STR), &name))
            || (err = get(n, f, path, "type", T(PV_STR), &type))
            || (err = get(n, f, path, "classification", T(PV_STR), &cls)))
            return err;
    } else if (f->type != PV_STR) {
        return proto__fail(
            n->d, WEFT_ESCHEMA, path, f, "must be a string or map");
    }
    if (set(n, m, "name", name) || set(n, m, "type", type)
        || set(n, m, "classification", cls) || pv_push(n->a, fields, m))
        return oom(n);
    return WEFT_OK;
}

static weft_err
article_schema(nrm *n, const pv *s, const char *path)
{
    const pv *name, *format, *fl;
    pv       *m = pv_map(n->a), *fields = pv_arr(n->a);
    char      lpath[PATH], fpath[PATH];
    uint32_t  i;
    weft_err  err;

    if (m == NULL || fields == NULL)
        return oom(n);
    if ((err = get(n, s, path, "name", T(PV_STR), &name))
        || (err = get(n, s, path, "format", T(PV_STR), &format))
        || (err = list(n, s, path, "fields", lpath, &fl)))
        return err;
    for (i = 0; fl != NULL && i < fl->u.a.n; i++)
        if ((err = article_field(
                 n, fl->u.a.v[i], sub(fpath, lpath, NULL, i), fields)))
            return err;
    if (format != NULL
        && (err = unique(n, "formats", S_FORMATS, pv_copy(n->a, format))))
        return err;
    if (set(n, m, "name", name) || set(n, m, "format", format)
        || pv_set(n->a, m, "fields", fields)
        || pv_push(n->a, pv_get(n->out, "schemas"), m))
        return oom(n);
    return WEFT_OK;
}

static weft_err
article_interface(nrm *n, const pv *s, const char *path)
{
    const pv *type, *name, *url, *contract, *dep;
    pv       *vers;
    weft_err  err;

    if ((err = need(n, s, path, "type", T(PV_STR), &type))
        || (err = get(n, s, path, "name", T(PV_STR), &name))
        || (err = get(n, s, path, "url", T(PV_STR), &url))
        || (url == NULL && (err = get(n, s, path, "topic", T(PV_STR), &url)))
        || (err = get(n, s, path, "contract", T(PV_STR), &contract))
        || (err = get(n, s, path, "deprecated", T(PV_BOOL), &dep))
        || (err = version_at(n, s, path, &vers)))
        return err;
    return interface(n, s, type, name, url, vers, contract, dep);
}

/* percent reads quality.key as a percentage into out[key]. */
static weft_err
percent(nrm *n, const pv *q, const char *qpath, const char *key, pv *out)
{
    const pv   *v = pv_get(q, key);
    const char *text = NULL;
    char        path[PATH];
    double      f;

    if (v == NULL || v->type == PV_NIL)
        return WEFT_OK;
    if (proto_percent(v, &f) != WEFT_OK) {
        if (proto__text(n->a, v, &text) != WEFT_OK)
            text = v->type == PV_MAP ? "a map" : "a list";
        return proto__fail(n->d, WEFT_ESCHEMA, sub(path, qpath, key, 0), v,
            "expected a percentage like 99.5%%, got '%.64s'", text);
    }
    return pv_set(n->a, out, key, pv_float(n->a, f)) ? oom(n) : WEFT_OK;
}

static weft_err
article_quality(nrm *n, const pv *body)
{
    const pv   *q, *fr;
    const char *text = NULL;
    pv         *out = pv_get(n->out, "quality");
    char        qpath[PATH], path[PATH];
    int64_t     secs;
    weft_err    err = get(n, body, n->root, "quality", T(PV_MAP), &q);

    if (err != WEFT_OK || q == NULL)
        return err;
    sub(qpath, n->root, "quality", 0);
    if ((fr = pv_get(q, "freshness")) != NULL && fr->type != PV_NIL) {
        if (proto_duration(fr, &secs) != WEFT_OK) {
            if (proto__text(n->a, fr, &text) != WEFT_OK)
                text = fr->type == PV_MAP ? "a map" : "a list";
            return proto__fail(n->d, WEFT_ESCHEMA,
                sub(path, qpath, "freshness", 0), fr,
                "expected a duration like 5 minutes, got "
                "'%.64s'",
                text);
        }
        if (pv_setint(n->a, out, "freshness_s", secs))
            return oom(n);
    }
    if ((err = percent(n, q, qpath, "completeness", out))
        || (err = percent(n, q, qpath, "accuracy", out)))
        return err;
    return WEFT_OK;
}

/* each calls fn on every map in the optional list m.key. */
static weft_err
each(nrm *n, const pv *m, const char *mpath, const char *key,
    weft_err (*fn)(nrm *, const pv *, const char *))
{
    const pv *l, *it = NULL;
    char      lpath[PATH], path[PATH];
    uint32_t  i;
    weft_err  err = list(n, m, mpath, key, lpath, &l);

    for (i = 0; err == WEFT_OK && l != NULL && i < l->u.a.n; i++)
        if ((err = item(n, l, i, lpath, path, &it)) == WEFT_OK)
            err = fn(n, it, path);
    return err;
}

static weft_err
start(nrm *n, pv_arena *a, pv *out, weft_diag *d, const char *root)
{
    memset(n, 0, sizeof(*n));
    n->a = a;
    n->out = out;
    n->d = d;
    n->root = root;
    n->uniq = proto__strset_new();
    return n->uniq != NULL ? WEFT_OK : oom(n);
}

weft_err
proto__norm_article(pv_arena *a, const pv *body, pv *out, weft_diag *d)
{
    nrm       n;
    const pv *name, *vers, *own;
    weft_err  err = start(&n, a, out, d, "data-product");

    if (err != WEFT_OK)
        return err;
    if ((err = need(&n, body, n.root, "name", T(PV_STR), &name))
        || (err = need(&n, body, n.root, "version", NUMSTR, &vers))
        || (err = identity(&n, body, name, name, vers))
        || (err = status(&n, body, false))
        || (err = get(&n, body, n.root, "owner", T(PV_STR), &own))
        || (err = set(&n, out, "owner", own)) || (err = classify(&n, body))
        || (err = each(&n, body, n.root, "schemas", article_schema))
        || (err = each(&n, body, n.root, "interfaces", article_interface))
        || (err = article_quality(&n, body))
        || (err = inputs(&n, body, n.root, "inputs"))
        || (err = inputs(&n, body, n.root, "input_ports")))
        goto done;
done:
    proto__strset_free(n.uniq);
    return err;
}

/* ---- ODPS ------------------------------------------------------------ */

static weft_err
odps_contract_inputs(nrm *n, const pv *port, const char *path)
{
    const pv *l, *c = NULL, *id;
    char      lpath[PATH], cpath[PATH];
    pv       *vers;
    uint32_t  i;
    weft_err  err = list(n, port, path, "inputContracts", lpath, &l);

    for (i = 0; err == WEFT_OK && l != NULL && i < l->u.a.n; i++) {
        if ((err = item(n, l, i, lpath, cpath, &c))
            || (err = need(n, c, cpath, "id", T(PV_STR), &id))
            || (err = version_at(n, c, cpath, &vers)))
            return err;
        err = input(n, id, vers, id);
    }
    return err;
}

static weft_err
odps_output(nrm *n, const pv *p, const char *path)
{
    const pv *type, *name, *contract, *dep;
    pv       *vers;
    weft_err  err;

    if ((err = get(n, p, path, "type", T(PV_STR), &type))
        || (err = get(n, p, path, "name", T(PV_STR), &name))
        || (err = get(n, p, path, "contractId", T(PV_STR), &contract))
        || (err = get(n, p, path, "deprecated", T(PV_BOOL), &dep))
        || (err = version_at(n, p, path, &vers))
        || (err = interface(n, p, type, name, NULL, vers, contract, dep)))
        return err;
    if (contract != NULL
        && (err = unique(n, "contracts", S_CONTRACTS, pv_copy(n->a, contract))))
        return err;
    return odps_contract_inputs(n, p, path);
}

static weft_err
odps_management(nrm *n, const pv *p, const char *path)
{
    const pv *type, *name, *url, *dep;
    weft_err  err;

    if ((err = get(n, p, path, "type", T(PV_STR), &type))
        || (err = get(n, p, path, "name", T(PV_STR), &name))
        || (err = get(n, p, path, "url", T(PV_STR), &url))
        || (err = get(n, p, path, "deprecated", T(PV_BOOL), &dep)))
        return err;
    return interface(n, p, type, name, url, NULL, NULL, dep);
}

/* name_id reads the optional name and id; the name falls back to the id. */
static weft_err
name_id(nrm *n, const pv *doc, const pv **name, const pv **id)
{
    weft_err err;

    if ((err = get(n, doc, n->root, "name", T(PV_STR), name))
        || (err = get(n, doc, n->root, "id", T(PV_STR), id)))
        return err;
    if (*name == NULL)
        *name = *id;
    if (*name == NULL)
        return proto__missing(n->d, n->root, "name", doc);
    return set(n, n->out, "source_id", *id);
}

weft_err
proto__norm_odps(pv_arena *a, const pv *doc, pv *out, weft_diag *d)
{
    nrm       n;
    const pv *name, *id, *vers;
    weft_err  err = start(&n, a, out, d, "odps");

    if (err != WEFT_OK)
        return err;
    if ((err = name_id(&n, doc, &name, &id))
        || (err = get(&n, doc, n.root, "version", NUMSTR, &vers)))
        goto done;
    /* ODPS makes `version` optional (the v0.9 examples have none). */
    if (vers == NULL && (vers = pv_strz(a, "0.0.0")) == NULL) {
        err = oom(&n);
        goto done;
    }
    if ((err = identity(&n, doc, name, name, vers))
        || (err = status(&n, doc, false)) || (err = owner(&n, doc))
        || (err = inputs(&n, doc, n.root, "inputPorts"))
        || (err = each(&n, doc, n.root, "outputPorts", odps_output))
        || (err = each(&n, doc, n.root, "managementPorts", odps_management)))
        goto done;
done:
    proto__strset_free(n.uniq);
    return err;
}

/* ---- ODCS ------------------------------------------------------------ */

/* count_quality adds the rules in the optional list m.quality. */
static weft_err
count_quality(nrm *n, const pv *m, const char *mpath)
{
    const pv *q;
    weft_err  err = get(n, m, mpath, "quality", T(PV_ARR), &q);

    if (err == WEFT_OK && q != NULL)
        n->checks += q->u.a.n;
    return err;
}

static weft_err properties(
    nrm *n, const pv *m, const char *mpath, const char *prefix, pv *fields);

/* property appends one ODCS property (and its nested ones) to fields. */
static weft_err
property(nrm *n, const pv *p, const char *path, const char *prefix, pv *fields)
{
    const pv *name, *type, *cls;
    pv       *f = pv_map(n->a), *full;
    weft_err  err;

    if (f == NULL)
        return oom(n);
    if ((err = need(n, p, path, "name", T(PV_STR), &name))
        || (err = get(n, p, path, "logicalType", T(PV_STR), &type))
        || (type == NULL
            && (err = get(n, p, path, "physicalType", T(PV_STR), &type)))
        || (err = get(n, p, path, "classification", T(PV_STR), &cls))
        || (err = tags(n, p, path)) || (err = count_quality(n, p, path)))
        return err;
    if (cls != NULL && rank_of(cls) > n->rank)
        n->rank = rank_of(cls);
    if (prefix == NULL) {
        full = pv_copy(n->a, name);
    } else {
        size_t plen = strlen(prefix), len = plen + 1 + name->u.s.len;
        char  *s;

        /* A long parent name repeats in every child: bound the total. */
        if ((n->flat += len) > WEFT_DESC_MAX)
            return proto__fail(n->d, WEFT_ETOOBIG, path, p,
                "nested property names add up to more than "
                "%u bytes",
                (unsigned) WEFT_DESC_MAX);
        if ((s = pv_alloc(n->a, len + 1)) == NULL)
            return oom(n);
        memcpy(s, prefix, plen);
        s[plen] = '.';
        memcpy(s + plen + 1, name->u.s.p, name->u.s.len);
        full = pv_str(n->a, s, len);
    }
    if (full == NULL || pv_set(n->a, f, "name", full) || set(n, f, "type", type)
        || set(n, f, "classification", cls) || pv_push(n->a, fields, f))
        return oom(n);
    /* Recursion is bounded: the tree is at most WEFT_DEPTH_MAX deep. */
    return properties(n, p, path, full->u.s.p, fields);
}

static weft_err
properties(
    nrm *n, const pv *m, const char *mpath, const char *prefix, pv *fields)
{
    const pv *l, *p = NULL;
    char      lpath[PATH], path[PATH];
    uint32_t  i;
    weft_err  err = list(n, m, mpath, "properties", lpath, &l);

    for (i = 0; err == WEFT_OK && l != NULL && i < l->u.a.n; i++)
        if ((err = item(n, l, i, lpath, path, &p)) == WEFT_OK)
            err = property(n, p, path, prefix, fields);
    return err;
}

static weft_err
odcs_schema(nrm *n, const pv *s, const char *path)
{
    const pv *name, *cls;
    pv       *m = pv_map(n->a), *fields = pv_arr(n->a);
    weft_err  err;

    if (m == NULL || fields == NULL)
        return oom(n);
    if ((err = get(n, s, path, "name", T(PV_STR), &name))
        || (err = get(n, s, path, "classification", T(PV_STR), &cls))
        || (err = tags(n, s, path)) || (err = count_quality(n, s, path))
        || (err = properties(n, s, path, NULL, fields)))
        return err;
    if (cls != NULL && rank_of(cls) > n->rank)
        n->rank = rank_of(cls);
    if (set(n, m, "name", name) || set(n, m, "format", n->server_format)
        || pv_set(n->a, m, "fields", fields)
        || pv_push(n->a, pv_get(n->out, "schemas"), m))
        return oom(n);
    return WEFT_OK;
}

static weft_err
odcs_server(nrm *n, const pv *s, const char *path)
{
    const pv *type, *name, *url, *format;
    weft_err  err;

    if ((err = get(n, s, path, "type", T(PV_STR), &type))
        || (err = get(n, s, path, "server", T(PV_STR), &name))
        || (err = get(n, s, path, "host", T(PV_STR), &url))
        || (url == NULL && (err = get(n, s, path, "url", T(PV_STR), &url)))
        || (url == NULL && (err = get(n, s, path, "location", T(PV_STR), &url)))
        || (err = get(n, s, path, "format", T(PV_STR), &format)))
        return err;
    if (format != NULL) {
        if (n->server_format == NULL)
            n->server_format = format;
        if ((err = unique(n, "formats", S_FORMATS, pv_copy(n->a, format))))
            return err;
    }
    return interface(n, s, type, name, url, NULL, NULL, NULL);
}

/* sla_seconds turns an SLA value and unit into seconds when they are a
 * duration ("4" + "d", or "5 minutes" alone); -1 when not. */
static int64_t
sla_seconds(const char *value, const pv *unit)
{
    char    buf[128];
    pv      tmp;
    int64_t secs;

    if (value == NULL)
        return -1;
    if (unit != NULL)
        snprintf(buf, sizeof(buf), "%s %s", value, unit->u.s.p);
    else if (strpbrk(
                 value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        == NULL)
        return -1; /* a bare number without a unit says nothing */
    else
        snprintf(buf, sizeof(buf), "%s", value);
    memset(&tmp, 0, sizeof(tmp));
    tmp.type = PV_STR;
    tmp.u.s.p = buf;
    tmp.u.s.len = (uint32_t) strlen(buf);
    return proto_duration(&tmp, &secs) == WEFT_OK ? secs : -1;
}

static weft_err
odcs_sla(nrm *n, const pv *s, const char *path)
{
    const pv   *prop, *value, *unit;
    const char *text = NULL;
    pv         *m = pv_map(n->a), *q = pv_get(n->out, "quality");
    int64_t     secs;
    weft_err    err;

    if (m == NULL)
        return oom(n);
    if ((err = need(n, s, path, "property", T(PV_STR), &prop))
        || (err = get(n, s, path, "value", SCALAR, &value))
        || (err = get(n, s, path, "unit", T(PV_STR), &unit)))
        return err;
    if (value != NULL && proto__text(n->a, value, &text) != WEFT_OK)
        return oom(n);
    secs = sla_seconds(text, unit);
    if (set(n, m, "property", prop) || pv_setstr(n->a, m, "value", text)
        || pv_set(
            n->a, m, "seconds", secs < 0 ? pv_nil(n->a) : pv_int(n->a, secs))
        || pv_push(n->a, pv_get(n->out, "sla"), m))
        return oom(n);
    /* A latency SLA is the contract's freshness promise. */
    if (secs >= 0
        && (strcasecmp(prop->u.s.p, "latency") == 0
            || strcasecmp(prop->u.s.p, "freshness") == 0)
        && pv_get(q, "freshness_s")->type == PV_NIL
        && pv_setint(n->a, q, "freshness_s", secs))
        return oom(n);
    return WEFT_OK;
}

/* odcs_finish sets classification, quality.checks and data_product. */
static weft_err
odcs_finish(nrm *n, const pv *doc)
{
    const pv *dp;
    pv       *slug;
    char      path[PATH];
    weft_err  err;

    /* A known label anywhere outranks an unknown document-level one. */
    if (n->rank > 0
        && pv_setstr(n->a, n->out, "classification", classes[n->rank - 1]))
        return oom(n);
    if (pv_setint(n->a, pv_get(n->out, "quality"), "checks", n->checks))
        return oom(n);
    if ((err = get(n, doc, n->root, "dataProduct", T(PV_STR), &dp))
        || dp == NULL)
        return err;
    if ((err = proto__slugpv(
             n->a, dp, sub(path, n->root, "dataProduct", 0), &slug, n->d)))
        return err;
    return pv_set(n->a, n->out, "data_product", slug) ? oom(n) : WEFT_OK;
}

weft_err
proto__norm_odcs(pv_arena *a, const pv *doc, pv *out, weft_diag *d)
{
    nrm       n;
    const pv *name, *id, *vers;
    weft_err  err = start(&n, a, out, d, "odcs");

    if (err != WEFT_OK)
        return err;
    /* Contract names repeat across contracts; ids do not: slug the id. */
    if ((err = name_id(&n, doc, &name, &id))
        || (err = need(&n, doc, n.root, "version", NUMSTR, &vers))
        || (err = identity(&n, doc, name, id ? id : name, vers))
        || (err = status(&n, doc, true)) || (err = owner(&n, doc))
        || (err = classify(&n, doc))
        || (err = each(&n, doc, n.root, "servers", odcs_server))
        || (err = each(&n, doc, n.root, "schema", odcs_schema))
        || (err = count_quality(&n, doc, n.root))
        || (err = each(&n, doc, n.root, "slaProperties", odcs_sla))
        || (err = odcs_finish(&n, doc)))
        goto done;
done:
    proto__strset_free(n.uniq);
    return err;
}
