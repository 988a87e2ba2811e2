/* Profile G, one APDU at a time: every command and every status word. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/param_build.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "tests/vcard/vcard.h"

#define AID "00A404000CA0000000180A000001634200"
#define SEL_EF "00A4080C0416000004"
#define PIN_OK "0020000108123456FFFFFFFFFF"
#define PIN_BAD "0020000108654321FFFFFFFFFF"

static const struct vc_profile *P = &vc_profile_g;

struct r {
    uint8_t d[VC_RESP_MAX];
    size_t n;
    unsigned sw;
    bool persist, pin;
};

static size_t unhex(const char *s, uint8_t *out)
{
    size_t n = 0;

    while (*s) {
        if (*s == ' ') {
            s++;
            continue;
        }
        sscanf(s, "%2hhx", &out[n++]);
        s += 2;
    }
    return n;
}

static struct r raw(void *st, const uint8_t *a, size_t len)
{
    struct r r;

    r.n = P->process(st, a, len, r.d, &r.persist, &r.pin);
    assert_true(r.n >= 2);
    r.sw = (unsigned)r.d[r.n - 2] << 8 | r.d[r.n - 1];
    r.n -= 2;
    return r;
}

static struct r x(void *st, const char *hex)
{
    uint8_t a[600];

    return raw(st, a, unhex(hex, a));
}

static void *blank(void)
{
    static const uint8_t serial[10] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    struct vc_new n = { .pin = "123456", .holder = "T", .serial = serial };
    void *st = P->create(&n);

    assert_non_null(st);
    return st;
}

static int setup(void **state)
{
    *state = blank();
    return 0;
}

static int teardown(void **state)
{
    P->free(*state);
    return 0;
}

static void *with_key(void **state, unsigned *ref)
{
    void *st = *state;
    struct r r;

    assert_int_equal(x(st, PIN_OK).sw, 0x9000);
    r = x(st, "804600030491020400" "00");
    assert_int_equal(r.sw, 0x9000);
    assert_int_equal(r.n, 128);
    assert_true(r.persist);
    *ref = 3;
    return st;
}

static void test_create_rejects_bad_pin(void **state)
{
    struct vc_new n = { .pin = "12a456" };

    (void)state;
    assert_null(P->create(&n));
    n.pin = "12345";
    assert_null(P->create(&n));
    n.pin = "12345678901234567";
    assert_null(P->create(&n));
}

static void test_class_and_instruction(void **state)
{
    void *st = *state;

    assert_int_equal(x(st, "10A4040000").sw, 0x6884);
    assert_int_equal(x(st, "90CADF0308").sw, 0x6884);
    assert_int_equal(x(st, "84A4040000").sw, 0x6E00);
    assert_int_equal(x(st, "80A4040000").sw, 0x6E00);   /* ISO INS, CLA 80 */
    assert_int_equal(x(st, "00CADF0308").sw, 0x6E00);   /* GemSAFE INS, CLA 00 */
    assert_int_equal(x(st, "00FF000000").sw, 0x6D00);
    assert_int_equal(x(st, "002C000100").sw, 0x6D00);   /* no PUK on G */
    assert_int_equal(x(st, "00A404").sw, 0x6700);       /* truncated */
    assert_int_equal(x(st, "").sw, 0x6700);
    assert_int_equal(x(st, "00A4040005A000").sw, 0x6700);  /* Lc > data */
    assert_int_equal(x(st, "00A40400000005A000000018").sw, 0x6700); /* extended */
}

