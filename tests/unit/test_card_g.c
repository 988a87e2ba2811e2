/* test_card_g.c: profile G's driver, every op, against a scripted card. */
#include "tests/unit/scripted_card.h"
#include "tests/unit/card_tx.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#define G_ATR "3B F9 18 00 00 81 31 FE 45 4A 43 4F 50 34 31 56 32 32 AF"
#define HDR 110

static uint8_t *cert_der;
static size_t cert_len;
static uint8_t cert_mod[256];
static size_t cert_mod_len;

/* The object store as the card holds it. */
static uint8_t img[8000];
static size_t img_used;

static int make_cert(void **state)
{
    (void)state;
    EVP_PKEY *k = EVP_RSA_gen(1024);
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"Alice Example", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, k);
    X509_sign(x, k, EVP_sha256());
    cert_der = NULL;
    cert_len = (size_t)i2d_X509(x, &cert_der);
    BIGNUM *n = NULL;
    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n);
    cert_mod_len = (size_t)BN_bn2bin(n, cert_mod);
    BN_free(n);
    X509_free(x);
    EVP_PKEY_free(k);
    return cert_len > 256 ? 0 : -1;
}

static int free_cert(void **state)
{
    (void)state;
    OPENSSL_free(cert_der);
    return 0;
}

/* A card with one credential at ref 03 and eleven free containers. */
static void img_default(void)
{
    memset(img, 0, sizeof(img));
    size_t p = 2;
    const uint8_t alloc[] = { 0x01, 0xFE, 0x00, 0x00, 0x03, 0x04, 0x00, 0x00, 0x00 };
    memcpy(img + p, alloc, 9);
    p += 9;
    for (unsigned r = 4; r <= 0x0E; r++) {
        const uint8_t fr[] = { 0x01, 0xF0, 0x00, 0x00, (uint8_t)r, 0x00, 0x00, 0x00 };
        memcpy(img + p, fr, 8);
        p += 8;
    }
    memcpy(img + HDR, cert_der, cert_len);
    img_used = HDR + cert_len;
    img[0] = (uint8_t)(img_used >> 8);
    img[1] = (uint8_t)img_used;
}

static void expect_store_reads(void)
{
    sc_expect_data("00 B0 00 00 F8", img, 248, 0x9000);
    size_t have = 248;
    while (have < img_used) {
        size_t want = img_used - have < 248 ? img_used - have : 248;
        uint8_t cmd[5] = { 0x00, 0xB0, (uint8_t)(have >> 8), (uint8_t)have, (uint8_t)want };
        sc_expect_bin(cmd, 5, img + have, want, 0x9000);
        have += want;
    }
}

static void expect_store(void)
{
    sc_expect("00 A4 08 0C 04 16 00 00 04", "90 00");
    expect_store_reads();
}

static void expect_free_probes(unsigned from)
{
    for (unsigned r = from; r <= 0x0E; r++) {
        uint8_t cmd[] = { 0x80, 0x46, 0x01, (uint8_t)r, 0x00 };
        sc_expect_bin(cmd, 5, NULL, 0, 0x6A88);
    }
}

static void expect_init(void)
{
    sc_expect("00 A4 04 00 0C A0 00 00 00 18 0A 00 00 01 63 42 00", "90 00");
    sc_expect("80 CA DF 03 08", "01 02 03 04 05 06 07 08 90 00");
    sc_expect("80 CA 9F 7F 2D",
              "9F 7F 2A 40 70 41 70 00 00 00 00 00 00 11 22 33 44 55 66 77 88"
              " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
              " 00 00 00 00 00 90 00");
}

static struct card_ctx *ctx;

static struct card *open_g(void)
{
    sc_reset(G_ATR);
    img_default();
    expect_init();
    assert_int_equal(card_ctx_new(&sc_ops, &ctx), CARD_OK);
    struct card *c = NULL;
    assert_int_equal(card_open(ctx, "Scripted Reader 0", &c), CARD_OK);
    sc_done();
    return c;
}

