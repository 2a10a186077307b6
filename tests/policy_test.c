/*
 * policy_test.c: governance policies. Every rule passes at its limit and
 * fails one past it, at the severity the policy gives it; the verdict is
 * the worst outcome; judging is deterministic; the article's governance
 * file normalizes with a version and is refused without one; every bad
 * input is refused with its path; compile refuses malformed normalized
 * trees (including every key dropped and every value retyped); merge
 * refuses each kind of loosening and accepts each tightening.
 */
#include "proto/policy.h"
#include "tests/test.h"

#include <stdbool.h>
#include <time.h>

#define ARENA_MAX (64u << 20)

static pv_arena   *A;
static const char *conf_dir;

/* FULL sets every rule, with the article's sections. */
static const char FULL[]
    = "governance:\n"
      "  version: 3\n"
      "  description: test policy\n"
      "  global_policies:\n"
      "    data_classification:\n"
      "      - name: public\n"
      "        description: open\n"
      "        controls: []\n"
      "      - name: internal\n"
      "        controls:\n"
      "          - authentication_required: true\n"
      "      - name: confidential\n"
      "        controls:\n"
      "          - authentication_required: true\n"
      "          - authorization_required: true\n"
      "          - encryption_required: true\n"
      "          - access_logging_required: false\n"
      "    data_quality:\n"
      "      completeness_threshold: 95%\n"
      "      accuracy_threshold: 98%\n"
      "      freshness_threshold: \"24 hours\"\n"
      "  rules:\n"
      "    required_fields: {fields: [owner, description], severity: reject}\n"
      "    allowed_statuses: {statuses: [draft, active, deprecated, retired]}\n"
      "    name_pattern: {pattern: \"^[a-z][a-z0-9-]*$\", severity: warn}\n"
      "    tag_pattern: {pattern: [\"^[a-z0-9-]+$\", \"^.{1,10}$\"]}\n"
      "    max_descriptor_bytes: {limit: 1000}\n"
      "    classification: {severity: quarantine}\n"
      "    deprecation: {}\n"
      "    quality_present:\n"
      "    quality_thresholds: {severity: warn}\n";

static const char *const RULES[] = { "required_fields", "allowed_statuses",
    "name_pattern", "tag_pattern", "max_descriptor_bytes", "classification",
    "deprecation", "quality_present", "quality_thresholds" };

static bool
msg_has(const weft_diag *d, const char *want)
{
    bool ok = strstr(d->msg, want) != NULL;

    if (!ok)
        fprintf(stderr, "  message '%s' lacks '%s'\n", d->msg, want);
    return ok;
}

/* norm parses YAML text and normalizes it with version. */
static weft_err
norm(const char *text, int64_t version, pv **out, weft_diag *d)
{
    pv      *doc;
    weft_err err;

    d->msg[0] = 0;
    err = proto_yaml_parse(A, (const uint8_t *) text, strlen(text), &doc, d);
    if (err != WEFT_OK) {
        fprintf(stderr, "  yaml: %s\n", d->msg);
        return WEFT_ESYNTAX;
    }
    return policy_normalize(A, doc, version, out, d);
}

/* compile_text normalizes and compiles text, or fails the test. */
static policy *
compile_text(const char *text, int64_t version)
{
    weft_diag d;
    pv       *t;
    policy   *p = NULL;

    if (norm(text, version, &t, &d) != WEFT_OK) {
        fprintf(stderr, "  normalize: %s\n", d.msg);
        CHECK(0);
        return NULL;
    }
    CHECK_EQ_INT(policy_compile(t, &p, &d), WEFT_OK);
    return p;
}

static pv *
strs(const char *a, const char *b)
{
    pv *l = pv_arr(A);

    if (a != NULL)
        pv_push(A, l, pv_strz(A, a));
    if (b != NULL)
        pv_push(A, l, pv_strz(A, b));
    return l;
}

/* port is one entry of a summary's ports: the control bits of one
 * interface (type names the interface in the tests only). */
static pv *
port(const char *type, int64_t controls)
{
    (void) type;
    return pv_int(A, controls);
}

/* base is a summary that passes every rule of FULL. */
static pv *
base(void)
{
    pv *s = pv_map(A), *q = pv_map(A), *ports = pv_arr(A);

    pv_set(A, q, "completeness", pv_float(A, 95.0));
    pv_set(A, q, "accuracy", pv_float(A, 98.0));
    pv_setint(A, q, "freshness_s", 86400);
    pv_push(A, ports, port("rest", 7));
    pv_push(A, ports, port("graphql", 15));
    pv_setstr(A, s, "name", "orders");
    pv_setstr(A, s, "status", "active");
    pv_setstr(A, s, "desc", "all orders");
    pv_setstr(A, s, "owner", "sales-team");
    pv_setstr(A, s, "class", "confidential");
    pv_setstr(A, s, "version", "1.0.0");
    pv_set(A, s, "tags", strs("sales", "eu"));
    pv_set(A, s, "ifaces", strs("rest", "graphql"));
    pv_set(A, s, "schemas", strs("orders", NULL));
    pv_set(A, s, "inputs", strs("crm", NULL));
    pv_set(A, s, "contracts", strs("c1", NULL));
    pv_set(A, s, "quality", q);
    pv_set(A, s, "deprecation", pv_nil(A));
    pv_setint(A, s, "size", 1000);
    pv_set(A, s, "ports", ports);
    return s;
}

static pv *
judge(const policy *p, const pv *sum)
{
    pv *out = NULL;

    CHECK_EQ_INT(policy_judge(p, A, sum, &out), WEFT_OK);
    return out;
}

/* entry finds rule's entry in a judgment. */
static const pv *
entry(const pv *res, const char *rule)
{
    const pv *l = pv_get(res, "rules");

    for (uint32_t i = 0; l != NULL && i < l->u.a.n; i++)
        if (strcmp(pv_getstr(l->u.a.v[i], "rule"), rule) == 0)
            return l->u.a.v[i];
    return NULL;
}

/* outcome_is checks rule's outcome and (unless NULL) its reason. */
static bool
outcome_is(
    const pv *res, const char *rule, const char *outcome, const char *reason)
{
    const pv   *e = entry(res, rule);
    const char *o = e ? pv_getstr(e, "outcome") : "(none)";
    const char *r = e ? pv_getstr(e, "reason") : "(none)";

    if (e != NULL && strcmp(o, outcome) == 0
        && (reason == NULL || strcmp(r, reason) == 0))
        return true;
    fprintf(stderr, "  %s: outcome '%s' reason '%s', want '%s' '%s'\n", rule, o,
        r, outcome, reason ? reason : "*");
    return false;
}

static bool
verdict_is(const pv *res, const char *v)
{
    const char *got = pv_getstr(res, "verdict");

    if (got != NULL && strcmp(got, v) == 0)
        return true;
    fprintf(stderr, "  verdict '%s', want '%s'\n", got ? got : "?", v);
    return false;
}

static pv *
qual(pv *sum)
{
    return pv_get(sum, "quality");
}

/* ---- judging ------------------------------------------------------------ */

