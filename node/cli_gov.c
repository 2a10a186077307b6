/*
 * cli_gov.c: the governance commands. `weft governance keygen` and `sign`
 * work on files alone (a council member's key never goes near a node);
 * `publish` and `show` ask the node, as does `weft why`.
 */
#include "crypto/crypto.h"
#include "node/cli.h"
#include "proto/policy.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int
cli_read_file(cli *c, const char *path, size_t max, weft_buf *b)
{
    FILE   *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    uint8_t chunk[65536];
    size_t  n;

    if (f == NULL) {
        cli_err(c, "%s: %s", path, strerror(errno));
        return CLI_FAIL;
    }
    weft_buf_init(b, max);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (weft_buf_append(b, chunk, n) != WEFT_OK)
            break;
    if (f != stdin)
        fclose(f);
    if (n > 0) {
        cli_err(c, "%s: over the %zu-byte limit", path, max);
        weft_buf_free(b);
        return CLI_FAIL;
    }
    return CLI_OK;
}

static int
gov_usage(cli *c, const char *what)
{
    cli_err(c, "%s", what);
    cli_usage(stderr, "governance");
    return CLI_FAIL;
}

static int
keygen(cli *c, int argc, char **argv)
{
    const char *out = NULL;
    char        pub[4200];
    crypto_key *k = NULL;
    weft_diag   d = { "" };
    int         opt;

    optind = 0; /* GNU getopt: start over */
    while ((opt = getopt(argc, argv, "o:")) != -1) {
        if (opt != 'o')
            return gov_usage(c, "keygen: unknown option");
        out = optarg;
    }
    if (out == NULL || optind != argc)
        return gov_usage(c, "keygen: give -o FILE");
    snprintf(pub, sizeof(pub), "%s.pub", out);
    if (crypto_key_generate(&k) != WEFT_OK
        || crypto_key_save(k, out, pub, "weft governance council key", &d)
            != WEFT_OK) {
        cli_err(c, "%s", d.msg[0] ? d.msg : "cannot make a key");
        crypto_key_free(k);
        return CLI_FAIL;
    }
    if (c->json) {
        pv  *m = pv_map(c->a);
        char hex[65], fp[CRYPTO_FP_CHARS + 1];

        crypto_hex(crypto_key_public(k), 32, hex);
        crypto_fingerprint(crypto_key_public(k), fp);
        pv_setstr(c->a, m, "secret", out);
        pv_setstr(c->a, m, "public", pub);
        pv_setstr(c->a, m, "key", hex);
        pv_setstr(c->a, m, "fingerprint", fp);
        cli_print_json(m);
    } else {
        char hex[65];

        crypto_hex(crypto_key_public(k), 32, hex);
        printf("secret key %s (mode 0600), public key %s\n"
               "give it to weftd as --governance-key %s\n",
            out, pub, hex);
    }
    crypto_key_free(k);
    return CLI_OK;
}

/* council reads --council-key files into a {keys, threshold} map. */
static pv *
council(cli *c, char **pubs, int npubs, int threshold)
{
    pv       *m = pv_map(c->a), *l = pv_arr(c->a);
    weft_diag d = { "" };

    for (int i = 0; i < npubs; i++) {
        uint8_t pk[32];

        if (crypto_pubkey_load(pubs[i], pk, &d) != WEFT_OK) {
            cli_err(c, "--council-key %s: %s", pubs[i], d.msg);
            return NULL;
        }
        pv_push(c->a, l, pv_bin(c->a, pk, 32));
    }
    /* Sorted, as weftd stores an anchor: the same set is the same map. */
    for (uint32_t i = 1; i < l->u.a.n; i++)
        for (uint32_t j = i; j > 0
             && memcmp(l->u.a.v[j - 1]->u.s.p, l->u.a.v[j]->u.s.p, 32) > 0;
             j--) {
            pv *t = l->u.a.v[j];

            l->u.a.v[j] = l->u.a.v[j - 1];
            l->u.a.v[j - 1] = t;
        }
    pv_set(c->a, m, "keys", l);
    pv_setint(c->a, m, "threshold", threshold);
    return m;
}