static void close_g(struct card *c)
{
    sc_done();
    card_close(c);
    card_ctx_free(ctx);
}

static void test_open_info(void **state)
{
    (void)state;
    struct card *c = open_g();
    const struct card_info *i = card_get_info(c);
    assert_string_equal(card_get_driver(c)->name, "G");
    assert_string_equal(i->serial, "1122334455667788");
    /* No holder name on this profile; the module takes the first
     * certificate's CN when it reads the objects. */
    assert_string_equal(i->label, "");
    assert_false(i->has_sha2);
    assert_int_equal(i->max_containers, 12);
    /* No PUK on this profile: the op is absent. */
    assert_int_equal(card_pin_unblock(c, "1234", 4, "123456", 6), CARD_E_UNSUPPORTED);
    /* No logout command: a reset forgets the PIN, then the applet is
     * selected again. */
    expect_init();
    assert_int_equal(card_logout(c), CARD_OK);
    assert_int_equal(sc.resets, 1);
    close_g(c);
}

static void test_read_objects(void **state)
{
    (void)state;
    struct card *c = open_g();
    expect_store();
    /* A pending key in free container 05. */
    sc_expect("80 46 01 04 00", "6A 88");
    uint8_t mod[128];
    memset(mod, 0xC5, sizeof(mod));
    sc_expect_data("80 46 01 05 00", mod, sizeof(mod), 0x9000);
    expect_free_probes(6);
    struct card_objects o;
    assert_int_equal(card_read_objects(c, &o), CARD_OK);
    assert_int_equal(o.n, 2);
    uint8_t id[20];
    SHA1(cert_mod, cert_mod_len, id);
    assert_memory_equal(o.c[0].id, id, 20);
    assert_int_equal(o.c[0].ref, 3);
    assert_int_equal(o.c[0].cert_len, cert_len);
    assert_string_equal(o.c[0].label, "Alice Example");
    assert_int_equal(o.c[0].bits, 1024);
    assert_null(o.c[1].cert);
    assert_int_equal(o.c[1].ref, 5);
    SHA1(mod, sizeof(mod), id);
    assert_memory_equal(o.c[1].id, id, 20);
    card_objects_clear(&o);
    close_g(c);
}

/* Free containers' key references are asked only when pending keys are
 * looked for, once per handle; the store's file stays selected within a
 * transaction. */
static void test_pending_lazy(void **state)
{
    (void)state;
    struct card *c = open_g();
    expect_store();
    struct card_objects o;
    uint64_t ctr = 0, hdr_ctr = 1;
    bool counted = false;
    assert_int_equal(card_read_objects_ex(card_tx(c), &o, 0, &ctr, &counted), CARD_OK);
    assert_true(counted);
    assert_int_equal(o.n, 1);
    card_objects_clear(&o);
    /* The counter that came with the objects is the header's. */
    sc_expect("00 A4 08 0C 04 16 00 00 04", "90 00");
    sc_expect_data("00 B0 00 00 6E", img, HDR, 0x9000);
    assert_int_equal(card_change_counter(c, &hdr_ctr), CARD_OK);
    assert_true(ctr == hdr_ctr);
    /* Looked for: the table from the header, then each free reference. */
    sc_expect("00 A4 08 0C 04 16 00 00 04", "90 00");
    sc_expect_data("00 B0 00 00 6E", img, HDR, 0x9000);
    sc_expect("80 46 01 04 00", "6A 88");
    uint8_t mod[128];
    memset(mod, 0xC5, sizeof(mod));
    sc_expect_data("80 46 01 05 00", mod, sizeof(mod), 0x9000);
    expect_free_probes(6);
    assert_int_equal(card_find_pending(c, &o), CARD_OK);
    assert_int_equal(o.n, 1);
    assert_int_equal(o.c[0].ref, 5);
    card_objects_clear(&o);
    /* In the same transaction: no select; the key found is listed
     * without asking again. */
    expect_store_reads();
    assert_int_equal(card_read_objects_ex(c, &o, 0, NULL, NULL), CARD_OK);
    assert_int_equal(o.n, 2);
    assert_int_equal(o.c[1].ref, 5);
    card_objects_clear(&o);
    /* Again, in a new transaction: the table again, nothing asked. */
    sc_expect("00 A4 08 0C 04 16 00 00 04", "90 00");
    sc_expect_data("00 B0 00 00 6E", img, HDR, 0x9000);
    assert_int_equal(card_find_pending(c, &o), CARD_OK);
    assert_int_equal(o.n, 1);
    card_objects_clear(&o);
    close_g(c);
}

