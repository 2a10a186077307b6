/*
 * crypto_test.c: the crypto module against known answers and forgeries.
 *
 * The fixtures were made outside this code: the key is RFC 8032's test 1
 * seed, the signature over "weft-kat" 0x00 "known answer" comes from
 * OpenSSL, and the key files and key id from Python's base64 and hashlib.
 * Every single-bit change to a message, signature or public key must fail
 * to verify, and every damaged key file must be refused.
 */
#include "crypto/crypto.h"
#include "tests/test.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

/* RFC 8032, section 7.1, TEST 1. */
static const char kat_pk_hex[]
    = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
static const char kat_fp[] = "7849ac3049680be1";
static const char kat_sig_hex[]
    = "d7ec703e6c2c4d379b55b54500ae273f34c2fc47313ea482f1cb8037cd297cd5"
      "49f49c491e7075112bfd46c94a3b12ee49710a8661b142b11c32a35bf300e80e";

#define KAT_COMMENT "untrusted comment: weft kat\n"
static const char kat_sk_file[] = KAT_COMMENT
    "RWR4SawwSWgL4Z1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g11qYAYKx"
    "CrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n";
static const char kat_pk_file[]
    = KAT_COMMENT "RWR4SawwSWgL4ddamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea\n";

/* Damaged secret key files: the fixture with one thing wrong. */
static const char bad_tag_sk[] = KAT_COMMENT
    "RUR4SawwSWgL4Z1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g11qYAYKx"
    "CrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n";
static const char bad_id_sk[] = KAT_COMMENT
    "RWQAAAAAAAAAAJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g11qYAYKx"
    "CrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n";
/* RFC 8032 TEST 2's seed with TEST 1's public key and key id. */
static const char bad_halves_sk[] = KAT_COMMENT
    "RWR4SawwSWgL4UzNCJso/5banbbDRuwRTg9bijGfNaumJNqM9u1PuKb711qYAYKx"
    "CrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n";
static const char bad_tag_pk[]
    = KAT_COMMENT "ZEV4SawwSWgL4ddamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea\n";
static const char bad_id_pk[]
    = KAT_COMMENT "RWQAAAAAAAAAANdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea\n";

static char tmpdir[64];

static void
mkpath(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", tmpdir, name);
}

/* write_file replaces path with n bytes of text and sets its mode. */
static void
write_file(const char *path, const char *text, size_t n, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    if (fd < 0 || write(fd, text, n) != (ssize_t) n || fchmod(fd, mode)
        || close(fd)) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
}

static weft_diag last; /* the diagnostic of the last load_*text */

static weft_err
load_text(const char *path, const char *text, size_t n)
{
    crypto_key *k = NULL;
    weft_diag  *d = &last;
    weft_err    err;

    memset(d, 0, sizeof *d);
    write_file(path, text, n, 0600);
    err = crypto_key_load(path, &k, d);
    if (err == WEFT_OK) {
        crypto_key_free(k);
    } else {
        CHECK(strstr(d->msg, path) == d->msg); /* every message names it */
    }
    return err;
}

static weft_err
load_pub_text(const char *path, const char *text)
{
    uint8_t pk[CRYPTO_PK_BYTES];

    memset(&last, 0, sizeof last);
    write_file(path, text, strlen(text), 0644);
    return crypto_pubkey_load(path, pk, &last);
}

static void
test_hash(void)
{
    uint8_t h[CRYPTO_HASH_BYTES];
    uint8_t pk[CRYPTO_PK_BYTES];
    char    hex[2 * CRYPTO_HASH_BYTES + 1];
    char    fp[CRYPTO_FP_CHARS + 1];

    crypto_blake2b((const uint8_t *) "abc", 3, h);
    crypto_hex(h, sizeof h, hex);
    CHECK(strcmp(hex,
              "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8"
              "c068d52319")
        == 0);
    crypto_blake2b(NULL, 0, h);
    crypto_hex(h, sizeof h, hex);
    CHECK(strcmp(hex,
              "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45"
              "cdf12fe3a8")
        == 0);
    CHECK_EQ_INT(crypto_unhex(kat_pk_hex, pk, sizeof pk), WEFT_OK);
    crypto_fingerprint(pk, fp);
    CHECK(strcmp(fp, kat_fp) == 0);
}

