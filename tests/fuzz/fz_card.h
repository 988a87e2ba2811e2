/* fz_card.h: cards for the fuzzers, behind the PC/SC seam (card/pcsc.h).
 *
 * Each reader holds a virtual card (tests/vcard, in process: the same
 * card OS the integration tests run behind pcscd), personalised once per
 * process and restored before every fuzz input, so an input always meets
 * the same card. Between the card and the driver a fault stream, read
 * from the input, can change every answer: cut it short, change its
 * status word, split it with 61xx, ask for it again with 6Cxx, replace it
 * outright, lose it after the card acted on it, or answer with a PC/SC
 * error; and it can reset, pull and put back (or swap) the card at any
 * APDU, transaction or reconnect, and show another family's ATR or one
 * no driver knows. An exhausted stream passes everything
 * through untouched.
 *
 * Key generation on the virtual cards takes keys from a pool made at
 * start (the binary links with --wrap for OpenSSL's keygen calls): a
 * fresh 2048-bit RSA key per input would make fuzzing crawl.
 */
#ifndef CARDRENEW_FUZZ_FZ_CARD_H
#define CARDRENEW_FUZZ_FZ_CARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/x509.h>

#include "card/pcsc.h"
#include "tests/fuzz/fz.h"

#define FZ_PIN "123456"
#define FZ_PUK "12345678"
#define FZ_READERS 2

/* Once per process: profiles[i] ("G" or "O") goes into reader i; NULL
 * leaves it empty. */
void fz_world_init(const char *profile0, const char *profile1);
/* Before each input: fresh cards, every reader holding its own, and the
 * fault stream (borrowed until the next reset). */
void fz_world_reset(struct fz *faults);
const struct pcsc_ops *fz_pcsc_ops(void);
/* "Fuzz Reader 0\0Fuzz Reader 1\0\0" */
const char *fz_reader_name(int i);

/* Certificates the harnesses may write: DER of a certificate for key k
 * of the pool (the keys the cards generate, in order), and one for no
 * key on any card. */
enum fz_key { FZ_RSA1024_A, FZ_RSA1024_B, FZ_RSA2048_A, FZ_RSA2048_B, FZ_P256_A,
              FZ_P256_B, FZ_NKEYS };
const uint8_t *fz_cert_der(int k, size_t *len);
/* Key k of the pool (borrowed): to make a cryptogram the card can open. */
EVP_PKEY *fz_pool_key(int k);

/* True while reader i's card is inside a PC/SC transaction. */
bool fz_in_transaction(int i);

/* How many faults the stream has injected since the reset. */
unsigned fz_faults_injected(void);

#endif
