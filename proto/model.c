/*
 * model.c: the front half of normalization. It tells the three accepted
 * forms apart (the article's `data-product:` map, ODPS `kind: DataProduct`,
 * ODCS `kind: DataContract`), lays out the one model every form becomes,
 * hands the form-specific work to model_norm.c, and then settles what is
 * common: the domain, the id and the untouched copy of the source.
 *
 * It also holds the helpers both files share (typed field access, errors
 * that name a field path and a position) and the small parsers of the
 * public API: slugs, versions, percentages and durations.
 *
 * docs/formats.md describes the model; keep the two in step.
 */
#include "proto/proto.h"
#include "proto/proto_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T(t)     (1u << (t))
#define SLUG_MAX 128 /* bytes in a slug */
#define VERS_MAX 64  /* bytes in a version */

/* ---- shared helpers ---------------------------------------------------- */

/*
 * proto__fail writes "path (line L, column C): what" (the position only when
 * at came from YAML) into d and returns err.
 */
weft_err
proto__fail(weft_diag *d, weft_err err, const char *path, const pv *at,
    const char *fmt, ...)
{
    char    what[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (at != NULL && at->line > 0)
        return weft_diagf(d, err, "%s (line %lu, column %lu): %s", path,
            (unsigned long) at->line, (unsigned long) at->col, what);
    return weft_diagf(d, err, "%s: %s", path, what);
}

/* proto__missing reports that required key is absent from map m. */
weft_err
proto__missing(weft_diag *d, const char *mpath, const char *key, const pv *m)
{
    if (m != NULL && m->line > 0)
        return weft_diagf(d, WEFT_ESCHEMA,
            "%s.%s is required (in the map at line %lu, "
            "column %lu)",
            mpath, key, (unsigned long) m->line, (unsigned long) m->col);
    return weft_diagf(d, WEFT_ESCHEMA, "%s.%s is required", mpath, key);
}

/* type_words describes a set of types for "must be ..." messages. */
static void
type_words(unsigned types, char *out, size_t outsz)
{
    const unsigned num = T(PV_INT) | T(PV_FLOAT);
    const char    *w[6];
    size_t         k = 0, i, len = 0;
    int            n;

    if (types == T(PV_BOOL)) {
        snprintf(out, outsz, "true or false");
        return;
    }
    if (types & T(PV_STR))
        w[k++] = "a string";
    if ((types & num) == num || (types & num) == T(PV_FLOAT))
        w[k++] = "a number";
    else if (types & T(PV_INT))
        w[k++] = "an integer";
    if (types & T(PV_ARR))
        w[k++] = "a list";
    if (types & T(PV_MAP))
        w[k++] = "a map";
    if (types & T(PV_BOOL))
        w[k++] = "a boolean";
    out[0] = 0;
    for (i = 0; i < k; i++) {
        /* "a string, number or map": only the first keeps its article */
        n = snprintf(out + len, outsz - len, "%s%s",
            i == 0          ? ""
                : i + 1 < k ? ", "
                            : " or ",
            i && w[i][0] == 'a' ? strchr(w[i], ' ') + 1 : w[i]);
        if (n < 0 || (size_t) n >= outsz - len)
            return;
        len += (size_t) n;
    }
}

/*
 * proto__field looks key up in map m (whose path is mpath) and checks that
 * its type is one of types. *out is NULL when the key is absent or null.
 */
weft_err
proto__field(const pv *m, const char *mpath, const char *key, unsigned types,
    const pv **out, weft_diag *d)
{
    const pv *v = pv_get(m, key);
    char      path[256], words[64];

    if (v == NULL || v->type == PV_NIL) {
        *out = NULL;
        return WEFT_OK;
    }
    if (T(v->type) & types) {
        *out = v;
        return WEFT_OK;
    }
    type_words(types, words, sizeof(words));
    if (snprintf(path, sizeof(path), "%s.%s", mpath, key) < 0)
        path[0] = 0;
    return proto__fail(d, WEFT_ESCHEMA, path, v, "must be %s", words);
}

/* fmt_float writes the shortest text that reads back as f. */
static void
fmt_float(double f, char *out, size_t outsz)
{
    int p;

    for (p = 1; p <= 17; p++) {
        snprintf(out, outsz, "%.*g", p, f);
        if (strtod(out, NULL) == f)
            return;
    }
}

/*
 * proto__text gives the text of scalar v in a: strings as they are, numbers
 * in their shortest form, booleans as true/false, null as NULL.
 */
weft_err
proto__text(pv_arena *a, const pv *v, const char **out)
{
    char buf[40];

    switch (v->type) {
    case PV_STR:
        *out = v->u.s.p;
        return WEFT_OK;
    case PV_INT:
        snprintf(buf, sizeof(buf), "%" PRId64, v->u.i);
        break;
    case PV_FLOAT:
        fmt_float(v->u.f, buf, sizeof(buf));
        break;
    case PV_BOOL:
        snprintf(buf, sizeof(buf), "%s", v->u.b ? "true" : "false");
        break;
    case PV_NIL:
        *out = NULL;
        return WEFT_OK;
    default:
        return WEFT_EINVAL;
    }
    *out = pv_strdup(a, buf, strlen(buf));
    return *out != NULL ? WEFT_OK : WEFT_ENOMEM;
}

/* at_pos gives new value v the position of source value src. */
static pv *
at_pos(pv *v, const pv *src)
{
    if (v != NULL && src != NULL) {
        v->line = src->line;
        v->col = src->col;
    }
    return v;
}

/*
 * proto__version normalizes version value v (string or number) at path into
 * a new string value. YAML reads `version: 2` as an int and `1.5` as a
 * float; they are written back in their shortest form ("1.50" becomes
 * "1.5": quote such versions).
 */
weft_err
proto__version(
    pv_arena *a, const pv *v, const char *path, pv **out, weft_diag *d)
{
    char        buf[VERS_MAX + 1];
    const char *text;
    weft_err    err;

    if (v->type != PV_STR && v->type != PV_INT && v->type != PV_FLOAT)
        return proto__fail(
            d, WEFT_ESCHEMA, path, v, "must be a string or number");
    if ((err = proto__text(a, v, &text)) != WEFT_OK)
        return weft_diagf(d, err, "out of memory");
    err = proto_version_norm(text, buf, sizeof(buf));
    if (err != WEFT_OK)
        return proto__fail(d, WEFT_ESCHEMA, path, v,
            "'%.64s' is not a version: at most %d printable "
            "characters, no spaces",
            text, VERS_MAX);
    *out = at_pos(pv_strz(a, buf), v);
    return *out != NULL ? WEFT_OK : weft_diagf(d, WEFT_ENOMEM, "out of memory");
}

/* proto__slugpv makes the slug of string value v at path. */
weft_err
proto__slugpv(
    pv_arena *a, const pv *v, const char *path, pv **out, weft_diag *d)
{
    char     buf[SLUG_MAX + 1];
    weft_err err = proto_slug(v->u.s.p, buf, sizeof(buf));

    if (err == WEFT_ETOOBIG)
        return proto__fail(d, WEFT_ESCHEMA, path, v,
            "makes a slug longer than %d characters", SLUG_MAX);
    if (err != WEFT_OK)
        return proto__fail(d, WEFT_ESCHEMA, path, v,
            "has no letters or digits to make a slug from");
    *out = at_pos(pv_strz(a, buf), v);
    return *out != NULL ? WEFT_OK : weft_diagf(d, WEFT_ENOMEM, "out of memory");
}

/* ---- detection and the common part -------------------------------------- */

typedef enum form { FORM_ARTICLE, FORM_ODPS, FORM_ODCS } form;

static weft_err
detect(const pv *doc, form *f, const pv **body, weft_diag *d)
{
    const pv   *dp = pv_get(doc, "data-product");
    const char *kind = pv_getstr(doc, "kind");

    if (dp != NULL) {
        if (dp->type != PV_MAP)
            return proto__fail(
                d, WEFT_ESCHEMA, "data-product", dp, "must be a map");
        *f = FORM_ARTICLE;
        *body = dp;
        return WEFT_OK;
    }
    *body = doc;
    if (kind != NULL && strcmp(kind, "DataProduct") == 0)
        *f = FORM_ODPS;
    else if (kind != NULL && strcmp(kind, "DataContract") == 0)
        *f = FORM_ODCS;
    else
        return weft_diagf(d, WEFT_ESCHEMA,
            "unknown document: expected a top-level "
            "'data-product:' map, or 'kind: DataProduct' / "
            "'kind: DataContract'");
    return WEFT_OK;
}

/* skeleton makes the model with every key present, in a stable order. */
static pv *
skeleton(pv_arena *a, form f)
{
    static const char *const fmts[] = { "article", "odps", "odcs" };
    static const char *const nils[]
        = { "name", "slug", "domain", "id", "owner", "version", "status",
              "description", "usage", "limitations", "classification", NULL };
    static const char *const arrs[] = { "tags", "schemas", "interfaces",
        "formats", "quality", "sla", "inputs", "contracts", NULL };
    pv                      *m = pv_map(a), *q = pv_map(a);
    size_t                   i;
    bool                     ok = m != NULL && q != NULL;

    ok = ok
        && pv_setstr(a, m, "kind", f == FORM_ODCS ? "contract" : "product")
            == WEFT_OK;
    ok = ok && pv_setstr(a, m, "format", fmts[f]) == WEFT_OK;
    for (i = 0; ok && nils[i] != NULL; i++)
        ok = pv_set(a, m, nils[i], pv_nil(a)) == WEFT_OK;
    for (i = 0; ok && arrs[i] != NULL; i++)
        ok = pv_set(
                 a, m, arrs[i], strcmp(arrs[i], "quality") == 0 ? q : pv_arr(a))
            == WEFT_OK;
    ok = ok && pv_set(a, q, "freshness_s", pv_nil(a)) == WEFT_OK
        && pv_set(a, q, "completeness", pv_nil(a)) == WEFT_OK
        && pv_set(a, q, "accuracy", pv_nil(a)) == WEFT_OK
        && pv_setint(a, q, "checks", 0) == WEFT_OK;
    ok = ok && pv_set(a, m, "data_product", pv_nil(a)) == WEFT_OK
        && pv_set(a, m, "source_id", pv_nil(a)) == WEFT_OK
        && pv_set(a, m, "source", pv_nil(a)) == WEFT_OK;
    return ok ? m : NULL;
}

/* domain_ok checks ^[a-z0-9][a-z0-9._-]{0,63}$. */
static bool
domain_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > WEFT_DOMAIN_MAX)
        return false;
    for (i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return false;
    }
    return true;
}

