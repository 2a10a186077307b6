/*
 * fuzz_policy.h: checks shared by fuzz_policy (normalized trees made from
 * YAML) and fuzz_govern (normalized trees from a peer's bundle): compile,
 * merge with itself, judge sample summaries. Static functions only: each
 * target includes this once.
 */
#ifndef WEFT_FUZZ_POLICY_H
#define WEFT_FUZZ_POLICY_H

#include "proto/policy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_SAMPLES 4

static void fuzz_fail(const char *who, const char *what)
    __attribute__((noreturn));

static void
fuzz_fail(const char *who, const char *what)
{
    fprintf(stderr, "%s: %s\n", who, what);
    abort();
}

static pv *
fuzz_list(pv_arena *a, const char *const *items)
{
    pv *l = pv_arr(a);

    for (; l != NULL && *items != NULL; items++)
        if (pv_push(a, l, pv_strz(a, *items)) != WEFT_OK)
            return NULL;
    return l;
}

/* fuzz_samples fills s with summaries to judge: a complete active one, a
 * deprecated one with odd values, one with wrong types, an empty map. */
static void
fuzz_samples(pv_arena *a, pv *s[FUZZ_SAMPLES])
{
    static const char *const tags[] = { "pii", "gold", NULL };
    static const char *const odd[] = { "", "UPPER", "a b", "x", NULL };
    static const char *const names[] = { "email", "id", NULL };
    pv *q = pv_map(a), *q2 = pv_map(a), *dep = pv_map(a), *ports = pv_arr(a);
    pv *bad = pv_arr(a);
    int ok;

    for (int i = 0; i < FUZZ_SAMPLES; i++)
        if ((s[i] = pv_map(a)) == NULL)
            abort();
    if (q == NULL || q2 == NULL || dep == NULL || ports == NULL || bad == NULL)
        abort();
    ok = !pv_setint(a, s[0], "v", 1) && !pv_setstr(a, s[0], "kind", "product")
        && !pv_setstr(a, s[0], "domain", "sales")
        && !pv_setstr(a, s[0], "id", "sales/customer-360")
        && !pv_setstr(a, s[0], "name", "customer-360")
        && !pv_setstr(a, s[0], "version", "1.2.0")
        && !pv_setstr(a, s[0], "status", "active")
        && !pv_setstr(a, s[0], "desc", "Every customer")
        && !pv_setstr(a, s[0], "owner", "team-a")
        && !pv_setstr(a, s[0], "class", "internal")
        && !pv_set(a, q, "completeness", pv_float(a, 99.5))
        && !pv_set(a, q, "accuracy", pv_float(a, 98.0))
        && !pv_setint(a, q, "freshness_s", 300)
        && !pv_set(a, s[0], "quality", q)
        && !pv_set(a, s[0], "deprecation", pv_nil(a))
        && !pv_set(a, s[0], "tags", fuzz_list(a, tags))
        && !pv_set(a, s[0], "ifaces", fuzz_list(a, names))
        && !pv_set(a, s[0], "schemas", fuzz_list(a, names))
        && !pv_set(a, s[0], "inputs", fuzz_list(a, names))
        && !pv_set(a, s[0], "contracts", fuzz_list(a, names))
        && !pv_set(a, s[0], "fields", fuzz_list(a, names))
        && !pv_push(a, ports, pv_int(a, 31)) && !pv_push(a, ports, pv_int(a, 1))
        && !pv_set(a, s[0], "ports", ports)
        && !pv_setint(a, s[0], "size", 4000)
        /* Deprecated, with odd values a peer could send. */
        && !pv_setstr(a, s[1], "status", "deprecated")
        && !pv_setstr(a, s[1], "name", "Name With Spaces")
        && !pv_setstr(a, s[1], "class", "restricted")
        && !pv_setstr(a, dep, "sunset", "2024-02-30")
        && !pv_setstr(a, dep, "replaced_by", "")
        && !pv_set(a, s[1], "deprecation", dep)
        && !pv_set(a, s[1], "tags", fuzz_list(a, odd))
        && !pv_set(a, q2, "completeness", pv_float(a, INFINITY))
        && !pv_set(a, q2, "accuracy", pv_float(a, -0.0))
        && !pv_setint(a, q2, "freshness_s", INT64_MAX)
        && !pv_set(a, s[1], "quality", q2) && !pv_push(a, bad, pv_int(a, -1))
        && !pv_push(a, bad, pv_nil(a)) && !pv_push(a, bad, pv_int(a, INT64_MAX))
        && !pv_set(a, s[1], "ports", bad)
        && !pv_setint(a, s[1], "size", INT64_MAX)
        /* Every field of the wrong type. */
        && !pv_setint(a, s[2], "status", 2)
        && !pv_set(a, s[2], "name", pv_nil(a))
        && !pv_set(a, s[2], "schemas", pv_map(a))
        && !pv_setstr(a, s[2], "quality", "x")
        && !pv_setstr(a, s[2], "ports", "x") && !pv_setstr(a, s[2], "size", "1")
        && !pv_set(a, s[2], "deprecation", pv_arr(a))
        && !pv_set(a, s[2], "class", pv_arr(a))
        && !pv_set(a, s[2], "tags", bad);
    if (!ok)
        abort();
}

