/* test_card_o.c: profile O's driver, every op, against a scripted card. */
#include "tests/unit/scripted_card.h"
#include "tests/unit/card_tx.h"
#include "card/pkcs15.h"
#include "card/tlv.h"

#include <openssl/sha.h>

#define O_ATR "3B DD 18 00 81 31 FE 45 80 F9 A0 00 00 00 77 01 08 00 07 90 00 FE"
#define AWP "00 A4 04 00 0D E8 28 BD 08 0F F2 50 4F 54 20 41 57 50 00"

static uint8_t mod[256], ecpt[65];
static uint8_t rsa_id[20], ec_id[20];

/* An EF as the card gives it: select with an FCP, then READ BINARY. */
static void expect_ef(uint16_t fid, const uint8_t *data, size_t len)
{
    uint8_t sel[] = { 0x00, 0xA4, 0x01, 0x04, 0x02, (uint8_t)(fid >> 8), (uint8_t)fid, 0x00 };
    uint8_t fcp[] = { 0x62, 0x04, 0x80, 0x02, (uint8_t)(len >> 8), (uint8_t)len };
    sc_expect_bin(sel, sizeof(sel), fcp, sizeof(fcp), 0x9000);
    for (size_t have = 0; have < len;) {
        size_t want = len - have < 256 ? len - have : 256;
        uint8_t rd[] = { 0x00, 0xB0, (uint8_t)(have >> 8), (uint8_t)have, (uint8_t)want };
        sc_expect_bin(rd, 5, data + have, want, 0x9000);
        have += want;
    }
}

/* A directory file as the driver reads it: chunks up to the padding
 * after its last entry (or its end). */
static void expect_df(uint16_t fid, const uint8_t *data, size_t len)
{
    const uint8_t *p = data, *end = data + len;
    struct card_tlv t;
    while (card_tlv_next(&p, end, &t) == CARD_OK)
        ;
    size_t used = (size_t)(p - data);
    uint8_t sel[] = { 0x00, 0xA4, 0x01, 0x04, 0x02, (uint8_t)(fid >> 8), (uint8_t)fid, 0x00 };
    uint8_t fcp[] = { 0x62, 0x04, 0x80, 0x02, (uint8_t)(len >> 8), (uint8_t)len };
    sc_expect_bin(sel, sizeof(sel), fcp, sizeof(fcp), 0x9000);
    for (size_t have = 0; have < len && (have <= used || have == 0);) {
        size_t want = len - have < 256 ? len - have : 256;
        uint8_t rd[] = { 0x00, 0xB0, (uint8_t)(have >> 8), (uint8_t)have, (uint8_t)want };
        sc_expect_bin(rd, 5, data + have, want, 0x9000);
        have += want;
    }
}

static size_t enc_df(const struct card_p15_obj *o, size_t n, uint8_t *buf)
{
    memset(buf, 0, 960);
    size_t used = 0;
    for (size_t i = 0; i < n; i++)
        used += card_p15_encode(&o[i], buf + used, 960 - used);
    return 960;
}

static void key_obj(struct card_p15_obj *o, enum card_p15_kind kind, bool ec, int ref)
{
    memset(o, 0, sizeof(*o));
    o->kind = kind;
    o->ec = ec;
    strcpy(o->label, ec ? "EC key" : "Signing");
    memcpy(o->id, ec ? ec_id : rsa_id, 20);
    o->id_len = 20;
    o->key_ref = ref;
    o->bits = ec ? 0 : 2048;
    o->usage = kind == P15_PRKEY ? P15_USAGE_SIGN | P15_USAGE_DECRYPT : P15_USAGE_VERIFY;
}

static uint8_t odf[128], prkdf[960], pukdf[960], cdf[960], cert[300];
static size_t odf_len;

