/* test_pkcs11_removal.c: a card pulled during or between APDUs first
 * shows as a failed transfer (SCARD_E_NOT_TRANSACTED, or a 0-byte answer)
 * while pcscd, which polls the reader, still has it present. The call
 * answers CKR_DEVICE_REMOVED once PC/SC says the card went (the token's
 * sessions end); a card still there after the wait was a passing fault:
 * CKR_DEVICE_ERROR, the session and its login kept. A scripted G card
 * behind the PC/SC seam. */
#include "tests/unit/scripted_token.h"

static CK_OBJECT_HANDLE private_handle(CK_SLOT_ID slot)
{
    const struct p11_slot *s = &p11_g.slots[slot];
    for (size_t i = 0; i < s->nobj; i++)
        if (s->obj[i].kind == P11_PRIV)
            return s->obj[i].handle;
    fail_msg("no private key object");
    return 0;
}

static const CK_MECHANISM sha1_rsa = { CKM_SHA1_RSA_PKCS, NULL, 0 };

static CK_RV sign_cut_off(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key)
{
    CK_BYTE data[20] = "signed as it is cut", sig[512];
    CK_ULONG len = sizeof(sig);
    assert_rv(f->C_SignInit(h, (CK_MECHANISM *)&sha1_rsa, key), CKR_OK);
    sc_expect_prefix("00 22 41 B6", "90 00");               /* MSE */
    sc_expect_rv("80 2A 9E", SCARD_E_NOT_TRANSACTED);       /* PSO: the transfer fails */
    return f->C_Sign(h, data, sizeof(data), sig, &len);
}

static void test_transfer_cut_off(void **state)
{
    (void)state;
    CK_SLOT_ID slot;
    token_init(G_ATR, &slot);
    expect_open_g();
    CK_SESSION_HANDLE h;
    assert_rv(f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &h), CKR_OK);
    sc_expect("00 20 00 01 08 12 34 56 FF FF FF FF FF", "90 00");
    assert_rv(f->C_Login(h, CKU_USER, (CK_UTF8CHAR *)"123456", 6), CKR_OK);
    expect_g_objects();
    expect_g_probes();      /* keys without a certificate, looked for once */
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t = { CKA_CLASS, &cls, sizeof(cls) };
    assert_rv(f->C_FindObjectsInit(h, &t, 1), CKR_OK);
    assert_rv(f->C_FindObjectsFinal(h), CKR_OK);
    CK_OBJECT_HANDLE key = private_handle(slot);
    token_done();

    /* The card stays: PC/SC never says otherwise. */
    int before = sc.statuses;
    assert_rv(sign_cut_off(h, key), CKR_DEVICE_ERROR);
    assert_true(sc.statuses > before + 1);                  /* asked more than once */
    CK_SESSION_INFO si;
    assert_rv(f->C_GetSessionInfo(h, &si), CKR_OK);
    assert_int_equal(si.state, CKS_RO_USER_FUNCTIONS);
    token_done();

    /* Pulled: pcscd sees it go a few looks after the transfer failed.
     * (After a fault the objects are checked again: the counter.) */
    expect_g_counter();
    sc.status_removed_at = sc.statuses + 3;
    assert_rv(sign_cut_off(h, key), CKR_DEVICE_REMOVED);
    assert_rv(f->C_GetSessionInfo(h, &si), CKR_SESSION_HANDLE_INVALID);
    token_done();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_transfer_cut_off, token_fini),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
