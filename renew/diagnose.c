/* diagnose.c: what is wrong with a card, in the words of the smartcard
 * guidance its holder knows, and what to do about it. Reads only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "renew/cardkey.h"
#include "renew/journal.h"
#include "renew/p11.h"
#include "renew/ra.h"
#include "renew/ra_util.h"
#include "renew/util.h"

struct list {
    struct renew_finding *v;
    size_t n, cap;
    const char *serial;
};

static void add(struct list *l, int code, const char *what, const char *todo)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 8;
        struct renew_finding *g = realloc(l->v, nc * sizeof *g);
        if (!g)
            return;
        l->v = g;
        l->cap = nc;
    }
    struct renew_finding *f = &l->v[l->n++];
    f->code = code;
    snprintf(f->serial, sizeof f->serial, "%s", l->serial);
    snprintf(f->what, sizeof f->what, "%s", what);
    snprintf(f->todo, sizeof f->todo, "%s", todo);
}

static void pin_state(struct renew_p11 *p, struct list *l)
{
    CK_FLAGS fl = p->ti.flags;
    if (fl & CKF_USER_PIN_LOCKED)
        add(l, RENEW_E_PIN_BLOCKED, "Your smartcard PIN is blocked.",
            "Ask your RA to unblock it.");
    else if (fl & CKF_USER_PIN_FINAL_TRY)
        add(l, RENEW_E_PIN, "One PIN try is left before your smartcard blocks.",
            "Type your passcode with care; if unsure, ask your RA before trying.");
    else if (fl & CKF_USER_PIN_COUNT_LOW)
        add(l, RENEW_E_PIN, "Wrong PINs were entered: few tries are left.",
            "Type your passcode with care; if unsure, ask your RA.");
}

/* Does the journal name this key as the new one of a renewal under way? */
static bool journaled(const struct renew_journal *j, const struct renew_cred *c)
{
    return j->state > RENEW_J_NONE && j->state < RENEW_J_DONE && j->new_id_len == c->id_len &&
           memcmp(j->new_id, c->id, c->id_len) == 0;
}

static int test_signature(struct renew_p11 *p, const struct renew_cred *c)
{
    struct renew_err e;
    CK_RV rv;
    int md, s = -1;
    EVP_PKEY *key = renew_cardkey_new(p, c->priv, X509_get0_pubkey(c->x509), &e);
    if (key)
        s = renew_cred_check(p, c, key, &md, &rv);
    EVP_PKEY_free(key);
    return s;
}

/* Credentials are grouped by CKA_ID, so a key replaced under its
 * certificate shows as a certificate without key beside a key without
 * certificate. Without the PIN only public objects are seen: public keys
 * stand for their private halves. */
static void creds_state(struct renew_p11 *p, struct renew_cred *c, size_t n, bool logged_in,
                        const struct renew_journal *j, int window, time_t now, struct list *l)
{
    size_t certs = 0, keyless = 0, certless = 0, whole = 0, mismatched = 0;
    char buf[256];
    for (size_t i = 0; i < n; i++) {
        bool key = c[i].has_priv || (!logged_in && c[i].has_pub);
        certs += c[i].has_cert;
        keyless += c[i].has_cert && !key;
        if (!c[i].has_cert && key && !journaled(j, &c[i]))
            certless++;
        if (!c[i].has_cert || !key)
            continue;
        EVP_PKEY *pub = renew_p11_pubkey(p, &c[i]);
        int works = !pub || EVP_PKEY_eq(pub, X509_get0_pubkey(c[i].x509)) == 1 ? 0 : -2;
        EVP_PKEY_free(pub);
        /* With the PIN, a test signature: some cards show the public key
         * of the certificate, whatever key sits in the container. */
        if (works == 0 && logged_in)
            works = test_signature(p, &c[i]);
        if (works == -2) {
            mismatched++;
            continue;
        }
        if (works == -1) {
            keyless++;
            continue;
        }
        whole++;
        char hex[80], day[16];
        time_t when;
        int reason;
        struct renew_err ce;
        renew_ra_serial_hex(c[i].x509, hex, sizeof hex);
        if (hex[0] && renew_cancelled(p->serial, hex, &when, &reason, &ce) == 0) {
            struct tm tm;
            if (!gmtime_r(&when, &tm) || !strftime(day, sizeof day, "%d-%b-%Y", &tm))
                snprintf(day, sizeof day, "?");
            snprintf(buf, sizeof buf, "The certificate on your smartcard was cancelled on %s (%s).",
                     day, renew_reason_name(reason));
            add(l, RENEW_E_CA, buf, "Ask your RA to re-issue the card (cardrenew --enroll).");
            continue;
        }
        time_t na = renew_asn1_time(X509_get0_notAfter(c[i].x509));
        enum renew_state s = renew_state_of(na, now, window);
        if (s == RENEW_EXPIRED)
            add(l, RENEW_E_EXPIRED, "Your smartcard has expired.",
                "Ask your RA for an RA renewal (a self-renewal is no longer possible; the RA uses cardrenew --enroll).");
        else if (s == RENEW_EXPIRING) {
            snprintf(buf, sizeof buf,
                     "The security certificate for your Smartcard expires in %ld days.",
                     renew_days_left(na, now));
            add(l, RENEW_CHECK_DUE, buf, "Run cardrenew --renew to renew it now.");
        }
    }
    if (certs == 0 && certless == 0) {
        if (logged_in)
            add(l, RENEW_E_TOKEN, "Your smartcard is empty.",
                "Ask your RA to cancel this smartcard and re-issue it.");
        else
            add(l, RENEW_E_TOKEN, "Your smartcard shows no certificate.",
                "Ask your RA to cancel this smartcard and re-issue it "
                "(cardrenew --diagnose with your PIN looks closer).");
        return;
    }
    if (mismatched || (keyless && certless && !whole)) {
        add(l, RENEW_E_TOKEN, "The key and the certificate on your smartcard do not match.",
            "Ask your RA to cancel this smartcard and re-issue it.");
        return;
    }
    if (keyless)
        add(l, RENEW_E_TOKEN, "A certificate on your smartcard has no working key.",
            whole ? "Ask your RA to repair this smartcard; its other certificate still works."
                  : "Ask your RA to cancel this smartcard and re-issue it.");
    if (certless && !whole) {
        add(l, RENEW_E_TOKEN, "Your smartcard holds a key but no certificate.",
            "Ask your RA to cancel this smartcard and re-issue it.");
        return;
    }
    if (certless)
        add(l, RENEW_E_TOKEN,
            "Your smartcard holds a key with no certificate, left by an unfinished renewal.",
            "Run cardrenew --renew: it removes the key and renews if renewal is due.");
    if (whole > 1) {
        snprintf(buf, sizeof buf, "Your smartcard holds %zu certificates with their keys.", whole);
        add(l, RENEW_OK, buf, "cardrenew --renew renews the one that expires first.");
    }
}