static void build_card(void)
{
    memset(mod, 0xB1, sizeof(mod));
    ecpt[0] = 0x04;
    memset(ecpt + 1, 0xEC, 64);
    SHA1(mod, sizeof(mod), rsa_id);
    SHA1(ecpt, sizeof(ecpt), ec_id);
    struct card_p15_odf od = { 0 };
    memcpy(od.prkdf, "\x70\x02", 2); od.prkdf_len = 2;
    memcpy(od.pukdf, "\x70\x04", 2); od.pukdf_len = 2;
    memcpy(od.cdf, "\x70\x05", 2); od.cdf_len = 2;
    memcpy(od.aodf, "\x70\x01", 2); od.aodf_len = 2;
    odf_len = card_p15_encode_odf(&od, odf, sizeof(odf));
    struct card_p15_obj o[2];
    key_obj(&o[0], P15_PRKEY, false, 0x81);
    key_obj(&o[1], P15_PRKEY, true, 0x82);      /* pending: no certificate */
    enc_df(o, 2, prkdf);
    key_obj(&o[0], P15_PUBKEY, false, 0x81);
    key_obj(&o[1], P15_PUBKEY, true, 0x82);
    enc_df(o, 2, pukdf);
    memset(&o[0], 0, sizeof(o[0]));
    o[0].kind = P15_CERT;
    strcpy(o[0].label, "Alice");
    memcpy(o[0].id, rsa_id, 20);
    o[0].id_len = 20;
    memcpy(o[0].path, "\x34\x01", 2);
    o[0].path_len = 2;
    o[0].key_ref = -1;
    enc_df(o, 1, cdf);
    cert[0] = 0x30;
    cert[1] = 0x82;
    cert[2] = 0x01;
    cert[3] = 0x28;
    memset(cert + 4, 0x77, sizeof(cert) - 4);
}

static const uint8_t aodf[] = {
    0x30, 0x2B,
      0x30, 0x0A, 0x0C, 0x04, 'U', 'S', 'E', 'R', 0x03, 0x02, 0x06, 0xC0,
      0x30, 0x03, 0x04, 0x01, 0x01,
      0xA1, 0x18, 0x30, 0x16,
        0x03, 0x02, 0x02, 0x0C, 0x0A, 0x01, 0x01,
        0x02, 0x01, 0x04, 0x02, 0x01, 0x08, 0x02, 0x01, 0x08,
        0x80, 0x01, 0x81, 0x04, 0x01, 0xFF,
};

static void expect_init(void)
{
    sc_expect("00 A4 00 0C 02 3F 00", "90 00");
    static const uint8_t atr[] = { 0xE0, 0x10, 0x02, 0x02, 0x04, 0x05, 0x02, 0x02, 0x04,
                                   0x05, 0x02, 0x02, 0x04, 0x00, 0x02, 0x02, 0x04, 0x00 };
    expect_ef(0x2F01, atr, sizeof(atr));
    sc_expect("00 B0 9C 00 00",
              "5A 0A 00 01 02 03 04 05 06 07 08 09 90 00");
    sc_expect(AWP, "90 00");
    struct card_p15_tokeninfo ti = { 0 };
    ti.serial_len = 8;
    strcpy(ti.label, "DR ALICE EXAMPLE");
    uint8_t b[128];
    size_t n = card_p15_encode_tokeninfo(&ti, b, sizeof(b));
    expect_ef(0x5032, b, n);
    expect_ef(0x5031, odf, odf_len);
    expect_ef(0x7001, aodf, sizeof(aodf));
}

static struct card_ctx *ctx;

static struct card *open_o(void)
{
    sc_reset(O_ATR);
    build_card();
    expect_init();
    assert_int_equal(card_ctx_new(&sc_ops, &ctx), CARD_OK);
    struct card *c = NULL;
    assert_int_equal(card_open(ctx, "Scripted Reader 0", &c), CARD_OK);
    sc_done();
    return c;
}

static void close_o(struct card *c)
{
    sc_done();
    card_close(c);
    card_ctx_free(ctx);
}

/* The directory as the writers read it (the ODF was read by init). */
static void expect_dir(void)
{
    sc_expect(AWP, "90 00");
    expect_df(0x7002, prkdf, 960);
    expect_df(0x7004, pukdf, 960);
    expect_df(0x7005, cdf, 960);
}

