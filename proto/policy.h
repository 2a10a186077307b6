/*
 * policy.h: the mesh's governance policy. A policy is read from a YAML
 * document (the article's `governance:` map plus weft's `rules:`),
 * normalized into one canonical tree (the form that is signed and
 * gossiped), compiled on every node into an opaque handle, and used to
 * judge product summaries. A node's local policy may only tighten the
 * global one (policy_merge).
 *
 * Everything here is a pure function: no I/O, no clock, no global state.
 * A verdict depends only on (policy, summary), so every node reaches the
 * same verdict with the same rule order and the same reason strings.
 *
 * Thread use: a compiled policy is read-only after policy_compile and may
 * be shared by threads that judge at once. Lifetime: trees live in the
 * arena they were made in; a compiled policy is malloc'd, keeps no pointer
 * into any tree, and is released with policy_free.
 */
#ifndef WEFT_POLICY_H
#define WEFT_POLICY_H

#include "proto/proto.h"

/* Limits on a policy, enforced on YAML input and on normalized trees. */
#define POLICY_CLASSES_MAX  32  /* classification levels */
#define POLICY_NAME_MAX     64  /* bytes in a level name */
#define POLICY_LIST_MAX     64  /* entries in fields, statuses, controls */
#define POLICY_PATTERNS_MAX 32  /* patterns in one pattern rule */
#define POLICY_PATTERN_MAX  256 /* bytes in one pattern */
#define POLICY_REASON_MAX   512 /* bytes in one reason string */

/* policy_sev is a rule's outcome, ordered from best to worst. */
typedef enum policy_sev {
    POLICY_PASS = 0,
    POLICY_WARN = 1,
    POLICY_QUARANTINE = 2,
    POLICY_REJECT = 3
} policy_sev;

/*
 * policy_normalize turns a parsed YAML document {governance: ...} into the
 * normalized tree (in a):
 *   {v: 1, version: int, classes: [{name, controls}],
 *    quality: {completeness, accuracy, freshness_s},
 *    rules: {NAME: {severity, ...params}}}
 * version > 0 overrides governance.version; 0 means "use the document's";
 * one of the two is required. Errors name the path and position:
 * "governance.rules.name_pattern.pattern (line 12, column 5): ...".
 * A tree that is already normalized is refused (it has no governance key).
 */
weft_err policy_normalize(
    pv_arena *a, const pv *doc, int64_t version, pv **out, weft_diag *d);

typedef struct policy policy;

/*
 * policy_compile checks a normalized tree strictly (it may come from an
 * untrusted peer: exact keys, types, sizes, regexes that compile) and
 * compiles it. *out is malloc'd, keeps no pointer into the tree, and is
 * released with policy_free. Errors name the path ("policy.rules...").
 */
weft_err policy_compile(const pv *normalized, policy **out, weft_diag *d);

/* policy_free releases a compiled policy; NULL is a no-op. */
void policy_free(policy *p);

/* policy_version returns the policy's version, 0 for NULL. */
int64_t policy_version(const policy *p);

/*
 * policy_merge tightens normalized policy global with a node's normalized
 * local policy (normalized with version 1) and writes the merged tree (in
 * a, with global's version) to *out. Local may raise severities, require
 * more fields, allow fewer statuses, add patterns, lower the size limit,
 * add controls to global levels, raise completeness and accuracy, lower
 * freshness and add rules. Anything looser is refused with WEFT_EINVAL and
 * the rule named: "local policy loosens max_descriptor_bytes: limit 500000
 * is above the global 262144".
 */
weft_err policy_merge(
    pv_arena *a, const pv *global, const pv *local, pv **out, weft_diag *d);

/*
 * policy_judge judges summary sum and writes to *out (in a)
 *   {verdict: "accepted"|"warned"|"quarantined"|"rejected", version: int,
 *    rules: [{rule, outcome: "pass"|"warn"|"quarantine"|"reject", reason}]}
 * with one entry per rule of p in the fixed rule order (reason "" on
 * pass); the verdict is the worst outcome. p NULL means no policy:
 * accepted, version 0, no rules. Malformed summary fields count as absent.
 * Fails only with WEFT_ENOMEM when a is full.
 */
weft_err policy_judge(const policy *p, pv_arena *a, const pv *sum, pv **out);

/* policy_sev_name returns "pass", "warn", "quarantine" or "reject". */
const char *policy_sev_name(policy_sev s);

/*
 * policy_verdict returns the severity of a verdict: verdict may be
 * policy_judge's whole result or its verdict string. Anything it does not
 * recognize is POLICY_REJECT (fail closed).
 */
policy_sev policy_verdict(const pv *verdict);

#endif