/* fuzz_judge judges the samples with p: one entry per rule (nrules), a
 * verdict that is the worst outcome, the same result twice. */
static void
fuzz_judge(pv_arena *a, const policy *p, uint32_t nrules, const char *who)
{
    static const char *const outcomes[]
        = { "pass", "warn", "quarantine", "reject" };
    pv *s[FUZZ_SAMPLES];

    fuzz_samples(a, s);
    for (int i = 0; i < FUZZ_SAMPLES; i++) {
        pv       *v = NULL, *v2 = NULL;
        const pv *rules;
        int       worst = 0;

        if (policy_judge(p, a, s[i], &v) != WEFT_OK
            || policy_judge(p, a, s[i], &v2) != WEFT_OK)
            fuzz_fail(who, "policy_judge failed");
        if (!pv_equal(v, v2))
            fuzz_fail(who, "two judgements of one summary differ");
        rules = pv_get(v, "rules");
        if (rules == NULL || rules->type != PV_ARR || rules->u.a.n != nrules)
            fuzz_fail(who, "a judgement lacks one entry per rule");
        for (uint32_t j = 0; j < rules->u.a.n; j++) {
            const char *o = pv_getstr(rules->u.a.v[j], "outcome");
            int         k = 0;

            while (k < 4 && (o == NULL || strcmp(o, outcomes[k]) != 0))
                k++;
            if (k == 4)
                fuzz_fail(who, "a rule's outcome is unknown");
            worst = k > worst ? k : worst;
        }
        if ((int) policy_verdict(v) != worst)
            fuzz_fail(who, "the verdict is not the worst outcome");
    }
}

/*
 * fuzz_policy_check compiles the normalized tree norm, which must succeed
 * when must_compile is set, with version want when want > 0; merges it
 * with itself, which must succeed and, when norm was emitted by weft
 * (emitted), give it back unchanged; a merged tree merges with itself
 * into itself in any case. Then judges the samples.
 */
static void
fuzz_policy_check3(pv_arena *a, const pv *norm, int64_t want, bool must_compile,
    bool emitted, const char *who)
{
    policy   *p = NULL, *p2 = NULL;
    pv       *m = NULL, *m2 = NULL;
    weft_diag d = { { 0 } };
    char      line[700];

    if (policy_compile(norm, &p, &d) != WEFT_OK) {
        if (!must_compile)
            return;
        snprintf(line, sizeof(line), "a normalized policy does not compile: %s",
            d.msg);
        fuzz_fail(who, line);
    }
    if (want > 0 && policy_version(p) != want)
        fuzz_fail(who, "the compiled policy has another version");
    if (policy_merge(a, norm, norm, &m, &d) != WEFT_OK) {
        snprintf(line, sizeof(line), "a policy does not merge with itself: %s",
            d.msg);
        fuzz_fail(who, line);
    }
    if (emitted && !pv_equal(m, norm))
        fuzz_fail(who, "a policy merged with itself changed");
    if (policy_compile(m, &p2, &d) != WEFT_OK)
        fuzz_fail(who, "a merged policy does not compile");
    if (policy_merge(a, m, m, &m2, &d) != WEFT_OK || !pv_equal(m, m2))
        fuzz_fail(who, "a merged policy merged with itself changed");
    fuzz_judge(a, p, pv_get(norm, "rules")->u.m.n, who);
    fuzz_judge(a, NULL, 0, who);
    policy_free(p);
    policy_free(p2);
}

/* fuzz_policy_check is fuzz_policy_check3 for a tree weft emitted. */
__attribute__((unused)) static void
fuzz_policy_check(pv_arena *a, const pv *norm, int64_t want, const char *who)
{
    fuzz_policy_check3(a, norm, want, true, true, who);
}

#endif
