/* enroll.c: the RA's first issue or re-issue onto a card, in the order
 * that keeps the renewal's promise: nothing is removed from the card
 * until its replacement is on it and verified, and a rerun finishes.
 *   plan and confirm -> new key on the card -> journal -> CMP ir ->
 *   judge -> journal the certificate -> write it -> verify -> remove
 *   every other key and certificate.
 * A refused ir (a wrong one-time secret, say) takes the new key away
 * again, so the card is as it was. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>
#include "renew/cardkey.h"
#include "renew/cmp.h"
#include "renew/journal.h"
#include "renew/judge.h"
#include "renew/ra.h"
#include "renew/ra_util.h"
#include "renew/token.h"
#include "renew/util.h"

struct en {
    struct renew_p11 p;
    const struct renew_ca *ca;
    const struct renew_enroll_req *rq;
    const struct renew_ra_hooks *rh;
    struct renew_cred *creds;
    size_t ncreds;
    struct renew_cred *nw;          /* points into creds, or at gen */
    struct renew_cred gen;
    struct renew_journal j;
    X509_NAME *subject;
    X509 *issued;
    int md_nid;
    struct renew_err *e;
};

static int save(struct en *r, enum renew_jstate s)
{
    r->j.state = s;
    r->j.enroll = true;
    return renew_journal_save(r->p.serial, &r->j, r->e);
}

/* The subject: the journal's on a rerun, else --subject, else the one
 * the card's certificates share. */
static int pick_subject(struct en *r)
{
    if (r->j.subject) {
        const unsigned char *q = r->j.subject;
        r->subject = d2i_X509_NAME(NULL, &q, (long)r->j.subject_len);
        return r->subject ? 0 : renew_fail(r->e, RENEW_E_JOURNAL,
                                           "the enrollment journal's subject is damaged: run cardrenew --diagnose");
    }
    if (r->rq->subject) {
        if (!(r->subject = renew_ra_parse_dn(r->rq->subject)))
            return renew_fail(r->e, RENEW_E_USAGE,
                              "--subject \"%s\" is not a DN like /C=GB/O=NHS/CN=Jane Doe",
                              r->rq->subject);
        return 0;
    }
    for (size_t i = 0; i < r->ncreds; i++) {
        X509 *x = r->creds[i].x509;
        if (!x)
            continue;
        if (r->subject && X509_NAME_cmp(r->subject, X509_get_subject_name(x)) != 0) {
            X509_NAME_free(r->subject);
            r->subject = NULL;
            return renew_fail(r->e, RENEW_E_USAGE,
                              "the card's certificates name different holders: say which with --subject DN");
        }
        if (!r->subject)
            r->subject = X509_NAME_dup(X509_get_subject_name(x));
    }
    return r->subject ? 0 : renew_fail(r->e, RENEW_E_USAGE,
                                       "the card holds no certificate to take the holder's name from: give --subject DN");
}

static const char *label_of(struct en *r, char *buf, size_t n)
{
    for (size_t i = 0; i < r->ncreds; i++)
        if (r->creds[i].has_priv && r->creds[i].label[0])
            return r->creds[i].label;
    if (X509_NAME_get_text_by_NID(r->subject, NID_commonName, buf, (int)n) > 0)
        return buf;
    return "cardrenew";
}

/* Signs with the new key: SHA-256 unless the card signs SHA-1 only. */
static int digest_of(struct en *r, EVP_PKEY *key, EVP_PKEY *pub)
{
    bool rsa = r->nw->key_type == CKK_RSA;
    r->md_nid = rsa && renew_p11_has_mech(&r->p, CKM_SHA1_RSA_PKCS, NULL) &&
                !renew_p11_has_mech(&r->p, CKM_SHA256_RSA_PKCS, NULL) ? NID_sha1 : NID_sha256;
    int s = renew_sign_check(key, pub, r->md_nid);
    CK_RV rv = renew_cardkey_last_rv(key);
    if (s == -1 && rsa && r->md_nid == NID_sha256 &&
        (rv == CKR_DATA_LEN_RANGE || rv == CKR_DATA_INVALID)) {
        r->md_nid = NID_sha1;
        s = renew_sign_check(key, pub, r->md_nid);
        rv = renew_cardkey_last_rv(key);
    }
    if (s == -1)
        return renew_p11_fail(r->e, rv, "signing with the new key");
    if (s == -2)
        return renew_fail(r->e, RENEW_E_TOKEN, "the new key's signature does not verify: run cardrenew --repair");
    return 0;
}

