/*
 * query_test.c: the query language. Every error names its column; words,
 * prefixes, phrases, filters, comparisons at their boundaries, OR, NOT
 * and groups match as documented; limits hold at and past the bound.
 */
#include "proto/query.h"
#include "test.h"

static pv_arena *A;

static pv *
list(const char *a, const char *b)
{
    pv *l = pv_arr(A);

    if (a)
        pv_push(A, l, pv_strz(A, a));
    if (b)
        pv_push(A, l, pv_strz(A, b));
    return l;
}

/* sum is a summary with the fields the language looks at. */
static pv *
sum(void)
{
    pv *s = pv_map(A), *q = pv_map(A);

    pv_setstr(A, s, "id", "sales/customer-360");
    pv_setstr(A, s, "domain", "sales");
    pv_setstr(A, s, "name", "Customer 360");
    pv_setstr(A, s, "desc",
        "Profile, preferences and interactions of every "
        "customer_account");
    pv_setstr(A, s, "owner", "Team-A");
    pv_setstr(A, s, "class", "confidential");
    pv_setstr(A, s, "status", "active");
    pv_set(A, s, "tags", list("pii", "gold"));
    pv_set(A, s, "ifaces", list("rest-api", "graphql"));
    pv_set(A, s, "formats", list("avro", NULL));
    pv_set(A, s, "schemas", list("customer_profile", NULL));
    pv_set(A, s, "fields", list("email", "rcvr_id"));
    pv_set(A, q, "completeness", pv_float(A, 99.5));
    pv_set(A, q, "accuracy", pv_float(A, 98.0));
    pv_setint(A, q, "freshness_s", 300);
    pv_set(A, s, "quality", q);
    return s;
}

static int
matches(const char *text)
{
    query    *q;
    weft_diag d = { "" };
    int       r;

    if (query_parse(text, &q, &d) != WEFT_OK) {
        fprintf(stderr, "query_test: '%s' did not parse: %s\n", text, d.msg);
        return -1;
    }
    r = query_match(q, sum());
    query_free(q);
    return r;
}

/* refused checks that text is refused with msg (and column col) in the
 * error. */
static bool
refused(const char *text, int col, const char *msg)
{
    query    *q = NULL;
    weft_diag d = { "" };
    char      want[32];

    if (query_parse(text, &q, &d) == WEFT_OK) {
        query_free(q);
        fprintf(stderr, "query_test: '%s' parsed\n", text);
        return false;
    }
    snprintf(want, sizeof(want), "column %d:", col);
    if (col > 0 && strstr(d.msg, want) == NULL) {
        fprintf(stderr, "query_test: '%s': %s (want %s)\n", text, d.msg, want);
        return false;
    }
    if (strstr(d.msg, msg) == NULL) {
        fprintf(stderr, "query_test: '%s': %s (want %s)\n", text, d.msg, msg);
        return false;
    }
    return true;
}

