/* engine.c: the renewal, in the order that keeps the promise: at every
 * moment the token holds at least one complete, working credential, and
 * a rerun finishes the job (see the design notes).
 *   preflight -> new key on the token -> CMP kur -> journal the issued
 *   certificate -> write it -> verify -> retire the old credential.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>
#include "renew/cardkey.h"
#include "renew/cmp.h"
#include "renew/journal.h"
#include "renew/judge.h"
#include "renew/ra_util.h"
#include "renew/token.h"
#include "renew/util.h"

struct run {
    struct renew_p11 p;
    const struct renew_hooks *h;
    const struct renew_ca *ca;
    struct renew_cred *creds;
    size_t ncreds;
    struct renew_cred *old, *nw;    /* point into creds, or at gen */
    struct renew_cred gen;          /* a key pair made in this run */
    struct renew_journal j;
    X509 *issued;
    int md_nid;
    int lock;                       /* fd holding the per-token lock */
    const struct renew_when *when;
    struct renew_err *e;
};

static void step(struct run *r, const char *what)
{
    if (r->h && r->h->step)
        r->h->step(r->h->arg, what);
}

/* Test hook (documented in cardrenew(1)): CARDRENEW_TEST_KILL_AT=<step>
 * kills the process right after that step, to prove a rerun resumes. */
static void boundary(const char *name)
{
    renew_ra_boundary(name);
}

static struct renew_cred *by_id(struct run *r, const unsigned char *id, size_t len)
{
    for (size_t i = 0; len && i < r->ncreds; i++)
        if (r->creds[i].id_len == len && memcmp(r->creds[i].id, id, len) == 0)
            return &r->creds[i];
    return NULL;
}

static bool complete(const struct renew_cred *c)
{
    return c && c->has_priv && c->has_cert;
}

static time_t not_after(const struct renew_cred *c)
{
    return renew_asn1_time(X509_get0_notAfter(c->x509));
}

static int reload(struct run *r)
{
    renew_p11_creds_free(r->creds, r->ncreds);
    r->creds = NULL;
    r->ncreds = 0;
    return renew_p11_creds(&r->p, &r->creds, &r->ncreds, r->e);
}

static int save(struct run *r, enum renew_jstate s)
{
    r->j.state = s;
    return renew_journal_save(r->p.serial, &r->j, r->e);
}

/* The renewal's own mark on a card: it writes the new certificate under
 * the old one's label (cards that name credentials after their holder
 * show one label anyway), for the same subject, from the same issuer,
 * issued inside the old one's renewal window and ending later. Two
 * credentials like that with no journal are a renewal cut after its
 * write (rerun on another desktop, say); anything else, an RA's
 * authentication and signing pair among them, is a card with several
 * credentials. A forced renewal outside the window leaves no such mark:
 * only its journal can finish it. */
static bool successor(const struct run *r, const struct renew_cred *old,
                      const struct renew_cred *nw)
{
    X509 *a = old->x509, *b = nw->x509;
    int window = r->when->window_days > RENEW_DEFAULT_DAYS ? r->when->window_days
                                                           : RENEW_DEFAULT_DAYS;
    time_t opened = not_after(old) - (time_t)window * 86400;
    return strcmp(old->label, nw->label) == 0 &&
           X509_NAME_cmp(X509_get_subject_name(a), X509_get_subject_name(b)) == 0 &&
           X509_NAME_cmp(X509_get_issuer_name(a), X509_get_issuer_name(b)) == 0 &&
           difftime(renew_asn1_time(X509_get0_notBefore(b)), opened) >= 0 &&
           difftime(not_after(nw), not_after(old)) > 0;
}

/* A journal that cannot belong to this card's renewal is set aside
 * (nothing in it is lost) and the run stops. */
static int journal_aside(struct run *r, const char *what)
{
    char to[600], why[RENEW_MSG_MAX];
    struct renew_err ae;
    snprintf(why, sizeof why, "%s", what);
    if (renew_journal_set_aside(r->p.serial, to, sizeof to, &ae))
        return renew_fail(r->e, RENEW_E_JOURNAL, "%s", ae.msg);
    renew_journal_clear(&r->j);
    return renew_fail(r->e, RENEW_E_JOURNAL,
                      "%s; it was moved to %s; your smartcard keeps its current certificate: run cardrenew --renew again",
                      why, to);
}

/* The credential being renewed: the journal's; else the one that expires
 * first, finishing a renewal whose mark is on the card (successor). */