static void test_select(void **state)
{
    void *st = *state;
    struct r r;

    r = x(st, AID "00");
    assert_int_equal(r.sw, 0x9000);
    assert_int_equal(r.n, 0);
    assert_int_equal(x(st, "00A404000CA00000001800000001634200").sw, 0x6A82);
    assert_int_equal(x(st, "00A4080002 2F00 00").sw, 0x6A82);
    assert_int_equal(x(st, "00A4080C025015").sw, 0x6A82);
    assert_int_equal(x(st, "00A40800025031 00").sw, 0x6A82);
    assert_int_equal(x(st, "00A4070002160000").sw, 0x6A86);
    assert_int_equal(x(st, "00A4080102160000").sw, 0x6A86);
    assert_int_equal(x(st, "00A408000316000400").sw, 0x6700);
    /* EF: FCP with size 8000 and 82 01 01 */
    r = x(st, "00A408000416000004" "00");
    assert_int_equal(r.sw, 0x9000);
    assert_int_equal(r.d[0], 0x62);
    assert_memory_equal(r.d + 2, "\x80\x02\x1F\x40\x82\x01\x01", 7);
    /* DF: no tag 82 */
    r = x(st, "00A40800021600" "00");
    assert_int_equal(r.sw, 0x9000);
    assert_null(memchr(r.d + 2, 0x82, r.n - 2));
    /* P2 0C: no data; 3F00 prefix allowed */
    r = x(st, "00A4080C063F0016000004");
    assert_int_equal(r.sw, 0x9000);
    assert_int_equal(r.n, 0);
    /* by FID, step by step */
    assert_int_equal(x(st, "00A4000C023F00").sw, 0x9000);
    assert_int_equal(x(st, "00A4000C020004").sw, 0x6A82);
    assert_int_equal(x(st, "00A4000C021600").sw, 0x9000);
    assert_int_equal(x(st, "00A4000C020004").sw, 0x9000);
    assert_int_equal(x(st, "00A4000C03000400").sw, 0x6700);
    /* FCP requested without Le: 61 xx, then GET RESPONSE */
    r = x(st, "00A408000416000004");
    assert_int_equal(r.sw, 0x6110);
    r = x(st, "00C0000010");
    assert_int_equal(r.sw, 0x9000);
    assert_int_equal(r.n, 16);
    assert_int_equal(r.d[0], 0x62);
}

static void test_read_binary(void **state)
{
    void *st = *state;
    struct r r;

    assert_int_equal(x(st, "00B00000F8").sw, 0x6986);    /* no EF selected */
    assert_int_equal(x(st, SEL_EF).sw, 0x9000);
    r = x(st, "00B00000F8");
    assert_int_equal(r.sw, 0x9000);
    assert_int_equal(r.n, 248);
    assert_int_equal(r.d[0] << 8 | r.d[1], 110);        /* blank: header only */
    assert_memory_equal(r.d + 2, "\x01\xF0\x00\x00\x03\x00\x00\x00\x01\xF0", 10);
    r = x(st, "00B01F3614");                             /* 7990 + 20 > 8000 */
    assert_int_equal(r.sw, 0x6282);
    assert_int_equal(r.n, 10);
    r = x(st, "00B0000000");                             /* Le 00 = 256 */
    assert_int_equal(r.n, 256);
    assert_int_equal(x(st, "00B01F4001").sw, 0x6B00);
    assert_int_equal(x(st, "00B0810001").sw, 0x6A86);    /* SFI */
    assert_int_equal(x(st, "00B00000").sw, 0x6700);      /* no Le */
    assert_int_equal(x(st, "00B0000001AA").sw, 0x6700);  /* data */
}

static void test_get_data(void **state)
{
    void *st = *state;
    struct r r;

    r = x(st, "80CADF0308");
    assert_int_equal(r.sw, 0x9000);
    assert_int_equal(r.n, 8);
    assert_int_equal(x(st, "80CADF0305").sw, 0x6C08);
    r = x(st, "80CADF03");
    assert_int_equal(r.sw, 0x6108);
    r = x(st, "00C0000008");
    assert_int_equal(r.sw, 0x9000);
    assert_int_equal(r.n, 8);
    assert_int_equal(x(st, "00C0000008").sw, 0x6985);    /* nothing left */
    r = x(st, "80CA9F7F2D");
    assert_int_equal(r.sw, 0x9000);
    assert_int_equal(r.n, 45);
    assert_memory_equal(r.d, "\x9F\x7F\x2A", 3);
    /* serial 00..09 sits in CPLC bytes 8..17 */
    assert_memory_equal(r.d + 3 + 10, "\x02\x03\x04\x05\x06\x07\x08\x09", 8);
    assert_int_equal(x(st, "80CA9F7F00").sw, 0x9000);
    assert_int_equal(x(st, "80CA010108").sw, 0x6A88);
    assert_int_equal(x(st, "80CADF030101").sw, 0x6700);
    assert_int_equal(x(st, "00C0010008").sw, 0x6A86);
}