int
main(void)
{
    A = pv_arena_new(64u << 20);

    /* Words: any searchable field, case-insensitive; all must match. */
    CHECK(matches("customer") == 1);
    CHECK(matches("CUSTOMER 360") == 1);
    CHECK(matches("customer missing") == 0);
    CHECK(matches("interactions") == 1); /* description */
    CHECK(matches("gold") == 1);         /* tag */
    CHECK(matches("email") == 1);        /* field name */
    CHECK(matches("profile") == 1);      /* schema */
    CHECK(matches("") == 1 && matches("   ") == 1);
    /* Prefixes and phrases. */
    CHECK(matches("cust*") == 1);
    CHECK(matches("custx*") == 0);
    CHECK(matches("\"customer 360\"") == 1);
    CHECK(matches("\"360 customer\"") == 0);
    CHECK(matches("\"preferences and interactions\"") == 1);
    CHECK(matches("customer_account") == 1); /* a phrase of two words */
    CHECK(matches("rcvr_id") == 1);
    CHECK(matches("account_customer") == 0);
    /* Filters. */
    CHECK(matches("domain:sales") == 1 && matches("domain:ops") == 0);
    CHECK(matches("owner:team-a") == 1);
    CHECK(matches("class:confidential") == 1 && matches("class:public") == 0);
    CHECK(matches("tag:pii") == 1 && matches("tag:pi") == 0);
    CHECK(matches("status:active") == 1);
    CHECK(matches("interface:graphql") == 1 && matches("interface:grpc") == 0);
    CHECK(matches("format:AVRO") == 1);
    CHECK(matches("field:rcvr_id") == 1 && matches("field:rcvr") == 0);
    CHECK(matches("owner:\"Team-A\"") == 1);
    /* Comparisons at their boundaries. */
    CHECK(matches("completeness>=99.5") == 1);
    CHECK(matches("completeness>99.5") == 0);
    CHECK(matches("completeness>=99.5%") == 1);
    CHECK(matches("accuracy>97.99") == 1 && matches("accuracy<98") == 0);
    CHECK(matches("accuracy=98") == 1);
    CHECK(matches("freshness<=5m") == 1 && matches("freshness<5m") == 0);
    CHECK(matches("freshness<=300") == 1 && matches("freshness<=299s") == 0);
    CHECK(matches("freshness<=1h") == 1 && matches("freshness>1d") == 0);
    /* OR, NOT, groups; AND binds tighter than OR. */
    CHECK(matches("missing OR gold") == 1);
    CHECK(matches("missing OR nothing") == 0);
    CHECK(matches("-tag:legacy") == 1 && matches("-tag:pii") == 0);
    CHECK(matches("customer -gold") == 0);
    CHECK(matches("missing gold OR customer") == 1);
    CHECK(matches("(missing OR customer) gold") == 1);
    CHECK(matches("(missing OR nothing) gold") == 0);
    CHECK(matches("-(tag:pii OR tag:legacy)") == 0);
    CHECK(matches("or") == 0); /* lowercase: a word */

    /* Errors point at the offending token. */
    CHECK(refused("customer colour:red", 10, "unknown filter 'colour:'"));
    CHECK(refused("tag:", 1, "'tag:' needs a value"));
    CHECK(refused("a \"open phrase", 3, "never closed"));
    CHECK(refused("(a b", 1, "'(' is never closed"));
    CHECK(refused("a b)", 4, "')' has no '('"));
    CHECK(refused("completeness>=x", 15, "not a number"));
    CHECK(refused("freshness<=5y", 13, "not a unit"));
    CHECK(refused("completeness=>9", 13, "not a comparison"));
    CHECK(refused("size>9", 1, "cannot be compared"));
    CHECK(refused("a OR", 5, "ends where a word was expected"));
    CHECK(refused("OR a", 1, "a word was expected"));
    CHECK(refused("***", 1, "not one word before its *"));
    CHECK(refused("--", 2, "no word"));
    CHECK(refused("a\001b", 2, "control character"));
    /* Found by fuzz_query: the message printed a pointer as a %c. */
    CHECK(refused("a -)", 4, "')' was not expected here"));
    {
        char big[QUERY_MAX + 2];
        char many[QUERY_NODES_MAX * 3];
        char deep[QUERY_DEPTH_MAX * 2 + 8];
        int  n = 0;

        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        CHECK(refused(big, 0, "over the 1024-byte limit"));
        big[QUERY_MAX] = 0; /* exactly the limit: fine */
        CHECK(matches(big) == 0);
        for (int i = 0; i < QUERY_NODES_MAX + 1; i++)
            n += snprintf(many + n, sizeof(many) - (size_t) n, "a ");
        CHECK(refused(many, 0, "too many parts"));
        n = 0;
        for (int i = 0; i < QUERY_DEPTH_MAX + 1; i++)
            deep[n++] = '(';
        deep[n++] = 'a';
        for (int i = 0; i < QUERY_DEPTH_MAX + 1; i++)
            deep[n++] = ')';
        deep[n] = 0;
        CHECK(refused(deep, 0, "nested too deep"));
        deep[0] = ' '; /* one level fewer: */
        deep[n - 1] = 0;
        CHECK(matches(deep) == 0);
    }
    pv_arena_free(A);
    return test_done("query_test");
}
