/* test_card_live.c: the card layer against a card behind real PC/SC.
 * Skipped unless CARDRENEW_TEST_PIN is set (tests/integration/card_vcard.sh
 * runs it against the virtual card): open, read objects, PIN, sign and
 * verify, generate a key, write its certificate, delete it again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "card/card.h"

#include <PCSC/winscard.h>
#include <pthread.h>
#include <unistd.h>

static EVP_PKEY *pub_of(const struct card_container *k)
{
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pk = NULL;
    BIGNUM *n = NULL, *e = NULL;
    if (k->type == CARD_KEY_RSA) {
        n = BN_bin2bn(k->modulus, (int)k->modulus_len, NULL);
        e = BN_bin2bn(k->exponent, (int)k->exponent_len, NULL);
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n);
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e);
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    } else {
        OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
        OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, k->ec_point,
                                         k->ec_point_len);
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    }
    OSSL_PARAM *p = OSSL_PARAM_BLD_to_param(b);
    if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, p) <= 0)
        pk = NULL;
    OSSL_PARAM_free(p);
    OSSL_PARAM_BLD_free(b);
    EVP_PKEY_CTX_free(ctx);
    BN_free(n);
    BN_free(e);
    return pk;
}

/* A certificate for the card's new key, from a throwaway issuer. */
static uint8_t *make_cert(const struct card_container *k, size_t *len)
{
    EVP_PKEY *pub = pub_of(k);
    EVP_PKEY *ca = EVP_RSA_gen(2048);
    X509 *x = X509_new();
    assert_non_null(pub);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 42);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"Renewed Holder", -1, -1, 0);
    X509_NAME *is = X509_NAME_new();
    X509_NAME_add_entry_by_txt(is, "CN", MBSTRING_ASC, (const unsigned char *)"Test Issuer", -1, -1, 0);
    X509_set_issuer_name(x, is);
    X509_set_pubkey(x, pub);
    assert_true(X509_sign(x, ca, EVP_sha256()) > 0);
    uint8_t *der = NULL;
    int n = i2d_X509(x, &der);
    assert_true(n > 256);
    *len = (size_t)n;
    X509_NAME_free(is);
    X509_free(x);
    EVP_PKEY_free(ca);
    EVP_PKEY_free(pub);
    return der;
}

static void check_sign(struct card *c, const struct card_container *k, bool sha1)
{
    static const uint8_t sha1_di[] = { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2B, 0x0E,
                                       0x03, 0x02, 0x1A, 0x05, 0x00, 0x04, 0x14 };
    static const uint8_t sha256_di[] = { 0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86,
                                         0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
                                         0x00, 0x04, 0x20 };
    const char msg[] = "cardrenew live test";
    uint8_t in[64], sig[512];
    size_t inlen, siglen = sizeof(sig);
    EVP_PKEY *pub = pub_of(k);
    assert_non_null(pub);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (k->type == CARD_KEY_EC_P256) {
        SHA256((const uint8_t *)msg, strlen(msg), in);
        assert_int_equal(card_sign(c, k, CARD_SIGN_ECDSA, in, 32, sig, &siglen), CARD_OK);
        assert_int_equal(siglen, 64);
        ECDSA_SIG *es = ECDSA_SIG_new();
        ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
        uint8_t *der = NULL;
        int dl = i2d_ECDSA_SIG(es, &der);
        EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(pub, NULL);
        assert_int_equal(EVP_PKEY_verify_init(pc), 1);
        assert_int_equal(EVP_PKEY_verify(pc, der, (size_t)dl, in, 32), 1);
        EVP_PKEY_CTX_free(pc);
        OPENSSL_free(der);
        ECDSA_SIG_free(es);
    } else {
        const uint8_t *di = sha1 ? sha1_di : sha256_di;
        size_t dil = sha1 ? sizeof(sha1_di) : sizeof(sha256_di);
        memcpy(in, di, dil);
        if (sha1)
            SHA1((const uint8_t *)msg, strlen(msg), in + dil);
        else
            SHA256((const uint8_t *)msg, strlen(msg), in + dil);
        inlen = dil + (sha1 ? 20 : 32);
        assert_int_equal(card_sign(c, k, CARD_SIGN_RSA_PKCS1, in, inlen, sig, &siglen),
                         CARD_OK);
        assert_int_equal(siglen, k->modulus_len);
        assert_int_equal(EVP_DigestVerifyInit(md, NULL, sha1 ? EVP_sha1() : EVP_sha256(),
                                              NULL, pub), 1);
        assert_int_equal(EVP_DigestVerify(md, sig, siglen, (const uint8_t *)msg,
                                          strlen(msg)), 1);
    }
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pub);
}