static void
trim(const char **s, size_t *n)
{
    while (*n > 0 && strchr(" \t\r\n", (*s)[0]) != NULL && (*s)[0] != 0) {
        (*s)++;
        (*n)--;
    }
    while (
        *n > 0 && strchr(" \t\r\n", (*s)[*n - 1]) != NULL && (*s)[*n - 1] != 0)
        (*n)--;
}

/* settle_domain picks the document's domain or the node's, checks it and
 * builds the id "domain/slug". */
static weft_err
settle_domain(
    pv_arena *a, pv *m, const char *root, const char *node_domain, weft_diag *d)
{
    const pv   *dv = pv_get(m, "domain");
    const char *s = dv->type == PV_STR ? dv->u.s.p : node_domain;
    const char *slug = pv_getstr(m, "slug");
    size_t      n;
    char        id[WEFT_ID_MAX + 1];
    char        path[64];

    snprintf(path, sizeof(path), "%s.domain", root);
    if (s == NULL)
        return proto__missing(d, root, "domain", NULL);
    n = strlen(s);
    trim(&s, &n);
    if (!domain_ok(s, n))
        return proto__fail(d, dv->type == PV_STR ? WEFT_ESCHEMA : WEFT_EINVAL,
            dv->type == PV_STR ? path : "node domain", dv,
            "'%.64s' is not a domain: lowercase letters, "
            "digits, '.', '_' and '-', at most %d",
            s, WEFT_DOMAIN_MAX);
    snprintf(id, sizeof(id), "%.*s/%s", (int) n, s, slug);
    if (pv_set(a, m, "domain", at_pos(pv_str(a, s, n), dv)) != WEFT_OK
        || pv_setstr(a, m, "id", id) != WEFT_OK)
        return weft_diagf(d, WEFT_ENOMEM, "out of memory");
    return WEFT_OK;
}

