/* cancel.c: the RA cancels a card's certificate: a CMP revocation request
 * (rr) signed by the certificate's own key, confirmed first. The CA's
 * acceptance is recorded beside the renewal journal, one file per
 * cancelled certificate (<token serial>.cancelled-<certificate serial>),
 * written like the journal (fresh file, fsync, rename, fsync of the
 * directory), so that --renew refuses with the reason and date even
 * before asking the CA, and --status shows "Cancelled on". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "renew/cardkey.h"
#include "renew/cmp.h"
#include "renew/journal.h"
#include "renew/plat.h"
#include "renew/ra.h"
#include "renew/ra_util.h"
#include "renew/util.h"

/* RFC 5280 5.3.1 CRLReason; 7 is not used. */
static const char *reasons[] = { "unspecified", "keyCompromise", "cACompromise",
                                 "affiliationChanged", "superseded", "cessationOfOperation",
                                 "certificateHold", NULL, "removeFromCRL",
                                 "privilegeWithdrawn", "aACompromise" };
#define NREASONS (int)(sizeof reasons / sizeof reasons[0])

int renew_reason_code(const char *name)
{
    for (int i = 0; name && i < NREASONS; i++)
        if (reasons[i] && strcmp(reasons[i], name) == 0 && i != 2 && i != 8 && i != 10)
            return i;
    return -1;
}

const char *renew_reason_name(int code)
{
    return code >= 0 && code < NREASONS && reasons[code] ? reasons[code] : "unspecified";
}

static int record_path(const char *token_serial, const char *cert_hex, char *out, size_t n,
                       struct renew_err *e)
{
    char j[512];
    int rc = renew_journal_path(token_serial, j, sizeof j, e);
    if (rc)
        return rc;
    size_t k = strlen(j) - strlen(".journal");
    if (strspn(cert_hex, "0123456789ABCDEF") != strlen(cert_hex) || !*cert_hex)
        return renew_fail(e, RENEW_E_USAGE, "not a certificate serial: %s", cert_hex);
    snprintf(out, n, "%.*s.cancelled-%s", (int)k, j, cert_hex);
    return 0;
}

int renew_cancelled(const char *token_serial, const char *cert_hex, time_t *when, int *reason,
                    struct renew_err *e)
{
    char path[600], name[40] = "";
    long long t;
    int rc = record_path(token_serial, cert_hex, path, sizeof path, e);
    if (rc)
        return rc;
    char *text;
    size_t len;
    int err = renew_plat_read_own(path, 255, &text, &len);
    if (err == ENOENT)
        return 1;
    if (err && err != EPERM && err != EFBIG && err != EIO && err != ELOOP)
        return renew_fail(e, RENEW_E_USAGE, "cannot read %s: %s", path, strerror(err));
    int ok = !err && sscanf(text, "cancelled %lld %39s", &t, name) == 2;
    free(text);
    if (!ok || renew_reason_code(name) < 0)
        return renew_fail(e, RENEW_E_USAGE, "the cancellation record %s is damaged: remove it", path);
    *when = (time_t)t;
    *reason = renew_reason_code(name);
    return 0;
}

static int record(const char *token_serial, const char *cert_hex, int reason, time_t when,
                  struct renew_err *e)
{
    char path[600], text[128];
    int rc = record_path(token_serial, cert_hex, path, sizeof path, e);
    if (rc)
        return rc;
    int len = snprintf(text, sizeof text, "cancelled %lld %s\n", (long long)when,
                       renew_reason_name(reason));
    bool moved;
    int err = renew_plat_replace_durable(path, text, (size_t)len, &moved);
    if (err)
        return renew_fail(e, RENEW_E_USAGE, "the CA cancelled the certificate but %s cannot be %s: %s",
                          path, moved ? "made durable" : "written", strerror(err));
    return 0;
}