/* PSS, raw PKCS#1 (a TLS 1.1 style MD5+SHA-1 block) and decryption. */
static void check_pss_raw_decrypt(struct card *c, const struct card_container *k)
{
    EVP_PKEY *pub = pub_of(k);
    uint8_t h[32], sig[512], out[512];
    size_t siglen = sizeof(sig);
    SHA256((const uint8_t *)"pss", 3, h);
    int rv = card_sign(c, k, CARD_SIGN_RSA_PSS, h, 32, sig, &siglen);
    if (rv != CARD_OK)
        fail_msg("PSS sign: %s", card_rv_name(rv));
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(pub, NULL);
    assert_int_equal(EVP_PKEY_verify_init(pc), 1);
    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256());
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 32);
    assert_int_equal(EVP_PKEY_verify(pc, sig, siglen, h, 32), 1);
    EVP_PKEY_CTX_free(pc);

    uint8_t raw[36];
    memset(raw, 0x42, sizeof(raw));
    siglen = sizeof(sig);
    rv = card_sign(c, k, CARD_SIGN_RSA_PKCS1, raw, sizeof(raw), sig, &siglen);
    if (rv != CARD_OK)
        fail_msg("raw PKCS#1 sign: %s", card_rv_name(rv));
    pc = EVP_PKEY_CTX_new(pub, NULL);
    assert_int_equal(EVP_PKEY_verify_recover_init(pc), 1);
    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING);
    size_t olen = sizeof(out);
    assert_int_equal(EVP_PKEY_verify_recover(pc, out, &olen, sig, siglen), 1);
    assert_int_equal(olen, sizeof(raw));
    assert_memory_equal(out, raw, sizeof(raw));
    EVP_PKEY_CTX_free(pc);

    pc = EVP_PKEY_CTX_new(pub, NULL);
    assert_int_equal(EVP_PKEY_encrypt_init(pc), 1);
    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING);
    uint8_t ct[512];
    size_t ctlen = sizeof(ct);
    assert_int_equal(EVP_PKEY_encrypt(pc, ct, &ctlen, (const uint8_t *)"session key", 11), 1);
    EVP_PKEY_CTX_free(pc);
    olen = sizeof(out);
    rv = card_decrypt(c, k, ct, ctlen, out, &olen);
    if (rv != CARD_OK)
        fail_msg("decrypt: %s", card_rv_name(rv));
    assert_int_equal(olen, 11);
    assert_memory_equal(out, "session key", 11);
    EVP_PKEY_free(pub);
}