static void drop_new(struct en *r)
{
    struct renew_err ignore;
    if (r->nw && r->nw->has_priv)
        renew_token_destroy(&r->p, r->nw, &ignore);
    r->nw = NULL;
    renew_journal_clear(&r->j);
    r->j.state = RENEW_J_NONE;
    renew_journal_save(r->p.serial, &r->j, &ignore);
}

static int keygen(struct en *r)
{
    struct renew_cred like = { .key_type = CKK_RSA, .decrypt = CK_TRUE };
    char cn[128];
    int rc;
    for (size_t i = 0; i < r->ncreds; i++)
        if (r->creds[i].has_priv && r->creds[i].has_cert) {
            like = r->creds[i];     /* the same kind of key as the card holds */
            break;
        }
    if ((rc = renew_token_can_generate(&r->p, &like, r->e)))
        return rc;
    renew_ra_step(r->rh, "making a new key on the card");
    if ((rc = renew_token_generate(&r->p, &like, label_of(r, cn, sizeof cn), &r->gen, r->e)))
        return rc;
    r->nw = &r->gen;
    renew_ra_boundary("keygen-unsaved");
    unsigned char *der = NULL;
    int len = i2d_X509_NAME(r->subject, &der);
    if (len <= 0) {
        drop_new(r);
        return renew_fail(r->e, RENEW_E_USAGE, "cannot encode the subject");
    }
    renew_journal_clear(&r->j);
    r->j.subject = malloc((size_t)len);
    if (r->j.subject)
        memcpy(r->j.subject, der, (size_t)len);
    r->j.subject_len = (size_t)len;
    OPENSSL_free(der);
    memcpy(r->j.new_id, r->nw->id, r->nw->id_len);
    r->j.new_id_len = r->nw->id_len;
    if (!r->j.subject || (rc = save(r, RENEW_J_KEYGEN))) {
        rc = r->j.subject ? rc : renew_fail(r->e, RENEW_E_TOKEN, "out of memory");
        drop_new(r);
        return rc;
    }
    renew_ra_boundary("keygen");
    return 0;
}

/* The issued certificate into the journal, before certConf is sent. */
static int keep_issued(void *arg, X509 *cert)
{
    struct en *r = arg;
    unsigned char *der = NULL;
    int len = i2d_X509(cert, &der);
    free(r->j.cert);
    r->j.cert = len > 0 ? malloc((size_t)len) : NULL;
    if (r->j.cert)
        memcpy(r->j.cert, der, (size_t)len);
    r->j.cert_len = r->j.cert ? (size_t)len : 0;
    OPENSSL_free(der);
    if (!r->j.cert)
        return -1;
    renew_ra_step(r->rh, "saving the certificate to the journal");
    return save(r, RENEW_J_ISSUED) == 0 ? 0 : -1;
}

static int ask_ca(struct en *r)
{
    EVP_PKEY *pub = renew_p11_pubkey(&r->p, r->nw);
    EVP_PKEY *key = pub ? renew_cardkey_new(&r->p, r->nw->priv, pub, r->e) : NULL;
    X509 *refused = NULL;
    int rc;
    if (!key) {
        rc = pub ? r->e->code : renew_fail(r->e, RENEW_E_TOKEN, "cannot read the new key's public half: run cardrenew --diagnose");
        goto out;
    }
    if ((rc = digest_of(r, key, pub)))
        goto out;
    renew_ra_step(r->rh, "asking the certificate authority for the certificate");
    rc = renew_cmp_ir(r->ca, r->rq->ref, (unsigned char *)r->rq->secret, r->rq->secret_len,
                      r->subject, key, pub, r->md_nid, keep_issued, r, r->rh->h, &r->issued,
                      &refused, r->e);
    if (refused) {
        char kept[600], why[RENEW_MSG_MAX];
        struct renew_err ke;
        snprintf(why, sizeof why, "%s", r->e->msg);
        if (renew_journal_keep_cert(r->p.serial, "refused", refused, kept, sizeof kept, &ke))
            snprintf(kept, sizeof kept, "nowhere: %s", ke.msg);
        renew_fail(r->e, RENEW_E_CA, "%s; nothing on the card was changed; the refused certificate is kept in %s",
                   why, kept);
        X509_free(refused);
    }
out:
    EVP_PKEY_free(key);
    EVP_PKEY_free(pub);
    if (rc && r->j.state == RENEW_J_ISSUED) {
        /* Journaled, then the exchange broke off: a rerun writes it. */
        char why[RENEW_MSG_MAX];
        snprintf(why, sizeof why, "%s", r->e->msg);
        return renew_fail(r->e, rc, "%s; the certificate is saved in the journal: run cardrenew --enroll again to finish",
                          why);
    }
    if (rc) {
        /* Nothing was issued: the new key goes, the card is as it was. */
        char why[RENEW_MSG_MAX];
        snprintf(why, sizeof why, "%s", r->e->msg);
        drop_new(r);
        return renew_fail(r->e, rc, "%s; the new key was removed again: nothing on the card changed", why);
    }
    /* Journaled by keep_issued before the CA heard it was accepted. */
    renew_ra_boundary("cmp");
    renew_ra_boundary("journal");
    return 0;
}

