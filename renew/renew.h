/* renew.h: the renewal engine as the CLI sees it.
 *
 * renew/ speaks only the PKCS#11 API of whatever module it loads, so it
 * works the same on SoftHSM2, OpenSC or cardrenew-pkcs11.so. Every call
 * that can fail fills a struct renew_err: one line for people, saying what
 * happened and what to do, plus the stable code the CLI exits with.
 */
#ifndef CARDRENEW_RENEW_H
#define CARDRENEW_RENEW_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* The exit codes of cardrenew(1), defined here once and documented in
 * cli/cardrenew.1. Engine results use the same numbers. */
enum renew_code {
    RENEW_OK = 0,
    RENEW_E_USAGE = 1,        /* bad options or configuration */
    RENEW_E_NO_TOKEN = 2,     /* no card/token found (or module not loadable) */
    RENEW_E_PIN = 3,          /* wrong PIN: nothing changed */
    RENEW_E_PIN_BLOCKED = 4,  /* PIN blocked: the RA must unblock it */
    RENEW_E_EXPIRED = 5,      /* certificate expired: RA renewal needed */
    RENEW_E_CA = 6,           /* CA unreachable or refused */
    RENEW_E_TOKEN = 7,        /* card/token error */
    RENEW_E_UNSUPPORTED = 8,  /* this card/token cannot renew here */
    RENEW_E_JOURNAL = 9,      /* the renewal journal is damaged: set aside */
    RENEW_CHECK_DUE = 10,     /* --check: renewal due within the window */
    RENEW_CHECK_EXPIRED = 11, /* --check: already expired */
    RENEW_E_HOOK = 12,        /* renewed, but a hook run after it failed */
    RENEW_E_DECLINED = 13,    /* the holder said no: nothing was changed */
    RENEW_E_NO_SERVICE = 14,  /* the smartcard service (pcscd) is not running */
    RENEW_E_NO_READER = 15,   /* no smartcard reader is connected */
};

/* When the module answered but offered no token at all: whether it showed
 * no slot either (so perhaps no reader, or no PC/SC service behind it) or
 * slots with nothing in them (a reader with no card). renew/ speaks only
 * PKCS#11; the CLI may ask PC/SC itself which it is. */
enum renew_absent { RENEW_ABSENT_NONE, RENEW_ABSENT_SLOT, RENEW_ABSENT_TOKEN };

#define RENEW_MSG_MAX 512
struct renew_err {
    int code;
    enum renew_absent absent;   /* with RENEW_E_NO_TOKEN: what was missing */
    char msg[RENEW_MSG_MAX];
};

/* Sets e->code and a printf-style message (e->absent to none); returns
 * code. */
int renew_fail(struct renew_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Where to find the module and which token to use. */
struct renew_target {
    const char *module;   /* path, p11-kit module name, or NULL: $CARDRENEW_MODULE,
                           * then p11-kit's "cardrenew" module, then the
                           * installed one */
    const char *token;    /* pkcs11: URI or NULL: every token */
};


/* Expiry policy. */
enum renew_state { RENEW_ACTIVE, RENEW_EXPIRING, RENEW_EXPIRED };
long renew_days_left(time_t not_after, time_t now);
enum renew_state renew_state_of(time_t not_after, time_t now, int window_days);
const char *renew_state_name(enum renew_state s);
/* The more serious of two --diagnose findings' codes (cardrenew(1)). */
int renew_worse(int a, int b);
/* --check result for the soonest-expiring certificate. */
int renew_check_code(enum renew_state s);
#define RENEW_DEFAULT_DAYS 28

/* --status */
struct renew_cert_info {
    char serial[33];        /* token serial */
    char family[33];        /* token model */
    char token_label[33];
    char label[128];        /* certificate label */
    char subject_cn[128];
    time_t not_before, not_after;
    long days_left;
    enum renew_state state;
    bool keyless;           /* no key with its id, or one of another key */
    bool pin_blocked;       /* the token's user PIN is locked */
    time_t cancelled_on;    /* cancelled by the RA (cardrenew --cancel), or 0 */
    char cancel_reason[32]; /* its RFC 5280 reason name */
};
int renew_status(const struct renew_target *t, int window_days, time_t now,
                 struct renew_cert_info **out, size_t *n, struct renew_err *e);

/* --diagnose: findings in the guidance's words. */
struct renew_finding {
    int code;               /* the exit code this finding maps to */
    char serial[33];
    char what[256];
    char todo[256];
};
/* pin may be NULL (no login: private objects are not examined). The PIN
 * buffer is wiped before return. */
int renew_diagnose(const struct renew_target *t, char *pin, size_t pin_len,
                   int window_days, time_t now, struct renew_finding **out,
                   size_t *n, struct renew_err *e);

/* --renew */
struct renew_ca {
    const char *url;        /* http://host:port/path or https:// */
    const char *cert_file;  /* PEM trust anchor(s) */
    int timeout;            /* seconds per message; 0: default */
    const char *tls_trust;  /* https: PEM file of the CA(s) its TLS certificate
                             * must chain to; NULL: the system's store */
};

/* The CA settings are usable (an http(s) URL, a readable CA certificate):
 * checked before anything touches the card. RENEW_E_USAGE otherwise. */
int renew_ca_usable(const struct renew_ca *ca, struct renew_err *e);

struct renew_plan {
    char serial[33];
    char label[128];
    char subject_cn[128];
    time_t not_after;
    bool resuming;
};

struct renew_hooks {
    /* A step starts (printed with the elapsed time). */
    void (*step)(void *arg, const char *what);
    /* Once preflight passed; return false to stop without change. */
    bool (*confirm)(void *arg, const struct renew_plan *plan);
    /* Debug detail, shown with --verbose. */
    void (*debug)(void *arg, const char *line);
    void *arg;
};

/* When a renewal runs: within window_days of expiry, or at once if
 * forced. An interrupted renewal is always finished. */
struct renew_when {
    int window_days;
    bool force;
};

enum renew_outcome {
    RENEW_RENEWED,          /* the card holds the new credential */
    RENEW_NOT_DUE,          /* outside the window: nothing was done */
    RENEW_ALREADY_RENEWED,  /* the last renewal finished; nothing is due */
};

#define RENEW_CERT_MAX 8192
struct renew_result {
    enum renew_outcome outcome;
    time_t new_not_after;
    char new_serial_hex[80];
    /* The expiry of the certificate this run found (0: none); set from the
     * moment the card's credentials are read, also when renew_run fails. */
    time_t current_not_after;
    char serial[33];            /* the token's serial, once a token is open */
    /* RENEW_RENEWED: the certificates before and after, DER. A length of 0
     * when not known (the old one, when a rerun finished a renewal after
     * it was already removed) or longer than RENEW_CERT_MAX. */
    unsigned char old_cert[RENEW_CERT_MAX], new_cert[RENEW_CERT_MAX];
    size_t old_cert_len, new_cert_len;
};

/* Renews the credential on the token that expires first (or finishes an
 * interrupted renewal). The PIN buffer is wiped before return, on every
 * path. */
int renew_run(const struct renew_target *t, const struct renew_ca *ca,
              const struct renew_when *when, char *pin, size_t pin_len,
              const struct renew_hooks *h, struct renew_result *res, struct renew_err *e);

/* Wipes secrets; idempotent. */
void renew_wipe(void *p, size_t n);

#endif