/* nesting measures how deep v's maps and lists go (a scalar is 0, a flat
 * list 1), giving up once past limit. */
static int
nesting(const pv *v, int limit)
{
    bool     map = v->type == PV_MAP;
    uint32_t i, n = map ? v->u.m.n : v->u.a.n;
    int      d, best = 0;

    if (v->type != PV_MAP && v->type != PV_ARR)
        return 0;
    for (i = 0; i < n && best < limit; i++) {
        d = nesting(map ? v->u.m.kv[i].v : v->u.a.v[i], limit - 1);
        if (d > best)
            best = d;
    }
    return best + 1;
}

weft_err
proto_normalize(
    pv_arena *a, const pv *doc, const char *node_domain, pv **out, weft_diag *d)
{
    static const char *const roots[] = { "data-product", "odps", "odcs" };
    const pv                *body = NULL;
    form                     f = FORM_ARTICLE;
    pv                      *m;
    weft_err                 err;

    if (doc == NULL || doc->type != PV_MAP)
        return weft_diagf(d, WEFT_ESCHEMA,
            "unknown document: expected a top-level "
            "'data-product:' map, or 'kind: DataProduct' / "
            "'kind: DataContract'");
    if ((err = detect(doc, &f, &body, d)) != WEFT_OK)
        return err;
    /* The model keeps the document one level down, under "source", and the
     * model too must fit WEFT_DEPTH_MAX to be encoded. */
    if (nesting(doc, WEFT_DEPTH_MAX) >= WEFT_DEPTH_MAX)
        return weft_diagf(d, WEFT_ETOOBIG,
            "the document nests %d deep; a descriptor holds "
            "at most %d",
            WEFT_DEPTH_MAX, WEFT_DEPTH_MAX - 1);
    if ((m = skeleton(a, f)) == NULL)
        return weft_diagf(d, WEFT_ENOMEM, "out of memory");
    if (f == FORM_ARTICLE)
        err = proto__norm_article(a, body, m, d);
    else if (f == FORM_ODPS)
        err = proto__norm_odps(a, body, m, d);
    else
        err = proto__norm_odcs(a, body, m, d);
    if (err == WEFT_OK)
        err = settle_domain(a, m, roots[f], node_domain, d);
    if (err != WEFT_OK)
        return err;
    if (pv_set(a, m, "source", pv_copy(a, doc)) != WEFT_OK)
        return weft_diagf(d, WEFT_ENOMEM, "out of memory");
    *out = m;
    return WEFT_OK;
}