static void
test_hex(void)
{
    const uint8_t in[] = { 0x00, 0x01, 0xab, 0xff };
    uint8_t       out[4] = { 0x55, 0x55, 0x55, 0x55 };
    char          hex[9];

    crypto_hex(in, 4, hex);
    CHECK(strcmp(hex, "0001abff") == 0);
    crypto_hex(in, 0, hex);
    CHECK(strcmp(hex, "") == 0);

    CHECK_EQ_INT(crypto_unhex("0001ABff", out, 4), WEFT_OK);
    CHECK(memcmp(out, in, 4) == 0);
    CHECK_EQ_INT(crypto_unhex("", out, 0), WEFT_OK);
    memset(out, 0x55, sizeof out);
    CHECK_EQ_INT(crypto_unhex("0001abf", out, 4), WEFT_EINVAL);   /* short */
    CHECK_EQ_INT(crypto_unhex("0001abff0", out, 4), WEFT_EINVAL); /* long */
    CHECK_EQ_INT(crypto_unhex("0001abff00", out, 4), WEFT_EINVAL);
    CHECK_EQ_INT(crypto_unhex("", out, 4), WEFT_EINVAL);
    CHECK_EQ_INT(crypto_unhex("00", out, 0), WEFT_EINVAL);
    CHECK_EQ_INT(crypto_unhex("0001abfg", out, 4), WEFT_EINVAL);
    CHECK_EQ_INT(crypto_unhex("0x01abff", out, 4), WEFT_EINVAL);
    CHECK_EQ_INT(crypto_unhex(" 001abff", out, 4), WEFT_EINVAL);
    CHECK_EQ_INT(crypto_unhex("0001ab-f", out, 4), WEFT_EINVAL);
    CHECK_EQ_INT(crypto_unhex("00:1abff", out, 4), WEFT_EINVAL);
    CHECK(out[0] == 0x55 && out[3] == 0x55); /* untouched on failure */
}

static void
test_sign(void)
{
    static uint8_t big[20000];
    crypto_key    *k = NULL;
    const uint8_t *pk;
    uint8_t        sig[CRYPTO_SIG_BYTES], sig2[CRYPTO_SIG_BYTES];
    size_t         n;

    CHECK_EQ_INT(crypto_key_generate(&k), WEFT_OK);
    pk = crypto_key_public(k);
    CHECK_EQ_INT(
        crypto_sign_msg(k, "weft-test", (const uint8_t *) "hello", 5, sig),
        WEFT_OK);
    CHECK_EQ_INT(
        crypto_verify_msg(pk, "weft-test", (const uint8_t *) "hello", 5, sig),
        WEFT_OK);
    CHECK_EQ_INT(
        crypto_sign_msg(k, "weft-test", (const uint8_t *) "hello", 5, sig2),
        WEFT_OK);
    CHECK(memcmp(sig, sig2, sizeof sig) == 0); /* Ed25519 is deterministic */

    CHECK_EQ_INT(crypto_sign_msg(k, "", NULL, 0, sig), WEFT_OK);
    CHECK_EQ_INT(crypto_verify_msg(pk, "", NULL, 0, sig), WEFT_OK);
    CHECK_EQ_INT(
        crypto_verify_msg(pk, "", (const uint8_t *) "", 1, sig), WEFT_EBADSIG);

    /* Framed sizes either side of the 8 KiB stack buffer ("p" + 0x00). */
    for (n = 0; n < sizeof big; n++)
        big[n] = (uint8_t) (n * 7);
    for (n = 8188; n <= 8192; n++) {
        CHECK_EQ_INT(crypto_sign_msg(k, "p", big, n, sig), WEFT_OK);
        CHECK_EQ_INT(crypto_verify_msg(pk, "p", big, n, sig), WEFT_OK);
        CHECK_EQ_INT(crypto_verify_msg(pk, "p", big, n - 1, sig), WEFT_EBADSIG);
    }
    CHECK_EQ_INT(crypto_sign_msg(k, "big", big, sizeof big, sig), WEFT_OK);
    CHECK_EQ_INT(crypto_verify_msg(pk, "big", big, sizeof big, sig), WEFT_OK);
    big[sizeof big - 1] ^= 1;
    CHECK_EQ_INT(
        crypto_verify_msg(pk, "big", big, sizeof big, sig), WEFT_EBADSIG);
    crypto_key_free(k);
    crypto_key_free(NULL);
}

