/*
 * test.h: the smallest harness that does the job. CHECK records a failure
 * with its line and carries on; test_done prints the closing line ctest
 * shows and returns the exit code.
 */
#ifndef WEFT_TEST_H
#define WEFT_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures;
static int test_checks;

#define CHECK(cond)                                                            \
    do {                                                                       \
        test_checks++;                                                         \
        if (!(cond)) {                                                         \
            test_failures++;                                                   \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,   \
                #cond);                                                        \
        }                                                                      \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                     \
    do {                                                                       \
        long long check_a_ = (long long) (a), check_b_ = (long long) (b);      \
        test_checks++;                                                         \
        if (check_a_ != check_b_) {                                            \
            test_failures++;                                                   \
            fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__,    \
                __LINE__, #a, check_a_, check_b_);                             \
        }                                                                      \
    } while (0)

static inline int
test_done(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, test_checks, test_failures);
    return test_failures ? 1 : 0;
}

/* test_read_file reads a whole file into a malloc'd buffer, or exits. */
static inline unsigned char *
test_read_file(const char *path, size_t *n)
{
    FILE          *f = fopen(path, "rb");
    unsigned char *p;
    long           sz;

    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = malloc((size_t) sz + 1);
    if (p == NULL || fread(p, 1, (size_t) sz, f) != (size_t) sz) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    p[sz] = 0;
    fclose(f);
    *n = (size_t) sz;
    return p;
}

#endif