static void test_malformed_store(void **state)
{
    (void)state;
    struct card *c = open_g();
    struct card_objects o;
    /* Used length cuts the first table entry short. */
    img[0] = 0;
    img[1] = 6;
    img_used = 6;
    sc_expect("00 A4 08 0C 04 16 00 00 04", "90 00");
    sc_expect_data("00 B0 00 00 F8", img, 248, 0x9000);
    assert_int_equal(card_read_objects(c, &o), CARD_E_BAD_RESPONSE);
    assert_null(o.c);
    /* A certificate whose length runs past the used length. */
    img_default();
    img[HDR + 2] = 0x7F;
    expect_store();
    assert_int_equal(card_read_objects(c, &o), CARD_E_BAD_RESPONSE);
    /* A used length past the file: the card has no more to give. */
    img_default();
    img[0] = 0x1F;
    img[1] = 0x00;
    sc_expect("00 A4 08 0C 04 16 00 00 04", "90 00");
    sc_expect_data("00 B0 00 00 F8", img, 248, 0x9000);
    sc_expect("00 B0 00 F8 F8", "62 82");
    assert_int_equal(card_read_objects(c, &o), CARD_E_BAD_RESPONSE);
    /* Garbage where a table entry should be. */
    img_default();
    img[3] = 0x77;
    expect_store();
    assert_int_equal(card_read_objects(c, &o), CARD_E_BAD_RESPONSE);
    /* A certificate that does not parse (one being zeroed or overwritten):
     * its entry shows its key alone. */
    img_default();
    img[HDR + 10] ^= 0xFF;
    img[HDR + 4] = 0x55;
    expect_store();
    sc_expect_data("80 46 01 03 00", cert_mod, cert_mod_len, 0x9000);
    expect_free_probes(4);
    assert_int_equal(card_read_objects(c, &o), CARD_OK);
    assert_int_equal(o.n, 1);
    assert_int_equal(o.c[0].ref, 3);
    assert_null(o.c[0].cert);
    card_objects_clear(&o);
    /* The select answers one byte. */
    sc_expect("00 A4 08 0C 04 16 00 00 04", "90");
    assert_int_equal(card_read_objects(c, &o), CARD_E_COMM);
    close_g(c);
}