/* test_bitflips flips every bit of message, signature and key in turn. */
static void
test_bitflips(void)
{
    uint8_t     msg[] = "a short message";
    uint8_t     sig[CRYPTO_SIG_BYTES], pk[CRYPTO_PK_BYTES];
    crypto_key *k = NULL;
    size_t      i;
    int         bad = 0;

    CHECK_EQ_INT(crypto_key_generate(&k), WEFT_OK);
    memcpy(pk, crypto_key_public(k), sizeof pk);
    CHECK_EQ_INT(
        crypto_sign_msg(k, "weft-flip", msg, sizeof msg, sig), WEFT_OK);
    for (i = 0; i < 8 * sizeof msg; i++) {
        msg[i / 8] ^= (uint8_t) (1u << (i % 8));
        bad += crypto_verify_msg(pk, "weft-flip", msg, sizeof msg, sig)
            == WEFT_EBADSIG;
        msg[i / 8] ^= (uint8_t) (1u << (i % 8));
    }
    for (i = 0; i < 8 * sizeof sig; i++) {
        sig[i / 8] ^= (uint8_t) (1u << (i % 8));
        bad += crypto_verify_msg(pk, "weft-flip", msg, sizeof msg, sig)
            == WEFT_EBADSIG;
        sig[i / 8] ^= (uint8_t) (1u << (i % 8));
    }
    for (i = 0; i < 8 * sizeof pk; i++) {
        pk[i / 8] ^= (uint8_t) (1u << (i % 8));
        bad += crypto_verify_msg(pk, "weft-flip", msg, sizeof msg, sig)
            == WEFT_EBADSIG;
        pk[i / 8] ^= (uint8_t) (1u << (i % 8));
    }
    CHECK_EQ_INT(bad, 8 * (sizeof msg + sizeof sig + sizeof pk));
    CHECK_EQ_INT(
        crypto_verify_msg(pk, "weft-flip", msg, sizeof msg, sig), WEFT_OK);

    /* Another prefix, or the same bytes framed differently, must fail. */
    CHECK_EQ_INT(
        crypto_verify_msg(pk, "weft-flop", msg, sizeof msg, sig), WEFT_EBADSIG);
    CHECK_EQ_INT(
        crypto_verify_msg(pk, "weft-fli", msg, sizeof msg, sig), WEFT_EBADSIG);
    CHECK_EQ_INT(crypto_verify_msg(pk, "", msg, sizeof msg, sig), WEFT_EBADSIG);
    CHECK_EQ_INT(crypto_sign_msg(k, "ab", NULL, 0, sig), WEFT_OK);
    CHECK_EQ_INT(crypto_verify_msg(pk, "a", (const uint8_t *) "b", 1, sig),
        WEFT_EBADSIG);
    CHECK_EQ_INT(crypto_verify_msg(pk, "", (const uint8_t *) "ab", 3, sig),
        WEFT_EBADSIG);
    crypto_key_free(k);
}