/* ... and as reading the objects does: no public keys' directory. */
static void expect_dir_objects(void)
{
    sc_expect(AWP, "90 00");
    expect_df(0x7002, prkdf, 960);
    expect_df(0x7005, cdf, 960);
}

static void expect_pub_rsa(unsigned ref)
{
    uint8_t cmd[] = { 0x00, 0xCB, 0x3F, 0xFF, 0x0B, 0x4D, 0x09, 0x70, 0x07, 0xBF, 0xA0,
                      (uint8_t)ref, 0x03, 0x7F, 0x49, 0x80, 0x00 };
    uint8_t r[5 + 4 + 256 + 5] = { 0x7F, 0x49, 0x82, 0x01, 0x09, 0x81, 0x82, 0x01, 0x00 };
    memcpy(r + 9, mod, 256);
    memcpy(r + 265, "\x82\x03\x01\x00\x01", 5);
    sc_expect_bin(cmd, sizeof(cmd), r, 270, 0x9000);
}

static void expect_pub_ec(unsigned ref)
{
    uint8_t cmd[] = { 0x00, 0xCB, 0x3F, 0xFF, 0x0B, 0x4D, 0x09, 0x70, 0x07, 0xBF, 0xA0,
                      (uint8_t)ref, 0x03, 0x7F, 0x49, 0x80, 0x00 };
    uint8_t r[5 + 65] = { 0x7F, 0x49, 0x43, 0x86, 0x41 };
    memcpy(r + 5, ecpt, 65);
    sc_expect_bin(cmd, sizeof(cmd), r, sizeof(r), 0x9000);
}

static void test_open_info(void **state)
{
    (void)state;
    struct card *c = open_o();
    const struct card_info *i = card_get_info(c);
    assert_string_equal(card_get_driver(c)->name, "O");
    assert_string_equal(i->serial, "0203040506070809");
    assert_string_equal(i->label, "DR ALICE EXAMPLE");
    assert_int_equal(i->pin_min, 4);
    assert_int_equal(i->pin_max, 8);
    assert_true(i->has_ec && i->has_pss && i->has_sha2 && i->has_puk);
    expect_init();
    assert_int_equal(card_logout(c), CARD_OK);
    assert_int_equal(sc.resets, 1);
    close_o(c);
}

static void test_read_objects(void **state)
{
    (void)state;
    struct card *c = open_o();
    /* The certificate, then the key, read from the card whatever the
     * certificate says. */
    expect_dir_objects();
    expect_ef(0x3401, cert, sizeof(cert));
    expect_pub_rsa(1);
    expect_pub_ec(2);
    struct card_objects o;
    assert_int_equal(card_read_objects(c, &o), CARD_OK);
    assert_int_equal(o.n, 2);
    assert_memory_equal(o.c[0].id, rsa_id, 20);
    assert_int_equal(o.c[0].ref, 1);
    assert_int_equal(o.c[0].bits, 2048);
    assert_int_equal(o.c[0].cert_len, sizeof(cert));
    assert_string_equal(o.c[0].label, "Alice");
    assert_true(o.c[0].can_sign && o.c[0].can_decrypt);
    assert_int_equal(o.c[1].type, CARD_KEY_EC_P256);
    assert_memory_equal(o.c[1].id, ec_id, 20);
    assert_null(o.c[1].cert);
    card_objects_clear(&o);
    /* A directory entry whose key or certificate file is gone. */
    expect_dir_objects();
    expect_ef(0x3401, cert, sizeof(cert));
    sc_expect_prefix("00 CB 3F FF 0B 4D 09 70 07 BF A0 01", "6A 88");
    expect_pub_ec(2);
    assert_int_equal(card_read_objects(c, &o), CARD_OK);
    assert_int_equal(o.n, 1);
    assert_int_equal(o.c[0].type, CARD_KEY_EC_P256);
    card_objects_clear(&o);
    expect_dir_objects();
    sc_expect("00 A4 01 04 02 34 01 00", "6A 82");
    expect_pub_rsa(1);
    expect_pub_ec(2);
    assert_int_equal(card_read_objects(c, &o), CARD_OK);
    assert_int_equal(o.n, 2);
    assert_null(o.c[0].cert);
    card_objects_clear(&o);
    /* A truncated PrKDF entry. */
    prkdf[5] = 0x7F;
    sc_expect(AWP, "90 00");
    expect_df(0x7002, prkdf, 960);
    assert_int_equal(card_read_objects(c, &o), CARD_E_BAD_RESPONSE);
    build_card();
    /* A public key answer with no 7F49. */
    expect_dir_objects();
    expect_ef(0x3401, cert, sizeof(cert));
    sc_expect_prefix("00 CB 3F FF", "7F 48 00 90 00");
    assert_int_equal(card_read_objects(c, &o), CARD_E_BAD_RESPONSE);
    /* A key reference out of range. */
    struct card_p15_obj k;
    key_obj(&k, P15_PRKEY, false, 0x9F);
    enc_df(&k, 1, prkdf);
    expect_dir_objects();
    assert_int_equal(card_read_objects(c, &o), CARD_E_BAD_RESPONSE);
    build_card();
    /* The ODF is read once per connect; where init could not read it
     * (as here), with the objects. Missing: the card is not what it
     * claims. */
    c->have_dirs = false;
    sc_expect(AWP, "90 00");
    sc_expect("00 A4 01 04 02 50 31 00", "6A 82");
    assert_int_equal(card_read_objects(c, &o), CARD_E_NOT_FOUND);
    /* A one-byte answer. */
    sc_expect(AWP, "90");
    assert_int_equal(card_read_objects(c, &o), CARD_E_COMM);
    close_o(c);
}

