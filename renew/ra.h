/* ra.h: the Registration Authority's side as the CLI sees it: enrolling
 * (first issue or re-issue) onto a card, cancelling a card's certificate,
 * unblocking the PIN, and repairing a card. Like renew.h, through the
 * PKCS#11 API only; secrets are wiped before return on every path. */
#ifndef CARDRENEW_RENEW_RA_H
#define CARDRENEW_RENEW_RA_H

#include "renew/renew.h"

struct renew_ra_hooks {
    const struct renew_hooks *h;    /* step and debug lines */
    /* The plan, as lines to show; false stops with nothing changed. */
    bool (*confirm)(void *arg, const char *plan);
    void *arg;
};

/* --enroll: a new key pair on the card, certified by the CA through an
 * initial request (ir) MAC-protected with the RA's one-time secret
 * (senderKID = ref); judged, journaled, written, verified, and only then
 * every other key and certificate on the card removed. subject: a DN
 * ("/C=GB/O=NHS/CN=Jane Doe"), or NULL for the card's current
 * certificate's. An interrupted enrollment is finished by a rerun (its
 * journal keeps the subject and, once issued, the certificate). */
struct renew_enroll_req {
    const char *ref;
    char *secret;
    size_t secret_len;
    const char *subject;
};
int renew_enroll(const struct renew_target *t, const struct renew_ca *ca,
                 const struct renew_enroll_req *rq, char *pin, size_t pin_len,
                 const struct renew_ra_hooks *rh, struct renew_result *res,
                 struct renew_err *e);

/* --cancel: revocation (rr) of the card's certificate, signed with its
 * own key, reason an RFC 5280 reason name; recorded beside the journal
 * so that --renew and --status know. */
int renew_reason_code(const char *name);       /* -1: not a reason name */
const char *renew_reason_name(int code);
int renew_cancel(const struct renew_target *t, const struct renew_ca *ca, int reason,
                 char *pin, size_t pin_len, const struct renew_ra_hooks *rh,
                 struct renew_err *e);

/* The local record of a cancelled certificate (serial: the token's; cert
 * serial as upper-case hex). 0 and when/reason filled if cancelled, 1 if
 * not, else an error code. */
int renew_cancelled(const char *token_serial, const char *cert_serial_hex, time_t *when,
                    int *reason, struct renew_err *e);

/* --unblock: the PUK resets the PIN's retry counter and sets new_pin
 * (C_Login as CKU_SO with the PUK, then C_InitPIN). */
int renew_unblock(const struct renew_target *t, char *puk, size_t puk_len, char *new_pin,
                  size_t new_pin_len, const struct renew_ra_hooks *rh, struct renew_err *e);

/* --repair: with the PIN, what can be put right without the CA. */
int renew_repair(const struct renew_target *t, const struct renew_ca *ca, char *pin,
                 size_t pin_len, const struct renew_ra_hooks *rh, struct renew_err *e);

#endif