static void
test_baseline(void)
{
    policy   *p = compile_text(FULL, 0);
    pv       *res = judge(p, base());
    const pv *l = pv_get(res, "rules");

    CHECK_EQ_INT(policy_version(p), 3);
    CHECK(verdict_is(res, "accepted"));
    CHECK_EQ_INT(pv_getint(res, "version", 0), 3);
    CHECK(l != NULL && l->u.a.n == 9);
    for (uint32_t i = 0; l != NULL && i < l->u.a.n && i < 9; i++) {
        CHECK(strcmp(pv_getstr(l->u.a.v[i], "rule"), RULES[i]) == 0);
        CHECK(outcome_is(res, RULES[i], "pass", ""));
    }
    CHECK_EQ_INT(policy_verdict(res), POLICY_PASS);
    policy_free(p);
    /* no policy: everything is accepted */
    res = judge(NULL, base());
    CHECK(verdict_is(res, "accepted"));
    CHECK_EQ_INT(pv_getint(res, "version", -1), 0);
    CHECK_EQ_INT(pv_get(res, "rules")->u.a.n, 0);
    CHECK_EQ_INT(policy_version(NULL), 0);
    policy_free(NULL);
}

static void
test_fields_and_statuses(void)
{
    policy *p = compile_text(FULL, 0);
    policy *all = compile_text("governance:\n  rules:\n    required_fields:\n"
                               "      fields: [quality, owner, description,"
                               " classification, version, tags, schemas,"
                               " interfaces, inputs, contracts]\n",
        1);
    pv     *s = base(), *res;

    pv_set(A, s, "owner", pv_nil(A));
    res = judge(p, s);
    CHECK(outcome_is(res, "required_fields", "reject", "missing: owner"));
    CHECK(verdict_is(res, "rejected"));
    pv_setstr(A, s, "desc", "");
    CHECK(outcome_is(judge(p, s), "required_fields", "reject",
        "missing: owner, description"));
    /* every field name, in the fixed order whatever the policy's order */
    CHECK(outcome_is(judge(all, base()), "required_fields", "pass", ""));
    s = pv_map(A);
    pv_setstr(A, s, "owner", "");
    pv_set(A, s, "tags", pv_arr(A));
    pv_set(A, s, "quality", qual(base()));
    pv_set(A, pv_get(s, "quality"), "completeness", pv_nil(A));
    CHECK(outcome_is(judge(all, s), "required_fields", "reject",
        "missing: owner, description, classification, version, tags, "
        "schemas, interfaces, inputs, contracts"));
    pv_set(A, pv_get(s, "quality"), "accuracy", pv_nil(A));
    pv_set(A, pv_get(s, "quality"), "freshness_s", pv_nil(A));
    CHECK(outcome_is(judge(all, s), "required_fields", "reject",
        "missing: owner, description, classification, version, tags, "
        "schemas, interfaces, inputs, contracts, quality"));
    /* statuses */
    s = base();
    pv_setstr(A, s, "status", "proposed");
    CHECK(outcome_is(judge(p, s), "allowed_statuses", "reject",
        "status 'proposed' is not allowed (allowed: draft, active, "
        "deprecated, retired)"));
    pv_setstr(A, s, "status", "draft");
    CHECK(outcome_is(judge(p, s), "allowed_statuses", "pass", ""));
    pv_set(A, s, "status", pv_int(A, 3));
    CHECK(outcome_is(judge(p, s), "allowed_statuses", "reject",
        "the summary has no status"));
    policy_free(all);
    policy_free(p);
}

static void
test_patterns_and_size(void)
{
    policy *p = compile_text(FULL, 0);
    pv     *s = base(), *res;

    pv_setstr(A, s, "name", "Orders");
    res = judge(p, s);
    CHECK(outcome_is(res, "name_pattern", "warn",
        "name 'Orders' does not match '^[a-z][a-z0-9-]*$'"));
    CHECK(verdict_is(res, "warned"));
    CHECK_EQ_INT(policy_verdict(res), POLICY_WARN);
    pv_set(A, s, "name", pv_nil(A));
    CHECK(outcome_is(
        judge(p, s), "name_pattern", "warn", "the summary has no name"));
    /* every tag against every pattern; the second allows 10 bytes */
    s = base();
    pv_set(A, s, "tags", strs("sales", "abcdefghij"));
    CHECK(outcome_is(judge(p, s), "tag_pattern", "pass", ""));
    pv_set(A, s, "tags", strs("sales", "abcdefghijk"));
    CHECK(outcome_is(judge(p, s), "tag_pattern", "warn",
        "tag 'abcdefghijk' does not match '^.{1,10}$'"));
    pv_set(A, s, "tags", strs("Sales", "abcdefghijk"));
    CHECK(outcome_is(judge(p, s), "tag_pattern", "warn",
        "tag 'Sales' does not match '^[a-z0-9-]+$'"));
    pv_set(A, s, "tags", pv_arr(A));
    CHECK(outcome_is(judge(p, s), "tag_pattern", "pass", ""));
    /* size: the limit passes, one past it fails */
    s = base();
    CHECK(outcome_is(judge(p, s), "max_descriptor_bytes", "pass", ""));
    pv_setint(A, s, "size", 1001);
    CHECK(outcome_is(judge(p, s), "max_descriptor_bytes", "reject",
        "descriptor is 1001 bytes, above the limit 1000"));
    pv_setstr(A, s, "size", "small");
    CHECK(outcome_is(judge(p, s), "max_descriptor_bytes", "reject",
        "the summary does not say its descriptor size"));
    policy_free(p);
}

static void
test_classification(void)
{
    policy *p = compile_text(FULL, 0);
    pv     *s = base(), *ports;

    pv_set(A, s, "class", pv_nil(A));
    CHECK(outcome_is(
        judge(p, s), "classification", "quarantine", "no classification"));
    pv_setstr(A, s, "class", "");
    CHECK(outcome_is(
        judge(p, s), "classification", "quarantine", "no classification"));
    pv_setstr(A, s, "class", "secret");
    CHECK(outcome_is(judge(p, s), "classification", "quarantine",
        "'secret' is not a classification level"));
    /* every port must declare all of its level's controls */
    s = base();
    ports = pv_get(s, "ports");
    pv_push(A, ports, port("graphql", 1));
    CHECK(outcome_is(judge(p, s), "classification", "quarantine",
        "port 2 lacks authorization, encryption"));
    pv_setstr(A, s, "class", "internal");
    CHECK(outcome_is(judge(p, s), "classification", "pass", ""));
    pv_push(A, ports, port("grpc", 6));
    CHECK(outcome_is(judge(p, s), "classification", "quarantine",
        "port 3 lacks authentication"));
    pv_setstr(A, s, "class", "public");
    CHECK(outcome_is(judge(p, s), "classification", "pass", ""));
    /* no ports passes; a malformed port declares nothing */
    pv_setstr(A, s, "class", "confidential");
    pv_set(A, s, "ports", pv_arr(A));
    CHECK(outcome_is(judge(p, s), "classification", "pass", ""));
    pv_push(A, pv_get(s, "ports"), pv_strz(A, "rest"));
    CHECK(outcome_is(judge(p, s), "classification", "quarantine",
        "port 0 lacks authentication, authorization, encryption"));
    policy_free(p);
}