/* A journaled certificate is judged again: the journal is a file. */
static int judge_journaled(struct en *r)
{
    char why[256];
    struct renew_err te;
    EVP_PKEY *pub = renew_p11_pubkey(&r->p, r->nw);
    struct renew_judge_in in = { .newpub = pub, .now = time(NULL), .subject = r->subject };
    int rc = 0;
    if (!(in.trust = renew_trust_load(r->ca->cert_file, &te)))
        rc = renew_fail(r->e, te.code, "%s", te.msg);
    else if (renew_judge(&in, r->issued, why, sizeof why))
        rc = renew_fail(r->e, RENEW_E_JOURNAL,
                        "the certificate in the enrollment journal cannot be used: %s; run cardrenew --repair",
                        why);
    X509_STORE_free(in.trust);
    EVP_PKEY_free(pub);
    return rc;
}

static int write_cert(struct en *r, const char *label)
{
    CK_OBJECT_HANDLE h;
    int rc;
    if (!r->issued) {
        const unsigned char *q = r->j.cert;
        if (!(r->issued = d2i_X509(NULL, &q, (long)r->j.cert_len)))
            return renew_fail(r->e, RENEW_E_JOURNAL, "the enrollment journal holds a damaged certificate");
        if ((rc = judge_journaled(r)))
            return rc;
    }
    renew_ra_step(r->rh, "writing the certificate to the card");
    if ((rc = renew_token_write_cert(&r->p, r->issued, r->nw->id, r->nw->id_len, label, &h, r->e)))
        return rc;
    r->nw->cert = h;
    r->nw->has_cert = true;
    renew_ra_boundary("write");
    return save(r, RENEW_J_WRITTEN);
}

static int verify_new(struct en *r)
{
    EVP_PKEY *pub = renew_p11_pubkey(&r->p, r->nw);
    X509 *cert = r->issued ? r->issued : r->nw->x509;
    EVP_PKEY *key = pub ? renew_cardkey_new(&r->p, r->nw->priv, pub, r->e) : NULL;
    int rc;
    renew_ra_step(r->rh, "checking the new key and certificate together");
    if (!key)
        rc = pub ? r->e->code : renew_fail(r->e, RENEW_E_TOKEN, "cannot read the new key's public half");
    else if (!cert || EVP_PKEY_eq(X509_get0_pubkey(cert), pub) != 1)
        rc = renew_fail(r->e, RENEW_E_TOKEN,
                        "the new certificate does not match the new key: nothing else was removed; run cardrenew --diagnose");
    else
        rc = digest_of(r, key, X509_get0_pubkey(cert));
    EVP_PKEY_free(key);
    EVP_PKEY_free(pub);
    if (rc == 0)
        renew_ra_boundary("verify");
    return rc;
}

/* Every key and certificate but the new credential. */
static int remove_others(struct en *r)
{
    int rc, n = 0;
    for (size_t i = 0; i < r->ncreds; i++) {
        struct renew_cred *c = &r->creds[i];
        if (c == r->nw || (c->id_len == r->nw->id_len && memcmp(c->id, r->nw->id, c->id_len) == 0))
            continue;
        if (!n++)
            renew_ra_step(r->rh, "removing the card's other keys and certificates");
        if ((rc = renew_token_destroy(&r->p, c, r->e)))
            return rc;
    }
    renew_ra_boundary("retire");
    return save(r, RENEW_J_DONE);
}

