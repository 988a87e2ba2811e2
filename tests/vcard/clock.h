/* clock.h: the real-card clock. A timing model per profile gives each
 * APDU the time a real card of that class would take (transfer, command
 * overhead, the cryptography and EEPROM writes it did); the card reports
 * it in the trace rather than sleeping, so a renewal with an on-card RSA
 * key generation does not take half a minute per run. Figures and their
 * sources: tests/vcard/README.md. */
#ifndef CARDRENEW_VCARD_CLOCK_H
#define CARDRENEW_VCARD_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <openssl/evp.h>

struct vc_clock_model {
    const char *profile;
    long apdu_us;           /* per command: reader, T=1 framing, OS dispatch */
    long byte_us;           /* per byte on the wire, either way */
    long rsa2048_priv_us;   /* a signature or a deciphering */
    long rsa2048_gen_us;
    long p256_sign_us;
    long p256_gen_us;
    long pin_us;            /* PIN check with its try-counter writes */
    long eeprom_byte_us;    /* per byte a command writes */
};

/* The model for a profile name; NULL if none. */
const struct vc_clock_model *vc_clock_model(const char *profile);

/* Turns the clock on with a profile's model (NULL: off). */
void vc_clock_use(const struct vc_clock_model *m);
bool vc_clock_on(void);

/* Called by the profiles while processing a command: what it cost. */
void vc_clock_key_op(EVP_PKEY *k);          /* private-key operation */
void vc_clock_key_gen(EVP_PKEY *k);         /* the key just generated */
void vc_clock_pin(void);
void vc_clock_written(size_t bytes);        /* persistent state changed */

/* Around one APDU: begin clears the charges; end gives the modelled time
 * and the time the virtual card itself took (both microseconds). */
void vc_clock_begin(void);
void vc_clock_end(size_t clen, size_t rlen, long *model_us, long *card_us);

#endif