static int pick(struct run *r, bool *resume_pair)
{
    struct renew_cred *a = NULL;
    size_t n = 0;
    *resume_pair = false;
    if (r->j.state > RENEW_J_NONE && r->j.state < RENEW_J_DONE) {
        r->old = by_id(r, r->j.old_id, r->j.old_id_len);
        r->nw = by_id(r, r->j.new_id, r->j.new_id_len);
        if (!r->old && !r->nw)
            return journal_aside(r, "the renewal journal names keys that are not on this smartcard");
        if (r->j.state >= RENEW_J_ISSUED && !(r->nw && r->nw->has_priv))
            return journal_aside(r, "the renewal journal holds a certificate for a key that is no longer on this smartcard");
        if (r->old && !complete(r->old) && !r->old->has_priv)
            r->old = NULL;
        return 0;
    }
    for (size_t i = 0; i < r->ncreds; i++)
        if (complete(&r->creds[i])) {
            n++;
            if (!a || difftime(not_after(&r->creds[i]), not_after(a)) < 0)
                a = &r->creds[i];
        }
    if (n == 0) {
        bool any = false;
        for (size_t i = 0; i < r->ncreds; i++)
            any |= r->creds[i].has_priv || r->creds[i].has_cert;
        return renew_fail(r->e, RENEW_E_TOKEN, any
            ? "your smartcard holds no complete key and certificate: ask your RA to cancel and re-issue the card"
            : "Your smartcard is empty: ask your RA to cancel and re-issue the card");
    }
    r->old = a;
    for (size_t i = 0; i < r->ncreds; i++)
        if (complete(&r->creds[i]) && successor(r, a, &r->creds[i])) {
            r->nw = &r->creds[i];
            *resume_pair = true;
        }
    return 0;
}

/* A key with no certificate that the journal does not name. */
static bool is_pending(const struct run *r, const struct renew_cred *c)
{
    return c->has_priv && !c->has_cert && c != r->old && c != r->nw;
}

static size_t pending_keys(const struct run *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->ncreds; i++)
        n += is_pending(r, &r->creds[i]);
    return n;
}

/* Removes the pending keys an earlier, unjournaled run left behind. */
static int remove_pending(struct run *r, int *removed)
{
    *removed = 0;
    for (size_t i = 0; i < r->ncreds; i++) {
        struct renew_cred *c = &r->creds[i];
        if (!is_pending(r, c))
            continue;
        if (!*removed)
            step(r, "removing an unfinished key left by an earlier renewal");
        int rc = renew_token_destroy(&r->p, c, r->e);
        if (rc)
            return rc;
        (*removed)++;
    }
    return 0;
}

static int cardkey_of(struct run *r, struct renew_cred *c, EVP_PKEY **key, EVP_PKEY **pub)
{
    *key = NULL;
    *pub = renew_p11_pubkey(&r->p, c);
    if (!*pub)
        return renew_fail(r->e, RENEW_E_TOKEN,
                          "cannot read the public key of the key on your smartcard: run cardrenew --diagnose");
    *key = renew_cardkey_new(&r->p, c->priv, *pub, r->e);
    return *key ? 0 : r->e->code;
}

/* Old key signs, the certificate verifies: the credential works and the
 * digest the card can do is known. */
static int check_old(struct run *r, EVP_PKEY *key)
{
    CK_RV rv;
    int s = renew_cred_check(&r->p, r->old, key, &r->md_nid, &rv);
    if (s == -1)
        return renew_p11_fail(r->e, rv, "signing with your current key");
    if (r->h && r->h->debug)
        r->h->debug(r->h->arg, r->md_nid == NID_sha1
                    ? "the card signs SHA-1 only: CMP protection and proof of possession use SHA-1"
                    : "CMP protection and proof of possession use SHA-256");
    if (s == -2)
        return renew_fail(r->e, RENEW_E_TOKEN,
                          "the key and the certificate on your smartcard do not match: ask your RA to cancel and re-issue the card");
    return 0;
}

static int preflight(struct run *r, bool need_ca, EVP_PKEY *oldkey)
{
    int rc;
    step(r, "checking the card and the current certificate");
    if ((rc = check_old(r, oldkey)))
        return rc;
    if (need_ca) {
        time_t na = not_after(r->old);
        if (difftime(na, time(NULL)) <= 0)
            return renew_fail(r->e, RENEW_E_EXPIRED,
                              "your certificate has expired: ask your RA for an RA renewal (the RA re-issues it with cardrenew --enroll)");
        step(r, "checking the certificate authority");
        if ((rc = renew_ca_usable(r->ca, r->e)) || (rc = renew_cmp_reachable(r->ca, r->e)))
            return rc;
    }
    return 0;
}

