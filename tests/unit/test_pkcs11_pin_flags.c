/* test_pkcs11_pin_flags.c: C_GetTokenInfo's PIN flags from each
 * profile's answer to the PIN status query (an empty VERIFY), through
 * the module's C_* calls and the card drivers, a scripted card behind
 * the PC/SC seam: 63 C0 (no tries left) and 69 83 are a locked PIN,
 * 63 C1 the final try, 63 C2 a low count. */
#include "tests/unit/scripted_card.h"
#include "card/pkcs15.h"
#include "pkcs11/p11.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#define G_ATR "3B F9 18 00 00 81 31 FE 45 4A 43 4F 50 34 31 56 32 32 AF"
#define O_ATR "3B DD 18 00 81 31 FE 45 80 F9 A0 00 00 00 77 01 08 00 07 90 00 FE"
#define AWP "00 A4 04 00 0D E8 28 BD 08 0F F2 50 4F 54 20 41 57 50 00"
#define G_HDR 110

/* G: the applet, its version, CPLC, and an object store holding one
 * certificate (its CN is the token label, so no object read follows). */
static void expect_open_g(void)
{
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
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    uint8_t *der = NULL;
    int len = i2d_X509(x, &der);
    assert_true(len > 0);
    X509_free(x);
    EVP_PKEY_free(k);

    static uint8_t img[8000];
    memset(img, 0, sizeof(img));
    const uint8_t alloc[] = { 0x01, 0xFE, 0x00, 0x00, 0x03, 0x04, 0x00, 0x00, 0x00 };
    memcpy(img + 2, alloc, sizeof(alloc));
    size_t p = 2 + sizeof(alloc);
    for (unsigned r = 4; r <= 0x0E; r++, p += 8) {
        const uint8_t fr[] = { 0x01, 0xF0, 0x00, 0x00, (uint8_t)r, 0x00, 0x00, 0x00 };
        memcpy(img + p, fr, 8);
    }
    memcpy(img + G_HDR, der, (size_t)len);
    size_t used = G_HDR + (size_t)len;
    OPENSSL_free(der);
    img[0] = (uint8_t)(used >> 8);
    img[1] = (uint8_t)used;

    sc_expect("00 A4 04 00 0C A0 00 00 00 18 0A 00 00 01 63 42 00", "90 00");
    sc_expect("80 CA DF 03 08", "01 02 03 04 05 06 07 08 90 00");
    sc_expect("80 CA 9F 7F 2D",
              "9F 7F 2A 40 70 41 70 00 00 00 00 00 00 11 22 33 44 55 66 77 88"
              " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
              " 00 00 00 00 00 90 00");
    sc_expect("00 A4 08 0C 04 16 00 00 04", "90 00");
    for (size_t have = 0; have < used;) {
        size_t want = used - have < 248 ? used - have : 248;
        uint8_t cmd[5] = { 0x00, 0xB0, (uint8_t)(have >> 8), (uint8_t)have, (uint8_t)want };
        sc_expect_bin(cmd, 5, img + have, want, 0x9000);
        have += want;
    }
}

/* An O EF: select with an FCP, then READ BINARY. */
static void expect_ef(uint16_t fid, const uint8_t *data, size_t len)
{
    uint8_t sel[] = { 0x00, 0xA4, 0x01, 0x04, 0x02, (uint8_t)(fid >> 8), (uint8_t)fid, 0x00 };
    uint8_t fcp[] = { 0x62, 0x04, 0x80, 0x02, (uint8_t)(len >> 8), (uint8_t)len };
    sc_expect_bin(sel, sizeof(sel), fcp, sizeof(fcp), 0x9000);
    uint8_t rd[] = { 0x00, 0xB0, 0x00, 0x00, (uint8_t)len };
    sc_expect_bin(rd, 5, data, len, 0x9000);
}

/* O: the MF, EF.ATR, the serial, the AWP application and its TokenInfo
 * (the holder's name is the label); no ODF, so the PIN rules stay the
 * profile's own. */
static void expect_open_o(void)
{
    sc_expect("00 A4 00 0C 02 3F 00", "90 00");
    static const uint8_t atr[] = { 0xE0, 0x10, 0x02, 0x02, 0x04, 0x05, 0x02, 0x02, 0x04,
                                   0x05, 0x02, 0x02, 0x04, 0x00, 0x02, 0x02, 0x04, 0x00 };
    expect_ef(0x2F01, atr, sizeof(atr));
    sc_expect("00 B0 9C 00 00", "5A 0A 00 01 02 03 04 05 06 07 08 09 90 00");
    sc_expect(AWP, "90 00");
    struct card_p15_tokeninfo ti = { 0 };
    ti.serial_len = 8;
    strcpy(ti.label, "DR ALICE EXAMPLE");
    uint8_t b[128];
    size_t n = card_p15_encode_tokeninfo(&ti, b, sizeof(b));
    expect_ef(0x5032, b, n);
    sc_expect("00 A4 01 04 02 50 31 00", "6A 82");
}

static void expect_status_g(const char *sw)
{
    sc_expect("00 20 00 01", sw);
}

static void expect_status_o(const char *sw)
{
    sc_expect(AWP, "90 00");
    sc_expect("00 20 00 81", sw);
}

#define PIN_FLAGS (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED)

static const struct {
    const char *sw;
    CK_FLAGS flags;
} answers[] = {
    { "90 00", 0 },                                                 /* verified */
    { "63 C3", 0 },
    { "63 C2", CKF_USER_PIN_COUNT_LOW },
    { "63 C1", CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY },
    { "63 C0", CKF_USER_PIN_LOCKED },                               /* no tries left */
    { "69 83", CKF_USER_PIN_LOCKED },
};

static CK_FUNCTION_LIST *f;

static int init(void **state)
{
    (void)state;
    return C_GetFunctionList(&f) == CKR_OK && f->C_Initialize(NULL) == CKR_OK ? 0 : -1;
}

static int fini(void **state)
{
    (void)state;
    return f->C_Finalize(NULL) == CKR_OK ? 0 : -1;
}

static void check_profile(const char *atr, void (*expect_open)(void),
                          void (*expect_status)(const char *sw), const char *label)
{
    sc_reset(atr);
    assert_int_equal(card_ctx_new(&sc_ops, &p11_g.ctx), CARD_OK);
    CK_SLOT_ID slots[4];
    CK_ULONG n = 4;
    assert_int_equal(f->C_GetSlotList(CK_FALSE, slots, &n), CKR_OK);
    assert_true(n >= 1);
    expect_open();
    for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
        expect_status(answers[i].sw);
        CK_TOKEN_INFO ti;
        assert_int_equal(f->C_GetTokenInfo(slots[0], &ti), CKR_OK);
        assert_memory_equal(ti.label, label, strlen(label));
        if ((ti.flags & PIN_FLAGS) != answers[i].flags)
            fail_msg("PIN status %s: flags %#lx, expected %#lx", answers[i].sw,
                     (unsigned long)(ti.flags & PIN_FLAGS), (unsigned long)answers[i].flags);
        assert_true(ti.flags & CKF_LOGIN_REQUIRED);
    }
    sc_done();
}

static void test_profile_g(void **state)
{
    (void)state;
    check_profile(G_ATR, expect_open_g, expect_status_g, "Alice Example");
}

static void test_profile_o(void **state)
{
    (void)state;
    check_profile(O_ATR, expect_open_o, expect_status_o, "DR ALICE EXAMPLE");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_profile_g, init, fini),
        cmocka_unit_test_setup_teardown(test_profile_o, init, fini),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
