/* unblock.c: the RA unblocks a card's PIN the PKCS#11 way: C_Login as
 * the security officer with the PUK, then C_InitPIN with the new PIN
 * (what pkcs11-tool --init-pin --login --login-type so does). A card
 * with no PUK answers CKR_USER_TYPE_INVALID: only a re-issue helps. */
#include <stdio.h>
#include <string.h>
#include "renew/p11.h"
#include "renew/ra.h"
#include "renew/ra_util.h"

static int unblock(struct renew_p11 *p, char *puk, size_t puk_len, char *np, size_t np_len,
                   const struct renew_ra_hooks *rh, struct renew_err *e)
{
    char plan[256];
    bool blocked = (p->ti.flags & CKF_USER_PIN_LOCKED) != 0;
    if (np_len < p->ti.ulMinPinLen || (p->ti.ulMaxPinLen && np_len > p->ti.ulMaxPinLen))
        return renew_fail(e, RENEW_E_USAGE, "the new PIN must have %lu to %lu characters: nothing was changed",
                          (unsigned long)p->ti.ulMinPinLen, (unsigned long)p->ti.ulMaxPinLen);
    /* The SO login only hands the PUK to the module (the card checks it
     * at C_InitPIN), so a card without a PUK says so before anything. */
    CK_RV rv = p->f->C_Login(p->sess, CKU_SO, (CK_UTF8CHAR_PTR)puk, puk_len);
    if (rv == CKR_USER_TYPE_INVALID)
        return renew_fail(e, RENEW_E_UNSUPPORTED,
                          "this smartcard (%s) has no PUK: its PIN cannot be unblocked; the RA must "
                          "re-issue it: cancel its certificate at the CA and issue a new card", p->model);
    if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE)
        return renew_fail(e, RENEW_E_PIN, "wrong PUK: nothing was changed; check the PUK and retry");
    if (rv == CKR_PIN_LOCKED)
        return renew_fail(e, RENEW_E_PIN_BLOCKED,
                          "the PUK is blocked: the RA must re-issue the card");
    if (rv != CKR_OK)
        return renew_p11_fail(e, rv, "logging in with the PUK");
    snprintf(plan, sizeof plan, "Smartcard %s (%s): the PIN %s; it is reset with the PUK "
             "and set to the new PIN.\n", p->serial, p->model,
             blocked ? "is blocked" : "is not blocked");
    if (rh->confirm && !rh->confirm(rh->arg, plan)) {
        p->f->C_Logout(p->sess);
        return renew_fail(e, RENEW_E_USAGE, "unblocking not confirmed: nothing was changed");
    }
    renew_ra_step(rh, "resetting the PIN with the PUK");
    rv = p->f->C_InitPIN(p->sess, (CK_UTF8CHAR_PTR)np, np_len);
    p->f->C_Logout(p->sess);
    if (rv == CKR_PIN_INCORRECT)
        return renew_fail(e, RENEW_E_PIN, "wrong PUK: the PIN was not changed; check the PUK and retry");
    if (rv == CKR_PIN_LOCKED)
        return renew_fail(e, RENEW_E_PIN_BLOCKED, "the PUK is blocked: the RA must re-issue the card");
    if (rv == CKR_PIN_LEN_RANGE || rv == CKR_PIN_INVALID)
        return renew_fail(e, RENEW_E_USAGE, "the card refused the new PIN (%s): choose another",
                          renew_ckr_name(rv));
    if (rv != CKR_OK)
        return renew_p11_fail(e, rv, "setting the new PIN");
    return 0;
}

int renew_unblock(const struct renew_target *t, char *puk, size_t puk_len, char *new_pin,
                  size_t new_pin_len, const struct renew_ra_hooks *rh, struct renew_err *e)
{
    struct renew_p11 p;
    int rc = renew_p11_load(&p, t->module, e);
    if (rc == 0 && (rc = renew_p11_open_one(&p, t->token, true, e)) == 0)
        rc = unblock(&p, puk, puk_len, new_pin, new_pin_len, rh, e);
    renew_wipe(puk, puk_len);
    renew_wipe(new_pin, new_pin_len);
    renew_p11_unload(&p);
    return rc;
}