static int run(struct en *r, char *pin, size_t pin_len, struct renew_result *res)
{
    int rc, lock;
    char plan[4096], label[128], dn[256];
    if ((lock = renew_journal_lock(r->p.serial, r->e)) < 0)
        return r->e->code;
    if ((rc = renew_p11_login(&r->p, pin, pin_len, r->e)))
        goto out;
    if ((rc = renew_p11_creds(&r->p, &r->creds, &r->ncreds, r->e)))
        goto out;
    rc = renew_journal_load(r->p.serial, &r->j, r->e);
    if (rc == RENEW_E_JOURNAL) {
        char to[600], why[RENEW_MSG_MAX];
        snprintf(why, sizeof why, "%s", r->e->msg);
        struct renew_err ae;
        if (renew_journal_set_aside(r->p.serial, to, sizeof to, &ae) == 0)
            rc = renew_fail(r->e, RENEW_E_JOURNAL, "%s; it was moved to %s: run cardrenew --enroll again", why, to);
        goto out;
    }
    if (rc != 0 && rc != 1)
        goto out;
    bool resuming = r->j.enroll && r->j.state > RENEW_J_NONE && r->j.state < RENEW_J_DONE;
    if (resuming) {
        for (size_t i = 0; i < r->ncreds; i++)
            if (r->creds[i].has_priv && r->creds[i].id_len == r->j.new_id_len &&
                memcmp(r->creds[i].id, r->j.new_id, r->j.new_id_len) == 0)
                r->nw = &r->creds[i];
        if (!r->nw) {
            /* The new key is gone: nothing of this enrollment is left. */
            renew_journal_clear(&r->j);
            resuming = false;
        }
    } else {
        renew_journal_clear(&r->j);
    }
    if ((rc = pick_subject(r)))
        goto out;
    snprintf(label, sizeof label, "%s",
             r->nw && r->nw->label[0] ? r->nw->label : label_of(r, dn, sizeof dn));
    renew_ra_describe(&r->p, r->creds, r->ncreds, r->nw, plan, sizeof plan);
    X509_NAME_oneline(r->subject, dn, sizeof dn);
    size_t k = strlen(plan);
    if (resuming)
        snprintf(plan + k, sizeof plan - k,
                 "An enrollment of this card for %s was interrupted (%s): it is finished, then "
                 "every key and certificate but the new one is removed.\n",
                 dn, renew_jstate_name(r->j.state));
    else
        snprintf(plan + k, sizeof plan - k,
                 "The enrollment makes a new key pair on the card, asks the certificate authority at %s "
                 "for a certificate for %s (reference %s), checks it, writes it, checks it on the card, "
                 "and only then removes the keys and certificates listed above.\n",
                 r->ca->url ? r->ca->url : "?", dn, r->rq->ref);
    if (r->rh->confirm && !r->rh->confirm(r->rh->arg, plan)) {
        rc = renew_fail(r->e, RENEW_E_USAGE, "enrollment not confirmed: nothing was changed");
        goto out;
    }
    enum renew_jstate st = resuming ? r->j.state : RENEW_J_NONE;
    if (resuming)
        renew_ra_step(r->rh, "finishing the enrollment that was interrupted");
    if (st == RENEW_J_NONE && (rc = keygen(r)))
        goto out;
    if (st <= RENEW_J_KEYGEN && (rc = ask_ca(r)))
        goto out;
    if (!r->nw->has_cert && (rc = write_cert(r, label)))
        goto out;
    if (!r->issued && r->nw->x509)
        r->issued = X509_dup(r->nw->x509);
    if ((rc = verify_new(r)) || (rc = remove_others(r)))
        goto out;
    res->outcome = RENEW_RENEWED;
    res->new_not_after = renew_asn1_time(X509_get0_notAfter(r->issued));
    renew_ra_serial_hex(r->issued, res->new_serial_hex, sizeof res->new_serial_hex);
    rc = 0;
out:
    renew_journal_unlock(lock);
    return rc;
}

int renew_enroll(const struct renew_target *t, const struct renew_ca *ca,
                 const struct renew_enroll_req *rq, char *pin, size_t pin_len,
                 const struct renew_ra_hooks *rh, struct renew_result *res,
                 struct renew_err *e)
{
    struct en r = { .ca = ca, .rq = rq, .rh = rh, .e = e };
    int rc;
    memset(res, 0, sizeof *res);
    if ((rc = renew_p11_load(&r.p, t->module, e)) == 0 &&
        (rc = renew_p11_open_one(&r.p, t->token, true, e)) == 0)
        rc = run(&r, pin, pin_len, res);
    renew_wipe(pin, pin_len);
    renew_wipe(rq->secret, rq->secret_len);
    X509_free(r.issued);
    X509_NAME_free(r.subject);
    renew_p11_creds_free(r.creds, r.ncreds);
    renew_journal_clear(&r.j);
    renew_p11_unload(&r.p);
    return rc;
}