static void test_verify(void **state)
{
    void *st = *state;
    struct r r;

    assert_int_equal(x(st, "0020000100").sw, 0x6700);   /* Le on VERIFY */
    assert_int_equal(x(st, "00200001").sw, 0x63C3);
    r = x(st, PIN_BAD);
    assert_int_equal(r.sw, 0x63C2);
    assert_true(r.persist);
    assert_true(r.pin);
    assert_int_equal(x(st, "00200001").sw, 0x63C2);
    r = x(st, PIN_OK);
    assert_int_equal(r.sw, 0x9000);
    assert_true(r.persist);                  /* the counter went back to 3 */
    assert_int_equal(x(st, "00200001").sw, 0x9000);
    r = x(st, PIN_OK);
    assert_false(r.persist);                 /* nothing changed */
    r = x(st, "00200001071234 56FFFFFFFF");
    assert_int_equal(r.sw, 0x6700);
    assert_true(r.pin);
    assert_int_equal(x(st, "0020000208123456FFFFFFFFFF").sw, 0x6A86);
    assert_int_equal(x(st, "0020010108123456FFFFFFFFFF").sw, 0x6A86);
    /* blocked */
    assert_int_equal(x(st, PIN_BAD).sw, 0x63C2);
    assert_int_equal(x(st, PIN_BAD).sw, 0x63C1);
    assert_int_equal(x(st, PIN_BAD).sw, 0x63C0);
    assert_int_equal(x(st, PIN_BAD).sw, 0x6983);
    assert_int_equal(x(st, PIN_OK).sw, 0x6983);
    assert_int_equal(x(st, "00200001").sw, 0x6983);
    assert_int_equal(x(st, "00240001101234 56FFFFFFFFFF 654321FFFFFFFFFF").sw,
                     0x6983);
}

static void test_change_pin(void **state)
{
    void *st = *state;
    struct r r;

    r = x(st, "0024000110" "654321FFFFFFFFFF" "11223344FFFFFFFF");
    assert_int_equal(r.sw, 0x63C2);
    assert_true(r.pin);
    assert_int_equal(x(st, "0024000110" "123456FFFFFFFFFF" "1122F3FFFFFFFFFF").sw,
                     0x6A80);                        /* digit after padding */
    assert_int_equal(x(st, "0024000110" "123456FFFFFFFFFF" "12345FFFFFFFFFFF").sw,
                     0x6A80);                        /* 5 digits */
    assert_int_equal(x(st, "0024000110" "123456FFFFFFFFFF" "12A456FFFFFFFFFF").sw,
                     0x6A80);                        /* not a digit */
    assert_int_equal(x(st, "0024000108123456FFFFFFFFFF").sw, 0x6700);
    assert_int_equal(x(st, "0024000210" "123456FFFFFFFFFF" "11223344FFFFFFFF").sw,
                     0x6A86);
    r = x(st, "0024000110" "123456FFFFFFFFFF" "11223344FFFFFFFF");
    assert_int_equal(r.sw, 0x9000);
    assert_true(r.persist);
    P->reset(st);
    assert_int_equal(x(st, PIN_OK).sw, 0x63C2);
    assert_int_equal(x(st, "002000010811223344FFFFFFFF").sw, 0x9000);
    /* 16 digits, no padding at all */
    assert_int_equal(x(st, "0024000110" "11223344FFFFFFFF" "1234567890123456").sw,
                     0x9000);
    P->reset(st);
    assert_int_equal(x(st, "00200001081234567890123456").sw, 0x9000);
}

