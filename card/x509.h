/* x509.h: certificate facts the drivers and the module need, read from
 * the DER without decoding it whole (see x509.c). */
#ifndef CARDRENEW_CARD_X509_H
#define CARDRENEW_CARD_X509_H

#include "card/card.h"

/* Where a certificate's fields lie in its DER, each a whole TLV. */
struct card_cert_parts {
    const uint8_t *serial, *issuer, *not_before, *not_after, *subject, *spki;
    size_t serial_len, issuer_len, not_before_len, not_after_len, subject_len, spki_len;
};

/* True when der is exactly one DER SEQUENCE whose every TLV is well formed. */
bool card_cert_whole(const uint8_t *der, size_t len);
/* The fields of a whole certificate; CARD_E_BAD_RESPONSE when der is none. */
int card_cert_split(const uint8_t *der, size_t len, struct card_cert_parts *out);
/* Fills type, bits, modulus/exponent or ec_point, and id. */
int card_cert_pubkey(const uint8_t *der, size_t len, struct card_container *k);
/* The subject CN, NUL-terminated and cut to fit. */
int card_cert_cn(const uint8_t *der, size_t len, char *out, size_t cap);
/* The CN of a DER Name (e.g. card_cert_parts.subject). */
int card_name_cn(const uint8_t *name, size_t len, char *out, size_t cap);

#endif
