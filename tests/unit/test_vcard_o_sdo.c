/* Profile O: key generation by APDU (RSA and P-256), the key SDOs' GET DATA,
 * key deletion, MSE + PSO signatures (PKCS#1, PSS, ECDSA), INTERNAL
 * AUTHENTICATE, chained decipher; every signature checked with OpenSSL. */
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include "tests/vcard/o_test.h"

#define PUT_EXP(ref) "00 DB 3F FF 0E 70 0C BF A0 " ref " 08 7F 49 05 82 03 01 00 01"
#define GEN(ref)     "00 47 00 00 05 70 03 BF 90 " ref
#define GET_PUB(ref) "00 CB 3F FF 0B 4D 09 70 07 BF A0 " ref " 03 7F 49 80 00"

static const uint8_t sha256_di[] = { 0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86,
    0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };

/* An APDU with data: header + Lc + data (+ Le 00 when le). */
static uint16_t cmd(void *st, const char *hdr, const uint8_t *data, size_t n, bool le,
                    uint8_t *out, size_t *out_len)
{
    uint8_t apdu[600];
    size_t h = ot_unhex(hdr, apdu, 4);
    apdu[h] = (uint8_t)n;
    memcpy(apdu + h + 1, data, n);
    if (le)
        apdu[h + 1 + n] = 0x00;
    return ot_txb(st, apdu, h + 1 + n + (le ? 1 : 0), out, out_len);
}

static EVP_PKEY *gen(void *st, const char *type)
{
    EVP_PKEY *pub = NULL;
    assert_int_equal(vc_profile_o.perso_generate(st, type, &pub), 0);
    assert_non_null(pub);
    return pub;
}

static void keygen_rsa(void **state)
{
    (void)state;
    void *st = ot_card();
    uint8_t d[VC_RESP_MAX], rest[300];
    size_t n, m;
    assert_int_equal(ot_tx(st, PUT_EXP("01"), NULL, NULL), 0x6982);
    ot_login(st);
    uint32_t before = ot_counter(st);
    assert_true(ot_persist(st, PUT_EXP("01")));
    assert_int_equal(ot_tx(st, GET_PUB("01"), NULL, NULL), 0x6A88);
    assert_true(ot_persist(st, GEN("01")));
    assert_int_equal(ot_counter(st), before + 1);
    /* 2048 bits: 270 bytes, so 256 and then 61 0E */
    assert_int_equal(ot_tx(st, GET_PUB("01"), d, &n), 0x610E);
    assert_int_equal(n, 256);
    assert_memory_equal(d, "\x7F\x49\x82\x01\x09\x81\x82\x01\x00", 9);
    assert_int_equal(ot_tx(st, "00 C0 00 00 0E", rest, &m), 0x9000);
    assert_int_equal(m, 14);
    assert_memory_equal(rest + m - 5, "\x82\x03\x01\x00\x01", 5);
    assert_int_equal(ot_tx(st, "00 C0 00 00 0E", rest, &m), 0x6985);
    /* extended Le: all at once */
    assert_int_equal(ot_tx(st, "00 CB 3F FF 00 00 0B 4D 09 70 07 BF A0 01 03 7F 49 80 00 00",
                           d, &n), 0x9000);
    assert_int_equal(n, 270);
    /* the private SDO gives its size; its key never leaves */
    assert_int_equal(ot_tx(st, "00 CB 3F FF 0A 4D 08 70 06 BF 90 01 02 A0 80 00", d, &n), 0x9000);
    assert_non_null(memmem(d, n, "\x80\x02\x01\x00", 4));
    assert_memory_equal(d, "\xBF\x90\x01", 3);
    assert_int_equal(ot_tx(st, "00 CB 3F FF 0B 4D 09 70 07 BF 90 01 03 7F 48 80 00", d, &n), 0x6A80);
    /* generation on a used reference; without parameters; bad forms */
    assert_int_equal(ot_tx(st, GEN("01"), NULL, NULL), 0x6A89);
    assert_int_equal(ot_tx(st, PUT_EXP("01"), NULL, NULL), 0x9000);   /* the key stays */
    assert_int_equal(ot_tx(st, GEN("01"), NULL, NULL), 0x6A89);
    assert_int_equal(ot_tx(st, GET_PUB("01"), d, &n), 0x610E);
    assert_int_equal(ot_tx(st, GEN("03"), NULL, NULL), 0x6A88);
    assert_int_equal(ot_tx(st, GEN("0D"), NULL, NULL), 0x6A88);
    assert_int_equal(ot_tx(st, "00 47 00 00 05 70 03 BF A0 03", NULL, NULL), 0x6A80);
    assert_int_equal(ot_tx(st, "00 47 00 01 05 70 03 BF 90 03", NULL, NULL), 0x6A86);
    assert_int_equal(ot_tx(st, "00 47 00 00 04 70 03 BF 90", NULL, NULL), 0x6700);
    assert_int_equal(ot_tx(st, "00 DB 3F FF 0D 70 0B BF A0 02 07 7F 49 04 82 02 01 00", NULL, NULL),
                     0x6A80);                               /* even exponent */
    assert_int_equal(ot_tx(st, "00 DB 3F FF 0C 70 0C BF A0 02 07 7F 49 04 82 02 01", NULL, NULL),
                     0x6A80);                               /* truncated */
    /* a 1024-bit key: the private SDO's size set first */
    assert_int_equal(ot_tx(st, "00 DB 3F FF 0C 70 0A BF 90 02 06 A0 04 80 02 00 80", NULL, NULL), 0x9000);
    assert_int_equal(ot_tx(st, PUT_EXP("02"), NULL, NULL), 0x9000);
    assert_int_equal(ot_tx(st, GEN("02"), NULL, NULL), 0x9000);
    assert_int_equal(ot_tx(st, GET_PUB("02"), d, &n), 0x9000);
    assert_memory_equal(d, "\x7F\x49\x81\x88\x81\x81\x80", 7);
    vc_profile_o.free(st);
}