/* ---- slugs and versions ------------------------------------------------- */

weft_err
proto_slug(const char *s, char *out, size_t outsz)
{
    size_t n = 0;
    bool   dash = false;

    for (; *s != 0; s++) {
        char c = *s;

        if (c >= 'A' && c <= 'Z')
            c = (char) (c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            if (dash && n > 0 && n < SLUG_MAX)
                out[n++] = '-';
            dash = false;
            if (n >= SLUG_MAX || n + 1 >= outsz)
                return WEFT_ETOOBIG;
            out[n++] = c;
        } else {
            dash = true;
        }
    }
    if (n == 0)
        return WEFT_EINVAL;
    out[n] = 0;
    return WEFT_OK;
}

weft_err
proto_version_norm(const char *v, char *out, size_t outsz)
{
    size_t n = strlen(v), i;

    trim(&v, &n);
    if (n > 0 && (v[0] == 'v' || v[0] == 'V')) {
        v++;
        n--;
    }
    if (n == 0)
        return WEFT_EINVAL;
    if (n > VERS_MAX || n + 1 > outsz)
        return WEFT_ETOOBIG;
    for (i = 0; i < n; i++)
        if (v[i] <= ' ' || v[i] > '~')
            return WEFT_EINVAL;
    memcpy(out, v, n);
    out[n] = 0;
    return WEFT_OK;
}

static bool
all_digits(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return n > 0;
}

/* cmp_part compares two components: numerically when both are digits
 * (any length, no overflow), else bytewise, a prefix sorting first. */
static int
cmp_part(const char *x, size_t xn, const char *y, size_t yn)
{
    int c;

    if (all_digits(x, xn) && all_digits(y, yn)) {
        while (xn > 1 && *x == '0')
            x++, xn--;
        while (yn > 1 && *y == '0')
            y++, yn--;
        if (xn != yn)
            return xn < yn ? -1 : 1;
    }
    c = memcmp(x, y, xn < yn ? xn : yn);
    if (c != 0)
        return c < 0 ? -1 : 1;
    return xn == yn ? 0 : xn < yn ? -1 : 1;
}