static void test_pin(void **state)
{
    (void)state;
    struct card *c = open_o();
    int tries;
    sc_expect(AWP, "90 00");
    sc_expect("00 20 00 81", "63 C2");
    assert_int_equal(card_pin_status(c, &tries), CARD_OK);
    assert_int_equal(tries, 2);
    sc_expect(AWP, "90 00");
    sc_expect("00 20 00 81 08 31 32 33 34 FF FF FF FF", "63 C2");
    assert_int_equal(card_pin_verify(c, "1234", 4), CARD_E_PIN_INCORRECT);
    sc_expect(AWP, "90 00");
    sc_expect("00 20 00 81 08 31 32 33 34 35 36 37 38", "90 00");
    assert_int_equal(card_pin_verify(c, "12345678", 8), CARD_OK);
    sc_expect(AWP, "90 00");
    sc_expect("00 20 00 81 08 31 32 33 34 FF FF FF FF", "69 83");
    assert_int_equal(card_pin_verify(c, "1234", 4), CARD_E_PIN_LOCKED);
    sc_expect(AWP, "90 00");
    sc_expect("00 20 00 81", "69 83");
    assert_int_equal(card_pin_status(c, &tries), CARD_OK);
    assert_int_equal(tries, -1);
    sc_expect(AWP, "90 00");
    assert_int_equal(card_pin_verify(c, "123", 3), CARD_E_PIN_LEN);
    sc_expect(AWP, "90 00");
    sc_expect("00 24 00 81 10 31 32 33 34 FF FF FF FF 39 38 37 36 35 FF FF FF", "90 00");
    assert_int_equal(card_pin_change(c, "1234", 4, "98765", 5), CARD_OK);
    sc_expect(AWP, "90 00");
    sc_expect("00 20 00 84 08 31 31 31 31 31 31 31 31", "90 00");
    sc_expect("00 2C 02 81 08 34 33 32 31 FF FF FF FF", "90 00");
    assert_int_equal(card_pin_unblock(c, "11111111", 8, "4321", 4), CARD_OK);
    sc_expect(AWP, "90 00");
    sc_expect("00 20 00 84 08 31 31 31 31 31 31 31 31", "63 C0");
    assert_int_equal(card_pin_unblock(c, "11111111", 8, "4321", 4), CARD_E_PIN_LOCKED);
    close_o(c);
}

static void rsa_key(struct card_container *k)
{
    memset(k, 0, sizeof(*k));
    k->ref = 1;
    k->type = CARD_KEY_RSA;
    k->bits = 2048;
    k->modulus = mod;
    k->modulus_len = 256;
}