static void keygen_ec_and_delete(void **state)
{
    (void)state;
    void *st = ot_card();
    uint8_t d[VC_RESP_MAX];
    size_t n;
    ot_login(st);
    assert_int_equal(ot_tx(st, "00 DB 3F FF 13 70 11 BF A0 05 0D 7F 49 0A 06 08 2A 86 48 CE 3D 03 01 07",
                           NULL, NULL), 0x9000);
    assert_int_equal(ot_tx(st, GEN("05"), NULL, NULL), 0x9000);
    assert_int_equal(ot_tx(st, GET_PUB("05"), d, &n), 0x9000);
    assert_int_equal(n, 0x46);
    assert_memory_equal(d, "\x7F\x49\x43\x86\x41\x04", 6);
    assert_int_equal(ot_tx(st, "00 CB 3F FF 0A 4D 08 70 06 BF 90 05 02 A0 80 00", d, &n), 0x9000);
    assert_non_null(memmem(d, n, "\x80\x02\x00\x20", 4));
    /* another curve is refused */
    assert_int_equal(ot_tx(st, "00 DB 3F FF 13 70 11 BF A0 06 0D 7F 49 0A 06 08 2A 86 48 CE 3D 03 01 08",
                           NULL, NULL), 0x6A80);
    /* delete: the SDO goes, and the counter moves */
    uint32_t before = ot_counter(st);
    assert_true(ot_persist(st, "00 DB 3F FF 06 70 04 BF 90 05 00"));
    assert_int_equal(ot_counter(st), before + 1);
    assert_int_equal(ot_tx(st, GET_PUB("05"), d, &n), 0x6A88);
    assert_int_equal(ot_tx(st, "00 DB 3F FF 06 70 04 BF 90 05 00", NULL, NULL), 0x6A88);
    assert_int_equal(ot_tx(st, "00 DB 3F FF 06 70 04 BF 81 01 00", NULL, NULL), 0x6982);
    assert_int_equal(ot_tx(st, "00 DB 3F FE 06 70 04 BF 90 05 00", NULL, NULL), 0x6A86);
    assert_int_equal(ot_tx(st, "00 DB 3F FF 05 70 04 BF 90 05", NULL, NULL), 0x6A80);
    vc_profile_o.reset(st);
    assert_int_equal(ot_tx(st, PUT_EXP("05"), NULL, NULL), 0x6982);
    vc_profile_o.free(st);
}