int renew_cancelled_refusal(const char *token_serial, X509 *cert, struct renew_err *e)
{
    char hex[80], d[16];
    time_t when;
    int reason;
    struct renew_err ce;
    renew_ra_serial_hex(cert, hex, sizeof hex);
    if (!hex[0] || renew_cancelled(token_serial, hex, &when, &reason, &ce) != 0)
        return 0;
    struct tm tm;
    if (!gmtime_r(&when, &tm) || !strftime(d, sizeof d, "%d-%b-%Y", &tm))
        snprintf(d, sizeof d, "?");
    return renew_fail(e, RENEW_E_CA,
                      "this certificate was cancelled on %s (%s): it cannot be renewed; "
                      "ask your RA to re-issue the card (cardrenew --enroll)",
                      d, renew_reason_name(reason));
}

static int cancel_one(struct renew_p11 *p, const struct renew_ca *ca, struct renew_cred *c,
                      int reason, const struct renew_ra_hooks *rh, struct renew_err *e)
{
    EVP_PKEY *key = renew_cardkey_new(p, c->priv, X509_get0_pubkey(c->x509), e);
    char hex[80];
    int md, rc;
    CK_RV rv;
    if (!key)
        return e->code;
    int s = renew_cred_check(p, c, key, &md, &rv);
    if (s == -1)
        rc = renew_p11_fail(e, rv, "signing with the card's key");
    else if (s == -2)
        rc = renew_fail(e, RENEW_E_TOKEN,
                        "the key and the certificate on the card do not match: the certificate cannot "
                        "sign its own cancellation; cancel it at the CA by its serial");
    else {
        renew_ra_serial_hex(c->x509, hex, sizeof hex);
        char what[160];
        snprintf(what, sizeof what, "asking the certificate authority to cancel certificate %s", hex);
        renew_ra_step(rh, what);
        rc = renew_cmp_rr(ca, c->x509, key, md, reason, rh->h, e);
        if (rc == 0)
            rc = record(p->serial, hex, reason, time(NULL), e);
    }
    EVP_PKEY_free(key);
    return rc;
}

int renew_cancel(const struct renew_target *t, const struct renew_ca *ca, int reason,
                 char *pin, size_t pin_len, const struct renew_ra_hooks *rh,
                 struct renew_err *e)
{
    struct renew_p11 p;
    struct renew_cred *c = NULL;
    size_t n = 0, whole = 0;
    int lock = -1;
    char plan[4096];
    int rc = renew_p11_load(&p, t->module, e);
    if (rc == 0 && (rc = renew_p11_open_one(&p, t->token, false, e)) == 0) {
        if ((lock = renew_journal_lock(p.serial, e)) < 0)
            rc = e->code;
    }
    if (rc == 0 && (rc = renew_p11_login(&p, pin, pin_len, e)) == 0)
        rc = renew_p11_creds(&p, &c, &n, e);
    if (rc)
        goto out;
    for (size_t i = 0; i < n; i++)
        whole += c[i].has_priv && c[i].has_cert;
    if (!whole) {
        rc = renew_fail(e, RENEW_E_TOKEN,
                        "the card holds no key with its certificate to sign the cancellation: "
                        "cancel the certificate at the CA by its serial");
        goto out;
    }
    renew_ra_describe(&p, c, n, NULL, plan, sizeof plan);
    size_t k = strlen(plan);
    snprintf(plan + k, sizeof plan - k,
             "Every certificate above that has its key is cancelled at %s, reason %s. "
             "This cannot be undone: the card can then only be re-issued (cardrenew --enroll).\n",
             ca->url ? ca->url : "?", renew_reason_name(reason));
    if (rh->confirm && !rh->confirm(rh->arg, plan)) {
        rc = renew_fail(e, RENEW_E_USAGE, "cancellation not confirmed: nothing was sent");
        goto out;
    }
    for (size_t i = 0; i < n && rc == 0; i++)
        if (c[i].has_priv && c[i].has_cert)
            rc = cancel_one(&p, ca, &c[i], reason, rh, e);
out:
    renew_wipe(pin, pin_len);
    renew_p11_creds_free(c, n);
    renew_p11_unload(&p);
    renew_journal_unlock(lock);
    return rc;
}