static void test_sign(void **state)
{
    (void)state;
    struct card *c = open_o();
    struct card_container k;
    rsa_key(&k);
    uint8_t di[51], sig[256], out[256];
    sc_hex("30 31 30 0D 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20", di, 19);
    memset(di + 19, 0xAB, 32);
    memset(sig, 0x5A, sizeof(sig));
    size_t n = sizeof(out);
    sc_expect(AWP, "90 00");
    sc_expect("00 22 41 B6 06 84 01 81 80 01 12", "90 00");
    uint8_t pso[5 + 51 + 1] = { 0x00, 0x2A, 0x9E, 0x9A, 51 };
    memcpy(pso + 5, di, 51);
    sc_expect_bin(pso, sizeof(pso), sig, 256, 0x9000);
    assert_int_equal(card_sign(c, &k, CARD_SIGN_RSA_PKCS1, di, 51, out, &n), CARD_OK);
    assert_int_equal(n, 256);
    /* PSS over a SHA-256 hash. */
    sc_expect(AWP, "90 00");
    sc_expect("00 22 41 B6 06 84 01 81 80 01 32", "90 00");
    sc_expect_prefix("00 2A 9E 9A 20 AB", "");
    sc.steps[sc.n - 1].resp_len = 0;
    memcpy(sc.steps[sc.n - 1].resp, sig, 256);
    sc.steps[sc.n - 1].resp[256] = 0x90;
    sc.steps[sc.n - 1].resp[257] = 0x00;
    sc.steps[sc.n - 1].resp_len = 258;
    n = sizeof(out);
    assert_int_equal(card_sign(c, &k, CARD_SIGN_RSA_PSS, di + 19, 32, out, &n), CARD_OK);
    /* Raw PKCS#1 goes by INTERNAL AUTHENTICATE; the answer in 61 xx parts. */
    uint8_t raw[36];
    memset(raw, 0x42, sizeof(raw));
    sc_expect(AWP, "90 00");
    sc_expect("00 22 41 A4 06 84 01 81 80 01 02", "90 00");
    uint8_t ia[5 + 36 + 1] = { 0x00, 0x88, 0x00, 0x00, 36 };
    memcpy(ia + 5, raw, 36);
    sc_expect_bin(ia, sizeof(ia), sig, 200, 0x6138);
    sc_expect_data("00 C0 00 00 38", sig + 200, 56, 0x9000);
    n = sizeof(out);
    assert_int_equal(card_sign(c, &k, CARD_SIGN_RSA_PKCS1, raw, 36, out, &n), CARD_OK);
    assert_int_equal(n, 256);
    /* Not logged in. */
    sc_expect(AWP, "90 00");
    sc_expect("00 22 41 B6 06 84 01 81 80 01 12", "90 00");
    sc_expect_bin(pso, sizeof(pso), NULL, 0, 0x6982);
    assert_int_equal(card_sign(c, &k, CARD_SIGN_RSA_PKCS1, di, 51, out, &n), CARD_E_SECURITY);
    /* ECDSA: r || s. */
    struct card_container e = { .ref = 2, .type = CARD_KEY_EC_P256, .bits = 256 };
    sc_expect(AWP, "90 00");
    sc_expect("00 22 41 B6 06 84 01 82 80 01 44", "90 00");
    sc_expect_prefix("00 2A 9E 9A 20", "");
    memcpy(sc.steps[sc.n - 1].resp, sig, 64);
    sc.steps[sc.n - 1].resp[64] = 0x90;
    sc.steps[sc.n - 1].resp[65] = 0x00;
    sc.steps[sc.n - 1].resp_len = 66;
    n = sizeof(out);
    assert_int_equal(card_sign(c, &e, CARD_SIGN_ECDSA, di + 19, 32, out, &n), CARD_OK);
    assert_int_equal(n, 64);
    /* Wrong combinations never reach the card. */
    assert_int_equal(card_sign(c, &e, CARD_SIGN_RSA_PKCS1, di, 51, out, &n), CARD_E_ARGS);
    assert_int_equal(card_sign(c, &k, CARD_SIGN_RSA_PSS, di, 33, out, &n), CARD_E_ARGS);
    close_o(c);
}