static void sign_pkcs1(void **state)
{
    (void)state;
    void *st = ot_card();
    EVP_PKEY *pub = gen(st, "rsa1024");
    uint8_t di[51], sig[VC_RESP_MAX], rec[256];
    size_t n, rn = sizeof rec;
    memcpy(di, sha256_di, sizeof sha256_di);
    SHA256((const uint8_t *)"data", 4, di + sizeof sha256_di);
    assert_int_equal(cmd(st, "00 2A 9E 9A", di, sizeof di, true, sig, &n), 0x6985);
    assert_int_equal(ot_tx(st, "00 22 41 B6 06 84 01 81 80 01 12", NULL, NULL), 0x9000);
    assert_int_equal(cmd(st, "00 2A 9E 9A", di, sizeof di, true, sig, &n), 0x6982);
    ot_login(st);
    assert_int_equal(cmd(st, "00 2A 9E 9A", di, sizeof di, true, sig, &n), 0x9000);
    assert_int_equal(n, 128);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pub, NULL);
    assert_int_equal(EVP_PKEY_verify_recover_init(ctx), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
    assert_int_equal(EVP_PKEY_verify_recover(ctx, rec, &rn, sig, n), 1);
    assert_int_equal(rn, sizeof di);
    assert_memory_equal(rec, di, sizeof di);
    EVP_PKEY_CTX_free(ctx);
    /* a fixed-length answer under a short Le: 6C 80 */
    uint8_t apdu[64];
    size_t h = ot_unhex("00 2A 9E 9A", apdu, 4);
    apdu[h] = sizeof di;
    memcpy(apdu + h + 1, di, sizeof di);
    apdu[h + 1 + sizeof di] = 0x10;
    assert_int_equal(ot_txb(st, apdu, h + 2 + sizeof di, NULL, NULL), 0x6C80);
    /* no Le: 61 80 and GET RESPONSE */
    assert_int_equal(cmd(st, "00 2A 9E 9A", di, sizeof di, false, sig, &n), 0x6180);
    assert_int_equal(ot_tx(st, "00 C0 00 00 80", sig, &n), 0x9000);
    assert_int_equal(n, 128);
    /* not a DigestInfo; too long; wrong P1P2 */
    assert_int_equal(cmd(st, "00 2A 9E 9A", di + 19, 32, true, sig, &n), 0x6A80);
    uint8_t big[120] = { 0 };
    assert_int_equal(cmd(st, "00 2A 9E 9A", big, sizeof big, true, sig, &n), 0x6700);
    assert_int_equal(cmd(st, "00 2A 9E 9B", di, sizeof di, true, sig, &n), 0x6A86);
    /* MSE errors */
    assert_int_equal(ot_tx(st, "00 22 41 B6 06 84 01 81 80 01 44", NULL, NULL), 0x6A80);
    assert_int_equal(ot_tx(st, "00 22 41 B6 06 84 01 82 80 01 12", NULL, NULL), 0x6A88);
    assert_int_equal(ot_tx(st, "00 22 41 B6 06 84 01 01 80 01 12", NULL, NULL), 0x6A88);
    assert_int_equal(ot_tx(st, "00 22 41 B6 05 84 01 81 80 01", NULL, NULL), 0x6A80);
    assert_int_equal(ot_tx(st, "00 22 41 B6 03 84 01 81", NULL, NULL), 0x6A80);
    assert_int_equal(ot_tx(st, "00 22 41 B7 06 84 01 81 80 01 12", NULL, NULL), 0x6A86);
    assert_int_equal(ot_tx(st, "00 22 42 B6 06 84 01 81 80 01 12", NULL, NULL), 0x6A86);
    assert_int_equal(ot_tx(st, "00 22 F3 01", NULL, NULL), 0x9000);
    assert_int_equal(cmd(st, "00 2A 9E 9A", di, sizeof di, true, sig, &n), 0x6985);
    EVP_PKEY_free(pub);
    vc_profile_o.free(st);
}

static void sign_pss(void **state)
{
    (void)state;
    void *st = ot_card();
    EVP_PKEY *pub = gen(st, "rsa1024");
    uint8_t h[32], sig[VC_RESP_MAX];
    size_t n;
    SHA256((const uint8_t *)"pss", 3, h);
    ot_login(st);
    assert_int_equal(ot_tx(st, "00 22 41 B6 06 84 01 81 80 01 32", NULL, NULL), 0x9000);
    assert_int_equal(cmd(st, "00 2A 9E 9A", h, sizeof h, true, sig, &n), 0x9000);
    assert_int_equal(n, 128);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pub, NULL);
    assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, 32), 1);
    assert_int_equal(EVP_PKEY_verify(ctx, sig, n, h, sizeof h), 1);
    EVP_PKEY_CTX_free(ctx);
    assert_int_equal(cmd(st, "00 2A 9E 9A", h, 31, true, sig, &n), 0x6700);
    EVP_PKEY_free(pub);
    vc_profile_o.free(st);
}

static void sign_ecdsa(void **state)
{
    (void)state;
    void *st = ot_card();
    EVP_PKEY *pub = gen(st, "p256");
    uint8_t h[32], sig[VC_RESP_MAX], *der = NULL;
    size_t n;
    SHA256((const uint8_t *)"ec", 2, h);
    ot_login(st);
    assert_int_equal(ot_tx(st, "00 22 41 B6 06 84 01 81 80 01 12", NULL, NULL), 0x6A80);
    assert_int_equal(ot_tx(st, "00 22 41 A4 06 84 01 81 80 01 02", NULL, NULL), 0x6A80);
    assert_int_equal(ot_tx(st, "00 22 41 B6 06 84 01 81 80 01 44", NULL, NULL), 0x9000);
    assert_int_equal(cmd(st, "00 2A 9E 9A", h, sizeof h, true, sig, &n), 0x9000);
    assert_int_equal(n, 64);
    ECDSA_SIG *es = ECDSA_SIG_new();
    ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
    int dl = i2d_ECDSA_SIG(es, &der);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pub, NULL);
    assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
    assert_int_equal(EVP_PKEY_verify(ctx, der, (size_t)dl, h, sizeof h), 1);
    EVP_PKEY_CTX_free(ctx);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    EVP_PKEY_free(pub);
    vc_profile_o.free(st);
}

