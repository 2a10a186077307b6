/*
 * cli_cmds.c: one function per weft command, and the {name, fn, help}
 * table (wireguard-tools' habit). Each builds a request, calls the node,
 * and prints the answer.
 */
#include "node/cli.h"

#define WATCH_LOG_MAX_CLI 65536 /* node/node.h WATCH_LOG_MAX */

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* req_new starts a request map for op. */
static pv *
req_new(cli *c, const char *op)
{
    pv *m = pv_map(c->a);

    if (m != NULL && pv_setstr(c->a, m, "op", op) != WEFT_OK)
        return NULL;
    return m;
}

/* call sends req; on an error reply prints it. *rep is the reply. */
static int
call(cli *c, const pv *req, pv **rep)
{
    const pv *ok;
    int       rc;

    if (req == NULL)
        return CLI_FAIL;
    if ((rc = cli_call(c, req, rep)) != CLI_OK)
        return rc;
    ok = pv_get(*rep, "ok");
    if (ok == NULL || ok->type != PV_BOOL || !ok->u.b)
        return cli_fail(c, *rep);
    return CLI_OK;
}

/* usage_err prints a usage error for the current command. */
static int
usage_err(cli *c, const char *what)
{
    cli_err(c, "%s", what);
    cli_usage(stderr, c->cmd);
    return CLI_FAIL;
}

/*
 * getopts parses a command's options; it resets getopt for each command.
 * Returns the option, -1 at the end, '?' on an error.
 */
static int
getopts(int argc, char **argv, const char *s, const struct option *lo)
{
    opterr = 1;
    return getopt_long(argc, argv, s, lo, NULL);
}

/* ---- publish -------------------------------------------------------- */

/* read_doc reads one file (or stdin for "-") up to WEFT_DOC_MAX bytes. */
static int
read_doc(cli *c, const char *path, weft_buf *b)
{
    FILE       *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    struct stat sb;
    size_t      n;
    uint8_t     chunk[65536];
    bool        bad;

    if (f == NULL) {
        cli_err(c, "%s: %s", path, strerror(errno));
        return CLI_FAIL;
    }
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode)
        && (uint64_t) sb.st_size > WEFT_DOC_MAX) {
        cli_err(c, "%s: %llu bytes, over the %u-byte document limit", path,
            (unsigned long long) sb.st_size, WEFT_DOC_MAX);
        if (f != stdin)
            fclose(f);
        return CLI_FAIL;
    }
    weft_buf_init(b, WEFT_DOC_MAX);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (weft_buf_append(b, chunk, n) != WEFT_OK)
            break;
    bad = ferror(f) != 0;
    if (f != stdin)
        fclose(f);
    if (n > 0 || bad) {
        if (n > 0)
            cli_err(
                c, "%s: over the %u-byte document limit", path, WEFT_DOC_MAX);
        else
            cli_err(c, "%s: read error", path);
        weft_buf_free(b);
        return CLI_FAIL;
    }
    return CLI_OK;
}

static int
print_results(cli *c, const pv *results, bool dry)
{
    int worst = CLI_OK;

    for (uint32_t i = 0; i < results->u.a.n; i++) {
        const pv *r = results->u.a.v[i];
        weft_err  e = (weft_err) pv_getint(r, "code", 0);
        int       rc = cli_code(e);

        const pv *why = pv_get(r, "reasons");

        if (e != WEFT_OK)
            cli_err(c, "%s", pv_getstr(r, "error"));
        else if (!c->json) {
            const char *v = pv_getstr(r, "verdict");

            printf("%-40s %-10s seq %-6lld %.16s  %s%s%s\n", pv_getstr(r, "id"),
                pv_getstr(r, "version"), (long long) pv_getint(r, "seq", 0),
                pv_getstr(r, "hash"),
                pv_get(r, "changed")->u.b ? (dry ? "valid" : "published")
                                          : "unchanged",
                v && strcmp(v, "accepted") != 0 ? ", " : "",
                v && strcmp(v, "accepted") != 0 ? v : "");
            for (uint32_t j = 0; why && why->type == PV_ARR && j < why->u.a.n;
                 j++)
                printf("    %s\n", why->u.a.v[j]->u.s.p);
        }
        worst = rc > worst ? rc : worst;
    }
    return worst;
}

/*
 * Publishing streams batches: while the node works on one batch, the CLI
 * reads the files of the next (two requests in flight, replies printed in
 * order). A batch closes at PUB_BATCH bytes of files, so the node starts
 * early, and a batch holds at most one document past that.
 */
#define PUB_BATCH WEFT_BATCH_MAX