static void
test_deprecation(void)
{
    static const struct {
        const char *sunset, *by, *reason;
    } cases[] = {
        { "2030-01-31", "orders-v2", "" },
        { "2024-02-29", "orders-v2", "" },
        { "2025-02-29", "orders-v2",
            "sunset '2025-02-29' is not a YYYY-MM-DD date" },
        { "2025-13-01", "x", "sunset '2025-13-01' is not a YYYY-MM-DD date" },
        { "2025-1-01", "x", "sunset '2025-1-01' is not a YYYY-MM-DD date" },
        { "2025-04-31", "x", "sunset '2025-04-31' is not a YYYY-MM-DD date" },
        { "next year", "x", "sunset 'next year' is not a YYYY-MM-DD date" },
        { "", "x", "no sunset date" },
        { NULL, "x", "no sunset date" },
        { "2030-01-31", "", "no replaced_by" },
        { NULL, NULL, "no sunset date; no replaced_by" },
    };
    policy *p = compile_text(FULL, 0);
    pv     *s = base(), *dep;

    CHECK(outcome_is(judge(p, s), "deprecation", "pass", ""));
    pv_setstr(A, s, "status", "deprecated");
    CHECK(outcome_is(
        judge(p, s), "deprecation", "quarantine", "no deprecation notice"));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dep = pv_map(A);
        pv_setstr(A, dep, "reason", "old");
        pv_setstr(A, dep, "sunset", cases[i].sunset);
        pv_setstr(A, dep, "replaced_by", cases[i].by);
        pv_set(A, s, "deprecation", dep);
        CHECK(outcome_is(judge(p, s), "deprecation",
            cases[i].reason[0] ? "quarantine" : "pass", cases[i].reason));
    }
    /* other statuses need no notice */
    pv_setstr(A, s, "status", "retired");
    pv_set(A, s, "deprecation", pv_nil(A));
    CHECK(outcome_is(judge(p, s), "deprecation", "pass", ""));
    policy_free(p);
}

static void
test_quality(void)
{
    policy *p = compile_text(FULL, 0);
    pv     *s = base();

    /* quality_present: only active products need all three metrics */
    pv_set(A, qual(s), "accuracy", pv_nil(A));
    CHECK(outcome_is(judge(p, s), "quality_present", "quarantine",
        "missing quality: accuracy"));
    /* an undeclared metric passes the thresholds */
    CHECK(outcome_is(judge(p, s), "quality_thresholds", "pass", ""));
    pv_setstr(A, s, "status", "draft");
    CHECK(outcome_is(judge(p, s), "quality_present", "pass", ""));
    pv_set(A, s, "quality", pv_strz(A, "good"));
    pv_setstr(A, s, "status", "active");
    CHECK(outcome_is(judge(p, s), "quality_present", "quarantine",
        "missing quality: completeness, accuracy, freshness"));
    CHECK(outcome_is(judge(p, s), "quality_thresholds", "pass", ""));
    /* thresholds at the limit pass, one step past fail */
    s = base();
    CHECK(outcome_is(judge(p, s), "quality_thresholds", "pass", ""));
    pv_set(A, qual(s), "completeness", pv_float(A, 94.99));
    CHECK(outcome_is(judge(p, s), "quality_thresholds", "warn",
        "completeness 94.99 is below 95"));
    pv_set(A, qual(s), "completeness", pv_int(A, 95));
    pv_set(A, qual(s), "accuracy", pv_float(A, 97.99));
    CHECK(outcome_is(judge(p, s), "quality_thresholds", "warn",
        "accuracy 97.99 is below 98"));
    pv_set(A, qual(s), "accuracy", pv_float(A, 100));
    pv_setint(A, qual(s), "freshness_s", 86401);
    CHECK(outcome_is(judge(p, s), "quality_thresholds", "warn",
        "freshness 86401 s is above 86400 s"));
    pv_set(A, qual(s), "completeness", pv_float(A, 0.5));
    CHECK(outcome_is(judge(p, s), "quality_thresholds", "warn",
        "completeness 0.5 is below 95; freshness 86401 s is above 86400 s"));
    CHECK(verdict_is(judge(p, s), "warned"));
    policy_free(p);
}

/* test_severities: each severity shows as the outcome and the verdict;
 * the verdict is the worst outcome. */
static void
test_severities(void)
{
    static const char *const sevs[] = { "warn", "quarantine", "reject" };
    static const char *const verdicts[]
        = { "warned", "quarantined", "rejected" };
    char    text[256];
    policy *p;
    pv     *s = base(), *res;

    pv_setstr(A, s, "name", "Bad Name");
    for (int i = 0; i < 3; i++) {
        snprintf(text, sizeof(text),
            "governance:\n  rules:\n    name_pattern: {pattern: '^[a-z]+$',"
            " severity: %s}\n    deprecation: {severity: warn}\n",
            sevs[i]);
        p = compile_text(text, 1);
        res = judge(p, s);
        CHECK(outcome_is(res, "name_pattern", sevs[i], NULL));
        CHECK(verdict_is(res, verdicts[i]));
        CHECK_EQ_INT(policy_verdict(res), i + 1);
        CHECK_EQ_INT(policy_verdict(pv_get(res, "verdict")), i + 1);
        CHECK(strcmp(policy_sev_name((policy_sev) (i + 1)), sevs[i]) == 0);
        policy_free(p);
    }
    CHECK(strcmp(policy_sev_name(POLICY_PASS), "pass") == 0);
    CHECK_EQ_INT(policy_verdict(NULL), POLICY_REJECT);
    CHECK_EQ_INT(policy_verdict(pv_strz(A, "fine")), POLICY_REJECT);
    /* the worst of warn, quarantine and reject is reject */
    p = compile_text(FULL, 0);
    s = base();
    pv_setstr(A, s, "name", "Orders");  /* warn */
    pv_setstr(A, s, "class", "secret"); /* quarantine */
    res = judge(p, s);
    CHECK(verdict_is(res, "quarantined"));
    pv_setint(A, s, "size", 5000); /* reject */
    res = judge(p, s);
    CHECK(verdict_is(res, "rejected"));
    CHECK(outcome_is(res, "name_pattern", "warn", NULL));
    CHECK(outcome_is(res, "classification", "quarantine", NULL));
    CHECK(outcome_is(res, "max_descriptor_bytes", "reject", NULL));
    policy_free(p);
}

/* test_malformed_summaries: wrong types count as absent, never crash. */
static void
test_malformed_summaries(void)
{
    static const char *const keys[] = { "name", "status", "desc", "owner",
        "class", "version", "tags", "ifaces", "schemas", "inputs", "contracts",
        "quality", "deprecation", "size", "ports" };
    policy                  *p = compile_text(FULL, 0);
    pv                      *vals[]
        = { pv_nil(A), pv_bool(A, true), pv_int(A, -1), pv_float(A, 0.0 / 0.0),
              pv_strz(A, "x"), pv_arr(A), pv_map(A), strs("A B", NULL) };
    pv *res;

    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
        for (size_t v = 0; v < sizeof(vals) / sizeof(vals[0]); v++) {
            pv *s = base();

            pv_set(A, s, keys[k], vals[v]);
            res = judge(p, s);
            CHECK(res != NULL && pv_equal(res, judge(p, s)));
        }
    res = judge(p, pv_strz(A, "not a map"));
    CHECK(verdict_is(res, "rejected"));
    res = judge(p, pv_map(A));
    CHECK(verdict_is(res, "rejected"));
    CHECK(outcome_is(res, "quality_thresholds", "pass", ""));
    policy_free(p);
}