static void test_keygen_and_read_public(void **state)
{
    void *st = *state;
    struct r r, pub;

    assert_int_equal(x(st, "804600030491020400").sw, 0x6982);
    assert_int_equal(x(st, PIN_OK).sw, 0x9000);
    assert_int_equal(x(st, "804600030491020300").sw, 0x6A80);  /* 768 bits */
    assert_int_equal(x(st, "804600030492020400").sw, 0x6A80);  /* tag */
    assert_int_equal(x(st, "8046000303910204").sw, 0x6700);
    assert_int_equal(x(st, "804600020491020400").sw, 0x6A86);  /* ref 02 */
    assert_int_equal(x(st, "8046000F0491020400").sw, 0x6A86);  /* ref 0F */
    assert_int_equal(x(st, "804602030491020400").sw, 0x6A86);  /* P1 */
    assert_int_equal(x(st, "8046010300").sw, 0x6A88);          /* no key yet */
    r = x(st, "8046000E049102080000");
    assert_int_equal(r.sw, 0x9000);
    assert_int_equal(r.n, 256);
    assert_true(r.persist);
    assert_true(r.d[0] & 0x80);
    assert_int_equal(x(st, "8046000E0491020400").sw, 0x6A89);
    pub = x(st, "8046010E00");
    assert_int_equal(pub.sw, 0x9000);
    assert_memory_equal(pub.d, r.d, 256);
    assert_int_equal(x(st, "8046010E0100").sw, 0x6700);
    P->reset(st);                             /* public read needs no PIN */
    assert_int_equal(x(st, "8046010E00").sw, 0x9000);
}

static void test_delete_key(void **state)
{
    unsigned ref;
    void *st = with_key(state, &ref);
    struct r r;

    P->reset(st);
    assert_int_equal(x(st, "80E40003").sw, 0x6982);
    assert_int_equal(x(st, PIN_OK).sw, 0x9000);
    assert_int_equal(x(st, "80E40103").sw, 0x6A86);
    assert_int_equal(x(st, "80E40010").sw, 0x6A86);
    assert_int_equal(x(st, "80E4000300").sw, 0x6700);
    r = x(st, "80E40003");
    assert_int_equal(r.sw, 0x9000);
    assert_true(r.persist);
    assert_int_equal(x(st, "80E40003").sw, 0x6A88);
    assert_int_equal(x(st, "8046010300").sw, 0x6A88);
}

static EVP_PKEY *pub_of(void *st, const char *read)
{
    struct r r = x(st, read);
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    BIGNUM *n = BN_bin2bn(r.d, (int)r.n, NULL), *e = BN_new();
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    OSSL_PARAM *p;
    EVP_PKEY *k = NULL;

    BN_set_word(e, 65537);
    OSSL_PARAM_BLD_push_BN(b, "n", n);
    OSSL_PARAM_BLD_push_BN(b, "e", e);
    p = OSSL_PARAM_BLD_to_param(b);
    EVP_PKEY_fromdata_init(ctx);
    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, p);
    OSSL_PARAM_free(p);
    OSSL_PARAM_BLD_free(b);
    BN_free(n);
    BN_free(e);
    EVP_PKEY_CTX_free(ctx);
    assert_non_null(k);
    return k;
}