static void test_live(void **state)
{
    (void)state;
    const char *pin = getenv("CARDRENEW_TEST_PIN");
    if (!pin)
        skip();
    const char *want = getenv("CARDRENEW_TEST_PROFILE");
    struct card_ctx *ctx;
    assert_int_equal(card_ctx_new(card_pcsc_default(), &ctx), CARD_OK);
    char *names;
    size_t len;
    assert_int_equal(card_ctx_readers(ctx, &names, &len), CARD_OK);
    assert_true(names[0] != 0);
    struct card *c;
    int rv = card_open(ctx, names, &c);
    if (rv != CARD_OK)
        fail_msg("card_open: %s", card_rv_name(rv));
    const struct card_info *info = card_get_info(c);
    printf("profile %s serial %s label '%s' model %s\n", card_get_driver(c)->name,
           info->serial, info->label, info->model);
    if (want)
        assert_string_equal(card_get_driver(c)->name, want);
    assert_true(strlen(info->serial) >= 16);

    assert_int_equal(card_begin(c), CARD_OK);
    uint64_t cc0 = 0, cc1 = 0;
    assert_int_equal(card_change_counter(c, &cc0), CARD_OK);
    struct card_objects o;
    rv = card_read_objects(c, &o);
    if (rv != CARD_OK)
        fail_msg("read_objects: %s", card_rv_name(rv));
    printf("%zu containers\n", o.n);
    assert_true(o.n >= 1);
    assert_non_null(o.c[0].cert);
    int tries = 0;
    assert_int_equal(card_pin_status(c, &tries), CARD_OK);
    printf("PIN tries %d\n", tries);
    /* A wrong PIN costs a try, and says so. */
    char wrong[32];
    snprintf(wrong, sizeof(wrong), "%s", pin);
    wrong[0] = wrong[0] == '9' ? '8' : '9';
    assert_int_equal(card_pin_verify(c, wrong, strlen(wrong)), CARD_E_PIN_INCORRECT);
    assert_int_equal(card_pin_status(c, &tries), CARD_OK);
    assert_int_equal(tries, 2);
    assert_int_equal(card_pin_verify(c, pin, strlen(pin)), CARD_OK);
    const char *puk = getenv("CARDRENEW_TEST_PUK");
    if (info->has_puk && puk) {
        /* A wrong PUK costs a PUK try; the right one sets the PIN. */
        assert_int_equal(card_pin_unblock(c, "00000000", 8, pin, strlen(pin)),
                         CARD_E_PIN_INCORRECT);
        rv = card_pin_unblock(c, puk, strlen(puk), pin, strlen(pin));
        if (rv != CARD_OK)
            fail_msg("unblock: %s", card_rv_name(rv));
        assert_int_equal(card_pin_verify(c, pin, strlen(pin)), CARD_OK);
    } else if (!info->has_puk) {
        assert_int_equal(card_pin_unblock(c, "00000000", 8, pin, strlen(pin)),
                         CARD_E_UNSUPPORTED);
    }
    /* Change the PIN and back. */
    assert_int_equal(card_pin_change(c, pin, strlen(pin), "24681357", 8), CARD_OK);
    assert_int_equal(card_pin_verify(c, "24681357", 8), CARD_OK);
    assert_int_equal(card_pin_change(c, "24681357", 8, pin, strlen(pin)), CARD_OK);
    assert_int_equal(card_pin_verify(c, pin, strlen(pin)), CARD_OK);
    check_sign(c, &o.c[0], true);
    if (info->has_sha2)
        check_sign(c, &o.c[0], false);
    if (info->has_pss)
        check_pss_raw_decrypt(c, &o.c[0]);

    /* A renewal's card half: new key, its certificate, then gone again. */
    struct card_container k;
    rv = card_generate_key(c, CARD_KEY_RSA, 2048, &k);
    if (rv != CARD_OK)
        fail_msg("generate_key: %s", card_rv_name(rv));
    assert_null(k.cert);
    struct card_objects o2;
    assert_int_equal(card_read_objects(c, &o2), CARD_OK);
    assert_int_equal(o2.n, o.n + 1);
    size_t certlen;
    uint8_t *cert = make_cert(&k, &certlen);
    rv = card_write_cert(c, k.id, k.id_len, cert, certlen, "Renewed");
    if (rv != CARD_OK)
        fail_msg("write_cert: %s", card_rv_name(rv));
    card_objects_clear(&o2);
    assert_int_equal(card_read_objects(c, &o2), CARD_OK);
    assert_int_equal(o2.n, o.n + 1);
    bool found = false;
    for (size_t i = 0; i < o2.n; i++) {
        if (!memcmp(o2.c[i].id, k.id, 20)) {
            found = true;
            assert_int_equal(o2.c[i].cert_len, certlen);
            assert_memory_equal(o2.c[i].cert, cert, certlen);
            check_sign(c, &o2.c[i], true);
        } else {
            assert_non_null(o2.c[i].cert);
        }
    }
    assert_true(found);
    assert_int_equal(card_change_counter(c, &cc1), CARD_OK);
    assert_true(cc0 != cc1);
    /* Retire the old credential, as the last step of a renewal does. */
    rv = card_delete_cert(c, o.c[0].id, o.c[0].id_len);
    if (rv != CARD_OK)
        fail_msg("delete_cert: %s", card_rv_name(rv));
    rv = card_delete_key(c, o.c[0].id, o.c[0].id_len);
    if (rv != CARD_OK)
        fail_msg("delete_key: %s", card_rv_name(rv));
    card_objects_clear(&o2);
    assert_int_equal(card_read_objects(c, &o2), CARD_OK);
    assert_int_equal(o2.n, o.n);
    found = false;
    for (size_t i = 0; i < o2.n; i++)
        if (!memcmp(o2.c[i].id, k.id, 20) && o2.c[i].cert_len == certlen)
            found = true;
    assert_true(found);
    if (info->has_ec) {
        struct card_container e;
        rv = card_generate_key(c, CARD_KEY_EC_P256, 256, &e);
        if (rv != CARD_OK)
            fail_msg("generate EC: %s", card_rv_name(rv));
        check_sign(c, &e, false);
        assert_int_equal(card_delete_key(c, e.id, e.id_len), CARD_OK);
        card_container_clear(&e);
    }
    card_end(c);
    OPENSSL_free(cert);
    card_objects_clear(&o2);
    card_objects_clear(&o);
    card_container_clear(&k);
    card_close(c);
    free(names);
    card_ctx_free(ctx);
}

