/* status.c: every matching token's certificates and their expiry, read
 * without logging in (certificates are public objects). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "renew/p11.h"
#include "renew/ra.h"
#include "renew/ra_util.h"
#include "renew/util.h"

static int add(struct renew_cert_info **out, size_t *n, size_t *cap)
{
    if (*n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 4;
    struct renew_cert_info *g = realloc(*out, nc * sizeof *g);
    if (!g)
        return -1;
    *out = g;
    *cap = nc;
    return 0;
}

int renew_status(const struct renew_target *t, int window_days, time_t now,
                 struct renew_cert_info **out, size_t *n_out, struct renew_err *e)
{
    struct renew_p11 p;
    CK_SLOT_ID *slots = NULL;
    size_t nslots = 0, n = 0, cap = 0;
    struct renew_cert_info *all = NULL;
    int rc = renew_p11_load(&p, t->module, e);
    *out = NULL;
    *n_out = 0;
    if (rc)
        return rc;
    if ((rc = renew_p11_slots(&p, t->token, &slots, &nslots, e)))
        goto out;
    for (size_t s = 0; s < nslots && rc == 0; s++) {
        struct renew_cred *c = NULL;
        size_t nc = 0;
        if ((rc = renew_p11_open(&p, slots[s], false, e)) ||
            (rc = renew_p11_creds(&p, &c, &nc, e)))
            break;
        for (size_t i = 0; i < nc; i++) {
            if (!c[i].has_cert)
                continue;
            if (add(&all, &n, &cap)) {
                rc = renew_fail(e, RENEW_E_TOKEN, "out of memory: close other programs and retry");
                break;
            }
            struct renew_cert_info *ci = &all[n++];
            memset(ci, 0, sizeof *ci);
            snprintf(ci->serial, sizeof ci->serial, "%s", p.serial);
            snprintf(ci->family, sizeof ci->family, "%s", p.model);
            snprintf(ci->token_label, sizeof ci->token_label, "%s", p.label);
            snprintf(ci->label, sizeof ci->label, "%s", c[i].label);
            renew_subject_cn(c[i].x509, ci->subject_cn, sizeof ci->subject_cn);
            ci->not_before = renew_asn1_time(X509_get0_notBefore(c[i].x509));
            ci->not_after = renew_asn1_time(X509_get0_notAfter(c[i].x509));
            ci->days_left = renew_days_left(ci->not_after, now);
            ci->state = renew_state_of(ci->not_after, now, window_days);
            ci->pin_blocked = (p.ti.flags & CKF_USER_PIN_LOCKED) != 0;
            char hex[80];
            int reason;
            struct renew_err ce;
            renew_ra_serial_hex(c[i].x509, hex, sizeof hex);
            if (hex[0] && renew_cancelled(p.serial, hex, &ci->cancelled_on, &reason, &ce) == 0)
                snprintf(ci->cancel_reason, sizeof ci->cancel_reason, "%s",
                         renew_reason_name(reason));
            else
                ci->cancelled_on = 0;
            /* What shows without the PIN: a public key object of its id. */
            EVP_PKEY *pub = c[i].has_pub ? renew_p11_pubkey(&p, &c[i]) : NULL;
            ci->keyless = !c[i].has_pub && !c[i].has_priv;
            ci->keyless |= pub && EVP_PKEY_eq(pub, X509_get0_pubkey(c[i].x509)) != 1;
            EVP_PKEY_free(pub);
        }
        renew_p11_creds_free(c, nc);
        renew_p11_close(&p);
    }
out:
    free(slots);
    renew_p11_unload(&p);
    if (rc) {
        free(all);
        return rc;
    }
    *out = all;
    *n_out = n;
    return 0;
}