/* test_speed: judging must stay cheap (well under a second for 100k). */
static void
test_speed(void)
{
    policy         *p = compile_text(FULL, 0);
    pv_arena       *a = pv_arena_new(1u << 20);
    pv             *s = base(), *out;
    struct timespec t0, t1;
    double          secs;
    int             n = 100000, bad = 0;

    pv_setstr(A, s, "name", "Orders"); /* one failing rule formats */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++) {
        pv_arena_reset(a);
        bad += policy_judge(p, a, s, &out) != WEFT_OK;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double) (t1.tv_sec - t0.tv_sec)
        + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("policy_test: judged %d summaries in %.3f s\n", n, secs);
    CHECK_EQ_INT(bad, 0);
    pv_arena_free(a);
    policy_free(p);
}

/* ---- normalizing ------------------------------------------------------ */

static void
test_determinism(void)
{
    pv       *t1, *t2;
    weft_buf  b1, b2;
    weft_diag d;
    policy   *p;
    pv       *s = base();

    CHECK_EQ_INT(norm(FULL, 0, &t1, &d), WEFT_OK);
    CHECK_EQ_INT(norm(FULL, 0, &t2, &d), WEFT_OK);
    weft_buf_init(&b1, 1u << 20);
    weft_buf_init(&b2, 1u << 20);
    CHECK_EQ_INT(proto_encode(t1, &b1), WEFT_OK);
    CHECK_EQ_INT(proto_encode(t2, &b2), WEFT_OK);
    CHECK(b1.len == b2.len && memcmp(b1.p, b2.p, b1.len) == 0);
    /* the tree round-trips through canonical msgpack and still compiles */
    CHECK_EQ_INT(proto_decode(A, b1.p, b1.len, &t2, &d), WEFT_OK);
    CHECK(pv_equal(t1, t2));
    CHECK_EQ_INT(policy_compile(t2, &p, &d), WEFT_OK);
    pv_setstr(A, s, "name", "Orders");
    pv_setstr(A, s, "class", "secret");
    CHECK(pv_equal(judge(p, s), judge(p, s)));
    policy_free(p);
    /* a normalized tree is not a YAML document */
    CHECK(policy_normalize(A, t1, 0, &t2, &d) != WEFT_OK);
    CHECK(policy_normalize(A, t1, 5, &t2, &d) != WEFT_OK);
    weft_buf_free(&b1);
    weft_buf_free(&b2);
}

static void
test_shape(void)
{
    weft_diag d;
    pv       *t, *r;

    CHECK_EQ_INT(norm(FULL, 9, &t, &d), WEFT_OK);
    CHECK_EQ_INT(pv_getint(t, "v", 0), 1);
    CHECK_EQ_INT(pv_getint(t, "version", 0), 9); /* the argument wins */
    CHECK_EQ_INT(t->u.m.n, 5);
    CHECK_EQ_INT(pv_get(t, "classes")->u.a.n, 3);
    CHECK(strcmp(
              pv_getstr(pv_get(t, "classes")->u.a.v[2], "name"), "confidential")
        == 0);
    CHECK_EQ_INT(pv_getint(pv_get(t, "classes")->u.a.v[2], "controls", 0), 7);
    CHECK(pv_get(pv_get(t, "quality"), "completeness")->u.f == 95.0);
    CHECK_EQ_INT(pv_getint(pv_get(t, "quality"), "freshness_s", 0), 86400);
    r = pv_get(t, "rules");
    CHECK_EQ_INT(r->u.m.n, 9);
    CHECK(strcmp(pv_getstr(pv_get(r, "allowed_statuses"), "severity"), "reject")
        == 0);
    CHECK(strcmp(
              pv_getstr(pv_get(r, "quality_present"), "severity"), "quarantine")
        == 0);
    CHECK_EQ_INT(pv_get(pv_get(r, "tag_pattern"), "patterns")->u.a.n, 2);
    CHECK_EQ_INT(
        pv_getint(pv_get(r, "max_descriptor_bytes"), "limit", 0), 1000);
    CHECK_EQ_INT(pv_get(r, "deprecation")->u.m.n, 1);
    /* no sections, no rules */
    CHECK_EQ_INT(norm("governance: {version: 2}\n", 0, &t, &d), WEFT_OK);
    CHECK_EQ_INT(pv_get(t, "classes")->u.a.n, 0);
    CHECK_EQ_INT(pv_get(t, "rules")->u.m.n, 0);
    CHECK(pv_get(pv_get(t, "quality"), "accuracy")->type == PV_NIL);
}

static void
test_article(void)
{
    char           path[512];
    size_t         n;
    unsigned char *text;
    weft_diag      d;
    pv            *doc, *t, *r;
    policy        *p;

    snprintf(path, sizeof(path), "%s/article/governance.yaml", conf_dir);
    text = test_read_file(path, &n);
    CHECK_EQ_INT(proto_yaml_parse(A, text, n, &doc, &d), WEFT_OK);
    CHECK_EQ_INT(policy_normalize(A, doc, 0, &t, &d), WEFT_ESCHEMA);
    CHECK(msg_has(&d, "governance.version: required (or give --version)"));
    CHECK_EQ_INT(policy_normalize(A, doc, 4, &t, &d), WEFT_OK);
    CHECK_EQ_INT(pv_getint(t, "version", 0), 4);
    CHECK_EQ_INT(pv_get(t, "classes")->u.a.n, 4);
    CHECK_EQ_INT(pv_getint(pv_get(t, "classes")->u.a.v[0], "controls", -1), 0);
    CHECK_EQ_INT(pv_getint(pv_get(t, "classes")->u.a.v[1], "controls", -1), 1);
    CHECK_EQ_INT(pv_getint(pv_get(t, "classes")->u.a.v[3], "controls", -1), 31);
    CHECK(pv_get(pv_get(t, "quality"), "accuracy")->u.f == 98.0);
    /* the sections imply their rules */
    r = pv_get(t, "rules");
    CHECK_EQ_INT(r->u.m.n, 2);
    CHECK(
        strcmp(pv_getstr(pv_get(r, "classification"), "severity"), "quarantine")
        == 0);
    CHECK(strcmp(pv_getstr(pv_get(r, "quality_thresholds"), "severity"), "warn")
        == 0);
    CHECK_EQ_INT(policy_compile(t, &p, &d), WEFT_OK);
    CHECK_EQ_INT(policy_version(p), 4);
    CHECK(verdict_is(judge(p, base()), "accepted"));
    policy_free(p);
    free(text);
}