static void test_pin(void **state)
{
    (void)state;
    struct card *c = open_g();
    int tries = 0;
    sc_expect("00 20 00 01", "63 C3");
    assert_int_equal(card_pin_status(c, &tries), CARD_OK);
    assert_int_equal(tries, 3);
    sc_expect("00 20 00 01 08 12 34 56 78 9F FF FF FF", "63 C2");
    assert_int_equal(card_pin_verify(c, "123456789", 9), CARD_E_PIN_INCORRECT);
    sc_expect("00 20 00 01 08 12 34 56 FF FF FF FF FF", "90 00");
    assert_int_equal(card_pin_verify(c, "123456", 6), CARD_OK);
    sc_expect("00 20 00 01", "90 00");
    assert_int_equal(card_pin_status(c, &tries), CARD_OK);
    sc_expect("00 20 00 01 08 12 34 56 FF FF FF FF FF", "69 83");
    assert_int_equal(card_pin_verify(c, "123456", 6), CARD_E_PIN_LOCKED);
    sc_expect("00 20 00 01", "69 83");
    assert_int_equal(card_pin_status(c, &tries), CARD_OK);
    assert_int_equal(tries, -1);
    /* Length and digit rules are checked before anything is sent. */
    assert_int_equal(card_pin_verify(c, "12345", 5), CARD_E_PIN_LEN);
    assert_int_equal(card_pin_verify(c, "12345678901234567", 17), CARD_E_PIN_LEN);
    assert_int_equal(card_pin_verify(c, "12345a", 6), CARD_E_PIN_LEN);
    sc_expect("00 24 00 01 10 12 34 56 FF FF FF FF FF 65 43 21 0F FF FF FF FF", "90 00");
    assert_int_equal(card_pin_change(c, "123456", 6, "6543210", 7), CARD_OK);
    sc_expect("00 24 00 01 10", "63 C1");
    sc.steps[sc.n - 1].prefix = true;
    assert_int_equal(card_pin_change(c, "123456", 6, "6543210", 7), CARD_E_PIN_INCORRECT);
    sc_expect("00 20 00 01", "6F");
    assert_int_equal(card_pin_status(c, &tries), CARD_E_COMM);
    close_g(c);
}

static const char sha1_di[] = "30 21 30 09 06 05 2B 0E 03 02 1A 05 00 04 14"
                              " 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 10 11 12 13";

static void fill_key(struct card_container *k, unsigned ref, size_t modlen)
{
    memset(k, 0, sizeof(*k));
    k->ref = ref;
    k->type = CARD_KEY_RSA;
    k->modulus_len = modlen;
    k->bits = (unsigned)modlen * 8;
}

static void test_sign_decrypt(void **state)
{
    (void)state;
    struct card *c = open_g();
    struct card_container k;
    fill_key(&k, 3, 128);
    uint8_t di[35], sig[256], resp[128];
    sc_hex(sha1_di, di, sizeof(di));
    memset(resp, 0x5C, sizeof(resp));
    size_t n = sizeof(sig);
    sc_expect("00 22 41 B6 06 80 01 12 84 01 03", "90 00");
    char pso[200];
    snprintf(pso, sizeof(pso), "80 2A 9E AC 25 90 23 %s 00", sha1_di);
    sc_expect_data(pso, resp, sizeof(resp), 0x9000);
    assert_int_equal(card_sign(c, &k, CARD_SIGN_RSA_PKCS1, di, 35, sig, &n), CARD_OK);
    assert_int_equal(n, 128);
    assert_memory_equal(sig, resp, 128);
    /* Not logged in. */
    sc_expect("00 22 41 B6 06 80 01 12 84 01 03", "90 00");
    sc_expect(pso, "69 82");
    n = sizeof(sig);
    assert_int_equal(card_sign(c, &k, CARD_SIGN_RSA_PKCS1, di, 35, sig, &n),
                     CARD_E_SECURITY);
    /* The card dies mid-answer. */
    sc_expect("00 22 41 B6 06 80 01 12 84 01 03", "90 00");
    sc_expect(pso, "90");
    assert_int_equal(card_sign(c, &k, CARD_SIGN_RSA_PKCS1, di, 35, sig, &n), CARD_E_COMM);
    /* A signature of the wrong length. */
    sc_expect("00 22 41 B6 06 80 01 12 84 01 03", "90 00");
    sc_expect(pso, "01 02 90 00");
    n = sizeof(sig);
    assert_int_equal(card_sign(c, &k, CARD_SIGN_RSA_PKCS1, di, 35, sig, &n),
                     CARD_E_BAD_RESPONSE);
    /* SHA-256 DigestInfo (51 bytes) and PSS never reach the card. */
    uint8_t big[51] = { 0 };
    assert_int_equal(card_sign(c, &k, CARD_SIGN_RSA_PKCS1, big, 51, sig, &n), CARD_E_ARGS);
    assert_int_equal(card_sign(c, &k, CARD_SIGN_RSA_PSS, big, 32, sig, &n),
                     CARD_E_UNSUPPORTED);
    /* The key reference is gone. */
    sc_expect("00 22 41 B6 06 80 01 12 84 01 03", "6A 88");
    assert_int_equal(card_sign(c, &k, CARD_SIGN_RSA_PKCS1, di, 35, sig, &n),
                     CARD_E_NOT_FOUND);
    /* Decipher, 1024-bit. */
    uint8_t ct[128], pt[128];
    memset(ct, 0x33, sizeof(ct));
    sc_expect("00 22 41 B8 06 80 01 12 84 01 03", "90 00");
    uint8_t cmd[5 + 128 + 1] = { 0x80, 0x2A, 0x80, 0x84, 0x80 };
    memcpy(cmd + 5, ct, 128);
    sc_expect_bin(cmd, sizeof(cmd), (const uint8_t *)"secret", 6, 0x9000);
    n = sizeof(pt);
    assert_int_equal(card_decrypt(c, &k, ct, sizeof(ct), pt, &n), CARD_OK);
    assert_int_equal(n, 6);
    uint8_t ct2[256] = { 0 };
    n = sizeof(pt);
    assert_int_equal(card_decrypt(c, &k, ct2, sizeof(ct2), pt, &n), CARD_E_ARGS);
    close_g(c);
}

