/* repair.c: the RA's repair of a card "in a state unrecognisable by the
 * identity agent", with the holder's PIN: it shows its plan, then, once
 * confirmed, finishes an interrupted renewal and removes what is left
 * over: keys with no certificate that no journal is waiting on, and
 * certificates whose key is gone or is another key. It never removes a
 * working credential, and removes nothing at all when no working
 * credential would remain: there only a re-issue helps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "renew/cardkey.h"
#include "renew/journal.h"
#include "renew/ra.h"
#include "renew/ra_util.h"
#include "renew/token.h"
#include "renew/util.h"

enum verdict { KEEP, WORKS, ORPHAN_KEY, LOST_KEY, MISMATCH, PENDING };

struct rp {
    struct renew_p11 p;
    struct renew_cred *c;
    size_t n;
    enum verdict *v;
    struct renew_journal j;
    struct renew_err *e;
};

static bool pending(const struct renew_journal *j, const struct renew_cred *c)
{
    return j->state > RENEW_J_NONE && j->state < RENEW_J_DONE && j->new_id_len == c->id_len &&
           memcmp(j->new_id, c->id, c->id_len) == 0;
}

static enum verdict judge_one(struct rp *r, struct renew_cred *c)
{
    if (pending(&r->j, c))
        return PENDING;
    if (c->has_priv && !c->has_cert)
        return ORPHAN_KEY;
    if (c->has_cert && !c->has_priv)
        return LOST_KEY;
    if (!c->has_cert)
        return KEEP;            /* a public key alone: harmless */
    struct renew_err e;
    EVP_PKEY *key = renew_cardkey_new(&r->p, c->priv, X509_get0_pubkey(c->x509), &e);
    int md, s = -1;
    CK_RV rv;
    if (key)
        s = renew_cred_check(&r->p, c, key, &md, &rv);
    EVP_PKEY_free(key);
    return s == 0 ? WORKS : MISMATCH;
}

static const char *verdict_text(enum verdict v)
{
    switch (v) {
    case WORKS: return "works: kept";
    case ORPHAN_KEY: return "a key with no certificate: removed";
    case LOST_KEY: return "a certificate whose key is gone: removed";
    case MISMATCH: return "a key and certificate that do not work together: removed";
    case PENDING: return "the new key of an unfinished renewal or enrollment: kept";
    default: return "kept";
    }
}

static int journal(struct rp *r, char *note, size_t n)
{
    int rc = renew_journal_load(r->p.serial, &r->j, r->e);
    note[0] = '\0';
    if (rc == RENEW_E_JOURNAL) {
        char to[600];
        struct renew_err ae;
        if (renew_journal_set_aside(r->p.serial, to, sizeof to, &ae))
            return renew_fail(r->e, RENEW_E_JOURNAL, "%s", ae.msg);
        snprintf(note, n, "The damaged journal was moved to %s for the RA.\n", to);
        renew_journal_clear(&r->j);
        return 0;
    }
    return rc == 1 ? 0 : rc;
}