/* cmp_list compares two runs of sep-separated components; a missing
 * component counts as "0" when pad is set, and sorts first when not. */
static int
cmp_list(const char *x, size_t xn, const char *y, size_t yn, char sep, bool pad)
{
    while (xn > 0 || yn > 0) {
        const char *xe = memchr(x, sep, xn), *ye = memchr(y, sep, yn);
        size_t      xl = xe ? (size_t) (xe - x) : xn;
        size_t      yl = ye ? (size_t) (ye - y) : yn;
        int         c;

        if (!pad && (xn == 0 || yn == 0))
            return xn == 0 ? -1 : 1;
        c = cmp_part(xn ? x : "0", xn ? xl : 1, yn ? y : "0", yn ? yl : 1);
        if (c != 0)
            return c;
        x += xl + (xe != NULL), xn -= xl + (xe != NULL);
        y += yl + (ye != NULL), yn -= yl + (ye != NULL);
    }
    return 0;
}

int
proto_version_cmp(const char *x, const char *y)
{
    size_t xn = strcspn(x, "+"), yn = strcspn(y, "+"); /* build: ignored */
    size_t xr = strcspn(x, "-+"), yr = strcspn(y, "-+");
    int    c = cmp_list(x, xr, y, yr, '.', true);

    if (c != 0)
        return c;
    if ((xr < xn) != (yr < yn)) /* a pre-release sorts below its release */
        return xr < xn ? -1 : 1;
    if (xr == xn)
        return 0;
    return cmp_list(
        x + xr + 1, xn - xr - 1, y + yr + 1, yn - yr - 1, '.', false);
}

/* ---- percentages and durations ------------------------------------------ */

/* decimal reads [0-9]+(\.[0-9]*)?|\.[0-9]+ from s[0..n) into *f. */
static bool
decimal(const char *s, size_t n, double *f)
{
    char   buf[64];
    size_t i, digits = 0, dots = 0;

    if (n == 0 || n >= sizeof(buf))
        return false;
    for (i = 0; i < n; i++) {
        if (s[i] == '.')
            dots++;
        else if (s[i] >= '0' && s[i] <= '9')
            digits++;
        else
            return false;
    }
    if (digits == 0 || dots > 1)
        return false;
    memcpy(buf, s, n);
    buf[n] = 0;
    *f = strtod(buf, NULL);
    return true;
}

weft_err
proto_percent(const pv *v, double *out)
{
    const char *s;
    size_t      n;
    double      f;

    if (v->type == PV_INT)
        f = (double) v->u.i;
    else if (v->type == PV_FLOAT)
        f = v->u.f;
    else if (v->type == PV_STR) {
        s = v->u.s.p;
        n = v->u.s.len;
        trim(&s, &n);
        if (n > 0 && s[n - 1] == '%')
            n--;
        trim(&s, &n);
        if (!decimal(s, n, &f))
            return WEFT_EINVAL;
    } else
        return WEFT_EINVAL;
    if (!(f >= 0.0 && f <= 100.0)) /* also refuses NaN */
        return WEFT_EINVAL;
    *out = f;
    return WEFT_OK;
}

/* unit_secs gives the seconds in one named unit, or 0 if unknown. */
static int64_t
unit_secs(const char *u, size_t n)
{
    static const struct {
        const char *names;
        int64_t     secs;
    } units[] = {
        { "s sec secs second seconds ", 1 },
        { "m min mins minute minutes ", 60 },
        { "h hr hrs hour hours ", 3600 },
        { "d day days ", 86400 },
        { "w wk wks week weeks ", 7 * 86400 },
        { "mo mon month months ", 30 * 86400 },
        { "y yr yrs year years ", 365 * 86400 },
    };
    size_t i;

    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        const char *p = units[i].names;

        for (; *p != 0; p += strcspn(p, " ") + 1)
            if (strcspn(p, " ") == n && strncasecmp(p, u, n) == 0)
                return units[i].secs;
    }
    return 0;
}

/* add_amount adds number s[0..n) (digits, maybe a fraction) times mult to
 * *total, refusing overflow. Fractions round to the nearest second. */