static const struct {
    const char *text;
    weft_err    err;
    const char *msg;
} bad[] = {
    { "data-product: {}\n", WEFT_ESCHEMA, "document.governance is required" },
    { "governance: {}\nextra: 1\n", WEFT_ESCHEMA,
        "document.extra (line 2, column 1): unknown key 'extra'" },
    { "governance: {}\n", WEFT_ESCHEMA,
        "governance.version: required (or give --version)" },
    { "governance:\n  version: 0\n", WEFT_ESCHEMA,
        "governance.version (line 2, column 12): must be an integer >= 1" },
    { "governance:\n  version: x\n", WEFT_ESCHEMA,
        "governance.version (line 2, column 12): must be an integer" },
    { "governance:\n  version: 1\n  rulez: {}\n", WEFT_ESCHEMA,
        "governance.rulez (line 3, column 3): unknown key 'rulez'" },
    { "governance:\n  version: 1\n  rules: []\n", WEFT_ESCHEMA,
        "governance.rules (line 3, column 10): must be a map" },
    { "governance:\n  version: 1\n  rules:\n    foo: {}\n", WEFT_ESCHEMA,
        "governance.rules.foo (line 4, column 5): unknown key 'foo'" },
    { "governance:\n  version: 1\n  rules:\n    deprecation: [a]\n",
        WEFT_ESCHEMA,
        "governance.rules.deprecation (line 4, column 18): must be a map" },
    { "governance:\n  version: 1\n  rules:\n    name_pattern:\n"
      "      patern: x\n",
        WEFT_ESCHEMA,
        "governance.rules.name_pattern.patern (line 5, column 7): unknown "
        "key 'patern'" },
    { "governance:\n  version: 1\n  rules:\n    deprecation:\n"
      "      severity: block\n",
        WEFT_ESCHEMA,
        "governance.rules.deprecation.severity (line 5, column 17): 'block' "
        "is not a severity: use warn, quarantine or reject" },
    { "governance:\n  version: 1\n  rules:\n    deprecation:\n"
      "      severity: pass\n",
        WEFT_ESCHEMA, "governance.rules.deprecation.severity (line 5" },
    { "governance:\n  version: 1\n  rules:\n    name_pattern:\n"
      "      pattern: '[a-'\n",
        WEFT_ESCHEMA,
        "governance.rules.name_pattern.pattern (line 5, column 16): '[a-' is "
        "not a regular expression" },
    { "governance:\n  version: 1\n  rules:\n    tag_pattern:\n"
      "      pattern: [a, 'b(']\n",
        WEFT_ESCHEMA,
        "governance.rules.tag_pattern.pattern[1] (line 5, column 20): 'b(' "
        "is not a regular expression" },
    { "governance:\n  version: 1\n  rules:\n    tag_pattern:\n"
      "      pattern: ''\n",
        WEFT_ESCHEMA, "governance.rules.tag_pattern.pattern (line 5" },
    { "governance:\n  version: 1\n  rules:\n    tag_pattern:\n"
      "      pattern: [a, a]\n",
        WEFT_ESCHEMA,
        "governance.rules.tag_pattern.pattern[1] (line 5, column 20): "
        "duplicate pattern 'a'" },
    { "governance:\n  version: 1\n  rules:\n    tag_pattern:\n"
      "      pattern: 5\n",
        WEFT_ESCHEMA,
        "governance.rules.tag_pattern.pattern (line 5, column 16): must be a "
        "string or list" },
    { "governance:\n  version: 1\n  rules:\n    tag_pattern: {}\n",
        WEFT_ESCHEMA, "governance.rules.tag_pattern.pattern is required" },
    { "governance:\n  version: 1\n  rules:\n    required_fields:\n",
        WEFT_ESCHEMA, "governance.rules.required_fields.fields is required" },
    { "governance:\n  version: 1\n  rules:\n    required_fields:\n"
      "      fields: [owner, ownr]\n",
        WEFT_ESCHEMA,
        "governance.rules.required_fields.fields[1] (line 5, column 23): "
        "'ownr' is not a required field: use owner, description, " },
    { "governance:\n  version: 1\n  rules:\n    required_fields:\n"
      "      fields: [owner, owner]\n",
        WEFT_ESCHEMA,
        "governance.rules.required_fields.fields[1] (line 5, column 23): "
        "duplicate 'owner'" },
    { "governance:\n  version: 1\n  rules:\n    required_fields:\n"
      "      fields: []\n",
        WEFT_ESCHEMA,
        "governance.rules.required_fields.fields (line 5, column 15): must "
        "list at least one entry" },
    { "governance:\n  version: 1\n  rules:\n    allowed_statuses:\n"
      "      statuses: [active, live]\n",
        WEFT_ESCHEMA,
        "governance.rules.allowed_statuses.statuses[1] (line 5, column 26): "
        "'live' is not a status" },
    { "governance:\n  version: 1\n  rules:\n    max_descriptor_bytes:\n"
      "      limit: 0\n",
        WEFT_ESCHEMA,
        "governance.rules.max_descriptor_bytes.limit (line 5, column 14): "
        "must be a positive integer" },
    { "governance:\n  version: 1\n  rules:\n    max_descriptor_bytes:\n"
      "      limit: 1kb\n",
        WEFT_ESCHEMA,
        "governance.rules.max_descriptor_bytes.limit (line 5, column 14): "
        "must be an integer" },
    { "governance:\n  version: 1\n  rules:\n    classification: {}\n",
        WEFT_ESCHEMA,
        "governance.rules.classification (line 4, column 21): needs "
        "governance.global_policies.data_classification" },
    { "governance:\n  version: 1\n  rules:\n    quality_thresholds:\n",
        WEFT_ESCHEMA,
        "governance.rules.quality_thresholds (line 4, column 24): needs "
        "governance.global_policies.data_quality" },
    { "governance:\n  version: 1\n  global_policies:\n"
      "    data_classification: {}\n",
        WEFT_ESCHEMA,
        "governance.global_policies.data_classification (line 4, column "
        "26): must be a list" },
    { "governance:\n  version: 1\n  global_policies:\n"
      "    data_classification: []\n",
        WEFT_ESCHEMA,
        "governance.global_policies.data_classification (line 4, column "
        "26): must list at least one level" },
    { "governance:\n  version: 1\n  global_policies:\n    data_class: []\n",
        WEFT_ESCHEMA,
        "governance.global_policies.data_class (line 4, column 5): unknown "
        "key 'data_class'" },
    { "governance:\n  version: 1\n  global_policies:\n"
      "    data_classification:\n      - name: a\n      - name: a\n",
        WEFT_ESCHEMA,
        "governance.global_policies.data_classification[1].name (line 6, "
        "column 15): duplicate level 'a'" },
    { "governance:\n  version: 1\n  global_policies:\n"
      "    data_classification:\n      - controls: []\n",
        WEFT_ESCHEMA,
        "governance.global_policies.data_classification[0].name is "
        "required" },
    { "governance:\n  version: 1\n  global_policies:\n"
      "    data_classification:\n      - name: a\n        level: 3\n",
        WEFT_ESCHEMA,
        "governance.global_policies.data_classification[0].level (line 6, "
        "column 9): unknown key 'level'" },
    { "governance:\n  version: 1\n  global_policies:\n"
      "    data_classification:\n      - name: a\n"
      "        controls: [encrypt]\n",
        WEFT_ESCHEMA,
        "governance.global_policies.data_classification[0].controls[0] "
        "(line 6, column 20): 'encrypt' is not a control" },
    { "governance:\n  version: 1\n  global_policies:\n"
      "    data_classification:\n      - name: a\n"
      "        controls:\n          - encryption_required: yes\n",
        WEFT_ESCHEMA,
        "governance.global_policies.data_classification[0].controls[0]."
        "encryption_required (line 7, column 34): must be true or false" },
    { "governance:\n  version: 1\n  global_policies:\n"
      "    data_classification:\n      - name: a\n"
      "        controls:\n          - {encryption_required: true, "
      "authentication_required: true}\n",
        WEFT_ESCHEMA,
        "governance.global_policies.data_classification[0].controls[0] "
        "(line 7, column 13): must be a control name or a single-key map" },
    { "governance:\n  version: 1\n  global_policies:\n"
      "    data_quality:\n      completeness_threshold: lots\n",
        WEFT_ESCHEMA,
        "governance.global_policies.data_quality.completeness_threshold "
        "(line 5, column 31): expected a percentage like 95%, got 'lots'" },
    { "governance:\n  version: 1\n  global_policies:\n"
      "    data_quality:\n      accuracy_threshold: 101%\n",
        WEFT_ESCHEMA,
        "governance.global_policies.data_quality.accuracy_threshold (line "
        "5" },
    { "governance:\n  version: 1\n  global_policies:\n"
      "    data_quality:\n      freshness_threshold: soon\n",
        WEFT_ESCHEMA,
        "governance.global_policies.data_quality.freshness_threshold (line "
        "5, column 28): expected a duration like 24 hours, got 'soon'" },
    { "governance:\n  version: 1\n  global_policies:\n"
      "    data_quality:\n      timeliness_threshold: 1h\n",
        WEFT_ESCHEMA,
        "governance.global_policies.data_quality.timeliness_threshold (line "
        "5, column 7): unknown key 'timeliness_threshold'" },
    { "governance:\n  version: 1\n  global_policies:\n"
      "    data_quality: {description: none}\n",
        WEFT_ESCHEMA,
        "governance.global_policies.data_quality (line 4, column 19): must "
        "set at least one threshold" },
};

