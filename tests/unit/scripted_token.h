/* scripted_token.h: the module's C_* calls over a scripted card of
 * profile G or O (tests/unit/scripted_card.h behind the PC/SC seam).
 * A test calls token_init() (C_Initialize, the scripted PC/SC context),
 * queues a profile's opening with expect_open_g/o(), and the commands
 * its calls should send; any other command fails it (assert_rv,
 * token_done). Include it once per test program, instead of
 * scripted_card.h. */
#ifndef CARDRENEW_TEST_SCRIPTED_TOKEN_H
#define CARDRENEW_TEST_SCRIPTED_TOKEN_H

#include "tests/unit/scripted_card.h"
#include "card/pkcs15.h"
#include "pkcs11/p11.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#define G_ATR "3B F9 18 00 00 81 31 FE 45 4A 43 4F 50 34 31 56 32 32 AF"
#define O_ATR "3B DD 18 00 81 31 FE 45 80 F9 A0 00 00 00 77 01 08 00 07 90 00 FE"
#define AWP "00 A4 04 00 0D E8 28 BD 08 0F F2 50 4F 54 20 41 57 50 00"
#define G_HDR 110

/* A self-signed certificate for a 1024-bit RSA key, CN "Alice Example"
 * (made once; DER in g_cert). */
static uint8_t *g_cert;
static size_t g_cert_len;

static inline void make_g_cert(void)
{
    if (g_cert)
        return;
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
    g_cert = malloc((size_t)len);
    assert_non_null(g_cert);
    memcpy(g_cert, der, (size_t)len);
    g_cert_len = (size_t)len;
    OPENSSL_free(der);
}

/* G's object store: the container table (the certificate's container at
 * key reference 03, eleven free ones) and the certificate. */
static uint8_t g_img[8000];
static size_t g_used;

static inline void expect_g_store(void)
{
    sc_expect("00 A4 08 0C 04 16 00 00 04", "90 00");
    for (size_t have = 0; have < g_used;) {
        size_t want = g_used - have < 248 ? g_used - have : 248;
        uint8_t cmd[5] = { 0x00, 0xB0, (uint8_t)(have >> 8), (uint8_t)have, (uint8_t)want };
        sc_expect_bin(cmd, 5, g_img + have, want, 0x9000);
        have += want;
    }
}

/* G: the applet, its version and CPLC (the object store is read with
 * the objects: its first certificate's CN is the token label). */
static inline void expect_open_g(void)
{
    make_g_cert();
    uint8_t *img = g_img;
    memset(img, 0, sizeof(g_img));
    const uint8_t alloc[] = { 0x01, 0xFE, 0x00, 0x00, 0x03, 0x04, 0x00, 0x00, 0x00 };
    memcpy(img + 2, alloc, sizeof(alloc));
    size_t p = 2 + sizeof(alloc);
    for (unsigned r = 4; r <= 0x0E; r++, p += 8) {
        const uint8_t fr[] = { 0x01, 0xF0, 0x00, 0x00, (uint8_t)r, 0x00, 0x00, 0x00 };
        memcpy(img + p, fr, 8);
    }
    memcpy(img + G_HDR, g_cert, g_cert_len);
    size_t used = G_HDR + g_cert_len;
    g_used = used;
    img[0] = (uint8_t)(used >> 8);
    img[1] = (uint8_t)used;

    sc_expect("00 A4 04 00 0C A0 00 00 00 18 0A 00 00 01 63 42 00", "90 00");
    sc_expect("80 CA DF 03 08", "01 02 03 04 05 06 07 08 90 00");
    sc_expect("80 CA 9F 7F 2D",
              "9F 7F 2A 40 70 41 70 00 00 00 00 00 00 11 22 33 44 55 66 77 88"
              " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
              " 00 00 00 00 00 90 00");
}

/* G's change check: its header, read again and compared. */
static inline void expect_g_counter(void)
{
    sc_expect("00 A4 08 0C 04 16 00 00 04", "90 00");
    uint8_t cmd[5] = { 0x00, 0xB0, 0x00, 0x00, G_HDR };
    sc_expect_bin(cmd, 5, g_img, G_HDR, 0x9000);
}