static void test_decrypt(void **state)
{
    (void)state;
    struct card *c = open_o();
    struct card_container k;
    rsa_key(&k);
    uint8_t ct[256], out[256];
    memset(ct, 0x3C, sizeof(ct));
    sc_expect(AWP, "90 00");
    sc_expect("00 22 41 B8 06 84 01 81 80 01 1A", "90 00");
    /* 81 || cryptogram = 257 bytes: two short APDUs, chained. */
    uint8_t first[5 + 255] = { 0x10, 0x2A, 0x80, 0x86, 0xFF, 0x81 };
    memcpy(first + 6, ct, 254);
    sc_expect_bin(first, sizeof(first), NULL, 0, 0x9000);
    uint8_t last[5 + 2 + 1] = { 0x00, 0x2A, 0x80, 0x86, 0x02, 0x3C, 0x3C, 0x00 };
    sc_expect_bin(last, sizeof(last), (const uint8_t *)"key", 3, 0x9000);
    size_t n = sizeof(out);
    assert_int_equal(card_decrypt(c, &k, ct, sizeof(ct), out, &n), CARD_OK);
    assert_int_equal(n, 3);
    /* Padding wrong inside the card. */
    sc_expect(AWP, "90 00");
    sc_expect("00 22 41 B8 06 84 01 81 80 01 1A", "90 00");
    sc_expect_bin(first, sizeof(first), NULL, 0, 0x9000);
    sc_expect_bin(last, sizeof(last), NULL, 0, 0x6A80);
    n = sizeof(out);
    assert_int_equal(card_decrypt(c, &k, ct, sizeof(ct), out, &n), CARD_E_ARGS);
    assert_int_equal(card_decrypt(c, &k, ct, 100, out, &n), CARD_E_ARGS);
    close_o(c);
}

static void test_generate(void **state)
{
    (void)state;
    struct card *c = open_o();
    expect_dir();
    /* 01 and 02 are named; 03 holds a stray key; 04 is free. */
    sc_expect("00 DB 3F FF 0E 70 0C BF A0 03 08 7F 49 05 82 03 01 00 01", "90 00");
    sc_expect("00 47 00 00 05 70 03 BF 90 03", "6A 89");
    sc_expect("00 DB 3F FF 0E 70 0C BF A0 04 08 7F 49 05 82 03 01 00 01", "90 00");
    sc_expect("00 47 00 00 05 70 03 BF 90 04", "90 00");
    memset(mod, 0xD4, sizeof(mod));
    expect_pub_rsa(4);
    sc_expect_prefix("00 D6 00 00 00 03 C0", "90 00");     /* PrKDF */
    sc_expect_prefix("00 D6 00 00 00 03 C0", "90 00");     /* PuKDF */
    /* Those writes select their EF first. */
    sc.n -= 2;
    uint8_t fcp[] = { 0x62, 0x04, 0x80, 0x02, 0x03, 0xC0 };
    sc_expect_data("00 A4 01 04 02 70 02 00", fcp, sizeof(fcp), 0x9000);
    sc_expect_prefix("00 D6 00 00 00 03 C0", "90 00");
    sc_expect_data("00 A4 01 04 02 70 04 00", fcp, sizeof(fcp), 0x9000);
    sc_expect_prefix("00 D6 00 00 00 03 C0", "90 00");
    struct card_container k;
    assert_int_equal(card_generate_key(c, CARD_KEY_RSA, 2048, &k), CARD_OK);
    assert_int_equal(k.ref, 4);
    uint8_t id[20];
    SHA1(mod, sizeof(mod), id);
    assert_memory_equal(k.id, id, 20);
    assert_null(k.cert);
    card_container_clear(&k);
    /* The PrKDF has no room: the new key is taken back. */
    build_card();
    expect_dir();
    sc_expect("00 DB 3F FF 0E 70 0C BF A0 03 08 7F 49 05 82 03 01 00 01", "90 00");
    sc_expect("00 47 00 00 05 70 03 BF 90 03", "90 00");
    expect_pub_rsa(3);
    sc_expect_data("00 A4 01 04 02 70 02 00", fcp, sizeof(fcp), 0x9000);
    sc_expect_prefix("00 D6 00 00 00 03 C0", "6A 84");
    sc_expect("00 DB 3F FF 06 70 04 BF 90 03 00", "90 00");
    sc_expect("00 DB 3F FF 06 70 04 BF A0 03 00", "90 00");
    assert_int_equal(card_generate_key(c, CARD_KEY_RSA, 2048, &k), CARD_E_CARD_FULL);
    /* The card is full. */
    build_card();
    expect_dir();
    sc_expect("00 DB 3F FF 13 70 11 BF A0 03 0D 7F 49 0A 06 08 2A 86 48 CE 3D 03 01 07", "90 00");
    sc_expect("00 47 00 00 05 70 03 BF 90 03", "6A 84");
    assert_int_equal(card_generate_key(c, CARD_KEY_EC_P256, 256, &k), CARD_E_CARD_FULL);
    /* Not logged in. */
    expect_dir();
    sc_expect("00 DB 3F FF 0E 70 0C BF A0 03 08 7F 49 05 82 03 01 00 01", "69 82");
    assert_int_equal(card_generate_key(c, CARD_KEY_RSA, 2048, &k), CARD_E_SECURITY);
    assert_int_equal(card_generate_key(c, CARD_KEY_RSA, 1024, &k), CARD_E_ARGS);
    close_o(c);
}