static void test_generate(void **state)
{
    (void)state;
    struct card *c = open_g();
    expect_store();
    sc_expect("80 46 01 04 00", "6A 88");
    uint8_t mod[256];
    memset(mod, 0xA7, sizeof(mod));
    sc_expect_data("80 46 00 04 04 91 02 08 00 00", mod, sizeof(mod), 0x9000);
    struct card_container k;
    assert_int_equal(card_generate_key(c, CARD_KEY_RSA, 2048, &k), CARD_OK);
    assert_int_equal(k.ref, 4);
    assert_int_equal(k.bits, 2048);
    assert_null(k.cert);
    assert_int_equal(k.exponent_len, 3);
    uint8_t id[20];
    SHA1(mod, sizeof(mod), id);
    assert_memory_equal(k.id, id, 20);
    card_container_clear(&k);
    /* Card memory full. 04 holds the key made above: not asked again. */
    expect_store();
    sc_expect("80 46 01 05 00", "6A 88");
    sc_expect("80 46 00 05 04 91 02 04 00 00", "6A 84");
    assert_int_equal(card_generate_key(c, CARD_KEY_RSA, 1024, &k), CARD_E_CARD_FULL);
    /* Not logged in. A failed generation may have left a key in 05: it
     * is asked again. */
    expect_store();
    sc_expect("80 46 01 05 00", "6A 88");
    sc_expect("80 46 00 05 04 91 02 04 00 00", "69 82");
    assert_int_equal(card_generate_key(c, CARD_KEY_RSA, 1024, &k), CARD_E_SECURITY);
    /* Every free container holds a pending key: none to use. */
    expect_store();
    for (unsigned r = 5; r <= 0x0E; r++) {
        uint8_t cmd[] = { 0x80, 0x46, 0x01, (uint8_t)r, 0x00 };
        sc_expect_bin(cmd, 5, mod, 128, 0x9000);
    }
    assert_int_equal(card_generate_key(c, CARD_KEY_RSA, 1024, &k), CARD_E_CARD_FULL);
    assert_int_equal(card_generate_key(c, CARD_KEY_EC_P256, 256, &k), CARD_E_UNSUPPORTED);
    assert_int_equal(card_generate_key(c, CARD_KEY_RSA, 4096, &k), CARD_E_ARGS);
    close_g(c);
}

