/* vcard.h: a virtual card's operating system, one per profile.
 *
 * The core (vpcd client, image file, faults, trace) is profile-agnostic
 * and calls a struct vc_profile. A profile owns its card state; the core
 * owns when that state is saved: after every command for which the
 * profile sets *persist, before the response goes out.
 */
#ifndef CARDRENEW_VCARD_H
#define CARDRENEW_VCARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* Largest response a profile may produce (extended length). */
#define VC_RESP_MAX 4096

struct vc_new {
    const char *pin;        /* digits */
    const char *puk;        /* O only; NULL: a fixed default */
    const char *holder;     /* holder name */
    const uint8_t *serial;  /* 10 bytes, or NULL: random */
};

struct vc_profile {
    const char *name;                   /* "G" or "O" */
    const uint8_t *atr;
    size_t atr_len;

    void *(*create)(const struct vc_new *p);            /* a blank card */
    void *(*load)(const uint8_t *buf, size_t len);      /* NULL: malformed */
    int (*save)(void *st, uint8_t **buf, size_t *len);  /* malloc'd blob */
    void (*free)(void *st);
    void (*reset)(void *st);            /* power on / reset: volatile state */

    /* One command APDU -> response data + SW1 SW2 in resp; returns its
     * length (>= 2). Never fails: malformed input gets an ISO status word.
     * *persist is set when persistent state changed. *pin_data is set when
     * the command carried a PIN (for trace masking). */
    size_t (*process)(void *st, const uint8_t *apdu, size_t len,
                      uint8_t *resp, bool *persist, bool *pin_data);

    /* Personalisation, as an RA's issuing station: a key pair generated in
     * the card (keytype "rsa1024", "rsa2048" or "p256"), its public key
     * returned; a certificate installed for the key it certifies. */
    int (*perso_generate)(void *st, const char *keytype, EVP_PKEY **pub);
    int (*perso_install_cert)(void *st, X509 *cert);

    /* Damaged states behind the guidance's messages:
     * "mismatch" (a container whose key and certificate differ),
     * "dangling" (a table or directory entry pointing at nothing),
     * "empty" (no credential at all). */
    int (*damage)(void *st, const char *kind);

    /* For `vcard info`: profile-specific lines (serial, PIN tries,
     * containers). NULL: the core prints the profile name only. */
    void (*info)(void *st, FILE *out);
};

extern const struct vc_profile vc_profile_g;
extern const struct vc_profile vc_profile_o;

#endif