/* test_kat loads the RFC 8032 key from fixture files and saves it back. */
static void
test_kat(void)
{
    char           skp[256], pkp[256], sk2[256], pk2[256];
    uint8_t        want[CRYPTO_PK_BYTES], pk[CRYPTO_PK_BYTES];
    uint8_t        sig[CRYPTO_SIG_BYTES];
    char           sighex[2 * CRYPTO_SIG_BYTES + 1];
    crypto_key    *k = NULL;
    weft_diag      d = { { 0 } };
    unsigned char *text;
    size_t         n;

    mkpath(skp, sizeof skp, "kat.key");
    mkpath(pkp, sizeof pkp, "kat.pub");
    mkpath(sk2, sizeof sk2, "kat2.key");
    mkpath(pk2, sizeof pk2, "kat2.pub");
    write_file(skp, kat_sk_file, strlen(kat_sk_file), 0600);
    write_file(pkp, kat_pk_file, strlen(kat_pk_file), 0644);
    CHECK_EQ_INT(crypto_unhex(kat_pk_hex, want, sizeof want), WEFT_OK);

    CHECK_EQ_INT(crypto_key_load(skp, &k, &d), WEFT_OK);
    if (k == NULL)
        return;
    CHECK(memcmp(crypto_key_public(k), want, sizeof want) == 0);
    CHECK_EQ_INT(crypto_sign_msg(
                     k, "weft-kat", (const uint8_t *) "known answer", 12, sig),
        WEFT_OK);
    crypto_hex(sig, sizeof sig, sighex);
    CHECK(strcmp(sighex, kat_sig_hex) == 0);
    CHECK_EQ_INT(crypto_verify_msg(want, "weft-kat",
                     (const uint8_t *) "known answer", 12, sig),
        WEFT_OK);
    CHECK_EQ_INT(crypto_pubkey_load(pkp, pk, &d), WEFT_OK);
    CHECK(memcmp(pk, want, sizeof want) == 0);

    /* Saving the same key with the same comment gives the same bytes. */
    CHECK_EQ_INT(crypto_key_save(k, sk2, pk2, "weft kat", &d), WEFT_OK);
    text = test_read_file(sk2, &n);
    CHECK(n == strlen(kat_sk_file) && memcmp(text, kat_sk_file, n) == 0);
    free(text);
    text = test_read_file(pk2, &n);
    CHECK(n == strlen(kat_pk_file) && memcmp(text, kat_pk_file, n) == 0);
    free(text);
    crypto_key_free(k);
}

static void
test_roundtrip(void)
{
    char        skp[256], pkp[256];
    uint8_t     pk[CRYPTO_PK_BYTES], sig[CRYPTO_SIG_BYTES];
    crypto_key *k = NULL, *k2 = NULL;
    weft_diag   d = { { 0 } };
    struct stat st;

    mkpath(skp, sizeof skp, "rt.key");
    mkpath(pkp, sizeof pkp, "rt.pub");
    CHECK_EQ_INT(crypto_key_generate(&k), WEFT_OK);
    umask(0); /* the saved modes must not depend on the umask */
    CHECK_EQ_INT(crypto_key_save(k, skp, pkp, NULL, &d), WEFT_OK);
    umask(022);
    CHECK(stat(skp, &st) == 0 && (st.st_mode & 07777) == 0600);
    CHECK(stat(pkp, &st) == 0 && (st.st_mode & 07777) == 0644);
    CHECK_EQ_INT(crypto_key_load(skp, &k2, &d), WEFT_OK);
    CHECK_EQ_INT(crypto_pubkey_load(pkp, pk, &d), WEFT_OK);
    CHECK(memcmp(pk, crypto_key_public(k), sizeof pk) == 0);
    if (k2 != NULL) {
        CHECK(memcmp(crypto_key_public(k2), pk, sizeof pk) == 0);
        CHECK_EQ_INT(
            crypto_sign_msg(k2, "rt", (const uint8_t *) "x", 1, sig), WEFT_OK);
        CHECK_EQ_INT(crypto_verify_msg(pk, "rt", (const uint8_t *) "x", 1, sig),
            WEFT_OK);
    }
    crypto_key_free(k2);
    crypto_key_free(k);
}

static void
test_modes(void)
{
    static const mode_t bad[]
        = { 0640, 0604, 0620, 0602, 0610, 0601, 0644, 0666 };
    char        skp[256];
    crypto_key *k = NULL;
    weft_diag   d = { { 0 } };
    size_t      i;

    mkpath(skp, sizeof skp, "kat.key");
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char mode[8];

        CHECK(chmod(skp, bad[i]) == 0);
        memset(&d, 0, sizeof d);
        CHECK_EQ_INT(crypto_key_load(skp, &k, &d), WEFT_EPERM);
        snprintf(mode, sizeof mode, "%04o", (unsigned) bad[i]);
        CHECK(strstr(d.msg, skp) == d.msg);
        CHECK(strstr(d.msg, mode) != NULL);
        CHECK(strstr(d.msg, "chmod 600 ") != NULL);
    }
    CHECK(strstr(d.msg, "lets group or others read the secret key") != NULL);
    CHECK(chmod(skp, 0400) == 0);
    CHECK_EQ_INT(crypto_key_load(skp, &k, &d), WEFT_OK);
    crypto_key_free(k);
    CHECK(chmod(skp, 0600) == 0);
}