static void
test_bad_input(void)
{
    weft_diag d;
    pv       *t;
    char     *text, *pat;
    size_t    len;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        weft_err err = norm(bad[i].text, 0, &t, &d);

        bool ok = msg_has(&d, bad[i].msg);

        if (err != bad[i].err || !ok)
            fprintf(stderr, "  in case %zu\n", i);
        CHECK_EQ_INT(err, bad[i].err);
        CHECK(ok);
    }
    CHECK_EQ_INT(norm("governance: {}\n", -1, &t, &d), WEFT_EINVAL);
    /* a pattern of POLICY_PATTERN_MAX bytes passes, one more is refused */
    text = malloc(POLICY_PATTERN_MAX + 128);
    pat = malloc(POLICY_PATTERN_MAX + 2);
    for (len = POLICY_PATTERN_MAX; len <= POLICY_PATTERN_MAX + 1; len++) {
        memset(pat, 'a', len);
        pat[len] = 0;
        snprintf(text, POLICY_PATTERN_MAX + 128,
            "governance:\n  rules:\n    name_pattern: {pattern: %s}\n", pat);
        CHECK_EQ_INT(norm(text, 1, &t, &d),
            len == POLICY_PATTERN_MAX ? WEFT_OK : WEFT_ETOOBIG);
    }
    CHECK(msg_has(&d,
        "governance.rules.name_pattern.pattern (line 3, column "
        "29): must be at most 256 bytes"));
    free(pat);
    free(text);
}

/* test_levels_max: POLICY_CLASSES_MAX levels pass, one more is refused. */
static void
test_levels_max(void)
{
    weft_buf  b;
    weft_diag d;
    pv       *t;

    for (int n = POLICY_CLASSES_MAX; n <= POLICY_CLASSES_MAX + 1; n++) {
        weft_buf_init(&b, 1u << 16);
        weft_buf_printf(&b,
            "governance:\n  global_policies:\n"
            "    data_classification:\n");
        for (int i = 0; i < n; i++)
            weft_buf_printf(&b, "      - name: level%d\n", i);
        weft_buf_append(&b, "", 1);
        CHECK_EQ_INT(norm((const char *) b.p, 1, &t, &d),
            n == POLICY_CLASSES_MAX ? WEFT_OK : WEFT_ETOOBIG);
        weft_buf_free(&b);
    }
    CHECK(msg_has(&d,
        "governance.global_policies.data_classification (line "
        "4, column 7): must list at most 32 levels"));
}

/* ---- compiling normalized trees --------------------------------------- */

static pv *
full_tree(void)
{
    weft_diag d;
    pv       *t = NULL;

    CHECK_EQ_INT(norm(FULL, 0, &t, &d), WEFT_OK);
    return t;
}

static weft_err
compile_err(const pv *t, weft_diag *d)
{
    policy  *p = NULL;
    weft_err err = policy_compile(t, &p, d);

    policy_free(p);
    return err;
}

static void
test_compile_refuses(void)
{
    weft_diag d;
    pv       *t, *r, *l;
    char      buf[32];

    t = full_tree();
    CHECK_EQ_INT(compile_err(t, &d), WEFT_OK);
    pv_set(A, pv_get(t, "rules"), "foo", pv_map(A));
    CHECK_EQ_INT(compile_err(t, &d), WEFT_ESCHEMA);
    CHECK(msg_has(&d, "policy.rules.foo: unknown key 'foo'"));

    t = full_tree();
    pv_setint(A, t, "v", 2);
    CHECK_EQ_INT(compile_err(t, &d), WEFT_ESCHEMA);
    CHECK(msg_has(&d, "policy.v: unknown policy format 2"));

    t = full_tree();
    r = pv_get(pv_get(t, "rules"), "name_pattern");
    pv_set(A, r, "patterns", strs("a(", NULL));
    CHECK_EQ_INT(compile_err(t, &d), WEFT_ESCHEMA);
    CHECK(msg_has(&d,
        "policy.rules.name_pattern.patterns[0]: 'a(' is not "
        "a regular expression"));
    /* YAML's spellings are not the normalized form's */
    pv_set(A, r, "pattern", pv_strz(A, "^a"));
    CHECK_EQ_INT(compile_err(t, &d), WEFT_ESCHEMA);
    CHECK(msg_has(&d, "policy.rules.name_pattern.pattern: unknown key"));

    t = full_tree();
    r = pv_get(pv_get(t, "rules"), "deprecation");
    pv_setstr(A, r, "description", "x");
    CHECK_EQ_INT(compile_err(t, &d), WEFT_ESCHEMA);
    pv_set(A, pv_get(t, "rules"), "deprecation", pv_map(A));
    CHECK_EQ_INT(compile_err(t, &d), WEFT_ESCHEMA);
    CHECK(msg_has(&d, "policy.rules.deprecation.severity is required"));

    /* too long lists, one past each limit */
    t = full_tree();
    l = pv_arr(A);
    for (int i = 0; i <= POLICY_PATTERNS_MAX; i++) {
        snprintf(buf, sizeof(buf), "^p%d$", i);
        pv_push(A, l, pv_strz(A, buf));
    }
    pv_set(A, pv_get(pv_get(t, "rules"), "tag_pattern"), "patterns", l);
    CHECK_EQ_INT(compile_err(t, &d), WEFT_ETOOBIG);
    CHECK(msg_has(&d, "policy.rules.tag_pattern.patterns[32]: at most 32"));
    l->u.a.n--;
    CHECK_EQ_INT(compile_err(t, &d), WEFT_OK);

    t = full_tree();
    l = pv_arr(A);
    for (int i = 0; i <= POLICY_LIST_MAX; i++)
        pv_push(A, l, pv_strz(A, "owner"));
    pv_set(A, pv_get(pv_get(t, "rules"), "required_fields"), "fields", l);
    CHECK_EQ_INT(compile_err(t, &d), WEFT_ETOOBIG);
    CHECK(msg_has(&d,
        "policy.rules.required_fields.fields: must list at "
        "most 64 entries"));

    t = full_tree();
    l = pv_get(t, "classes");
    for (int i = 0; i < POLICY_CLASSES_MAX - 3; i++) {
        pv *lv = pv_map(A);

        snprintf(buf, sizeof(buf), "x%d", i);
        pv_setstr(A, lv, "name", buf);
        pv_setint(A, lv, "controls", 31);
        pv_push(A, l, lv);
    }
    CHECK_EQ_INT(compile_err(t, &d), WEFT_OK);
    pv_push(A, l, l->u.a.v[0]);
    CHECK_EQ_INT(compile_err(t, &d), WEFT_ETOOBIG);
    l->u.a.n--;
    pv_setint(A, l->u.a.v[0], "controls", 32);
    CHECK_EQ_INT(compile_err(t, &d), WEFT_ESCHEMA);
    CHECK(msg_has(&d,
        "policy.classes[0].controls: must be a set of "
        "control bits"));
    pv_setint(A, l->u.a.v[0], "controls", 0);
    pv_setstr(A, l->u.a.v[1], "name", "public");
    CHECK_EQ_INT(compile_err(t, &d), WEFT_ESCHEMA);
    CHECK(msg_has(&d, "policy.classes[1].name: duplicate level 'public'"));

    /* a rule without the section it needs */
    t = full_tree();
    pv_set(A, t, "classes", pv_arr(A));
    CHECK_EQ_INT(compile_err(t, &d), WEFT_ESCHEMA);
    CHECK(msg_has(&d, "policy.rules.classification: needs policy.classes"));
    t = full_tree();
    l = pv_get(t, "quality");
    pv_set(A, l, "completeness", pv_nil(A));
    pv_set(A, l, "accuracy", pv_nil(A));
    CHECK_EQ_INT(compile_err(t, &d), WEFT_OK);
    pv_set(A, l, "freshness_s", pv_nil(A));
    CHECK_EQ_INT(compile_err(t, &d), WEFT_ESCHEMA);
    pv_set(A, l, "accuracy", pv_float(A, 100.5));
    CHECK_EQ_INT(compile_err(t, &d), WEFT_ESCHEMA);
    CHECK(msg_has(&d, "policy.quality.accuracy: must be nil or a number"));

    CHECK_EQ_INT(compile_err(NULL, &d), WEFT_ESCHEMA);
    CHECK_EQ_INT(compile_err(pv_arr(A), &d), WEFT_ESCHEMA);
}