/* Another process resets the card: the next card_begin reconnects, says
 * CARD_E_REMOVED once, and the login is gone as on the card. */
static void test_live_reset(void **state)
{
    (void)state;
    const char *pin = getenv("CARDRENEW_TEST_PIN");
    if (!pin)
        skip();
    struct card_ctx *ctx;
    assert_int_equal(card_ctx_new(card_pcsc_default(), &ctx), CARD_OK);
    char *names;
    size_t len;
    assert_int_equal(card_ctx_readers(ctx, &names, &len), CARD_OK);
    struct card *c;
    assert_int_equal(card_open(ctx, names, &c), CARD_OK);
    char serial[33];
    strcpy(serial, card_get_info(c)->serial);
    assert_int_equal(card_begin(c), CARD_OK);
    assert_int_equal(card_pin_verify(c, pin, strlen(pin)), CARD_OK);
    card_end(c);

    SCARDCONTEXT hc;
    SCARDHANDLE h;
    DWORD proto;
    assert_int_equal(SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &hc), SCARD_S_SUCCESS);
    assert_int_equal(SCardConnect(hc, names, SCARD_SHARE_SHARED,
                                  SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h, &proto),
                     SCARD_S_SUCCESS);
    assert_int_equal(SCardBeginTransaction(h), SCARD_S_SUCCESS);
    assert_int_equal(SCardEndTransaction(h, SCARD_RESET_CARD), SCARD_S_SUCCESS);

    assert_int_equal(card_begin(c), CARD_E_REMOVED);
    assert_int_equal(card_begin(c), CARD_OK);
    assert_string_equal(card_get_info(c)->serial, serial);
    int tries = 0;
    assert_int_equal(card_pin_status(c, &tries), CARD_OK);
    assert_int_equal(tries, 3);     /* not verified any more */
    assert_int_equal(card_pin_verify(c, pin, strlen(pin)), CARD_OK);
    card_end(c);
    assert_int_equal(card_begin(c), CARD_OK);
    /* Logout forgets the PIN on the card. */
    assert_int_equal(card_logout(c), CARD_OK);
    assert_int_equal(card_pin_status(c, &tries), CARD_OK);
    assert_int_equal(tries, 3);
    assert_int_equal(card_pin_verify(c, pin, strlen(pin)), CARD_OK);
    assert_int_equal(card_pin_status(c, &tries), CARD_OK);
    card_end(c);
    /* Our own reset is not news to us. */
    assert_int_equal(card_begin(c), CARD_OK);
    card_end(c);

    SCardDisconnect(h, SCARD_LEAVE_CARD);
    SCardReleaseContext(hc);
    card_close(c);
    free(names);
    card_ctx_free(ctx);
}

static void vcard_ctl(const char *what)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "\"%s\" ctl --control \"%s\" %s >/dev/null",
             getenv("CARDRENEW_TEST_VCARD"), getenv("VCARD_CONTROL"), what);
    assert_int_equal(system(cmd), 0);
}