static int run(struct rp *r, char *pin, size_t pin_len, const struct renew_target *t,
               const struct renew_ca *ca, const struct renew_ra_hooks *rh)
{
    char plan[6144], note[700], line[300];
    size_t k;
    size_t works = 0, junk = 0;
    /* A second copy of the PIN for finishing a renewal (renew_run
     * logs in by itself); wiped on every path. */
    char pin2[256];
    int rc;
    if (pin_len >= sizeof pin2)
        return renew_fail(r->e, RENEW_E_USAGE, "the PIN is too long");
    memcpy(pin2, pin, pin_len);
    int lock = renew_journal_lock(r->p.serial, r->e);
    if (lock < 0) {
        rc = r->e->code;
        goto out;
    }
    if ((rc = renew_p11_login(&r->p, pin, pin_len, r->e)) ||
        (rc = renew_p11_creds(&r->p, &r->c, &r->n, r->e)) ||
        (rc = journal(r, note, sizeof note)))
        goto out;
    bool renewal = !r->j.enroll && r->j.state > RENEW_J_NONE && r->j.state < RENEW_J_DONE;
    bool enrollment = r->j.enroll && r->j.state > RENEW_J_NONE && r->j.state < RENEW_J_DONE;
    r->v = calloc(r->n ? r->n : 1, sizeof *r->v);
    if (!r->v) {
        rc = renew_fail(r->e, RENEW_E_TOKEN, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < r->n; i++) {
        r->v[i] = judge_one(r, &r->c[i]);
        works += r->v[i] == WORKS;
        junk += r->v[i] == ORPHAN_KEY || r->v[i] == LOST_KEY || r->v[i] == MISMATCH;
    }
    k = (size_t)snprintf(plan, sizeof plan, "%s", note);
    renew_ra_describe(&r->p, r->c, r->n, NULL, plan + k, sizeof plan - k);
    if (enrollment) {
        rc = renew_fail(r->e, RENEW_E_TOKEN,
                        "an enrollment of this card was interrupted: run cardrenew --enroll again "
                        "with the same reference to finish it");
        goto out;
    }
    if (!works && !renewal) {
        renew_ra_step(rh, plan);
        rc = renew_fail(r->e, RENEW_E_TOKEN, r->n ?
                        "no key and certificate on this card work together, so nothing can be put "
                        "right here: ask your RA to cancel and re-issue the card (cardrenew --cancel, "
                        "then cardrenew --enroll); nothing was changed" :
                        "the card is empty: ask your RA to cancel and re-issue the card "
                        "(cardrenew --enroll); nothing was changed");
        goto out;
    }
    if (!junk && !renewal) {
        renew_ra_step(rh, "nothing to repair: every key and certificate on the card works");
        rc = 0;
        goto out;
    }
    k = strlen(plan);
    for (size_t i = 0; i < r->n && k < sizeof plan; i++)
        k += (size_t)snprintf(plan + k, sizeof plan - k, "  #%zu: %s\n", i + 1,
                              verdict_text(r->v[i]));
    snprintf(plan + k, sizeof plan - k, "%s%s",
             renewal ? "The interrupted renewal is finished first.\n" : "",
             junk ? "What is marked removed goes; the rest stays.\n" : "");
    if (rh->confirm && !rh->confirm(rh->arg, plan)) {
        rc = renew_fail(r->e, RENEW_E_USAGE, "repair not confirmed: nothing was changed");
        goto out;
    }
    if (renewal) {
        /* The renewal engine finishes it (only what was started: no new
         * renewal, since nothing is due at a window of 0 days). */
        struct renew_when when = { 0, false };
        struct renew_result res;
        struct renew_hooks h = { rh->h ? rh->h->step : NULL, NULL,
                                 rh->h ? rh->h->debug : NULL, rh->h ? rh->h->arg : NULL };
        renew_journal_unlock(lock);
        lock = -1;
        renew_p11_unload(&r->p);
        rc = renew_run(t, ca, &when, pin2, pin_len, &h, &res, r->e);
        if (rc)
            goto out;
        renew_ra_step(rh, "the interrupted renewal is finished; run cardrenew --repair again "
                          "if anything else was listed");
        goto out;
    }
    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i] != ORPHAN_KEY && r->v[i] != LOST_KEY && r->v[i] != MISMATCH)
            continue;
        snprintf(line, sizeof line, "removing #%zu (%s)", i + 1, verdict_text(r->v[i]));
        renew_ra_step(rh, line);
        if ((rc = renew_token_destroy(&r->p, &r->c[i], r->e)))
            goto out;
    }
    renew_ra_step(rh, "repaired: the card keeps its working key and certificate");
    rc = 0;
out:
    renew_wipe(pin2, sizeof pin2);
    renew_journal_unlock(lock);
    return rc;
}

int renew_repair(const struct renew_target *t, const struct renew_ca *ca, char *pin,
                 size_t pin_len, const struct renew_ra_hooks *rh, struct renew_err *e)
{
    struct rp r = { .e = e };
    int rc = renew_p11_load(&r.p, t->module, e);
    if (rc == 0 && (rc = renew_p11_open_one(&r.p, t->token, true, e)) == 0)
        rc = run(&r, pin, pin_len, t, ca, rh);
    renew_wipe(pin, pin_len);
    free(r.v);
    renew_p11_creds_free(r.c, r.n);
    renew_journal_clear(&r.j);
    renew_p11_unload(&r.p);
    return rc;
}
