/* test_pkcs11_login.c: what needs the user logged in is refused by the
 * module itself, before the card sees a command (the card would refuse
 * too, but a host must not depend on that): C_SignInit, C_DecryptInit,
 * C_GenerateKeyPair, C_CreateObject and C_DestroyObject answer
 * CKR_USER_NOT_LOGGED_IN in a session that never logged in, over a
 * scripted G card that fails the test on any command not queued.
 * After the card is pulled and put back, the token asks for a PIN the
 * ordinary way (never CKF_PROTECTED_AUTHENTICATION_PATH, which makes NSS
 * log in with no PIN), and a PIN of a length the card does not take (an
 * empty one included) is refused with no VERIFY sent, so no try is
 * counted; both profiles. */
#include "tests/unit/scripted_token.h"

static CK_ULONG find(CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE *out)
{
    CK_ATTRIBUTE t = { CKA_CLASS, &cls, sizeof(cls) };
    CK_ULONG n = 0;
    assert_rv(f->C_FindObjectsInit(h, &t, 1), CKR_OK);
    assert_rv(f->C_FindObjects(h, out, 4, &n), CKR_OK);
    assert_rv(f->C_FindObjectsFinal(h), CKR_OK);
    return n;
}

/* The private key's handle, as the module holds it (a host that logged
 * in earlier would have it). */
static CK_OBJECT_HANDLE private_handle(CK_SLOT_ID slot)
{
    const struct p11_slot *s = &p11_g.slots[slot];
    for (size_t i = 0; i < s->nobj; i++)
        if (s->obj[i].kind == P11_PRIV)
            return s->obj[i].handle;
    fail_msg("no private key object");
    return 0;
}

static void test_refused_before_the_card(void **state)
{
    (void)state;
    CK_SLOT_ID slot;
    token_init(G_ATR, &slot);
    expect_open_g();
    CK_SESSION_HANDLE h;
    assert_rv(f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h),
                     CKR_OK);
    CK_OBJECT_HANDLE cert[4], pub[4], priv[4];
    expect_g_objects();
    assert_int_equal(find(h, CKO_CERTIFICATE, cert), 1);
    /* Checked once: the same card handle needs no second look at the
     * objects; a search for keys looks once for keys without a
     * certificate (the free containers' references, from the header). */
    expect_g_counter();
    expect_g_probes();
    assert_int_equal(find(h, CKO_PUBLIC_KEY, pub), 1);
    assert_int_equal(find(h, CKO_PRIVATE_KEY, priv), 0);        /* hidden */
    CK_OBJECT_HANDLE key = private_handle(slot);
    token_done();

    /* From here on nothing reaches the card. */
    CK_MECHANISM sm = { CKM_SHA1_RSA_PKCS, NULL, 0 };
    CK_MECHANISM dm = { CKM_RSA_PKCS, NULL, 0 };
    assert_rv(f->C_SignInit(h, &sm, key), CKR_USER_NOT_LOGGED_IN);
    assert_rv(f->C_DecryptInit(h, &dm, key), CKR_USER_NOT_LOGGED_IN);
    CK_MECHANISM kg = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
    CK_ULONG bits = 1024;
    CK_ATTRIBUTE pt[] = { { CKA_MODULUS_BITS, &bits, sizeof(bits) } };
    CK_OBJECT_HANDLE hp, hv;
    assert_rv(f->C_GenerateKeyPair(h, &kg, pt, 1, NULL, 0, &hp, &hv),
                     CKR_USER_NOT_LOGGED_IN);
    CK_OBJECT_CLASS cc = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE ct = CKC_X_509;
    CK_ATTRIBUTE ctmpl[] = { { CKA_CLASS, &cc, sizeof(cc) },
                             { CKA_CERTIFICATE_TYPE, &ct, sizeof(ct) },
                             { CKA_VALUE, g_cert, g_cert_len } };
    CK_OBJECT_HANDLE made;
    assert_rv(f->C_CreateObject(h, ctmpl, 3, &made), CKR_USER_NOT_LOGGED_IN);
    assert_rv(f->C_DestroyObject(h, cert[0]), CKR_USER_NOT_LOGGED_IN);
    assert_rv(f->C_DestroyObject(h, pub[0]), CKR_USER_NOT_LOGGED_IN);
    token_done();

    /* Logged in, the same C_SignInit goes to the card: the first use
     * after a log-in checks the counter. */
    sc_expect("00 20 00 01 08 12 34 56 FF FF FF FF FF", "90 00");
    assert_rv(f->C_Login(h, CKU_USER, (CK_UTF8CHAR *)"123456", 6), CKR_OK);
    expect_g_counter();
    assert_rv(f->C_SignInit(h, &sm, key), CKR_OK);
    token_done();
}