static void *cancel_later(void *ctx)
{
    usleep(200 * 1000);
    card_ctx_cancel(ctx);
    return NULL;
}

/* A wait with no timeout ends when another thread cancels it. */
static void test_live_cancel(void **state)
{
    (void)state;
    if (!getenv("CARDRENEW_TEST_PIN"))
        skip();
    struct card_ctx *ctx;
    assert_int_equal(card_ctx_new(card_pcsc_default(), &ctx), CARD_OK);
    char reader[256];
    assert_int_equal(card_ctx_wait(ctx, 0, reader, sizeof(reader)), CARD_E_NO_CARD);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, cancel_later, ctx), 0);
    assert_int_equal(card_ctx_wait(ctx, -1, reader, sizeof(reader)), CARD_E_ARGS);
    pthread_join(t, NULL);
    card_ctx_free(ctx);
}

/* The card is pulled and put back: the reader event is seen, card_begin
 * says the card is gone, then reports the new insertion once. */
static void test_live_removal(void **state)
{
    (void)state;
    if (!getenv("CARDRENEW_TEST_PIN") || !getenv("CARDRENEW_TEST_VCARD") ||
        !getenv("VCARD_CONTROL"))
        skip();
    struct card_ctx *ctx;
    assert_int_equal(card_ctx_new(card_pcsc_default(), &ctx), CARD_OK);
    char *names;
    size_t len;
    assert_int_equal(card_ctx_readers(ctx, &names, &len), CARD_OK);
    struct card *c;
    assert_int_equal(card_open(ctx, names, &c), CARD_OK);
    char reader[256];
    /* Learn the current states; nothing changes within 50 ms. */
    assert_int_equal(card_ctx_wait(ctx, 50, reader, sizeof(reader)), CARD_E_NO_CARD);

    vcard_ctl("vanish now");
    assert_int_equal(card_ctx_wait(ctx, 5000, reader, sizeof(reader)), CARD_OK);
    assert_string_equal(reader, names);
    int rv = card_begin(c);
    assert_true(rv == CARD_E_NO_CARD || rv == CARD_E_REMOVED);
    assert_int_equal(card_begin(c), CARD_E_NO_CARD);

    vcard_ctl("back");
    assert_int_equal(card_ctx_wait(ctx, 5000, reader, sizeof(reader)), CARD_OK);
    assert_string_equal(reader, names);
    assert_true(card_ctx_present(ctx, names));
    assert_int_equal(card_begin(c), CARD_E_REMOVED);
    assert_int_equal(card_begin(c), CARD_OK);
    int tries;
    assert_int_equal(card_pin_status(c, &tries), CARD_OK);
    card_end(c);

    /* The card goes in the middle of reading the objects: an error with a
     * name, and once it is back, the next begin recovers. */
    vcard_ctl("vanish 2");
    assert_int_equal(card_begin(c), CARD_OK);
    struct card_objects o;
    rv = card_read_objects(c, &o);
    printf("read with the card vanishing: %s\n", card_rv_name(rv));
    assert_true(rv == CARD_E_COMM || rv == CARD_E_REMOVED || rv == CARD_E_NO_CARD);
    assert_null(o.c);
    card_end(c);
    assert_int_equal(card_ctx_wait(ctx, 5000, reader, sizeof(reader)), CARD_OK);
    vcard_ctl("back");
    for (int i = 0; i < 50; i++) {
        rv = card_begin(c);
        printf("begin after the card came back: %s\n", card_rv_name(rv));
        if (rv == CARD_OK)
            break;
        assert_true(rv == CARD_E_NO_CARD || rv == CARD_E_REMOVED || rv == CARD_E_COMM);
        card_ctx_wait(ctx, 500, reader, sizeof(reader));
    }
    assert_int_equal(rv, CARD_OK);
    assert_int_equal(card_read_objects(c, &o), CARD_OK);
    assert_true(o.n >= 1);
    card_objects_clear(&o);
    card_end(c);
    card_close(c);
    free(names);
    card_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live),
        cmocka_unit_test(test_live_reset),
        cmocka_unit_test(test_live_removal),
        cmocka_unit_test(test_live_cancel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