typedef struct pub {
    cli *c;
    bool dry;
    pv  *all;     /* every result, for --json */
    int  worst;   /* the exit code so far */
    int  next;    /* the slot the next batch goes to */
    bool pending; /* a batch waits for its reply in the other slot */
    bool dead;    /* the node could not be asked, or refused a batch */
} pub;

static void
pub_wait(pub *p)
{
    const pv *ok, *res;
    pv       *rep;
    int       rc;

    if (!p->pending)
        return;
    p->pending = false;
    if ((rc = cli_recv(p->c, 1 - p->next, &rep)) != CLI_OK) {
        p->worst = CLI_FAIL;
        p->dead = true;
        return;
    }
    ok = pv_get(rep, "ok");
    if (ok == NULL || ok->type != PV_BOOL || !ok->u.b) {
        rc = cli_fail(p->c, rep);
        p->worst = rc > p->worst ? rc : p->worst;
        p->dead = true;
        return;
    }
    res = pv_get(rep, "results");
    for (uint32_t i = 0; res && res->type == PV_ARR && i < res->u.a.n; i++)
        pv_push(p->c->a, p->all, res->u.a.v[i]);
    if (res != NULL && res->type == PV_ARR) {
        rc = print_results(p->c, res, p->dry);
        p->worst = rc > p->worst ? rc : p->worst;
    }
}

static void
pub_send(pub *p, pv *docs)
{
    pv *req = req_new(p->c, "publish");

    if (req == NULL || pv_set(p->c->a, req, "docs", docs)
        || pv_set(p->c->a, req, "dry_run", pv_bool(p->c->a, p->dry))
        || cli_send(p->c, p->next, req) != CLI_OK) {
        p->worst = CLI_FAIL;
        p->dead = true;
        return;
    }
    pub_wait(p); /* the previous batch, while the node starts this one */
    p->pending = true;
    p->next = 1 - p->next;
}

static int
cmd_publish(cli *c, int argc, char **argv)
{
    static const struct option lo[]
        = { { "dry-run", no_argument, NULL, 'n' }, { NULL, 0, NULL, 0 } };
    pub    p = { c, false, pv_arr(c->a), CLI_OK, 0, false, false };
    int    opt, rc;
    size_t batch = 0;
    pv    *docs = pv_arr(c->a);

    while ((opt = getopts(argc, argv, "n", lo)) != -1) {
        if (opt != 'n')
            return usage_err(c, "unknown option");
        p.dry = true;
    }
    if (optind >= argc)
        return usage_err(c, "give at least one FILE (or - for stdin)");
    for (int i = optind; i <= argc && !p.dead; i++) {
        weft_buf b;
        pv      *doc;

        if (docs->u.a.n > 0 && (i == argc || batch >= PUB_BATCH)) {
            pub_send(&p, docs);
            docs = pv_arr(c->a);
            batch = 0;
        }
        if (i == argc)
            break;
        if ((rc = read_doc(c, argv[i], &b)) != CLI_OK) {
            p.worst = rc > p.worst ? rc : p.worst;
            continue;
        }
        doc = pv_map(c->a);
        pv_setstr(c->a, doc, "name", argv[i]);
        pv_set(c->a, doc, "data", pv_bin(c->a, b.p, b.len));
        pv_push(c->a, docs, doc);
        batch += b.len;
        weft_buf_free(&b);
    }
    pub_wait(&p);
    if (c->json) {
        pv *m = pv_map(c->a);

        pv_set(c->a, m, "results", p.all);
        pv_set(c->a, m, "dry_run", pv_bool(c->a, p.dry));
        cli_print_json(m);
    }
    return p.worst;
}

/* ---- get, list, search ---------------------------------------------- */

static int
cmd_get(cli *c, int argc, char **argv)
{
    static const struct option lo[]
        = { { "version", required_argument, NULL, 'v' }, { NULL, 0, NULL, 0 } };
    const char *ver = NULL;
    pv         *req = req_new(c, "get"), *rep, *p, *desc;
    int         opt, rc;

    while ((opt = getopts(argc, argv, "v:", lo)) != -1) {
        if (opt != 'v')
            return usage_err(c, "unknown option");
        ver = optarg;
    }
    if (optind != argc - 1)
        return usage_err(c, "give exactly one product ID");
    pv_setstr(c->a, req, "id", argv[optind]);
    if (ver)
        pv_setstr(c->a, req, "version", ver);
    if ((rc = call(c, req, &rep)) != CLI_OK)
        return rc;
    p = pv_get(rep, "product");
    desc = pv_get(p, "descriptor");
    if (desc != NULL && desc->type == PV_BIN) {
        weft_diag d = { "" };
        pv       *dv;

        if (proto_decode(
                c->a, (const uint8_t *) desc->u.s.p, desc->u.s.len, &dv, &d)
            != WEFT_OK) {
            cli_err(c, "bad descriptor from weftd: %s", d.msg);
            return CLI_FAIL;
        }
        pv_set(c->a, p, "descriptor", dv);
    }
    if (c->json)
        return cli_print_json(p);
    cli_print_product(p);
    return CLI_OK;
}