static void internal_auth(void **state)
{
    (void)state;
    void *st = ot_card();
    EVP_PKEY *pub = gen(st, "rsa1024");
    uint8_t in[36], sig[VC_RESP_MAX], rec[256];
    size_t n, rn = sizeof rec;
    memset(in, 0x5A, sizeof in);
    ot_login(st);
    assert_int_equal(cmd(st, "00 88 00 00", in, sizeof in, true, sig, &n), 0x6985);
    assert_int_equal(ot_tx(st, "00 22 41 A4 06 84 01 81 80 01 02", NULL, NULL), 0x9000);
    assert_int_equal(cmd(st, "00 88 00 00", in, sizeof in, true, sig, &n), 0x9000);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pub, NULL);
    assert_int_equal(EVP_PKEY_verify_recover_init(ctx), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
    assert_int_equal(EVP_PKEY_verify_recover(ctx, rec, &rn, sig, n), 1);
    assert_int_equal(rn, sizeof in);
    assert_memory_equal(rec, in, sizeof in);
    EVP_PKEY_CTX_free(ctx);
    assert_int_equal(cmd(st, "00 88 01 00", in, sizeof in, true, sig, &n), 0x6A86);
    EVP_PKEY_free(pub);
    vc_profile_o.free(st);
}

static void decipher(void **state)
{
    (void)state;
    void *st = ot_card();
    EVP_PKEY *pub = gen(st, "rsa1024");
    uint8_t ct[129], pt[VC_RESP_MAX];
    size_t cn = 128, n;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pub, NULL);
    assert_int_equal(EVP_PKEY_encrypt_init(ctx), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
    ct[0] = 0x81;
    assert_int_equal(EVP_PKEY_encrypt(ctx, ct + 1, &cn, (const uint8_t *)"key!", 4), 1);
    EVP_PKEY_CTX_free(ctx);
    ot_login(st);
    assert_int_equal(ot_tx(st, "00 22 41 B8 06 84 01 81 80 01 1A", NULL, NULL), 0x9000);
    /* 129 bytes in a chain of three (the 2048-bit chain of OpenSC is in
     * tests/integration/vcard_opensc_o.sh) */
    assert_int_equal(cmd(st, "10 2A 80 86", ct, 100, false, NULL, NULL), 0x9000);
    assert_int_equal(cmd(st, "10 2A 80 86", ct + 100, 27, false, NULL, NULL), 0x9000);
    assert_int_equal(cmd(st, "00 2A 80 86", ct + 127, 2, true, pt, &n), 0x9000);
    assert_int_equal(n, 4);
    assert_memory_equal(pt, "key!", 4);
    /* the same in one command */
    assert_int_equal(cmd(st, "00 2A 80 86", ct, sizeof ct, true, pt, &n), 0x9000);
    assert_memory_equal(pt, "key!", 4);
    /* a short cryptogram; a bad one; the wrong environment */
    assert_int_equal(cmd(st, "00 2A 80 86", ct, 100, true, pt, &n), 0x6700);
    uint8_t junk[129] = { 0x81 };
    assert_int_equal(cmd(st, "00 2A 80 86", junk, sizeof junk, true, pt, &n), 0x6A80);
    junk[0] = 0x02;
    assert_int_equal(cmd(st, "00 2A 80 86", junk, sizeof junk, true, pt, &n), 0x6A80);
    vc_profile_o.reset(st);
    ot_login(st);
    assert_int_equal(cmd(st, "00 2A 80 86", ct, sizeof ct, true, pt, &n), 0x6985);
    assert_int_equal(ot_tx(st, "00 22 41 A4 06 84 01 81 80 01 02", NULL, NULL), 0x9000);
    assert_int_equal(cmd(st, "00 2A 80 86", ct, sizeof ct, true, pt, &n), 0x6985);
    EVP_PKEY_free(pub);
    vc_profile_o.free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keygen_rsa),
        cmocka_unit_test(keygen_ec_and_delete),
        cmocka_unit_test(sign_pkcs1),
        cmocka_unit_test(sign_pss),
        cmocka_unit_test(sign_ecdsa),
        cmocka_unit_test(internal_auth),
        cmocka_unit_test(decipher),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