static int mutations;

/* mutate drops each key and retypes each value below node in place,
 * compiling root each time; every mutation must be refused except a rule
 * dropped from rules and a quality threshold set to nil. */
static void
mutate(pv *root, pv *node)
{
    pv  *alt[] = { pv_nil(A), pv_bool(A, true), pv_int(A, 5), pv_float(A, 1.5),
         pv_strz(A, "x"), pv_arr(A), pv_map(A) };
    bool is_rules = node == pv_get(root, "rules");
    bool is_quality = node == pv_get(root, "quality");
    weft_diag d;
    uint32_t  n = node->type == PV_MAP ? node->u.m.n
         : node->type == PV_ARR        ? node->u.a.n
                                       : 0;

    for (uint32_t i = 0; i < n; i++) {
        pv **slot = node->type == PV_MAP ? &node->u.m.kv[i].v : &node->u.a.v[i];
        pv  *keep = *slot;

        if (node->type == PV_MAP) {
            pv_kv save = node->u.m.kv[i];

            node->u.m.kv[i] = node->u.m.kv[n - 1];
            node->u.m.n--;
            mutations++;
            if (is_rules)
                (void) compile_err(root, &d);
            else
                CHECK(compile_err(root, &d) != WEFT_OK);
            node->u.m.n++;
            node->u.m.kv[n - 1] = node->u.m.kv[i];
            node->u.m.kv[i] = save;
        }
        for (size_t k = 0; k < sizeof(alt) / sizeof(alt[0]); k++) {
            if (alt[k]->type == keep->type)
                continue;
            *slot = alt[k];
            mutations++;
            if (is_quality && alt[k]->type == PV_NIL)
                (void) compile_err(root, &d);
            else
                CHECK(compile_err(root, &d) != WEFT_OK);
            *slot = keep;
        }
        mutate(root, keep);
    }
}

static void
test_mutations(void)
{
    weft_diag d;
    pv       *t = full_tree(), *copy = pv_copy(A, t);

    mutate(t, t);
    CHECK(pv_equal(t, copy)); /* every mutation was undone */
    CHECK_EQ_INT(compile_err(t, &d), WEFT_OK);
    CHECK(mutations > 300);
}

/* ---- merging ---------------------------------------------------------- */

/* merge merges local YAML text into FULL; *out the merged tree. */
static weft_err
merge(const char *local, pv **out, weft_diag *d)
{
    pv *g = full_tree(), *l;

    if (norm(local, 1, &l, d) != WEFT_OK) {
        fprintf(stderr, "  local: %s\n", d->msg);
        return WEFT_ESYNTAX;
    }
    return policy_merge(A, g, l, out, d);
}

static const struct {
    const char *local, *msg;
} looser[] = {
    { "governance:\n  rules:\n    required_fields: {fields: [owner], "
      "severity: warn}\n",
        "local policy loosens required_fields: severity warn is below the "
        "global reject" },
    { "governance:\n  rules:\n    allowed_statuses: {statuses: [proposed, "
      "draft]}\n",
        "local policy loosens allowed_statuses: status 'proposed' is not "
        "allowed globally" },
    { "governance:\n  rules:\n    max_descriptor_bytes: {limit: 1001}\n",
        "local policy loosens max_descriptor_bytes: limit 1001 is above the "
        "global 1000" },
    { "governance:\n  rules:\n    deprecation: {severity: warn}\n",
        "local policy loosens deprecation: severity warn is below the global "
        "quarantine" },
    { "governance:\n  global_policies:\n    data_classification:\n"
      "      - name: secret\n",
        "local policy loosens classification: level 'secret' is not a "
        "global level" },
    { "governance:\n  global_policies:\n    data_classification:\n"
      "      - name: confidential\n        controls: [authentication_required,"
      " encryption_required]\n",
        "local policy loosens classification: level 'confidential' drops "
        "authorization_required" },
    { "governance:\n  global_policies:\n    data_quality:\n"
      "      completeness_threshold: 94.99%\n",
        "local policy loosens quality_thresholds: completeness 94.99 is "
        "below the global 95" },
    { "governance:\n  global_policies:\n    data_quality:\n"
      "      accuracy_threshold: 90\n",
        "local policy loosens quality_thresholds: accuracy 90 is below the "
        "global 98" },
    { "governance:\n  global_policies:\n    data_quality:\n"
      "      freshness_threshold: 86401\n",
        "local policy loosens quality_thresholds: freshness 86401 s is above "
        "the global 86400 s" },
};

static void
test_merge_refuses(void)
{
    weft_diag d;
    pv       *out, *g = full_tree();

    for (size_t i = 0; i < sizeof(looser) / sizeof(looser[0]); i++) {
        d.msg[0] = 0;
        CHECK_EQ_INT(merge(looser[i].local, &out, &d), WEFT_EINVAL);
        CHECK(msg_has(&d, looser[i].msg));
    }
    /* malformed inputs are refused as compile refuses them */
    CHECK_EQ_INT(policy_merge(A, pv_map(A), g, &out, &d), WEFT_ESCHEMA);
    CHECK_EQ_INT(policy_merge(A, g, pv_map(A), &out, &d), WEFT_ESCHEMA);
}