static const char *label_of(const struct run *r)
{
    return r->old && r->old->label[0] ? r->old->label : "cardrenew";
}

/* Generates (or reuses) the new key and asks the CA to certify it. */
static int new_cert(struct run *r, EVP_PKEY *oldkey, bool reuse)
{
    EVP_PKEY *nkey = NULL, *npub = NULL;
    int rc;
    if (!reuse) {
        if ((rc = renew_token_can_generate(&r->p, r->old, r->e)))
            return rc;
        step(r, "making a new key on the card");
        if ((rc = renew_token_generate(&r->p, r->old, label_of(r), &r->gen, r->e)))
            return rc;
        r->nw = &r->gen;
        boundary("keygen-unsaved");
        memcpy(r->j.old_id, r->old->id, r->old->id_len);
        r->j.old_id_len = r->old->id_len;
        memcpy(r->j.new_id, r->nw->id, r->nw->id_len);
        r->j.new_id_len = r->nw->id_len;
        if ((rc = save(r, RENEW_J_KEYGEN)))
            goto drop;
        boundary("keygen");
    }
    if ((rc = cardkey_of(r, r->nw, &nkey, &npub)))
        goto drop;
    step(r, "asking the certificate authority for the new certificate");
    X509 *refused = NULL;
    rc = renew_cmp_kur(r->ca, r->old->x509, oldkey, nkey, npub, r->md_nid, r->h, &r->issued,
                       &refused, r->e);
    EVP_PKEY_free(nkey);
    EVP_PKEY_free(npub);
    if (refused) {
        char kept[600], why[RENEW_MSG_MAX];
        struct renew_err ke;
        snprintf(why, sizeof why, "%s", r->e->msg);
        if (renew_journal_keep_cert(r->p.serial, "refused", refused, kept, sizeof kept, &ke))
            snprintf(kept, sizeof kept, "nowhere: %s", ke.msg);
        renew_fail(r->e, RENEW_E_CA, "%s; your smartcard keeps its current certificate; "
                   "the refused certificate is kept in %s for your RA", why, kept);
        X509_free(refused);
    }
    if (rc)
        goto drop;
    boundary("cmp");
    unsigned char *der = NULL;
    int len = i2d_X509(r->issued, &der);
    if (len <= 0)
        return renew_fail(r->e, RENEW_E_TOKEN, "cannot encode the new certificate: nothing was written; run cardrenew --renew again");
    free(r->j.cert);
    r->j.cert = malloc((size_t)len);
    if (r->j.cert)
        memcpy(r->j.cert, der, (size_t)len);
    r->j.cert_len = (size_t)len;
    OPENSSL_free(der);
    if (!r->j.cert)
        return renew_fail(r->e, RENEW_E_TOKEN, "out of memory: close other programs and run cardrenew --renew again");
    step(r, "saving the new certificate to the renewal journal");
    if ((rc = save(r, RENEW_J_ISSUED)))
        return rc;
    boundary("journal");
    return 0;
drop:
    /* Nothing was issued: take the new key away again so nothing changed. */
    if (r->nw && r->nw->has_priv) {
        struct renew_err ignore;
        renew_token_destroy(&r->p, r->nw, &ignore);
        r->nw = NULL;
    }
    r->j.state = RENEW_J_NONE;
    struct renew_err ignore;
    renew_journal_save(r->p.serial, &r->j, &ignore);
    return rc;
}

/* A certificate from an earlier run is judged again before it is written:
 * the journal is a file anybody with the desktop account could edit. */
static int judge_journaled(struct run *r)
{
    char why[256];
    struct renew_err te;
    EVP_PKEY *pub = renew_p11_pubkey(&r->p, r->nw);
    struct renew_judge_in in = { .old = r->old->x509, .newpub = pub, .now = time(NULL) };
    int rc = 0;
    if (!(in.trust = renew_trust_load(r->ca->cert_file, &te)))
        rc = renew_fail(r->e, te.code, "%s", te.msg);
    else if (renew_judge(&in, r->issued, why, sizeof why)) {
        char msg[RENEW_MSG_MAX];
        snprintf(msg, sizeof msg, "the certificate in the renewal journal cannot replace yours: %s", why);
        rc = journal_aside(r, msg);
    }
    X509_STORE_free(in.trust);
    EVP_PKEY_free(pub);
    return rc;
}