static int
sign(cli *c, int argc, char **argv)
{
    static const struct option lo[] = { { "key", required_argument, NULL, 'k' },
        { "output", required_argument, NULL, 'o' },
        { "version", required_argument, NULL, 'v' },
        { "council-key", required_argument, NULL, 'c' },
        { "council-threshold", required_argument, NULL, 't' },
        { NULL, 0, NULL, 0 } };
    char       *keys[PROTO_COUNCIL_MAX], *pubs[PROTO_COUNCIL_MAX];
    int         nkeys = 0, npubs = 0, threshold = 0, opt, rc = CLI_FAIL;
    long        version = 0;
    const char *out = NULL;
    crypto_key *k[PROTO_COUNCIL_MAX] = { 0 };
    weft_buf    text, bundle;
    weft_diag   d = { "" };
    pv         *doc, *norm, *cn = NULL;
    FILE       *f;
    char       *end;

    optind = 0; /* GNU getopt: start over */
    while ((opt = getopt_long(argc, argv, "k:o:v:", lo, NULL)) != -1) {
        switch (opt) {
        case 'k':
            if (nkeys == PROTO_COUNCIL_MAX)
                return gov_usage(c, "sign: too many -k");
            keys[nkeys++] = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'v':
            version = strtol(optarg, &end, 10);
            if (*end != 0 || version < 1)
                return gov_usage(c, "sign: --version N: N >= 1");
            break;
        case 'c':
            if (npubs == PROTO_COUNCIL_MAX)
                return gov_usage(c, "sign: too many --council-key");
            pubs[npubs++] = optarg;
            break;
        case 't':
            threshold = (int) strtol(optarg, &end, 10);
            if (*end != 0 || end == optarg || threshold < 1
                || threshold > PROTO_COUNCIL_MAX)
                return gov_usage(
                    c, "sign: --council-threshold K: K from 1 to 16");
            break;
        default:
            return gov_usage(c, "sign: unknown option");
        }
    }
    if (optind != argc - 1 || nkeys == 0 || out == NULL)
        return gov_usage(c, "sign: give POLICY.yaml, -k KEYFILE and -o FILE");
    if (npubs > 0 && (threshold < 1 || threshold > npubs))
        return gov_usage(c,
            "sign: --council-threshold K with 1 <= K <= the number of "
            "--council-key");
    if (cli_read_file(c, argv[optind], WEFT_DOC_MAX, &text) != CLI_OK)
        return CLI_FAIL;
    if (proto_yaml_parse(c->a, text.p, text.len, &doc, &d) != WEFT_OK
        || policy_normalize(c->a, doc, version, &norm, &d) != WEFT_OK) {
        cli_err(c, "%s: %s", argv[optind], d.msg);
        weft_buf_free(&text);
        return CLI_FAIL;
    }
    weft_buf_free(&text);
    if (npubs > 0 && (cn = council(c, pubs, npubs, threshold)) == NULL)
        return CLI_FAIL;
    for (int i = 0; i < nkeys; i++)
        if (crypto_key_load(keys[i], &k[i], &d) != WEFT_OK) {
            cli_err(c, "%s", d.msg);
            goto done;
        }
    weft_buf_init(&bundle, PROTO_POLICY_MAX);
    if (proto_policy_seal(norm, cn, (int64_t) time(NULL), k, nkeys, &bundle)
        != WEFT_OK) {
        cli_err(c, "cannot sign the policy");
        weft_buf_free(&bundle);
        goto done;
    }
    if ((f = fopen(out, "wb")) == NULL
        || fwrite(bundle.p, 1, bundle.len, f) != bundle.len || fclose(f)) {
        cli_err(c, "%s: %s", out, strerror(errno));
        weft_buf_free(&bundle);
        goto done;
    }
    if (c->json) {
        pv *m = pv_map(c->a);

        pv_setstr(c->a, m, "bundle", out);
        pv_setint(c->a, m, "version", pv_getint(norm, "version", 0));
        pv_setint(c->a, m, "signatures", nkeys);
        pv_setint(c->a, m, "bytes", (int64_t) bundle.len);
        cli_print_json(m);
    } else
        printf("policy version %lld signed by %d key%s: %s (%zu bytes)\n",
            (long long) pv_getint(norm, "version", 0), nkeys,
            nkeys == 1 ? "" : "s", out, bundle.len);
    weft_buf_free(&bundle);
    rc = CLI_OK;
done:
    for (int i = 0; i < nkeys; i++)
        crypto_key_free(k[i]);
    return rc;
}