static void img_empty(void)
{
    memset(img, 0, sizeof(img));
    for (unsigned r = 3, q = 2; r <= 0x0E; r++, q += 8) {
        const uint8_t fr[] = { 0x01, 0xF0, 0x00, 0x00, (uint8_t)r, 0x00, 0x00, 0x00 };
        memcpy(img + q, fr, 8);
    }
    img_used = HDR;
    img[0] = 0;
    img[1] = HDR;
}

static void test_write_cert(void **state)
{
    (void)state;
    struct card *c = open_g();
    /* An empty card with a pending key in 04, the certificate's key. */
    img_empty();
    uint8_t id[20];
    SHA1(cert_mod, cert_mod_len, id);
    expect_store();
    sc_expect("80 46 01 03 00", "6A 88");
    sc_expect_data("80 46 01 04 00", cert_mod, cert_mod_len, 0x9000);
    size_t pos = HDR;
    for (size_t off = 0; off < cert_len; off += 248) {
        size_t n = cert_len - off < 248 ? cert_len - off : 248;
        uint8_t cmd[5 + 248] = { 0x00, 0xD6, (uint8_t)((pos + off) >> 8),
                                 (uint8_t)(pos + off), (uint8_t)n };
        memcpy(cmd + 5, cert_der + off, n);
        sc_expect_bin(cmd, 5 + n, NULL, 0, 0x9000);
    }
    /* One header write commits it; the new entry moves before the free
     * ones, so the scan gives it the certificate. */
    uint8_t hdr[5 + HDR] = { 0x00, 0xD6, 0x00, 0x00, HDR };
    size_t used = pos + cert_len;
    hdr[5] = (uint8_t)(used >> 8);
    hdr[6] = (uint8_t)used;
    const uint8_t a4[] = { 0x01, 0xFE, 0x00, 0x00, 0x04, 0x04, 0x00, 0x00, 0x00 };
    memcpy(hdr + 7, a4, 9);
    size_t p = 16;
    for (unsigned r = 3; r <= 0x0E; r++) {
        if (r == 4)
            continue;
        const uint8_t fr[] = { 0x01, 0xF0, 0x00, 0x00, (uint8_t)r, 0x00, 0x00, 0x00 };
        memcpy(hdr + p, fr, 8);
        p += 8;
    }
    sc_expect_bin(hdr, sizeof(hdr), NULL, 0, 0x9000);
    assert_int_equal(card_write_cert(c, id, 20, cert_der, cert_len, "x"), CARD_OK);
    /* A torn write: the chunk fails, nothing is committed. References 03
     * (empty) and 04 (the key) were found above: the same handle does not
     * ask again. */
    expect_store();
    sc_expect_prefix("00 D6 00 6E F8", "6A 84");
    assert_int_equal(card_write_cert(c, id, 20, cert_der, cert_len, "x"), CARD_E_CARD_FULL);
    /* No key with that id: nothing is written. */
    img_default();
    uint8_t other[20] = { 1 };
    expect_store();
    expect_free_probes(5);
    assert_int_equal(card_write_cert(c, other, 20, cert_der, cert_len, NULL),
                     CARD_E_NOT_FOUND);
    /* The container already has its certificate. */
    expect_store();
    assert_int_equal(card_write_cert(c, id, 20, cert_der, cert_len, NULL), CARD_E_ARGS);
    /* A short certificate could never be found by a scan. */
    assert_int_equal(card_write_cert(c, id, 20, cert_der, 200, NULL), CARD_E_ARGS);
    close_g(c);
}