static void
test_merge_tightens(void)
{
    static const char local[]
        = "governance:\n"
          "  global_policies:\n"
          "    data_classification:\n"
          "      - name: internal\n"
          "        controls: [authentication_required, encryption_required]\n"
          "    data_quality:\n"
          "      completeness_threshold: 99%\n"
          "      freshness_threshold: 1 hour\n"
          "  rules:\n"
          "    required_fields: {fields: [version, owner]}\n"
          "    allowed_statuses: {statuses: [active]}\n"
          "    name_pattern: {pattern: '^.{1,5}$', severity: reject}\n"
          "    max_descriptor_bytes: {limit: 500}\n"
          "    quality_thresholds: {severity: reject}\n";
    weft_diag d;
    pv       *m, *r, *q, *g, *e, *s;
    policy   *pg, *pm;

    CHECK_EQ_INT(merge(local, &m, &d), WEFT_OK);
    CHECK_EQ_INT(pv_getint(m, "version", 0), 3);
    r = pv_get(m, "rules");
    q = pv_get(m, "quality");
    CHECK_EQ_INT(pv_get(pv_get(r, "required_fields"), "fields")->u.a.n, 3);
    CHECK_EQ_INT(pv_get(pv_get(r, "allowed_statuses"), "statuses")->u.a.n, 1);
    CHECK_EQ_INT(pv_get(pv_get(r, "name_pattern"), "patterns")->u.a.n, 2);
    CHECK(strcmp(pv_getstr(pv_get(r, "name_pattern"), "severity"), "reject")
        == 0);
    CHECK_EQ_INT(pv_getint(pv_get(r, "max_descriptor_bytes"), "limit", 0), 500);
    CHECK_EQ_INT(pv_getint(pv_get(m, "classes")->u.a.v[1], "controls", 0), 5);
    CHECK_EQ_INT(pv_getint(pv_get(m, "classes")->u.a.v[2], "controls", 0), 7);
    CHECK(pv_get(q, "completeness")->u.f == 99.0);
    CHECK(pv_get(q, "accuracy")->u.f == 98.0);
    CHECK_EQ_INT(pv_getint(q, "freshness_s", 0), 3600);

    /* the merged policy judges stricter than the global one */
    g = full_tree();
    CHECK_EQ_INT(policy_compile(g, &pg, &d), WEFT_OK);
    CHECK_EQ_INT(policy_compile(m, &pm, &d), WEFT_OK);
    s = base();
    CHECK(verdict_is(judge(pg, s), "accepted"));
    e = judge(pm, s);
    CHECK(verdict_is(e, "rejected"));
    CHECK(outcome_is(e, "required_fields", "pass", ""));
    CHECK(outcome_is(e, "name_pattern", "reject",
        "name 'orders' does not match '^.{1,5}$'"));
    CHECK(outcome_is(e, "max_descriptor_bytes", "reject",
        "descriptor is 1000 bytes, above the limit 500"));
    CHECK(outcome_is(e, "quality_thresholds", "reject",
        "completeness 95 is below 99; freshness 86400 s is above 3600 s"));
    pv_set(A, s, "version", pv_nil(A));
    CHECK(outcome_is(judge(pg, s), "required_fields", "pass", ""));
    CHECK(outcome_is(
        judge(pm, s), "required_fields", "reject", "missing: version"));
    pv_setstr(A, s, "status", "draft");
    CHECK(outcome_is(judge(pg, s), "allowed_statuses", "pass", ""));
    CHECK(outcome_is(judge(pm, s), "allowed_statuses", "reject",
        "status 'draft' is not allowed (allowed: active)"));
    policy_free(pm);
    policy_free(pg);

    /* an empty local policy changes nothing; equal is not looser */
    CHECK_EQ_INT(merge("governance: {}\n", &m, &d), WEFT_OK);
    CHECK(pv_equal(m, full_tree()));
    CHECK_EQ_INT(merge(FULL, &m, &d), WEFT_OK);
    CHECK(pv_equal(m, full_tree()));
}

/* test_merge_adds: a rule only local is added, at its own severity. */
static void
test_merge_adds(void)
{
    weft_diag d;
    pv       *g, *l, *m;
    policy   *p;
    pv       *s = base();

    CHECK_EQ_INT(norm("governance:\n  rules:\n    max_descriptor_bytes: "
                      "{limit: 2000, severity: warn}\n",
                     7, &g, &d),
        WEFT_OK);
    CHECK_EQ_INT(norm("governance:\n  rules:\n    deprecation: {}\n"
                      "    allowed_statuses: {statuses: [active]}\n"
                      "    tag_pattern: {pattern: '^[a-z]+$'}\n"
                      "    required_fields: {fields: [owner]}\n",
                     1, &l, &d),
        WEFT_OK);
    CHECK_EQ_INT(policy_merge(A, g, l, &m, &d), WEFT_OK);
    CHECK_EQ_INT(pv_getint(m, "version", 0), 7);
    CHECK_EQ_INT(pv_get(m, "rules")->u.m.n, 5);
    CHECK_EQ_INT(policy_compile(m, &p, &d), WEFT_OK);
    pv_setstr(A, s, "status", "deprecated");
    CHECK(verdict_is(judge(p, s), "rejected"));
    CHECK(outcome_is(
        judge(p, s), "deprecation", "quarantine", "no deprecation notice"));
    policy_free(p);
    /* patterns beyond the limit together are refused */
    {
        weft_buf b;

        weft_buf_init(&b, 1u << 16);
        weft_buf_printf(&b,
            "governance:\n  rules:\n    tag_pattern:\n"
            "      pattern:\n");
        for (int i = 0; i < POLICY_PATTERNS_MAX; i++)
            weft_buf_printf(&b, "        - '^q%d'\n", i);
        weft_buf_append(&b, "", 1);
        CHECK_EQ_INT(norm((const char *) b.p, 1, &g, &d), WEFT_OK);
        CHECK_EQ_INT(policy_merge(A, g, l, &m, &d), WEFT_ETOOBIG);
        CHECK(msg_has(&d,
            "tag_pattern: global and local policy together "
            "have more than 32 patterns"));
        CHECK_EQ_INT(policy_merge(A, g, g, &m, &d), WEFT_OK);
        weft_buf_free(&b);
    }
}

int
main(void)
{
    conf_dir = getenv("WEFT_CONFORMANCE");
    if (conf_dir == NULL)
        conf_dir = "../shared/conformance";
    A = pv_arena_new(ARENA_MAX);
    test_baseline();
    test_fields_and_statuses();
    test_patterns_and_size();
    test_classification();
    test_deprecation();
    test_quality();
    test_severities();
    test_malformed_summaries();
    test_determinism();
    test_shape();
    test_article();
    test_bad_input();
    test_levels_max();
    test_compile_refuses();
    test_mutations();
    test_merge_refuses();
    test_merge_tightens();
    test_merge_adds();
    pv_arena_reset(A);
    test_speed();
    pv_arena_free(A);
    return test_done("policy_test");
}