static void test_write_delete(void **state)
{
    (void)state;
    struct card *c = open_o();
    uint8_t fcp[] = { 0x62, 0x04, 0x80, 0x02, 0x03, 0xC0 };
    /* The pending EC key (02) gets its certificate. */
    expect_dir();
    sc_expect("00 E4 00 00 02 34 02", "6A 82");
    sc_expect("00 E0 00 00 0A 62 08 83 02 34 02 80 02 01 2C", "90 00");
    sc_expect("00 A4 01 04 02 34 02 00", "62 04 80 02 01 2C 90 00");
    uint8_t up[7 + 300] = { 0x00, 0xD6, 0x00, 0x00, 0x00, 0x01, 0x2C };
    memcpy(up + 7, cert, 300);
    sc_expect_bin(up, sizeof(up), NULL, 0, 0x9000);
    sc_expect_data("00 A4 01 04 02 70 05 00", fcp, sizeof(fcp), 0x9000);
    sc_expect_prefix("00 D6 00 00 00 03 C0", "90 00");
    assert_int_equal(card_write_cert(c, ec_id, 20, cert, sizeof(cert), "New"), CARD_OK);
    /* The CDF now lists both certificates. */
    struct card_p15_obj got[4];
    size_t n = 0;
    assert_int_equal(sc.last_len, 7 + 960);
    assert_int_equal(card_p15_decode(P15_CERT, sc.last + 7, 960, got, 4, &n), CARD_OK);
    assert_int_equal(n, 2);
    assert_memory_equal(got[1].id, ec_id, 20);
    assert_string_equal(got[1].label, "New");
    assert_memory_equal(got[1].path, "\x34\x02", 2);
    /* Already has one. */
    expect_dir();
    sc_expect("00 A4 01 04 02 34 01 00", "62 04 80 02 01 2C 90 00");
    assert_int_equal(card_write_cert(c, rsa_id, 20, cert, sizeof(cert), NULL), CARD_E_ARGS);
    /* Its CDF entry names a file that is gone: the entry is replaced. */
    expect_dir();
    sc_expect("00 A4 01 04 02 34 01 00", "6A 82");
    sc_expect("00 E4 00 00 02 34 01", "6A 82");
    sc_expect("00 E0 00 00 0A 62 08 83 02 34 01 80 02 01 2C", "90 00");
    sc_expect("00 A4 01 04 02 34 01 00", "62 04 80 02 01 2C 90 00");
    memcpy(up + 7, cert, 300);
    sc_expect_bin(up, sizeof(up), NULL, 0, 0x9000);
    sc_expect_data("00 A4 01 04 02 70 05 00", fcp, sizeof(fcp), 0x9000);
    sc_expect_prefix("00 D6 00 00 00 03 C0", "90 00");
    assert_int_equal(card_write_cert(c, rsa_id, 20, cert, sizeof(cert), NULL), CARD_OK);
    assert_int_equal(card_p15_decode(P15_CERT, sc.last + 7, 960, got, 4, &n), CARD_OK);
    assert_int_equal(n, 1);
    /* The card is full: nothing committed. */
    expect_dir();
    sc_expect("00 E4 00 00 02 34 02", "6A 82");
    sc_expect("00 E0 00 00 0A 62 08 83 02 34 02 80 02 01 2C", "6A 84");
    assert_int_equal(card_write_cert(c, ec_id, 20, cert, sizeof(cert), NULL),
                     CARD_E_CARD_FULL);
    /* Delete the certificate: the CDF write first, then the file. */
    expect_dir();
    sc_expect_data("00 A4 01 04 02 70 05 00", fcp, sizeof(fcp), 0x9000);
    sc_expect_prefix("00 D6 00 00 00 03 C0 00 00", "90 00");
    sc_expect("00 E4 00 00 02 34 01", "90 00");
    assert_int_equal(card_delete_cert(c, rsa_id, 20), CARD_OK);
    expect_dir();
    uint8_t none[20] = { 0 };
    assert_int_equal(card_delete_cert(c, none, 20), CARD_E_NOT_FOUND);
    /* Delete the key with its certificate: the directory read once. */
    expect_dir();
    sc_expect_data("00 A4 01 04 02 70 05 00", fcp, sizeof(fcp), 0x9000);
    sc_expect_prefix("00 D6 00 00 00 03 C0", "90 00");
    sc_expect("00 E4 00 00 02 34 01", "6A 82");
    sc_expect_data("00 A4 01 04 02 70 02 00", fcp, sizeof(fcp), 0x9000);
    sc_expect_prefix("00 D6 00 00 00 03 C0", "90 00");
    sc_expect_data("00 A4 01 04 02 70 04 00", fcp, sizeof(fcp), 0x9000);
    sc_expect_prefix("00 D6 00 00 00 03 C0", "90 00");
    sc_expect("00 DB 3F FF 06 70 04 BF 90 01 00", "90 00");
    sc_expect("00 DB 3F FF 06 70 04 BF A0 01 00", "90 00");
    assert_int_equal(card_delete_key(c, rsa_id, 20), CARD_OK);
    close_o(c);
}