static void test_sign(void **state)
{
    static const char di[] =   /* SHA-1 DigestInfo of "abc" */
        "3021300906052B0E03021A05000414A9993E364706816ABA3E25717850C26C9CD0D89D";
    unsigned ref;
    void *st = with_key(state, &ref);
    char cmd[200];
    EVP_PKEY *pub = pub_of(st, "8046010300");
    EVP_PKEY_CTX *v;
    uint8_t dib[35];
    struct r r;

    unhex(di, dib);
    snprintf(cmd, sizeof cmd, "802A9EAC2590 23%s00", di);
    P->reset(st);
    assert_int_equal(x(st, cmd).sw, 0x6982);             /* no PIN */
    assert_int_equal(x(st, PIN_OK).sw, 0x9000);
    assert_int_equal(x(st, cmd).sw, 0x6985);             /* no MSE */
    assert_int_equal(x(st, "002241B606800112840104").sw, 0x6A88);
    assert_int_equal(x(st, "002241B606800112850103").sw, 0x6A80);
    assert_int_equal(x(st, "002241B6058001128401").sw, 0x6A80);
    assert_int_equal(x(st, "002242B606800112840103").sw, 0x6A86);
    assert_int_equal(x(st, "002241A406800112840103").sw, 0x6A86);
    assert_int_equal(x(st, "002241B6").sw, 0x6700);
    assert_int_equal(x(st, "002241B606800112840103").sw, 0x9000);
    r = x(st, cmd);
    assert_int_equal(r.sw, 0x9000);
    assert_int_equal(r.n, 128);
    v = EVP_PKEY_CTX_new(pub, NULL);
    assert_int_equal(EVP_PKEY_verify_init(v), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(v, RSA_PKCS1_PADDING), 1);
    assert_int_equal(EVP_PKEY_verify(v, r.d, r.n, dib, sizeof dib), 1);
    EVP_PKEY_CTX_free(v);
    /* 37-byte input: too long for this card */
    strcpy(cmd, "802A9EAC279025");
    for (int i = 0; i < 38; i++)
        strcat(cmd, "00");
    assert_int_equal(x(st, cmd).sw, 0x6700);
    assert_int_equal(x(st, "802A9EAC2591 23" "3021300906052B0E03021A05000414"
                           "A9993E364706816ABA3E25717850C26C9CD0D89D00").sw,
                     0x6A80);
    assert_int_equal(x(st, "802A9EAD0400000000").sw, 0x6A86);
    assert_int_equal(x(st, "802A9EAC00").sw, 0x6700);
    /* wrong Le for a 128-byte signature */
    snprintf(cmd, sizeof cmd, "802A9EAC259023%s10", di);
    assert_int_equal(x(st, cmd).sw, 0x6C80);
    /* a reset forgets the PIN and the security environment */
    P->reset(st);
    assert_int_equal(x(st, PIN_OK).sw, 0x9000);
    snprintf(cmd, sizeof cmd, "802A9EAC259023%s00", di);
    assert_int_equal(x(st, cmd).sw, 0x6985);
    EVP_PKEY_free(pub);
}

static void test_decipher(void **state)
{
    unsigned ref;
    void *st = with_key(state, &ref);
    EVP_PKEY *pub = pub_of(st, "8046010300");
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pub, NULL);
    uint8_t ct[128], apdu[6 + 128];
    size_t ctl = sizeof ct;
    struct r r;

    assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING), 1);
    assert_int_equal(EVP_PKEY_encrypt(c, ct, &ctl, (const uint8_t *)"secret", 6), 1);
    EVP_PKEY_CTX_free(c);
    memcpy(apdu, "\x80\x2A\x80\x84\x80", 5);
    memcpy(apdu + 5, ct, 128);
    apdu[133] = 0;
    assert_int_equal(raw(st, apdu, sizeof apdu).sw, 0x6985);
    assert_int_equal(x(st, "002241B806800112840103").sw, 0x9000);
    r = raw(st, apdu, sizeof apdu);
    assert_int_equal(r.sw, 0x9000);
    assert_int_equal(r.n, 6);
    assert_memory_equal(r.d, "secret", 6);
    apdu[133] = 0x80;                                /* Le is a bound */
    r = raw(st, apdu, sizeof apdu);
    assert_int_equal(r.sw, 0x9000);
    assert_int_equal(r.n, 6);
    apdu[133] = 0x04;                                /* too short */
    assert_int_equal(raw(st, apdu, sizeof apdu).sw, 0x6C06);
    r = raw(st, apdu, sizeof apdu - 1);              /* no Le: 61 06 */
    assert_int_equal(r.sw, 0x6106);
    r = x(st, "00C0000006");
    assert_memory_equal(r.d, "secret", 6);
    apdu[133] = 0;
    apdu[4] = 0x7F;                                  /* wrong length */
    assert_int_equal(raw(st, apdu, 5 + 0x7F).sw, 0x6700);
    apdu[4] = 0x80;
    apdu[10] ^= 0xFF;                                /* garbage */
    assert_int_equal(raw(st, apdu, sizeof apdu).sw, 0x6A80);
    P->reset(st);
    assert_int_equal(raw(st, apdu, sizeof apdu).sw, 0x6982);
    EVP_PKEY_free(pub);
}