static int
print_products(cli *c, const pv *rep)
{
    pv *m;

    if (c->json) {
        m = pv_map(c->a);
        pv_set(c->a, m, "products", pv_get(rep, "products"));
        return cli_print_json(m);
    }
    cli_print_table(pv_get(rep, "products"));
    if (pv_getint(rep, "total", 0) > (int64_t) pv_get(rep, "products")->u.a.n)
        printf("(the first %u of %lld: narrow it with --domain, or search)\n",
            pv_get(rep, "products")->u.a.n,
            (long long) pv_getint(rep, "total", 0));
    return CLI_OK;
}

static int
cmd_list(cli *c, int argc, char **argv)
{
    static const struct option lo[]
        = { { "domain", required_argument, NULL, 'd' },
              { "all", no_argument, NULL, 'a' }, { NULL, 0, NULL, 0 } };
    pv *req = req_new(c, "list"), *rep;
    int opt, rc;

    while ((opt = getopts(argc, argv, "d:", lo)) != -1) {
        if (opt == 'a')
            pv_set(c->a, req, "all", pv_bool(c->a, true));
        else if (opt == 'd')
            pv_setstr(c->a, req, "domain", optarg);
        else
            return usage_err(c, "unknown option");
    }
    if (optind != argc)
        return usage_err(c, "unexpected argument");
    if ((rc = call(c, req, &rep)) != CLI_OK)
        return rc;
    return print_products(c, rep);
}

/* join_args joins argv[optind..] with spaces into q (a query). */
static int
join_args(int argc, char **argv, weft_buf *q)
{
    weft_buf_init(q, 4096);
    for (int i = optind; i < argc; i++)
        if ((i > optind && weft_buf_append(q, " ", 1))
            || weft_buf_append(q, argv[i], strlen(argv[i]))) {
            weft_buf_free(q);
            return CLI_FAIL;
        }
    return CLI_OK;
}

static void
print_facets(const pv *facets)
{
    for (uint32_t i = 0; facets && facets->type == PV_MAP && i < facets->u.m.n;
         i++) {
        const pv *m = facets->u.m.kv[i].v;

        printf("%-12s", facets->u.m.kv[i].k->u.s.p);
        for (uint32_t j = 0; m && m->type == PV_MAP && j < m->u.m.n; j++)
            printf("%s%s %lld", j ? ", " : "", m->u.m.kv[j].k->u.s.p,
                (long long) m->u.m.kv[j].v->u.i);
        printf("\n");
    }
}

static void
print_explain(const pv *items)
{
    for (uint32_t i = 0; items && i < items->u.a.n; i++) {
        const pv *e = pv_get(items->u.a.v[i], "explain");
        const pv *parts = pv_get(e, "parts");

        if (e == NULL)
            continue;
        printf("%s: score %.3f%s%s\n", pv_getstr(items->u.a.v[i], "id"),
            pv_get(e, "score")->u.f,
            pv_get(e, "exact")->u.b ? ", exact name or id match (first)" : "",
            pv_get(e, "lowered")->u.b ? ", deprecated or retired (ranked after "
                                        "the rest)"
                                      : "");
        for (uint32_t j = 0; parts && j < parts->u.a.n; j++) {
            const pv *p = parts->u.a.v[j];

            printf("  %-20s in %-12s tf %lld  idf %.3f  weight %.0f  = %.3f\n",
                pv_getstr(p, "term"), pv_getstr(p, "field"),
                (long long) pv_getint(p, "tf", 0), pv_get(p, "idf")->u.f,
                pv_get(p, "weight")->u.f, pv_get(p, "score")->u.f);
        }
    }
}