/* test_damage refuses every truncation and every base64 character flip. */
static void
test_damage(void)
{
    static const char b64[]
        = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
          "0123456789+/";
    char   path[256], text[sizeof kat_sk_file];
    size_t len = strlen(kat_sk_file), line2 = strlen(KAT_COMMENT);
    size_t i;
    int    refused = 0, total = 0;

    mkpath(path, sizeof path, "damaged.key");
    /* Only the final newline may go. */
    for (i = 0; i + 1 < len; i++, total++)
        refused += load_text(path, kat_sk_file, i) != WEFT_OK;
    CHECK_EQ_INT(load_text(path, kat_sk_file, len - 1), WEFT_OK);
    for (i = line2; kat_sk_file[i] != '=' && kat_sk_file[i] != '\n';
         i++, total++) {
        memcpy(text, kat_sk_file, sizeof text);
        text[i] = b64[(strchr(b64, text[i]) - b64 + 1) % 64];
        refused += load_text(path, text, len) != WEFT_OK;
    }
    CHECK_EQ_INT(refused, total);
    CHECK(total > 100);
}

static void
test_malformed(void)
{
    char        path[256], pkp[256];
    char        big[4200];
    crypto_key *k = NULL;
    weft_diag   d = { { 0 } };
    size_t      pad;

    mkpath(path, sizeof path, "bad.key");
    mkpath(pkp, sizeof pkp, "kat.pub");
    /* Each refused, and for the reason its fixture was made for. */
    CHECK_EQ_INT(load_text(path, bad_tag_sk, strlen(bad_tag_sk)), WEFT_EKEY);
    CHECK(strstr(last.msg, "algorithm tag is 0x4544") != NULL);
    CHECK_EQ_INT(load_text(path, bad_id_sk, strlen(bad_id_sk)), WEFT_EKEY);
    CHECK(strstr(last.msg, "key id 0000000000000000 does not match") != NULL);
    CHECK_EQ_INT(
        load_text(path, bad_halves_sk, strlen(bad_halves_sk)), WEFT_EKEY);
    CHECK(strstr(last.msg, "public half of the secret key") != NULL);
    /* A public key file is not a secret one, nor the other way round. */
    CHECK_EQ_INT(load_text(path, kat_pk_file, strlen(kat_pk_file)), WEFT_EKEY);
    CHECK(strstr(last.msg, "holds 42 bytes; a secret key file holds 74"));
    CHECK_EQ_INT(load_pub_text(pkp, kat_sk_file), WEFT_EKEY);
    CHECK(strstr(last.msg, "holds 74 bytes; a public key file holds 42"));
    CHECK_EQ_INT(load_pub_text(pkp, bad_tag_pk), WEFT_EKEY);
    CHECK(strstr(last.msg, "algorithm tag") != NULL);
    CHECK_EQ_INT(load_pub_text(pkp, bad_id_pk), WEFT_EKEY);
    CHECK(strstr(last.msg, "key id 0000000000000000 does not match") != NULL);
    CHECK_EQ_INT(load_pub_text(pkp, kat_pk_file), WEFT_OK);

    /* No comment line, junk after the key, a NUL, CRLF (accepted). */
    snprintf(big, sizeof big, "%s", kat_sk_file + strlen(KAT_COMMENT));
    CHECK_EQ_INT(load_text(path, big, strlen(big)), WEFT_EKEY);
    snprintf(big, sizeof big, "%sextra\n", kat_sk_file);
    CHECK_EQ_INT(load_text(path, big, strlen(big)), WEFT_EKEY);
    snprintf(big, sizeof big, "%s\n", kat_sk_file);
    CHECK_EQ_INT(load_text(path, big, strlen(big)), WEFT_EKEY);
    CHECK_EQ_INT(
        load_text(path, kat_sk_file, strlen(kat_sk_file) + 1), WEFT_EKEY);
    snprintf(big, sizeof big, "untrusted comment: x\r\n%.*s\r\n",
        (int) (strlen(kat_sk_file) - strlen(KAT_COMMENT) - 1),
        kat_sk_file + strlen(KAT_COMMENT));
    CHECK_EQ_INT(load_text(path, big, strlen(big)), WEFT_OK);

    /* The 4096-byte limit, at the limit and one past it. */
    pad = 4096 - strlen(kat_sk_file);
    snprintf(big, sizeof big, "untrusted comment: weft kat%*s\n%s", (int) pad,
        "", kat_sk_file + strlen(KAT_COMMENT));
    CHECK_EQ_INT(strlen(big), 4096);
    CHECK_EQ_INT(load_text(path, big, 4096), WEFT_OK);
    snprintf(big, sizeof big, "untrusted comment: weft kat%*s\n%s",
        (int) pad + 1, "", kat_sk_file + strlen(KAT_COMMENT));
    CHECK_EQ_INT(load_text(path, big, 4097), WEFT_EKEY);

    /* Missing, a directory. */
    mkpath(path, sizeof path, "missing.key");
    CHECK_EQ_INT(crypto_key_load(path, &k, &d), WEFT_ENOTFOUND);
    CHECK(strstr(d.msg, path) == d.msg
        && strstr(d.msg, ": no such file") != NULL);
    CHECK_EQ_INT(
        crypto_pubkey_load(path, (uint8_t[32]) { 0 }, &d), WEFT_ENOTFOUND);
    CHECK_EQ_INT(crypto_key_load(tmpdir, &k, &d), WEFT_EKEY);
    CHECK(strstr(d.msg, "not a regular file") != NULL);
}