/* G's objects read the first time: the store alone (its header is the
 * change counter; free containers' key references are asked only when
 * a pending key is looked for: expect_g_probes). */
static inline void expect_g_objects(void)
{
    expect_g_store();
}

/* A probe of each free container's key reference (none holds a key). */
static inline void expect_g_probes(void)
{
    for (unsigned r = 4; r <= 0x0E; r++) {
        uint8_t cmd[] = { 0x80, 0x46, 0x01, (uint8_t)r, 0x00 };
        sc_expect_bin(cmd, 5, NULL, 0, 0x6A88);
    }
}

/* An O EF: select with an FCP, then READ BINARY. */
static inline void expect_ef(uint16_t fid, const uint8_t *data, size_t len)
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
static inline void expect_open_o(void)
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

/* A command off the script is recorded and answered with a transfer
 * error, and the test fails once the C_* call has returned: failing
 * inside it would leave the module's lock held (a hang, not a failure). */
static char tok_stray[700];

static inline LONG tok_transmit(SCARDHANDLE h, const SCARD_IO_REQUEST *spci, LPCBYTE cmd,
                                DWORD len, SCARD_IO_REQUEST *rpci, LPBYTE resp, LPDWORD rlen)
{
    const struct sc_step *s = sc.pos < sc.n ? &sc.steps[sc.pos] : NULL;
    bool ok = s && (s->prefix ? len >= s->cmd_len && !memcmp(cmd, s->cmd, s->cmd_len)
                              : len == s->cmd_len && !memcmp(cmd, s->cmd, len));
    if (!ok) {
        if (!tok_stray[0]) {
            char got[600];
            sc_dump(got, sizeof(got), cmd, len > 190 ? 190 : len);
            snprintf(tok_stray, sizeof(tok_stray), "command %zu off the script: %s",
                     sc.pos + 1, got);
        }
        return SCARD_E_NOT_TRANSACTED;
    }
    return sc_transmit(h, spci, cmd, len, rpci, resp, rlen);
}

static const struct pcsc_ops tok_ops = {
    .establish = sc_establish,
    .release = sc_release,
    .list_readers = sc_list_readers,
    .connect = sc_connect,
    .reconnect = sc_reconnect,
    .disconnect = sc_disconnect,
    .begin = sc_begin,
    .end = sc_end,
    .transmit = tok_transmit,
    .status = sc_status,
    .get_status_change = sc_gsc,
    .cancel = sc_cancel,
};

#define tok_check()                                                          \
    do {                                                                     \
        if (tok_stray[0])                                                    \
            fail_msg("%s", tok_stray);                                       \
    } while (0)

/* A C_* call's result, after checking the card saw only the script. */
#define assert_rv(call, want)                                                \
    do {                                                                     \
        CK_RV rv_ = (call);                                                  \
        tok_check();                                                         \
        assert_int_equal(rv_, (want));                                       \
    } while (0)

/* Every queued command sent, nothing else. */
#define token_done()                                                         \
    do {                                                                     \
        tok_check();                                                         \
        sc_done();                                                           \
    } while (0)

static CK_FUNCTION_LIST *f;

/* C_Initialize, with the scripted PC/SC context and a card of this ATR
 * in the first of the two readers; *slot is its slot. */
static inline void token_init(const char *atr, CK_SLOT_ID *slot)
{
    assert_int_equal(C_GetFunctionList(&f), CKR_OK);
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    sc_reset(atr);
    tok_stray[0] = 0;
    assert_int_equal(card_ctx_new(&tok_ops, &p11_g.ctx), CARD_OK);
    CK_SLOT_ID slots[4];
    CK_ULONG n = 4;
    assert_int_equal(f->C_GetSlotList(CK_FALSE, slots, &n), CKR_OK);
    assert_true(n >= 1);
    *slot = slots[0];
}

static inline int token_fini(void **state)
{
    (void)state;
    return f && f->C_Finalize(NULL) == CKR_OK ? 0 : -1;
}

#endif