static int
cmd_search(cli *c, int argc, char **argv)
{
    static const struct option lo[] = { { "all", no_argument, NULL, 'a' },
        { "explain", no_argument, NULL, 'e' },
        { "facets", no_argument, NULL, 'f' },
        { "limit", required_argument, NULL, 'n' },
        { "domain", required_argument, NULL, 'd' }, { NULL, 0, NULL, 0 } };
    pv                        *req = req_new(c, "search"), *rep;
    int                        opt, rc;
    weft_buf                   q;
    long                       limit = 20;
    char                      *end;

    while ((opt = getopts(argc, argv, "d:", lo)) != -1) {
        if (opt == 'a')
            pv_set(c->a, req, "all", pv_bool(c->a, true));
        else if (opt == 'e')
            pv_set(c->a, req, "explain", pv_bool(c->a, true));
        else if (opt == 'f')
            pv_set(c->a, req, "facets", pv_bool(c->a, true));
        else if (opt == 'd')
            pv_setstr(c->a, req, "domain", optarg);
        else if (opt == 'n') {
            limit = strtol(optarg, &end, 10);
            if (*end != 0 || end == optarg || limit < 0)
                return usage_err(c, "--limit N: N >= 0 (0: every match)");
        } else
            return usage_err(c, "unknown option");
    }
    if (optind >= argc)
        return usage_err(c, "give a QUERY");
    pv_setint(c->a, req, "limit", limit);
    /* The arguments are the query, joined by spaces (quote a phrase
     * for the shell and for weft: '"customer 360"'). */
    if (join_args(argc, argv, &q) != CLI_OK)
        return usage_err(c, "the query is over 4096 bytes");
    pv_set(c->a, req, "q", pv_str(c->a, (const char *) q.p, q.len));
    weft_buf_free(&q);
    if ((rc = call(c, req, &rep)) != CLI_OK)
        return rc;
    if (c->json) {
        pv *m = pv_map(c->a);

        pv_set(c->a, m, "products", pv_get(rep, "products"));
        pv_setint(c->a, m, "total", pv_getint(rep, "total", 0));
        if (pv_get(rep, "facets"))
            pv_set(c->a, m, "facets", pv_get(rep, "facets"));
        return cli_print_json(m);
    }
    cli_print_table(pv_get(rep, "products"));
    if (pv_getint(rep, "total", 0) > (int64_t) pv_get(rep, "products")->u.a.n)
        printf("(%u of %lld matches; --limit 0 shows all)\n",
            pv_get(rep, "products")->u.a.n,
            (long long) pv_getint(rep, "total", 0));
    if (pv_get(rep, "facets")) {
        printf("\n");
        print_facets(pv_get(rep, "facets"));
    }
    if (pv_get(req, "explain")) {
        printf("\n");
        print_explain(pv_get(rep, "products"));
    }
    return CLI_OK;
}

/* ---- watch ------------------------------------------------------------- */

static int
cmd_watch(cli *c, int argc, char **argv)
{
    weft_buf q;
    int64_t  cursor = -1;
    int      opt, rc;

    while ((opt = getopts(argc, argv, "", NULL)) != -1)
        return usage_err(c, "unknown option");
    if (join_args(argc, argv, &q) != CLI_OK)
        return usage_err(c, "the query is over 4096 bytes");
    /* Long polls, until interrupted: each answer carries the events since
     * the cursor, or none when the node's wait ran out. */
    for (;;) {
        pv       *req = req_new(c, "watch"), *rep;
        const pv *ev;

        pv_set(c->a, req, "q", pv_str(c->a, (const char *) q.p, q.len));
        if (cursor >= 0)
            pv_setint(c->a, req, "after", cursor);
        if ((rc = call(c, req, &rep)) != CLI_OK) {
            weft_buf_free(&q);
            return rc;
        }
        cursor = pv_getint(rep, "cursor", cursor);
        if (pv_getint(rep, "missed", 0) > 0)
            fprintf(stderr,
                "weft: watch: %lld changes were missed (the "
                "node keeps the last %d)\n",
                (long long) pv_getint(rep, "missed", 0), WATCH_LOG_MAX_CLI);
        ev = pv_get(rep, "events");
        for (uint32_t i = 0; ev && ev->type == PV_ARR && i < ev->u.a.n; i++) {
            const pv *e = ev->u.a.v[i], *p = pv_get(e, "product");

            if (c->json) {
                weft_buf b;

                weft_buf_init(&b, WEFT_MSG_MAX);
                if (proto_json_dump(e, false, &b) == WEFT_OK) {
                    fwrite(b.p, 1, b.len, stdout);
                    fputc('\n', stdout);
                }
                weft_buf_free(&b);
            } else
                printf("%-10s %-40s %-10s %-10s %s\n", pv_getstr(e, "event"),
                    pv_getstr(p, "id"), pv_getstr(p, "version"),
                    pv_getstr(p, "status"), pv_getstr(p, "verdict"));
        }
        fflush(stdout);
        pv_arena_reset(c->a);
    }
}

/* ---- lineage ----------------------------------------------------------- */