#define TOKEN_FLAGS (CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_TOKEN_INITIALIZED)

static void status_g(void)
{
    sc_expect("00 20 00 01", "63 C3");
    expect_g_objects();     /* no holder name: the label is a certificate's CN */
}

static void status_o(void)
{
    sc_expect(AWP, "90 00");
    sc_expect("00 20 00 81", "63 C3");
}

/* A session opened after the card came back, not logged in. */
static CK_SESSION_HANDLE pulled_and_back(const char *atr, void (*expect_open)(void),
                                         void (*expect_status)(void), const char *short_pin)
{
    CK_SLOT_ID slot;
    token_init(atr, &slot);
    expect_open();
    CK_SESSION_HANDLE h;
    assert_rv(f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &h), CKR_OK);
    token_done();

    /* Pulled and put back between two calls: the old handle is lost (no
     * card behind it), and the card is opened afresh; the PIN is asked
     * for as before. */
    sc_next_begin(SCARD_W_REMOVED_CARD);
    sc.reconnect_rv = SCARD_E_NO_SMARTCARD;
    expect_open();
    expect_status();
    CK_TOKEN_INFO ti;
    assert_rv(f->C_GetTokenInfo(slot, &ti), CKR_OK);
    assert_int_equal(ti.flags, TOKEN_FLAGS);
    CK_SESSION_INFO si;
    assert_rv(f->C_GetSessionInfo(h, &si), CKR_SESSION_HANDLE_INVALID);
    sc.reconnect_rv = SCARD_S_SUCCESS;
    assert_rv(f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &h), CKR_OK);
    assert_rv(f->C_GetSessionInfo(h, &si), CKR_OK);
    assert_int_equal(si.state, CKS_RO_PUBLIC_SESSION);
    token_done();

    /* From here on nothing reaches the card: no VERIFY, no try counted. */
    assert_rv(f->C_Login(h, CKU_USER, (CK_UTF8CHAR *)"", 0), CKR_PIN_LEN_RANGE);
    assert_rv(f->C_Login(h, CKU_USER, NULL, 0), CKR_ARGUMENTS_BAD);
    assert_rv(f->C_Login(h, CKU_USER, (CK_UTF8CHAR *)short_pin, strlen(short_pin)),
              CKR_PIN_LEN_RANGE);
    assert_rv(f->C_Login(h, CKU_USER, (CK_UTF8CHAR *)"12345678901234567", 17),
              CKR_PIN_LEN_RANGE);
    assert_rv(f->C_GetSessionInfo(h, &si), CKR_OK);
    assert_int_equal(si.state, CKS_RO_PUBLIC_SESSION);
    token_done();
    return h;
}

static void test_pulled_and_back_g(void **state)
{
    (void)state;
    CK_SESSION_HANDLE h = pulled_and_back(G_ATR, expect_open_g, status_g, "12345"); /* 6-16 */
    /* A PIN the card takes is sent as ever. */
    sc_expect("00 20 00 01 08 12 34 56 FF FF FF FF FF", "90 00");
    assert_rv(f->C_Login(h, CKU_USER, (CK_UTF8CHAR *)"123456", 6), CKR_OK);
    token_done();
}

static void test_pulled_and_back_o(void **state)
{
    (void)state;
    pulled_and_back(O_ATR, expect_open_o, status_o, "123");             /* 4-8 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_refused_before_the_card, token_fini),
        cmocka_unit_test_teardown(test_pulled_and_back_g, token_fini),
        cmocka_unit_test_teardown(test_pulled_and_back_o, token_fini),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