static int write_cert(struct run *r)
{
    CK_OBJECT_HANDLE h;
    int rc;
    if (!r->issued) {
        const unsigned char *q = r->j.cert;
        r->issued = d2i_X509(NULL, &q, (long)r->j.cert_len);
        if (!r->issued)
            return journal_aside(r, "the renewal journal holds a damaged certificate");
        if (complete(r->old) && (rc = judge_journaled(r)))
            return rc;
    }
    step(r, "writing the new certificate to the card");
    if ((rc = renew_token_write_cert(&r->p, r->issued, r->nw->id, r->nw->id_len,
                                     label_of(r), &h, r->e)))
        return rc;
    r->nw->cert = h;
    r->nw->has_cert = true;
    boundary("write");
    return save(r, RENEW_J_WRITTEN);
}

static int verify_new(struct run *r)
{
    EVP_PKEY *key = NULL, *pub = NULL;
    X509 *cert = r->issued ? r->issued : r->nw->x509;
    int rc;
    step(r, "checking the new key and certificate together");
    if ((rc = cardkey_of(r, r->nw, &key, &pub)))
        goto out;
    if (!cert || !EVP_PKEY_eq(X509_get0_pubkey(cert), pub)) {
        rc = renew_fail(r->e, RENEW_E_TOKEN,
                        "the new certificate does not match the new key: your old certificate is kept; run cardrenew --diagnose");
        goto out;
    }
    int s = renew_sign_check(key, X509_get0_pubkey(cert), r->md_nid);
    if (s != 0)
        rc = s == -1 ? renew_p11_fail(r->e, renew_cardkey_last_rv(key), "signing with the new key")
                     : renew_fail(r->e, RENEW_E_TOKEN,
                                  "a test signature with the new key did not verify: your old certificate is kept; ask your RA");
    boundary("verify");
out:
    EVP_PKEY_free(key);
    EVP_PKEY_free(pub);
    return rc;
}

static int retire(struct run *r)
{
    int rc = 0;
    if (r->old) {
        step(r, "removing the old key and certificate");
        if ((rc = renew_token_destroy(&r->p, r->old, r->e)))
            return rc;
        boundary("retire");
    }
    return save(r, RENEW_J_DONE);
}

/* A fresh renewal only inside the renewal window (or when forced); else
 * the outcome says why nothing was done. */
static bool due(struct run *r, struct renew_result *res)
{
    time_t na = complete(r->old) ? not_after(r->old) : 0;
    if (r->when->force || !na ||
        renew_state_of(na, time(NULL), r->when->window_days) != RENEW_ACTIVE)
        return true;
    res->current_not_after = na;
    res->outcome = r->j.state == RENEW_J_DONE && r->j.new_id_len == r->old->id_len &&
                   memcmp(r->j.new_id, r->old->id, r->old->id_len) == 0
                   ? RENEW_ALREADY_RENEWED : RENEW_NOT_DUE;
    return false;
}

