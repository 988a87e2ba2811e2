/* cardkey.h: a key on the token as an OpenSSL EVP_PKEY (internal). */
#ifndef CARDRENEW_RENEW_CARDKEY_H
#define CARDRENEW_RENEW_CARDKEY_H

#include <openssl/evp.h>
#include "renew/p11.h"

/* A private key whose signing calls C_Sign on p's session (which must
 * outlive the key). pub gives the public half. NULL on failure. */
EVP_PKEY *renew_cardkey_new(struct renew_p11 *p, CK_OBJECT_HANDLE priv,
                            EVP_PKEY *pub, struct renew_err *e);
/* The CK_RV of the key's last failed C_Sign (CKR_OK if none). */
CK_RV renew_cardkey_last_rv(EVP_PKEY *key);

#endif