/* The journal: 0 loaded (j filled), else not there or damaged. */
static int journal_state(const char *serial, struct renew_journal *j, struct list *l)
{
    struct renew_err e;
    int rc = renew_journal_load(serial, j, &e);
    if (rc == 0 && j->state > RENEW_J_NONE && j->state < RENEW_J_DONE && j->enroll)
        add(l, RENEW_E_TOKEN, "An enrollment of this smartcard by the RA was interrupted.",
            "Ask your RA to run cardrenew --enroll again to finish it.");
    else if (rc == 0 && j->state > RENEW_J_NONE && j->state < RENEW_J_DONE)
        add(l, RENEW_E_TOKEN, "A renewal of this smartcard was interrupted.",
            "Run cardrenew --renew to finish it.");
    else if (rc != 0 && rc != 1)
        add(l, rc, e.msg, rc == RENEW_E_JOURNAL
            ? "Run cardrenew --renew: it moves the damaged journal aside, keeping it for your RA."
            : "Check that the journal directory is yours, then run cardrenew --diagnose again.");
    return rc;
}

int renew_diagnose(const struct renew_target *t, char *pin, size_t pin_len, int window_days,
                   time_t now, struct renew_finding **out, size_t *n, struct renew_err *e)
{
    struct renew_p11 p;
    CK_SLOT_ID *slots = NULL;
    size_t nslots = 0;
    struct list l = { 0 };
    int rc = renew_p11_load(&p, t->module, e);
    *out = NULL;
    *n = 0;
    if (rc)
        goto done;
    if ((rc = renew_p11_slots(&p, t->token, &slots, &nslots, e)))
        goto out;
    for (size_t s = 0; s < nslots && rc == 0; s++) {
        struct renew_cred *c = NULL;
        size_t nc = 0;
        bool logged_in = false;
        if ((rc = renew_p11_open(&p, slots[s], false, e)))
            break;
        l.serial = p.serial;
        pin_state(&p, &l);
        if (pin && nslots == 1) {
            struct renew_err le;
            int lr = renew_p11_login(&p, pin, pin_len, &le);
            if (lr == 0)
                logged_in = true;
            else
                add(&l, lr, le.msg, lr == RENEW_E_PIN ? "Check your passcode and retry."
                                                      : "See above.");
        }
        if ((rc = renew_p11_creds(&p, &c, &nc, e)))
            break;
        struct renew_journal j;
        journal_state(p.serial, &j, &l);
        creds_state(&p, c, nc, logged_in, &j, window_days, now, &l);
        renew_journal_clear(&j);
        renew_p11_creds_free(c, nc);
        renew_p11_close(&p);
    }
out:
    free(slots);
    renew_p11_unload(&p);
done:
    renew_wipe(pin, pin_len);
    if (rc) {
        free(l.v);
        return rc;
    }
    *out = l.v;
    *n = l.n;
    return 0;
}