static void test_update_binary(void **state)
{
    void *st = *state;
    struct r r;

    assert_int_equal(x(st, "00D6006E0101").sw, 0x6986);    /* no EF */
    assert_int_equal(x(st, SEL_EF).sw, 0x9000);
    assert_int_equal(x(st, "00D6006E0101").sw, 0x6982);    /* no PIN */
    assert_int_equal(x(st, PIN_OK).sw, 0x9000);
    r = x(st, "00D6006E03AABBCC");
    assert_int_equal(r.sw, 0x9000);
    assert_true(r.persist);
    r = x(st, "00B0006E03");
    assert_memory_equal(r.d, "\xAA\xBB\xCC", 3);
    assert_int_equal(x(st, "00D61F4001AA").sw, 0x6B00);
    assert_int_equal(x(st, "00D61F3E03AABBCC").sw, 0x6A84);
    assert_int_equal(x(st, "00D6006E").sw, 0x6700);
    assert_int_equal(x(st, "00D6006E01AA00").sw, 0x6700);
    assert_int_equal(x(st, "00D6810001AA").sw, 0x6A86);
}

static void test_save_load(void **state)
{
    unsigned ref;
    void *st = with_key(state, &ref), *st2;
    uint8_t *blob;
    size_t len;
    struct r a, b;

    assert_int_equal(x(st, SEL_EF).sw, 0x9000);
    assert_int_equal(x(st, "00D6006E02CAFE").sw, 0x9000);
    assert_int_equal(x(st, PIN_BAD).sw, 0x63C2);
    assert_int_equal(P->save(st, &blob, &len), 0);
    st2 = P->load(blob, len);
    assert_non_null(st2);
    a = x(st, "8046010300");
    b = x(st2, "8046010300");
    assert_memory_equal(a.d, b.d, 128);
    assert_int_equal(x(st2, "00200001").sw, 0x63C2);   /* tries kept */
    assert_int_equal(x(st2, "00D6006E01AA").sw, 0x6986); /* volatile reset */
    assert_int_equal(x(st2, SEL_EF).sw, 0x9000);
    assert_memory_equal(x(st2, "00B0006E02").d, "\xCA\xFE", 2);
    P->free(st2);
    /* every truncation and a bad version are refused */
    for (size_t cut = 0; cut < len; cut += len / 50 + 1)
        assert_null(P->load(blob, cut));
    assert_null(P->load(blob, len - 1));
    blob[0] = 9;
    assert_null(P->load(blob, len));
    free(blob);
}

