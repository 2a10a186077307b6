/*
 * cli_out.c: how weft prints for people (aligned tables, a product page)
 * and for programs (pretty JSON through jansson, via proto_json_dump).
 */
#include "node/cli.h"

#include <string.h>
#include <time.h>

int
cli_print_json(const pv *v)
{
    weft_buf b;
    int      rc = CLI_OK;

    weft_buf_init(&b, (size_t) WEFT_MSG_MAX * 8);
    if (v == NULL || proto_json_dump(v, true, &b) != WEFT_OK) {
        fprintf(stderr, "weft: cannot print JSON\n");
        rc = CLI_FAIL;
    } else {
        fwrite(b.p, 1, b.len, stdout);
        fputc('\n', stdout);
    }
    weft_buf_free(&b);
    return rc;
}

static const char *
str(const pv *m, const char *key)
{
    const char *s = pv_getstr(m, key);

    return s ? s : "-";
}

void
cli_print_table(const pv *items)
{
    int w = 10;

    for (uint32_t i = 0; items && i < items->u.a.n; i++) {
        int n = (int) strlen(str(items->u.a.v[i], "id"));

        w = n > w ? n : w;
    }
    if (items == NULL || items->u.a.n == 0) {
        printf("no products\n");
        return;
    }
    printf("%-*s  %-10s  %-10s  %6s  %-14s  %-20s  %s\n", w, "ID", "VERSION",
        "STATUS", "SEQ", "CLASS", "OWNER", "VERDICT");
    for (uint32_t i = 0; i < items->u.a.n; i++) {
        const pv *p = items->u.a.v[i];

        printf("%-*s  %-10s  %-10s  %6lld  %-14s  %-20s  %s%s\n", w,
            str(p, "id"), str(p, "version"), str(p, "status"),
            (long long) pv_getint(p, "seq", 0), str(p, "classification"),
            str(p, "owner"), str(p, "verdict"),
            pv_get(p, "expired") ? " (expired)" : "");
    }
}

static void
print_list(const char *label, const pv *l)
{
    if (l == NULL || l->type != PV_ARR || l->u.a.n == 0)
        return;
    printf("%-16s", label);
    for (uint32_t i = 0; i < l->u.a.n; i++)
        if (l->u.a.v[i]->type == PV_STR)
            printf("%s%s", i ? ", " : "", l->u.a.v[i]->u.s.p);
    putchar('\n');
}

void
cli_print_product(const pv *p)
{
    const pv *sum = pv_get(p, "summary"), *desc = pv_get(p, "descriptor");
    const pv *dep = pv_get(p, "deprecation");
    weft_buf  b;

    printf("%-16s%s\n%-16s%s\n%-16s%s\n%-16s%s\n%-16s%lld\n%-16s%s\n"
           "%-16s%s\n%-16s%s\n%-16s%s\n",
        "id", str(p, "id"), "name", str(p, "name"), "domain", str(p, "domain"),
        "version", str(p, "version"), "seq", (long long) pv_getint(p, "seq", 0),
        "status", str(p, "status"), "owner", str(p, "owner"), "classification",
        str(p, "classification"), "hash", str(p, "hash"));
    printf(
        "%-16s%s (weft why %s)\n", "verdict", str(p, "verdict"), str(p, "id"));
    if (pv_getint(p, "expires", 0) > 0) {
        time_t    e = (time_t) pv_getint(p, "expires", 0);
        struct tm tm;
        char      when[32] = "?";

        if (gmtime_r(&e, &tm) != NULL)
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        printf("%-16s%s%s\n", "expires", when,
            pv_get(p, "expired")
                ? " (expired: its domain has not signed it again)"
                : "");
    }
    {
        const pv *ups = pv_get(p, "upstream_flags");

        for (uint32_t i = 0; ups && ups->type == PV_ARR && i < ups->u.a.n; i++)
            printf("%-16s%s is %s (%lld level%s up)\n", i ? "" : "upstream",
                str(ups->u.a.v[i], "id"), str(ups->u.a.v[i], "why"),
                (long long) pv_getint(ups->u.a.v[i], "depth", 0),
                pv_getint(ups->u.a.v[i], "depth", 0) == 1 ? "" : "s");
    }
    if (dep != NULL && dep->type == PV_MAP)
        printf("%-16s%s (sunset %s, replaced by %s)\n", "deprecation",
            str(dep, "reason"), str(dep, "sunset"), str(dep, "replaced_by"));
    print_list("tags", pv_get(sum, "tags"));
    print_list("interfaces", pv_get(sum, "ifaces"));
    print_list("schemas", pv_get(sum, "schemas"));
    print_list("contracts", pv_get(sum, "contracts"));
    if (desc == NULL || desc->type != PV_MAP
        || pv_get(desc, "source") == NULL) {
        printf("descriptor    not held by this node\n");
        return;
    }
    printf("\ndescriptor (as published):\n");
    weft_buf_init(&b, (size_t) WEFT_MSG_MAX * 8);
    if (proto_json_dump(pv_get(desc, "source"), true, &b) == WEFT_OK) {
        fwrite(b.p, 1, b.len, stdout);
        fputc('\n', stdout);
    }
    weft_buf_free(&b);
}