static int
cmd_lineage(cli *c, int argc, char **argv)
{
    static const struct option lo[] = { { "up", no_argument, NULL, 'u' },
        { "down", no_argument, NULL, 'D' },
        { "depth", required_argument, NULL, 'n' }, { NULL, 0, NULL, 0 } };
    pv                        *req = req_new(c, "lineage"), *rep;
    const pv                  *l, *nodes, *un;
    int                        opt, rc;
    char                      *end;
    long                       depth;

    while ((opt = getopts(argc, argv, "", lo)) != -1) {
        if (opt == 'u')
            pv_set(c->a, req, "up", pv_bool(c->a, true));
        else if (opt == 'D')
            pv_set(c->a, req, "down", pv_bool(c->a, true));
        else if (opt == 'n') {
            depth = strtol(optarg, &end, 10);
            if (*end != 0 || depth < 1)
                return usage_err(c, "--depth N: N >= 1");
            pv_setint(c->a, req, "depth", depth);
        } else
            return usage_err(c, "unknown option");
    }
    if (optind != argc - 1)
        return usage_err(c, "give exactly one product ID");
    pv_setstr(c->a, req, "id", argv[optind]);
    if ((rc = call(c, req, &rep)) != CLI_OK)
        return rc;
    l = pv_get(rep, "lineage");
    if (c->json)
        return cli_print_json(l);
    nodes = pv_get(l, "nodes");
    for (uint32_t i = 0; nodes && i < nodes->u.a.n; i++) {
        const pv   *m = nodes->u.a.v[i];
        const char *dir = pv_getstr(m, "dir"), *flag = pv_getstr(m, "flag");

        printf("%-5s %2lld  %-40s %-11s %-12s%s%s\n", dir,
            (long long) pv_getint(m, "depth", 0), pv_getstr(m, "id"),
            pv_getstr(m, "status"), pv_getstr(m, "verdict"),
            flag && strcmp(dir, "root") != 0 ? "  ! " : "",
            flag && strcmp(dir, "root") != 0 ? flag : "");
    }
    un = pv_get(l, "unresolved");
    for (uint32_t i = 0; un && un->type == PV_ARR && i < un->u.a.n; i++)
        printf("input '%s' names no product this node holds\n",
            un->u.a.v[i]->u.s.p);
    return CLI_OK;
}

/* ---- status changes ------------------------------------------------- */

static int
print_changed(cli *c, const pv *rep)
{
    const pv *p = pv_get(rep, "product");

    if (c->json)
        return cli_print_json(p);
    printf("%s is now %s (seq %lld)\n", pv_getstr(p, "id"),
        pv_getstr(p, "status"), (long long) pv_getint(p, "seq", 0));
    return CLI_OK;
}

static int
cmd_deprecate(cli *c, int argc, char **argv)
{
    static const struct option lo[] = { { "reason", required_argument, NULL,
                                            'r' },
        { "sunset", required_argument, NULL, 's' },
        { "replaced-by", required_argument, NULL, 'b' }, { NULL, 0, NULL, 0 } };
    pv                        *req = req_new(c, "deprecate"), *rep;
    int                        opt, rc;

    while ((opt = getopts(argc, argv, "r:s:b:", lo)) != -1) {
        const char *key = opt == 'r' ? "reason"
            : opt == 's'             ? "sunset"
            : opt == 'b'             ? "replaced_by"
                                     : NULL;

        if (key == NULL)
            return usage_err(c, "unknown option");
        pv_setstr(c->a, req, key, optarg);
    }
    if (optind != argc - 1)
        return usage_err(c, "give exactly one product ID");
    if (pv_getstr(req, "reason") == NULL)
        return usage_err(c, "--reason TEXT is required");
    pv_setstr(c->a, req, "id", argv[optind]);
    if ((rc = call(c, req, &rep)) != CLI_OK)
        return rc;
    return print_changed(c, rep);
}

static int
cmd_retire(cli *c, int argc, char **argv)
{
    pv *req = req_new(c, "retire"), *rep;
    int opt, rc;

    while ((opt = getopts(argc, argv, "", NULL)) != -1)
        return usage_err(c, "unknown option");
    if (optind != argc - 1)
        return usage_err(c, "give exactly one product ID");
    pv_setstr(c->a, req, "id", argv[optind]);
    if ((rc = call(c, req, &rep)) != CLI_OK)
        return rc;
    return print_changed(c, rep);
}

/* ---- status, export, import, help ----------------------------------- */