static void test_change_counter(void **state)
{
    (void)state;
    struct card *c = open_o();
    uint64_t v = 0;
    sc_expect(AWP, "90 00");
    expect_ef(0x5034, (const uint8_t *)"\x00\x00\x01\x02", 4);
    assert_int_equal(card_change_counter(c, &v), CARD_OK);
    assert_int_equal(v, 0x102);
    sc_expect(AWP, "90 00");
    expect_ef(0x5034, (const uint8_t *)"\x00\x01", 2);
    assert_int_equal(card_change_counter(c, &v), CARD_E_BAD_RESPONSE);
    /* In one transaction the application stays selected: the objects
     * read after the counter need no second SELECT. */
    sc_expect(AWP, "90 00");
    expect_ef(0x5034, (const uint8_t *)"\x00\x00\x01\x02", 4);
    assert_int_equal(card_change_counter(c, &v), CARD_OK);
    expect_df(0x7002, prkdf, 960);
    expect_df(0x7005, cdf, 960);
    expect_ef(0x3401, cert, sizeof(cert));
    expect_pub_rsa(1);
    expect_pub_ec(2);
    struct card_objects o;
    assert_int_equal((card_read_objects)(c, &o), CARD_OK);     /* no new transaction */
    assert_int_equal(o.n, 2);
    card_objects_clear(&o);
    close_o(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_info),
        cmocka_unit_test(test_read_objects),
        cmocka_unit_test(test_pin),
        cmocka_unit_test(test_sign),
        cmocka_unit_test(test_decrypt),
        cmocka_unit_test(test_generate),
        cmocka_unit_test(test_write_delete),
        cmocka_unit_test(test_change_counter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