static void test_perso_and_damage(void **state)
{
    void *st = *state;
    EVP_PKEY *pub = NULL, *ca = NULL;
    X509 *crt = X509_new();
    FILE *out = tmpfile();
    char text[2048] = "";

    assert_int_equal(P->perso_generate(st, "p256", &pub), -1);
    assert_int_equal(P->perso_generate(st, "rsa1024", &pub), 0);
    ca = EVP_RSA_gen(2048);
    X509_set_version(crt, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(crt), 7);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(crt), "CN", MBSTRING_ASC,
                               (const uint8_t *)"Holder Name", -1, -1, 0);
    X509_set_issuer_name(crt, X509_get_subject_name(crt));
    X509_gmtime_adj(X509_getm_notBefore(crt), 0);
    X509_gmtime_adj(X509_getm_notAfter(crt), 3600);
    X509_set_pubkey(crt, pub);
    assert_true(X509_sign(crt, ca, EVP_sha256()) > 0);
    assert_int_equal(P->perso_install_cert(st, crt), 0);
    P->info(st, out);
    rewind(out);
    assert_true(fread(text, 1, sizeof text - 1, out) > 0);
    fclose(out);
    assert_non_null(strstr(text, "containers 1\n"));
    assert_non_null(strstr(text, "container 03 rsa1024 key=yes cert=Holder Name"));
    assert_non_null(strstr(text, "pin_tries 3\n"));
    /* the table entry is allocated, the certificate at offset 110 */
    assert_int_equal(x(st, SEL_EF).sw, 0x9000);
    assert_memory_equal(x(st, "00B0000209").d, "\x01\xFE\x00\x00\x03\x04\x00\x00\x00", 9);
    assert_memory_equal(x(st, "00B0006E02").d, "\x30\x82", 2);
    assert_int_equal(P->damage(st, "dangling"), 0);
    assert_int_equal(x(st, "8046010300").sw, 0x6A88);
    assert_int_equal(P->damage(st, "bogus"), -1);
    assert_int_equal(P->damage(st, "mismatch"), -1);   /* no key left */
    assert_int_equal(P->damage(st, "empty"), 0);
    assert_int_equal(x(st, "00B0000003").d[2], 0x01);
    assert_memory_equal(x(st, "00B0000002").d, "\x00\x6E", 2);
    assert_int_equal(P->damage(st, "dangling"), -1);
    X509_free(crt);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(ca);
}

static void test_mismatch(void **state)
{
    void *st = *state;
    EVP_PKEY *pub = NULL, *ca = EVP_RSA_gen(2048);
    X509 *crt = X509_new();
    struct r before, after;

    assert_int_equal(P->perso_generate(st, "rsa1024", &pub), 0);
    X509_set_version(crt, 2);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(crt), "CN", MBSTRING_ASC,
                               (const uint8_t *)"H", -1, -1, 0);
    X509_set_issuer_name(crt, X509_get_subject_name(crt));
    X509_gmtime_adj(X509_getm_notBefore(crt), 0);
    X509_gmtime_adj(X509_getm_notAfter(crt), 3600);
    X509_set_pubkey(crt, pub);
    assert_true(X509_sign(crt, ca, EVP_sha256()) > 0);
    assert_int_equal(P->perso_install_cert(st, crt), 0);
    assert_int_equal(P->perso_install_cert(st, crt), 0);  /* idempotent */
    before = x(st, "8046010300");
    assert_int_equal(P->damage(st, "mismatch"), 0);
    after = x(st, "8046010300");
    assert_int_equal(after.sw, 0x9000);
    assert_memory_not_equal(before.d, after.d, 128);
    X509_free(crt);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(ca);
}

static void test_fuzz_never_crashes(void **state)
{
    void *st = *state;
    uint8_t a[300];

    srand(1);
    assert_int_equal(x(st, PIN_OK).sw, 0x9000);
    for (int i = 0; i < 20000; i++) {
        size_t len = (size_t)rand() % sizeof a;
        for (size_t k = 0; k < len; k++)
            a[k] = (uint8_t)rand();
        if (len > 1 && i % 2)
            a[0] = i % 4 ? 0x00 : 0x80;
        if (len > 1 && a[1] == 0x46)
            a[1] = 0x47;        /* keep key generation out: slow */
        raw(st, a, len);
    }
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_create_rejects_bad_pin),
        cmocka_unit_test_setup_teardown(test_class_and_instruction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_select, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_binary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_pin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keygen_and_read_public, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sign, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decipher, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_binary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_perso_and_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fuzz_never_crashes, setup, teardown),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}