static void
print_show(const pv *rep)
{
    const pv *keys = pv_get(rep, "council"), *sig = pv_get(rep, "signers");
    const pv *pol = pv_get(rep, "policy"), *rules = pv_get(pol, "rules");

    printf("%-16s", "council");
    for (uint32_t i = 0; keys && i < keys->u.a.n; i++)
        printf("%s%s", i ? ", " : "", keys->u.a.v[i]->u.s.p);
    if (keys == NULL || keys->u.a.n == 0)
        printf("none (no global policy)");
    printf("\n%-16s%lld\n", "threshold",
        (long long) pv_getint(rep, "threshold", 0));
    printf("%-16s%lld\n", "version", (long long) pv_getint(rep, "version", 0));
    printf("%-16s", "signed by");
    for (uint32_t i = 0; sig && i < sig->u.a.n; i++)
        printf("%s%s", i ? ", " : "", sig->u.a.v[i]->u.s.p);
    printf("\n%-16s", "rules");
    for (uint32_t i = 0; rules && rules->type == PV_MAP && i < rules->u.m.n;
         i++)
        printf("%s%s (%s)", i ? ", " : "", rules->u.m.kv[i].k->u.s.p,
            pv_getstr(rules->u.m.kv[i].v, "severity"));
    printf("\n%-16s%s\n", "local rules",
        pv_get(rep, "local") && pv_get(rep, "local")->type == PV_MAP ? "yes"
                                                                     : "no");
    printf("%-16s%lld accepted, %lld warned, %lld quarantined, %lld "
           "rejected\n",
        "verdicts", (long long) pv_getint(rep, "accepted", 0),
        (long long) pv_getint(rep, "warned", 0),
        (long long) pv_getint(rep, "quarantined", 0),
        (long long) pv_getint(rep, "rejected", 0));
    printf("%-16s%lld", "refused", (long long) pv_getint(rep, "refused", 0));
    if (pv_getstr(rep, "last_refusal"))
        printf(" (last: %s)", pv_getstr(rep, "last_refusal"));
    printf("\n");
}

static int
ask(cli *c, pv *req)
{
    pv       *rep;
    const pv *ok;
    int       rc;

    if ((rc = cli_call(c, req, &rep)) != CLI_OK)
        return rc;
    ok = pv_get(rep, "ok");
    if (ok == NULL || ok->type != PV_BOOL || !ok->u.b)
        return cli_fail(c, rep);
    if (c->json)
        return cli_print_json(rep);
    print_show(rep);
    return CLI_OK;
}

int
cli_cmd_governance(cli *c, int argc, char **argv)
{
    pv      *req = pv_map(c->a);
    weft_buf b;

    if (argc < 2)
        return gov_usage(c, "give keygen, sign, publish or show");
    if (crypto_init() != WEFT_OK) {
        cli_err(c, "libsodium failed to initialize");
        return CLI_FAIL;
    }
    if (strcmp(argv[1], "keygen") == 0)
        return keygen(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "sign") == 0)
        return sign(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "show") == 0) {
        if (argc != 2)
            return gov_usage(c, "show: no arguments");
        pv_setstr(c->a, req, "op", "governance_show");
        return ask(c, req);
    }
    if (strcmp(argv[1], "publish") == 0) {
        if (argc != 3)
            return gov_usage(c, "publish: give one BUNDLE file");
        if (cli_read_file(c, argv[2], PROTO_POLICY_MAX, &b) != CLI_OK)
            return CLI_FAIL;
        pv_setstr(c->a, req, "op", "governance_publish");
        pv_set(c->a, req, "bundle", pv_bin(c->a, b.p, b.len));
        weft_buf_free(&b);
        return ask(c, req);
    }
    return gov_usage(c, "give keygen, sign, publish or show");
}

int
cli_cmd_why(cli *c, int argc, char **argv)
{
    pv       *req = pv_map(c->a), *rep;
    const pv *ok, *w, *rules;
    int       rc;

    if (argc != 2) {
        cli_err(c, "give exactly one product ID");
        cli_usage(stderr, "why");
        return CLI_FAIL;
    }
    pv_setstr(c->a, req, "op", "why");
    pv_setstr(c->a, req, "id", argv[1]);
    if ((rc = cli_call(c, req, &rep)) != CLI_OK)
        return rc;
    ok = pv_get(rep, "ok");
    if (ok == NULL || ok->type != PV_BOOL || !ok->u.b)
        return cli_fail(c, rep);
    w = pv_get(rep, "why");
    if (c->json)
        return cli_print_json(w);
    rules = pv_get(w, "rules");
    printf("%s: %s (policy v%lld%s)\n", pv_getstr(w, "id"),
        pv_getstr(w, "verdict"), (long long) pv_getint(w, "version", 0),
        pv_get(w, "local") && pv_get(w, "local")->u.b ? " with local rules"
                                                      : "");
    if (rules == NULL || rules->u.a.n == 0)
        printf("  no policy: every product is accepted\n");
    for (uint32_t i = 0; rules && i < rules->u.a.n; i++) {
        const pv   *r = rules->u.a.v[i];
        const char *reason = pv_getstr(r, "reason");

        printf("  %-22s %-11s %s\n", pv_getstr(r, "rule"),
            pv_getstr(r, "outcome"), reason ? reason : "");
    }
    return CLI_OK;
}