static void test_delete(void **state)
{
    (void)state;
    struct card *c = open_g();
    uint8_t id[20];
    SHA1(cert_mod, cert_mod_len, id);
    expect_store();
    /* First a stub certificate under the same 30 82 header (OpenSC still
     * parses the entry), then zeros behind it; the 30 82 and the table
     * entry go last, in one write. */
    size_t end = HDR + cert_len;
    uint8_t stub[5 + 112] = { 0x00, 0xD6, 0x00, HDR, 112 };
    memcpy(stub + 5, cert_der, 4);
    memcpy(stub + 9, "\x30\x57\xA0\x03\x02\x01\x02\x02\x01\x01", 10);
    sc_expect_bin(stub, 5 + 14, NULL, 0, 0x9000);
    sc.steps[sc.n - 1].prefix = true;
    uint8_t z[5 + 248] = { 0 };
    for (size_t start = HDR + 112; start < end; start += 248) {
        size_t n = end - start < 248 ? end - start : 248;
        z[0] = 0x00; z[1] = 0xD6;
        z[2] = (uint8_t)(start >> 8); z[3] = (uint8_t)start;
        z[4] = (uint8_t)n;
        memset(z + 5, 0, 248);
        sc_expect_bin(z, 5 + n, NULL, 0, 0x9000);
    }
    uint8_t last[5 + HDR + 4] = { 0x00, 0xD6, 0x00, 0x00, HDR + 4 };
    last[5] = 0;
    last[6] = HDR;
    size_t p = 7;
    for (unsigned r = 3; r <= 0x0E; r++) {
        const uint8_t fr[] = { 0x01, 0xF0, 0x00, 0x00, (uint8_t)r, 0x00, 0x00, 0x00 };
        memcpy(last + p, fr, 8);
        p += 8;
    }
    sc_expect_bin(last, sizeof(last), NULL, 0, 0x9000);
    assert_int_equal(card_delete_cert(c, id, 20), CARD_OK);
    /* delete_key on a pending key: the key alone. It is the key of the
     * certificate deleted above: known without asking the card. */
    img_empty();
    expect_store();
    sc_expect("80 E4 00 03", "90 00");
    assert_int_equal(card_delete_key(c, id, 20), CARD_OK);
    /* The key is back (another program): once told, the driver asks. */
    card_forget_probes(c);
    expect_store();
    sc_expect_data("80 46 01 03 00", cert_mod, cert_mod_len, 0x9000);
    sc_expect("80 E4 00 03", "6A 88");
    assert_int_equal(card_delete_key(c, id, 20), CARD_E_NOT_FOUND);
    close_g(c);
}

/* A deletion cut between its two writes: 03 still allocated, its
 * certificate gone; the one left belongs to 04 and must not pair with 03. */
static void test_torn_delete(void **state)
{
    (void)state;
    struct card *c = open_g();
    const uint8_t a4[] = { 0x01, 0xFE, 0x00, 0x00, 0x04, 0x04, 0x00, 0x00, 0x00 };
    memcpy(img + 11, a4, 9);
    for (unsigned r = 5, q = 20; r <= 0x0E; r++, q += 8) {
        const uint8_t fr[] = { 0x01, 0xF0, 0x00, 0x00, (uint8_t)r, 0x00, 0x00, 0x00 };
        memcpy(img + q, fr, 8);
    }
    uint8_t old[128];
    memset(old, 0xC5, sizeof(old));
    expect_store();
    sc_expect_data("80 46 01 03 00", old, sizeof(old), 0x9000);
    sc_expect_data("80 46 01 04 00", cert_mod, cert_mod_len, 0x9000);
    sc_expect_data("80 46 01 03 00", old, sizeof(old), 0x9000);
    expect_free_probes(5);
    struct card_objects o;
    assert_int_equal(card_read_objects(c, &o), CARD_OK);
    assert_int_equal(o.n, 2);
    assert_int_equal(o.c[0].ref, 3);
    assert_null(o.c[0].cert);
    assert_int_equal(o.c[1].ref, 4);
    assert_int_equal(o.c[1].cert_len, cert_len);
    /* Deleting 03 again finishes the job with the header write alone. */
    uint8_t id[20];
    memcpy(id, o.c[0].id, 20);
    card_objects_clear(&o);
    /* The pairing asks the card again; the key of 03, read above, not. */
    expect_store();
    sc_expect_data("80 46 01 03 00", old, sizeof(old), 0x9000);
    sc_expect_data("80 46 01 04 00", cert_mod, cert_mod_len, 0x9000);
    uint8_t hdr[5 + HDR] = { 0x00, 0xD6, 0x00, 0x00, HDR };
    memcpy(hdr + 5, img, HDR);
    hdr[7 + 1] = 0xF0;
    memcpy(hdr + 7 + 4, "\x03\x00\x00\x00", 4);
    /* 03 is now an 8-byte free entry: the rest move up one byte. */
    memcpy(hdr + 7 + 8, img + 11, HDR - 11);
    hdr[5 + HDR - 1] = 0;
    sc_expect_bin(hdr, sizeof(hdr), NULL, 0, 0x9000);
    assert_int_equal(card_delete_cert(c, id, 20), CARD_OK);
    close_g(c);
}

