/* p11.h: the engine's PKCS#11 client (internal to renew/). */
#ifndef CARDRENEW_RENEW_P11_H
#define CARDRENEW_RENEW_P11_H

#include <p11-kit/pkcs11.h>
#include <openssl/x509.h>
#include "renew/plat.h"
#include "renew/renew.h"

struct renew_p11 {
    struct renew_plat_module mod;
    CK_FUNCTION_LIST *f;
    bool initialized;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE sess;
    bool has_sess;
    CK_TOKEN_INFO ti;
    char serial[33], model[33], label[33];  /* trimmed token strings */
};

/* One credential candidate, grouped by CKA_ID. */
#define RENEW_ID_MAX 64
struct renew_cred {
    unsigned char id[RENEW_ID_MAX];
    size_t id_len;
    CK_OBJECT_HANDLE priv, pub, cert;
    bool has_priv, has_pub, has_cert;
    CK_KEY_TYPE key_type;
    CK_BBOOL decrypt;
    X509 *x509;             /* parsed CKA_VALUE of the certificate */
    char label[128];
};

int renew_p11_load(struct renew_p11 *p, const char *module, struct renew_err *e);
void renew_p11_unload(struct renew_p11 *p);

/* Lists slots holding a token that matches uri (NULL: any). */
int renew_p11_slots(struct renew_p11 *p, const char *uri, CK_SLOT_ID **slots,
                    size_t *n, struct renew_err *e);
/* Opens a session on one slot, reading its token info. */
int renew_p11_open(struct renew_p11 *p, CK_SLOT_ID slot, bool rw,
                   struct renew_err *e);
/* Exactly one matching token: open a read-write session on it. */
int renew_p11_open_one(struct renew_p11 *p, const char *uri, bool rw,
                       struct renew_err *e);
void renew_p11_close(struct renew_p11 *p);

/* Logs in as user. The PIN buffer is wiped before return. */
int renew_p11_login(struct renew_p11 *p, char *pin, size_t pin_len,
                    struct renew_err *e);

/* Reads every certificate and private/public key on the open session,
 * grouped by CKA_ID. */
int renew_p11_creds(struct renew_p11 *p, struct renew_cred **out, size_t *n,
                    struct renew_err *e);
void renew_p11_creds_free(struct renew_cred *c, size_t n);

/* Reads one attribute into a fresh buffer (caller frees). */
CK_RV renew_p11_attr(struct renew_p11 *p, CK_OBJECT_HANDLE o,
                     CK_ATTRIBUTE_TYPE type, unsigned char **val, size_t *len);
bool renew_p11_has_mech(struct renew_p11 *p, CK_MECHANISM_TYPE m,
                        CK_MECHANISM_INFO *info);

/* Maps a CK_RV from a card operation to an exit code and a message. */
int renew_p11_fail(struct renew_err *e, CK_RV rv, const char *doing);
const char *renew_ckr_name(CK_RV rv);

/* Does a pkcs11: URI match this token? 1 yes, 0 no, -1 a bad URI. The
 * _slot form also checks the module, slot and slot-id attributes (NULL
 * infos are not checked). */
int renew_uri_match(const char *uri, const CK_TOKEN_INFO *ti, struct renew_err *e);
int renew_uri_match_slot(const char *uri, const CK_INFO *mi, CK_SLOT_ID id,
                         const CK_SLOT_INFO *si, const CK_TOKEN_INFO *ti, struct renew_err *e);

#endif