static int
status_domains(cli *c)
{
    pv       *rep;
    const pv *l;
    int       rc;

    if ((rc = call(c, req_new(c, "domains"), &rep)) != CLI_OK)
        return rc;
    l = pv_get(rep, "domains");
    if (c->json) {
        pv *m = pv_map(c->a);

        pv_set(c->a, m, "domains", (pv *) l);
        return cli_print_json(m);
    }
    printf("%-24s  %-16s  %8s  %8s  %10s  %s\n", "DOMAIN", "KEY", "SEQ",
        "PRODUCTS", "STALE", "FLAGS");
    for (uint32_t i = 0; l && i < l->u.a.n; i++) {
        const pv *d = l->u.a.v[i];
        char      stale[32];
        int64_t   s = pv_getint(d, "stale_s", -1);
        const pv *eq = pv_get(d, "equivocation");

        if (s < 0)
            snprintf(stale, sizeof(stale), "-");
        else
            snprintf(stale, sizeof(stale), "%llds", (long long) s);
        const pv *behind = pv_get(d, "behind");

        printf("%-24s  %-16s  %8lld  %8lld  %10s  %s%s%s\n",
            pv_getstr(d, "domain"), pv_getstr(d, "fingerprint"),
            (long long) pv_getint(d, "seq", 0),
            (long long) pv_getint(d, "products", 0), stale,
            eq && eq->type == PV_BOOL && eq->u.b ? "EQUIVOCATION " : "",
            behind && behind->type == PV_BOOL && behind->u.b ? "BEHIND " : "",
            strcmp(pv_getstr(d, "self"), "yes") == 0 ? "(this node)" : "");
    }
    return CLI_OK;
}

static int
cmd_status(cli *c, int argc, char **argv)
{
    static const struct option lo[]
        = { { "domains", no_argument, NULL, 'D' }, { NULL, 0, NULL, 0 } };
    pv *rep;
    int opt, rc;

    while ((opt = getopts(argc, argv, "", lo)) != -1) {
        if (opt != 'D')
            return usage_err(c, "unknown option");
        if (optind != argc)
            return usage_err(c, "unexpected argument");
        return status_domains(c);
    }
    if (optind != argc)
        return usage_err(c, "unexpected argument");
    if ((rc = call(c, req_new(c, "status"), &rep)) != CLI_OK)
        return rc;
    if (c->json) {
        pv_set(c->a, rep, "ok", pv_bool(c->a, true));
        return cli_print_json(rep);
    }
    printf("domain       %s\n"
           "key          %s (%s)\n"
           "products     %lld own, %lld in the catalog\n"
           "seq          %lld\n"
           "store        %lld bytes (%lld in use, search index %lld in %lld "
           "segment%s%s)\n"
           "catalog      %s\n"
           "uptime       %lld s\n"
           "data         %s\n"
           "version      %s\n",
        pv_getstr(rep, "domain"), pv_getstr(rep, "fingerprint"),
        pv_getstr(rep, "key"), (long long) pv_getint(rep, "products", 0),
        (long long) pv_getint(rep, "catalog", 0),
        (long long) pv_getint(rep, "seq", 0),
        (long long) pv_getint(rep, "store_bytes", 0),
        (long long) pv_getint(rep, "store_used_bytes", 0),
        (long long) pv_getint(rep, "index_bytes", 0),
        (long long) pv_getint(rep, "index_segments", 0),
        pv_getint(rep, "index_segments", 0) == 1 ? "" : "s",
        pv_getbool(rep, "index_merging") ? ", merging" : "",
        pv_getstr(rep, "catalog_digest"),
        (long long) pv_getint(rep, "uptime_s", 0), pv_getstr(rep, "data"),
        pv_getstr(rep, "version"));
    return CLI_OK;
}

static int
cmd_export(cli *c, int argc, char **argv)
{
    static const struct option lo[]
        = { { "output", required_argument, NULL, 'o' }, { NULL, 0, NULL, 0 } };
    const char *out = NULL;
    const pv   *b;
    pv         *rep;
    FILE       *f;
    int         opt, rc;

    while ((opt = getopts(argc, argv, "o:", lo)) != -1) {
        if (opt != 'o')
            return usage_err(c, "unknown option");
        out = optarg;
    }
    if (optind != argc)
        return usage_err(c, "unexpected argument");
    if (out == NULL && isatty(STDOUT_FILENO))
        return usage_err(c,
            "the bundle is binary: give -o FILE or "
            "redirect stdout");
    if ((rc = call(c, req_new(c, "export"), &rep)) != CLI_OK)
        return rc;
    b = pv_get(rep, "bundle");
    f = out ? fopen(out, "wb") : stdout;
    if (f == NULL || fwrite(b->u.s.p, 1, b->u.s.len, f) != b->u.s.len
        || (out && fclose(f) != 0)) {
        cli_err(c, "%s: %s", out ? out : "stdout", strerror(errno));
        return CLI_FAIL;
    }
    if (out == NULL)
        fflush(stdout);
    else if (c->json) {
        pv *m = pv_map(c->a);

        pv_setint(c->a, m, "entries", pv_getint(rep, "entries", 0));
        pv_setint(c->a, m, "bytes", b->u.s.len);
        pv_setstr(c->a, m, "file", out);
        cli_print_json(m);
    } else
        printf("exported %lld entries (%u bytes) to %s\n",
            (long long) pv_getint(rep, "entries", 0), b->u.s.len, out);
    return CLI_OK;
}

