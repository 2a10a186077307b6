/*
 * fuzz_keyfile.c: libFuzzer target for key files (crypto/keyfile.c). The
 * loaders take a path, so each input is written to one memfd (mode 0600,
 * created once; nothing touches the disk) and loaded through its
 * /proc/self/fd path, both as a secret key (crypto_key_load) and as a
 * public key (crypto_pubkey_load). Checks:
 *   - no text loads as both (their key lines hold 74 and 42 bytes);
 *   - a loaded secret key signs, and the signature verifies with its
 *     public half (the loader rederived that half from the seed);
 *   - a refusal always says why (a non-empty message).
 */
#include "crypto/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int  fd = -1;
static char path[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    if (crypto_init() != WEFT_OK
        || (fd = memfd_create("fuzz_keyfile", MFD_CLOEXEC)) < 0
        || fchmod(fd, 0600) != 0)
        abort();
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    return 0;
}

static void
fail(const char *what, const weft_diag *d)
{
    fprintf(
        stderr, "fuzz_keyfile: %s%s%s\n", what, d ? ": " : "", d ? d->msg : "");
    abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t msg[] = "a message";
    crypto_key          *k = NULL;
    uint8_t              pk[CRYPTO_PK_BYTES], sig[CRYPTO_SIG_BYTES];
    weft_diag            ds = { { 0 } }, dp = { { 0 } };
    weft_err             serr, perr;

    if (ftruncate(fd, 0) != 0
        || (size > 0 && pwrite(fd, data, size, 0) != (ssize_t) size))
        abort();
    serr = crypto_key_load(path, &k, &ds);
    perr = crypto_pubkey_load(path, pk, &dp);
    if (serr == WEFT_OK && perr == WEFT_OK)
        fail("one file loads as a secret and as a public key", NULL);
    if (serr != WEFT_OK && ds.msg[0] == 0)
        fail("a secret key refused without a message", NULL);
    if (perr != WEFT_OK && dp.msg[0] == 0)
        fail("a public key refused without a message", NULL);
    if (serr == WEFT_OK) {
        if (crypto_sign_msg(k, "fuzz", msg, sizeof(msg), sig) != WEFT_OK)
            fail("a loaded key does not sign", NULL);
        if (crypto_verify_msg(
                crypto_key_public(k), "fuzz", msg, sizeof(msg), sig)
            != WEFT_OK)
            fail("a loaded key's signature does not verify", NULL);
    }
    crypto_key_free(k);
    return 0;
}