static void
test_save_refusals(void)
{
    char           skp[256], pkp[256], other[256];
    char           comment[5000];
    crypto_key    *k = NULL;
    weft_diag      d = { { 0 } };
    unsigned char *before, *after;
    size_t         n1, n2;

    mkpath(skp, sizeof skp, "rt.key");
    mkpath(pkp, sizeof pkp, "rt.pub");
    mkpath(other, sizeof other, "other.key");
    CHECK_EQ_INT(crypto_key_generate(&k), WEFT_OK);
    before = test_read_file(pkp, &n1);
    CHECK_EQ_INT(crypto_key_save(k, skp, pkp, NULL, &d), WEFT_EEXIST);
    CHECK(strstr(d.msg, skp) == d.msg);
    after = test_read_file(pkp, &n2); /* the public file is untouched */
    CHECK(n1 == n2 && memcmp(before, after, n1) == 0);
    free(before);
    free(after);

    CHECK_EQ_INT(crypto_key_save(k, other, pkp, "two\nlines", &d), WEFT_EINVAL);
    memset(comment, 'c', sizeof comment - 1);
    comment[sizeof comment - 1] = '\0';
    CHECK_EQ_INT(crypto_key_save(k, other, pkp, comment, &d), WEFT_ETOOBIG);
    CHECK(access(other, F_OK) != 0);

    /* A public file that cannot be written takes the new secret with it. */
    CHECK_EQ_INT(crypto_key_save(k, other, "/nonexistent-dir/x.pub", NULL, &d),
        WEFT_EIO);
    CHECK(access(other, F_OK) != 0);
    crypto_key_free(k);
}

static void
remove_tmpdir(void)
{
    DIR           *dir = opendir(tmpdir);
    struct dirent *e;
    char           path[512];

    while (dir != NULL && (e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
        CHECK(unlink(path) == 0);
    }
    if (dir != NULL)
        closedir(dir);
    CHECK(rmdir(tmpdir) == 0);
}

int
main(void)
{
    CHECK_EQ_INT(crypto_init(), WEFT_OK);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/weft-crypto-XXXXXX");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    test_hash();
    test_hex();
    test_sign();
    test_bitflips();
    test_kat();
    test_roundtrip();
    test_modes();
    test_damage();
    test_malformed();
    test_save_refusals();
    remove_tmpdir();
    return test_done("crypto_test");
}