static void test_change_counter(void **state)
{
    (void)state;
    struct card *c = open_g();
    uint64_t a = 0, b = 0;
    sc_expect("00 A4 08 0C 04 16 00 00 04", "90 00");
    sc_expect_data("00 B0 00 00 6E", img, HDR, 0x9000);
    assert_int_equal(card_change_counter(c, &a), CARD_OK);
    img[20] ^= 1;
    sc_expect("00 A4 08 0C 04 16 00 00 04", "90 00");
    sc_expect_data("00 B0 00 00 6E", img, HDR, 0x9000);
    assert_int_equal(card_change_counter(c, &b), CARD_OK);
    assert_true(a != b);
    sc_expect("00 A4 08 0C 04 16 00 00 04", "90 00");
    sc_expect_data("00 B0 00 00 6E", img, 50, 0x6282);
    assert_int_equal(card_change_counter(c, &b), CARD_E_BAD_RESPONSE);
    close_g(c);
}

static void test_open_failures(void **state)
{
    (void)state;
    sc_reset(G_ATR);
    assert_int_equal(card_ctx_new(&sc_ops, &ctx), CARD_OK);
    struct card *c = NULL;
    /* The applet is not there: no driver claims the card. */
    sc_expect("00 A4 04 00 0C A0 00 00 00 18 0A 00 00 01 63 42 00", "6A 82");
    assert_int_equal(card_open(ctx, "Scripted Reader 0", &c), CARD_E_UNSUPPORTED);
    assert_null(c);
    /* A one-byte answer is a transport error. */
    sc_expect("00 A4 04 00 0C A0 00 00 00 18 0A 00 00 01 63 42 00", "90");
    assert_int_equal(card_open(ctx, "Scripted Reader 0", &c), CARD_E_COMM);
    /* A CPLC too short to hold the serial. */
    sc_expect("00 A4 04 00 0C A0 00 00 00 18 0A 00 00 01 63 42 00", "90 00");
    sc_expect("80 CA DF 03 08", "90 00");
    sc_expect("80 CA 9F 7F 2D", "9F 7F 02 01 02 90 00");
    assert_int_equal(card_open(ctx, "Scripted Reader 0", &c), CARD_E_BAD_RESPONSE);
    assert_int_equal(sc.begins, sc.ends);
    sc_done();
    card_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_info),
        cmocka_unit_test(test_read_objects),
        cmocka_unit_test(test_pending_lazy),
        cmocka_unit_test(test_malformed_store),
        cmocka_unit_test(test_pin),
        cmocka_unit_test(test_sign_decrypt),
        cmocka_unit_test(test_generate),
        cmocka_unit_test(test_write_cert),
        cmocka_unit_test(test_delete),
        cmocka_unit_test(test_torn_delete),
        cmocka_unit_test(test_change_counter),
        cmocka_unit_test(test_open_failures),
    };
    return cmocka_run_group_tests(tests, make_cert, free_cert);
}