static bool
add_amount(const char *s, size_t n, int64_t mult, int64_t *total)
{
    int64_t ip = 0, num = 0, den = 1, frac;
    size_t  i = 0;

    if (n == 0 || (n == 1 && s[0] == '.'))
        return false;
    for (; i < n && s[i] != '.'; i++) {
        if (s[i] < '0' || s[i] > '9' || ip > (INT64_MAX - (s[i] - '0')) / 10)
            return false;
        ip = ip * 10 + (s[i] - '0');
    }
    for (i += i < n; i < n; i++) { /* past the dot; digits beyond 1e-9 go */
        if (s[i] < '0' || s[i] > '9')
            return false;
        if (den < 1000000000)
            num = num * 10 + (s[i] - '0'), den *= 10;
    }
    frac = (num * mult + den / 2) / den; /* < 1e9 * 3.2e7: no overflow */
    if (ip > (INT64_MAX - frac) / mult)
        return false;
    ip = ip * mult + frac;
    if (*total > INT64_MAX - ip)
        return false;
    *total += ip;
    return true;
}

/* span_num measures the number (digits and dots) at s[i..n). */
static size_t
span_num(const char *s, size_t i, size_t n)
{
    size_t start = i;

    while (i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
        i++;
    return i - start;
}

static bool
is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* iso_duration parses P[nY][nM][nW][nD][T[nH][nM][nS]], units in order. */
static weft_err
iso_duration(const char *s, size_t n, int64_t *out)
{
    static const char    date[] = "YMWD", time[] = "HMS";
    static const int64_t dsecs[]
        = { 365 * 86400, 30 * 86400, 7 * 86400, 86400 };
    static const int64_t tsecs[] = { 3600, 60, 1 };
    const char          *units = date, *u;
    const int64_t       *secs = dsecs;
    int64_t              total = 0;
    size_t               i = 1, next = 0, parts = 0, num;

    while (i < n) {
        if ((s[i] == 'T' || s[i] == 't') && units == date) {
            units = time, secs = tsecs, next = 0, parts = 0, i++;
            continue;
        }
        num = span_num(s, i, n);
        if (num == 0 || i + num >= n || !is_alpha(s[i + num]))
            return WEFT_EINVAL;
        u = strchr(units + next, s[i + num] & ~0x20);
        if (u == NULL || !add_amount(s + i, num, secs[u - units], &total))
            return WEFT_EINVAL;
        next = (size_t) (u - units) + 1;
        parts++;
        i += num + 1;
    }
    if (parts == 0) /* "P", "PT" and "P1DT" say nothing */
        return WEFT_EINVAL;
    *out = total;
    return WEFT_OK;
}

/* human_duration parses "5 minutes", "1h 30m", "2d", or bare seconds. */
static weft_err
human_duration(const char *s, size_t n, int64_t *out)
{
    int64_t total = 0, mult;
    size_t  i = 0, parts = 0, num, u, uend;

    if (n == 0)
        return WEFT_EINVAL;
    while (i < n) {
        while (parts > 0 && i < n && (s[i] == ' ' || s[i] == ','))
            i++;
        if ((num = span_num(s, i, n)) == 0)
            return WEFT_EINVAL;
        for (u = i + num; u < n && s[u] == ' ';)
            u++;
        for (uend = u; uend < n && is_alpha(s[uend]);)
            uend++;
        if (uend == u) { /* a bare number is seconds, and stands alone */
            if (parts > 0 || u < n || !add_amount(s + i, num, 1, &total))
                return WEFT_EINVAL;
            break;
        }
        mult = unit_secs(s + u, uend - u);
        if (mult == 0 || !add_amount(s + i, num, mult, &total))
            return WEFT_EINVAL;
        parts++;
        i = uend;
    }
    *out = total;
    return WEFT_OK;
}

weft_err
proto_duration(const pv *v, int64_t *out)
{
    const char *s;
    size_t      n;

    if (v->type == PV_INT) {
        if (v->u.i < 0)
            return WEFT_EINVAL;
        *out = v->u.i;
        return WEFT_OK;
    }
    if (v->type != PV_STR)
        return WEFT_EINVAL;
    s = v->u.s.p;
    n = v->u.s.len;
    trim(&s, &n);
    if (n > 0 && (s[0] == 'P' || s[0] == 'p'))
        return iso_duration(s, n, out);
    return human_duration(s, n, out);
}
