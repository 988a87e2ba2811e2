/* journal.h: the renewal journal, one per token serial (internal).
 * $XDG_STATE_HOME/cardrenew/<serial>.journal (default
 * ~/.local/state/cardrenew), written atomically: temp file, fsync,
 * rename, fsync of the directory; checksummed (SHA-256, last line). */
#ifndef CARDRENEW_RENEW_JOURNAL_H
#define CARDRENEW_RENEW_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <openssl/x509.h>
#include "renew/renew.h"

enum renew_jstate {
    RENEW_J_NONE = 0,
    RENEW_J_KEYGEN,     /* new key generated on the token, no certificate yet */
    RENEW_J_ISSUED,     /* the CA issued the certificate; it is in cert */
    RENEW_J_WRITTEN,    /* the certificate is on the token; old not yet retired */
    RENEW_J_DONE,
};

struct renew_journal {
    enum renew_jstate state;
    unsigned char old_id[64], new_id[64];
    size_t old_id_len, new_id_len;
    unsigned char *cert;    /* DER of the issued certificate, or NULL */
    size_t cert_len;
    /* An RA's enrollment (cardrenew --enroll) rather than a renewal: no
     * old key to name; the requested subject (DER) kept for a rerun. */
    bool enroll;
    unsigned char *subject;
    size_t subject_len;
};

const char *renew_jstate_name(enum renew_jstate s);
/* The journal's path; fails if no state directory can be named. */
int renew_journal_path(const char *serial, char *out, size_t outlen, struct renew_err *e);
/* 0: loaded; 1: no journal; RENEW_E_JOURNAL: damaged (the checksum, the
 * format, or ids and certificate that cannot belong to one renewal);
 * other: an error code with e set. */
int renew_journal_load(const char *serial, struct renew_journal *j, struct renew_err *e);
int renew_journal_save(const char *serial, const struct renew_journal *j, struct renew_err *e);
void renew_journal_clear(struct renew_journal *j);
/* Moves a damaged journal aside to <journal>.damaged-<UTC time>; to gets
 * the new name. Nothing in it is lost. */
int renew_journal_set_aside(const char *serial, char *to, size_t tolen, struct renew_err *e);
/* Keeps a certificate beside the journal, <serial>.<what>-<UTC time>.pem,
 * for the RA (a refused one, say); to gets the file name. */
int renew_journal_keep_cert(const char *serial, const char *what, X509 *cert, char *to,
                            size_t tolen, struct renew_err *e);
/* One renewal per token at a time: an exclusive lock beside the journal.
 * Returns the lock's fd (>= 0) or -1 with e set. */
int renew_journal_lock(const char *serial, struct renew_err *e);
void renew_journal_unlock(int fd);

/* What a (re)run does first, from the journal and what is on the token. */
enum renew_action {
    RENEW_DO_FRESH,         /* start a new renewal */
    RENEW_DO_REMOVE_PENDING,/* a key with no certificate the journal does not name: remove it */
    RENEW_DO_REUSE_KEY,     /* the journal's pending key: ask the CA for its certificate */
    RENEW_DO_WRITE_CERT,    /* the journal's certificate is not on the token: write it */
    RENEW_DO_RETIRE_OLD,    /* both credentials present: verify the new, retire the old */
    RENEW_DO_FINISH,        /* only the new credential is left: mark done */
};

struct renew_seen {
    bool journal;           /* an unfinished journal exists */
    enum renew_jstate jstate;
    bool new_key;           /* the journal's new key is on the token */
    bool new_cert;          /* ... with its certificate */
    bool old_cred;          /* the journal's old credential is still there */
    bool other_pending;     /* a key with no certificate the journal does not name */
};
enum renew_action renew_resume_decide(const struct renew_seen *s);
const char *renew_action_name(enum renew_action a);

#endif
