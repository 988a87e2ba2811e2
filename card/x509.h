/* x509.h: certificate facts the drivers need. */
#ifndef CARDRENEW_CARD_X509_H
#define CARDRENEW_CARD_X509_H

#include "card/card.h"

/* Fills type, bits, modulus/exponent or ec_point, and id. */
int card_cert_pubkey(const uint8_t *der, size_t len, struct card_container *k);
/* The subject CN, NUL-terminated and cut to fit. */
int card_cert_cn(const uint8_t *der, size_t len, char *out, size_t cap);

#endif