static int
cmd_import(cli *c, int argc, char **argv)
{
    pv      *req = req_new(c, "import"), *rep;
    weft_buf b;
    int      opt, rc;

    while ((opt = getopts(argc, argv, "", NULL)) != -1)
        return usage_err(c, "unknown option");
    if (optind != argc - 1)
        return usage_err(c, "give exactly one bundle FILE (or -)");
    if (cli_read_file(c, argv[optind], WEFT_MSG_MAX - 4096, &b) != CLI_OK)
        return CLI_FAIL;
    pv_set(c->a, req, "data", pv_bin(c->a, b.p, b.len));
    weft_buf_free(&b);
    if ((rc = call(c, req, &rep)) != CLI_OK)
        return rc;
    if (c->json) {
        pv_set(c->a, rep, "ok", pv_bool(c->a, true));
        return cli_print_json(rep);
    }
    printf("imported %lld summaries from a bundle of domain '%s' (%lld "
           "already held)\n",
        (long long) pv_getint(rep, "added", 0), pv_getstr(rep, "exporter"),
        (long long) pv_getint(rep, "skipped", 0));
    return CLI_OK;
}

static int
cmd_peers(cli *c, int argc, char **argv)
{
    const pv *l;
    pv       *rep;
    int       opt, rc;

    while ((opt = getopts(argc, argv, "", NULL)) != -1)
        return usage_err(c, "unknown option");
    if (optind != argc)
        return usage_err(c, "unexpected argument");
    if ((rc = call(c, req_new(c, "peers"), &rep)) != CLI_OK)
        return rc;
    l = pv_get(rep, "peers");
    if (c->json) {
        pv *m = pv_map(c->a);

        pv_set(c->a, m, "peers", (pv *) l);
        return cli_print_json(m);
    }
    if (l == NULL || l->u.a.n == 0) {
        printf("no peers\n");
        return CLI_OK;
    }
    printf("%-28s  %-20s  %-16s  %-10s  %8s  %8s  %14s  %s\n", "URL", "DOMAIN",
        "KEY", "STATE", "RTT_US", "AGE_S", "MSGS_IN/OUT", "REFUSALS");
    for (uint32_t i = 0; i < l->u.a.n; i++) {
        const pv   *p = l->u.a.v[i];
        int64_t     seen = pv_getint(p, "last_seen", 0);
        char        io[40];
        const char *dom = pv_getstr(p, "domain"),
                   *fp = pv_getstr(p, "fingerprint");

        snprintf(io, sizeof(io), "%lld/%lld",
            (long long) pv_getint(p, "msgs_in", 0),
            (long long) pv_getint(p, "msgs_out", 0));
        printf("%-28s  %-20s  %-16s  %-10s  %8lld  %8lld  %14s  %lld\n",
            pv_getstr(p, "url") ? pv_getstr(p, "url") : "(inbound)",
            dom ? dom : "-", fp ? fp : "-", pv_getstr(p, "state"),
            (long long) pv_getint(p, "rtt_us", 0),
            seen ? (long long) (time(NULL) - seen) : -1LL, io,
            (long long) pv_getint(p, "refusals", 0));
    }
    return CLI_OK;
}

static int
cmd_peer(cli *c, int argc, char **argv)
{
    pv *req = req_new(c, "peer"), *rep;
    int opt, rc;

    while ((opt = getopts(argc, argv, "", NULL)) != -1)
        return usage_err(c, "unknown option");
    if (optind != argc - 2
        || (strcmp(argv[optind], "add") != 0
            && strcmp(argv[optind], "remove") != 0))
        return usage_err(c, "give add URL or remove URL");
    pv_setstr(c->a, req, "action", argv[optind]);
    pv_setstr(c->a, req, "url", argv[optind + 1]);
    if ((rc = call(c, req, &rep)) != CLI_OK)
        return rc;
    if (c->json)
        return cli_print_json(rep);
    printf("%s %s\n", argv[optind + 1],
        strcmp(argv[optind], "add") == 0 ? "added" : "removed");
    return CLI_OK;
}

static int
cmd_help(cli *c, int argc, char **argv)
{
    if (argc > 2) {
        cli_err(c, "give at most one COMMAND");
        return CLI_FAIL;
    }
    return cli_usage(stdout, argc > 1 ? argv[1] : NULL);
}

