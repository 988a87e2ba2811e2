/* token.h: the writes a renewal makes on the token (internal). */
#ifndef CARDRENEW_RENEW_TOKEN_H
#define CARDRENEW_RENEW_TOKEN_H

#include "renew/p11.h"

/* Can this token make a key pair like old's, on the card? */
int renew_token_can_generate(struct renew_p11 *p, const struct renew_cred *old,
                             struct renew_err *e);
/* Generates a key pair of old's type and size on the token; fills nw with
 * its handles and the CKA_ID the token reports. */
int renew_token_generate(struct renew_p11 *p, const struct renew_cred *old,
                         const char *label, struct renew_cred *nw, struct renew_err *e);
/* Writes cert (DER) as the certificate of the key pair with CKA_ID id. */
int renew_token_write_cert(struct renew_p11 *p, X509 *cert, const unsigned char *id,
                           size_t id_len, const char *label, CK_OBJECT_HANDLE *out,
                           struct renew_err *e);
/* Removes a credential's certificate, then its private and public key. */
int renew_token_destroy(struct renew_p11 *p, const struct renew_cred *c, struct renew_err *e);

#endif