static int run(struct run *r, char *pin, size_t pin_len, struct renew_result *res)
{
    bool pair;
    EVP_PKEY *oldkey = NULL, *oldpub = NULL;
    int rc, removed;
    /* Locked first, so a second run spends no PIN try. */
    snprintf(res->serial, sizeof res->serial, "%s", r->p.serial);
    if ((r->lock = renew_journal_lock(r->p.serial, r->e)) < 0)
        return r->e->code;
    if ((rc = renew_p11_login(&r->p, pin, pin_len, r->e)))
        return rc;
    if ((rc = reload(r)))
        return rc;
    rc = renew_journal_load(r->p.serial, &r->j, r->e);
    if (rc == RENEW_E_JOURNAL)
        return journal_aside(r, r->e->msg);
    if (rc != 0 && rc != 1)
        return rc;
    if (r->j.enroll && r->j.state > RENEW_J_NONE && r->j.state < RENEW_J_DONE)
        return renew_fail(r->e, RENEW_E_TOKEN,
                          "an RA's enrollment of this smartcard was interrupted: ask your RA to "
                          "finish it (cardrenew --enroll again)");
    if ((rc = pick(r, &pair)))
        return rc;
    if (complete(r->old))
        res->current_not_after = not_after(r->old);
    /* A cancelled certificate is never renewed, forced or not. */
    if (r->old && r->old->x509 && (rc = renew_cancelled_refusal(r->p.serial, r->old->x509, r->e)))
        return rc;
    struct renew_seen s = {
        .journal = r->j.state > RENEW_J_NONE && r->j.state < RENEW_J_DONE,
        .jstate = r->j.state,
        .new_key = r->nw && r->nw->has_priv,
        .new_cert = r->nw && complete(r->nw),
        .old_cred = complete(r->old),
    };
    if (pair) {
        s.journal = true;
        s.jstate = RENEW_J_WRITTEN;
    }
    s.other_pending = pending_keys(r) > 0;
    enum renew_action act = renew_resume_decide(&s);
    bool tidy = act == RENEW_DO_REMOVE_PENDING;
    if (tidy) {     /* removed once confirmed, then the rest goes on */
        s.other_pending = false;
        act = renew_resume_decide(&s);
    }
    if (r->h && r->h->debug) {
        char line[96];
        snprintf(line, sizeof line, "journal state %s: %s", renew_jstate_name(r->j.state),
                 renew_action_name(act));
        r->h->debug(r->h->arg, line);
    }
    /* Not due: only what an earlier run left unfinished is tidied. */
    bool renewing = act != RENEW_DO_FRESH || due(r, res);
    if (!renewing && !tidy)
        return 0;
    if (act == RENEW_DO_FRESH) {
        renew_journal_clear(&r->j);
        r->nw = NULL;
    }
    if ((act == RENEW_DO_FRESH || act == RENEW_DO_REUSE_KEY) && !complete(r->old))
        return renew_fail(r->e, RENEW_E_TOKEN,
                          "your smartcard holds no complete key and certificate: ask your RA to cancel and re-issue the card");
    struct renew_plan plan = { .resuming = act != RENEW_DO_FRESH || tidy };
    snprintf(plan.serial, sizeof plan.serial, "%s", r->p.serial);
    const struct renew_cred *shown = complete(r->old) ? r->old : r->nw;
    if (shown) {
        snprintf(plan.label, sizeof plan.label, "%s", shown->label);
        renew_subject_cn(shown->x509, plan.subject_cn, sizeof plan.subject_cn);
        plan.not_after = shown->x509 ? not_after(shown) : 0;
    }
    if (complete(r->old)) {
        if ((rc = cardkey_of(r, r->old, &oldkey, &oldpub)))
            goto out;
        bool need_ca = renewing && (act == RENEW_DO_FRESH || act == RENEW_DO_REUSE_KEY);
        if ((rc = preflight(r, need_ca, oldkey)))
            goto out;
    } else {
        r->md_nid = NID_sha256;
    }
    if (r->h && r->h->confirm && !r->h->confirm(r->h->arg, &plan)) {
        rc = renew_fail(r->e, RENEW_E_DECLINED, "renewal not confirmed: nothing was changed");
        goto out;
    }
    if (plan.resuming)
        step(r, "finishing the renewal that was interrupted");
    if (tidy && (rc = remove_pending(r, &removed)))
        goto out;
    if (!renewing)
        goto out;
    switch (act) {
    case RENEW_DO_FRESH:
    case RENEW_DO_REUSE_KEY:
        if ((rc = new_cert(r, oldkey, act == RENEW_DO_REUSE_KEY)))
            goto out;
        /* fall through */
    case RENEW_DO_WRITE_CERT:
        if ((rc = write_cert(r)))
            goto out;
        /* fall through */
    case RENEW_DO_RETIRE_OLD:
        if ((rc = verify_new(r)))
            goto out;
        /* fall through */
    case RENEW_DO_FINISH:
    default:
        if ((rc = retire(r)))
            goto out;
    }
    X509 *c = r->issued ? r->issued : r->nw ? r->nw->x509 : NULL;
    res->outcome = RENEW_RENEWED;
    renew_result_certs(res, r->p.serial, r->old ? r->old->x509 : NULL, c);
    if (c) {
        res->new_not_after = renew_asn1_time(X509_get0_notAfter(c));
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(c), NULL);
        char *hex = bn ? BN_bn2hex(bn) : NULL;
        snprintf(res->new_serial_hex, sizeof res->new_serial_hex, "%s", hex ? hex : "");
        OPENSSL_free(hex);
        BN_free(bn);
    }
    rc = 0;
out:
    EVP_PKEY_free(oldkey);
    EVP_PKEY_free(oldpub);
    return rc;
}

int renew_run(const struct renew_target *t, const struct renew_ca *ca,
              const struct renew_when *when, char *pin, size_t pin_len,
              const struct renew_hooks *h, struct renew_result *res, struct renew_err *e)
{
    struct run r = { .h = h, .ca = ca, .when = when, .e = e, .lock = -1 };
    int rc;
    memset(res, 0, sizeof *res);
    if ((rc = renew_p11_load(&r.p, t->module, e)) == 0 &&
        (rc = renew_p11_open_one(&r.p, t->token, true, e)) == 0)
        rc = run(&r, pin, pin_len, res);
    renew_wipe(pin, pin_len);
    X509_free(r.issued);
    renew_p11_creds_free(r.creds, r.ncreds);
    renew_journal_clear(&r.j);
    renew_p11_unload(&r.p);
    renew_journal_unlock(r.lock);
    return rc;
}