const cli_cmd cli_commands[] = {
    { "publish", cmd_publish, "publish [--dry-run] FILE...",
        "Validates, signs and stores data product descriptors (the article's\n"
        "data-product: form, ODPS DataProduct, ODCS DataContract). - reads\n"
        "stdin. Prints id, version, seq, hash and governance's verdict per\n"
        "file (with its reasons); what the policy rejects is not published\n"
        "(exit 1). Identical content is left unchanged. --dry-run validates\n"
        "and judges without storing.\n" },
    { "get", cmd_get, "get ID [--version V]",
        "Prints a product's summary and whole descriptor (a given version\n"
        "with --version).\n" },
    { "list", cmd_list, "list [--domain D] [--all]",
        "Lists current products, optionally of one domain. Quarantined\n"
        "products are listed only with --all; rejected ones never.\n" },
    { "search", cmd_search,
        "search [--all] [--explain] [--facets] [--limit N] [--domain D] "
        "QUERY...",
        "Ranked search in the node's replica of the whole catalog. QUERY is\n"
        "words (word* for a prefix), \"quoted phrases\", filters (domain:,\n"
        "owner:, class:, tag:, status:, interface:, format:, field:),\n"
        "completeness>=99, accuracy>98, freshness<=1h, OR, -negation and\n"
        "(groups); see docs/query.md. --explain shows the parts of each\n"
        "score, --facets counts per domain, class, status and interface,\n"
        "--all includes quarantined products, --limit N the number of\n"
        "results (default 20, 0 for all). Each result says its domain's\n"
        "staleness.\n" },
    { "deprecate", cmd_deprecate,
        "deprecate ID --reason TEXT [--sunset DATE] [--replaced-by ID]",
        "Signs a deprecation of one of this node's products. DATE is\n"
        "YYYY-MM-DD. History is kept.\n" },
    { "retire", cmd_retire, "retire ID",
        "Signs the retirement of one of this node's products.\n" },
    { "status", cmd_status, "status [--domains]",
        "Shows the node's domain, key fingerprint, product count, store size,\n"
        "catalog digest and uptime. --domains lists every domain the node\n"
        "knows: key fingerprint, latest seq, products, how stale its view is\n"
        "(age of the domain's newest signed head) and flags: EQUIVOCATION\n"
        "(it signed two summaries with one seq), BEHIND (its head names a\n"
        "seq this node does not hold yet).\n" },
    { "peers", cmd_peers, "peers",
        "Lists the node's peer links: url, domain, key fingerprint, state,\n"
        "round-trip time, age of the last reply, messages in/out, "
        "refusals.\n" },
    { "peer", cmd_peer, "peer add|remove URL",
        "Links to a peer (remembered across restarts) or forgets one.\n" },
    { "export", cmd_export, "export [-o FILE]",
        "Writes a signed bundle of every summary and descriptor held, for an\n"
        "air-gapped transfer.\n" },
    { "import", cmd_import, "import FILE",
        "Verifies every signature in a bundle and stores it; any forgery\n"
        "refuses the whole bundle.\n" },
    { "lineage", cmd_lineage, "lineage ID [--up] [--down] [--depth N]",
        "Walks the mesh-wide graph of inputs: what ID takes input from\n"
        "(--up), what takes input from ID (--down), both by default, to\n"
        "depth N (default 3). Deprecated, retired and quarantined products\n"
        "on the way are marked with !.\n" },
    { "watch", cmd_watch, "watch [QUERY...]",
        "Prints every product that becomes new, changed, deprecated or\n"
        "retired on this node (from any domain) and matches QUERY (the\n"
        "search language; none: everything), one line (or with --json one\n"
        "JSON object) per event, until interrupted.\n" },
    { "why", cli_cmd_why, "why ID",
        "Explains governance's verdict on a product: each rule's outcome and\n"
        "the policy version that judged it.\n" },
    { "governance", cli_cmd_governance,
        "governance keygen -o FILE | sign POLICY.yaml -k KEYFILE... -o "
        "BUNDLE [--version N] [--council-key PUB... --council-threshold K] | "
        "publish BUNDLE | show",
        "keygen makes a council member's key (FILE, mode 0600, and FILE.pub).\n"
        "sign signs a policy (the article's governance: document plus rules:)\n"
        "with one or more council keys; --council-key/--council-threshold\n"
        "name a new council (rotation: the new keys must sign too). publish\n"
        "hands a signed policy to the node, which spreads it through the\n"
        "mesh. show prints the council, the policy and the verdict counts.\n"
        "See docs/governance.md.\n" },
    { "help", cmd_help, "help [COMMAND]", "Explains weft or one command.\n" },
    { NULL, NULL, NULL, NULL },
};
