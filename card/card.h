/* card.h: the card layer as the PKCS#11 module sees it.
 *
 * A struct card is one card in one reader, reached over PC/SC through
 * struct pcsc_ops (card/pcsc.h), driven by one struct card_driver per
 * profile (card/PROFILES.md). Nothing here knows of PKCS#11: errors are
 * card_rv codes, mapped to CKR_* in one place in pkcs11/.
 */
#ifndef CARDRENEW_CARD_H
#define CARDRENEW_CARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum card_rv {
    CARD_OK = 0,
    CARD_E_NO_CARD,         /* no card in the reader */
    CARD_E_REMOVED,         /* card pulled or reset since last use: state dropped */
    CARD_E_COMM,            /* transport failed; response shorter than 2 bytes */
    CARD_E_MUTE,            /* card stopped answering */
    CARD_E_UNSUPPORTED,     /* the card or profile cannot do this */
    CARD_E_PIN_INCORRECT,   /* 63 Cx: one try spent */
    CARD_E_PIN_LOCKED,      /* 69 83 */
    CARD_E_PIN_LEN,         /* PIN outside the card's length rules */
    CARD_E_SECURITY,        /* 69 82: not logged in */
    CARD_E_NOT_FOUND,       /* 6A 82 / 6A 88 */
    CARD_E_CARD_FULL,       /* 6A 84, or no free container */
    CARD_E_BAD_RESPONSE,    /* malformed data from the card */
    CARD_E_UNEXPECTED_SW,   /* a status word the profile does not expect */
    CARD_E_ARGS,            /* bad input from the caller */
    CARD_E_HOST_MEMORY,
};

const char *card_rv_name(enum card_rv rv);

enum card_key_type { CARD_KEY_RSA = 1, CARD_KEY_EC_P256 = 2 };

enum card_sign_alg {
    CARD_SIGN_RSA_PKCS1,    /* in: DigestInfo (or raw data) the card pads */
    CARD_SIGN_RSA_PSS,      /* in: a hash; MGF1 with the same hash, salt = hash length */
    CARD_SIGN_ECDSA,        /* in: a hash; out: r || s */
};

/* One container: a private key, its public half, and (once committed) a
 * certificate. id is what CKA_ID shows: SHA-1 of the RSA modulus or of
 * the EC point, the same on both profiles and across restarts. */
struct card_container {
    uint8_t id[20];
    size_t id_len;
    unsigned ref;                   /* card key reference */
    enum card_key_type type;
    unsigned bits;
    uint8_t *modulus;   size_t modulus_len;     /* RSA */
    uint8_t *exponent;  size_t exponent_len;    /* RSA */
    uint8_t *ec_point;  size_t ec_point_len;    /* EC: 04 || X || Y */
    uint8_t *cert;      size_t cert_len;        /* DER, NULL when pending */
    char label[64];
    bool can_sign, can_decrypt;
};

struct card_objects {
    struct card_container *c;
    size_t n;
};
void card_objects_clear(struct card_objects *o);
/* Frees what one container holds (e.g. card_generate_key's result) and
 * zeroes it. */
void card_container_clear(struct card_container *k);

/* What the module shows as token info; filled by the driver's init. */
struct card_info {
    char serial[33];        /* hex; the token serial, unchanged by renewal */
    char label[33];         /* holder name, or "" when the card has none */
    const char *model;      /* the card family, e.g. "Series 8 (IAS-ECC)" */
    unsigned pin_min, pin_max;
    unsigned max_containers;
    unsigned rsa_bits_min, rsa_bits_max;
    bool has_ec, has_pss, has_sha2, has_puk;
    /* The card keeps the label given with a certificate (else a reading
     * labels it with the certificate's CN). */
    bool cert_labels;
};

struct card;

/* One table per profile. A NULL op means "not supported":
 * card.c returns CARD_E_UNSUPPORTED for it, never the driver. */
struct card_driver {
    const char *name;                           /* "G", "O" */
    bool (*match_atr)(const uint8_t *atr, size_t len);
    int (*init)(struct card *c, struct card_info *info); /* select applet, read serial */
    int (*change_counter)(struct card *c, uint64_t *counter);
    /* flags: CARD_READ_*. counter, when not NULL, gets the change
     * counter from the same read where the driver can (*counted true),
     * saving card_change_counter's APDUs. */
    int (*read_objects)(struct card *c, struct card_objects *out, unsigned flags,
                        uint64_t *counter, bool *counted);
    /* Keys without a certificate that a read without CARD_READ_PENDING
     * leaves out (profile G asks each free key reference); NULL when a
     * read always lists them. */
    int (*find_pending)(struct card *c, struct card_objects *out);
    int (*pin_status)(struct card *c, int *tries_left);  /* -1 when blocked */
    int (*pin_verify)(struct card *c, const char *pin, size_t len);
    int (*pin_change)(struct card *c, const char *old, size_t oldlen,
                      const char *neu, size_t newlen);
    int (*pin_unblock)(struct card *c, const char *puk, size_t puklen,
                       const char *neu, size_t newlen);
    int (*logout)(struct card *c);
    int (*sign)(struct card *c, const struct card_container *k,
                enum card_sign_alg alg, const uint8_t *in, size_t inlen,
                uint8_t *sig, size_t *siglen);
    int (*decrypt)(struct card *c, const struct card_container *k,
                   const uint8_t *in, size_t inlen, uint8_t *out, size_t *outlen);
    /* Makes a key in a free container; the result is pending (no cert). */
    int (*generate_key)(struct card *c, enum card_key_type type, unsigned bits,
                        struct card_container *out);
    /* Writes a certificate for the container with this id; the last
     * command sent is the single small write that commits it. */
    int (*write_cert)(struct card *c, const uint8_t *id, size_t idlen,
                      const uint8_t *der, size_t len, const char *label);
    int (*delete_cert)(struct card *c, const uint8_t *id, size_t idlen);
    int (*delete_key)(struct card *c, const uint8_t *id, size_t idlen);
};

/* The registry, in match order. */
extern const struct card_driver card_driver_g;
extern const struct card_driver card_driver_o;

/* ---- Readers and cards (card/reader.c, card/card.c) ---- */

struct pcsc_ops;            /* card/pcsc.h: the PC/SC seam */
const struct pcsc_ops *card_pcsc_default(void);     /* pcsc-lite */
/* How long a call on a card may take before it ends with CARD_E_MUTE
 * (key generation and waiting for another process's transaction: at
 * least 120 s). 0, the default: no bound, calls in the caller's thread.
 * Applies to cards opened after it is set. See card/io.c. */
void card_set_timeout(unsigned ms);
unsigned card_get_timeout(void);
/* Calls waiting for a card now give up as if its time were out (C_Finalize
 * while a mute card holds a call). */
void card_abandon_waits(void);

struct card_ctx;            /* one SCardEstablishContext */
int card_ctx_new(const struct pcsc_ops *ops, struct card_ctx **out);
void card_ctx_free(struct card_ctx *ctx);
/* Reader names, NUL-separated, double-NUL-terminated; caller frees. */
int card_ctx_readers(struct card_ctx *ctx, char **names, size_t *len);
/* Blocks until a reader's card state changes or timeout_ms passes
 * (-1: forever); card_ctx_cancel (any thread) wakes it with CARD_E_ARGS. */
int card_ctx_wait(struct card_ctx *ctx, long timeout_ms, char *reader, size_t reader_len);
void card_ctx_cancel(struct card_ctx *ctx);
/* Present, and absent since the last call: for slot events. */
bool card_ctx_present(struct card_ctx *ctx, const char *reader);

/* Connects shared (never exclusive), matches a driver by ATR and by
 * selecting its applet; CARD_E_UNSUPPORTED when no driver claims it. */
int card_open(struct card_ctx *ctx, const char *reader, struct card **out);
void card_close(struct card *c);
/* A call on the card did not come back within the card timeout and has
 * not since: every call answers CARD_E_MUTE at once meanwhile. */
bool card_stuck(const struct card *c);
const struct card_driver *card_get_driver(const struct card *c);
const struct card_info *card_get_info(const struct card *c);

/* Every multi-APDU conversation runs inside begin/end, a PC/SC
 * transaction. begin reports a reset or removal seen since the last call
 * once, as CARD_E_REMOVED, after reconnecting and re-selecting the applet
 * (login state is gone). end never resets the card. */
int card_begin(struct card *c);
void card_end(struct card *c);

/* No APDU, no transaction (card/status.c): CARD_OK while the card is
 * still in and has not been reset since it was opened, CARD_E_REMOVED
 * once it was pulled or reset (by anyone); the handle is then stale. */
int card_check(struct card *c);
/* After a failed transfer: a card pulled shows as one before pcscd has
 * seen it go (it polls the reader, every 400 ms for some drivers). Asks
 * PC/SC (card_check) until it says removed or max_ms have passed:
 * CARD_E_REMOVED, or CARD_OK for a card still there (a passing fault). */
int card_check_gone(struct card *c, unsigned max_ms);
/* A reader's insert/remove count (pcsc-lite's event counter) and whether
 * a card is in it now. */
int card_ctx_reader_events(struct card_ctx *ctx, const char *reader,
                           unsigned *events, bool *present);

/* The driver ops, each run through one place that turns NULL ops into
 * CARD_E_UNSUPPORTED. Call them between card_begin and card_end. */
int card_change_counter(struct card *c, uint64_t *counter);
/* Another program changed the card: forget what reading it taught the
 * driver (profile G: which key references were empty, which held a key). */
void card_forget_probes(struct card *c);
/* Every object, pending keys included (card_read_objects_ex with
 * CARD_READ_PENDING). */
int card_read_objects(struct card *c, struct card_objects *out);
/* Also list keys without a certificate that this handle has not seen yet
 * (profile G: one APDU per free key reference not asked before). Without
 * it, profile G lists the ones it knows of (made or found by this handle)
 * and no others. */
#define CARD_READ_PENDING 1u
int card_read_objects_ex(struct card *c, struct card_objects *out, unsigned flags,
                         uint64_t *counter, bool *counted);
/* A read without CARD_READ_PENDING may leave keys out (see above). */
bool card_lazy_pending(const struct card *c);
/* Those keys: every key without a certificate (profile G: one APDU per
 * free key reference this handle has not asked before). */
int card_find_pending(struct card *c, struct card_objects *out);
int card_pin_status(struct card *c, int *tries_left);
int card_pin_verify(struct card *c, const char *pin, size_t len);
int card_pin_change(struct card *c, const char *old, size_t oldlen,
                    const char *neu, size_t newlen);
int card_pin_unblock(struct card *c, const char *puk, size_t puklen,
                     const char *neu, size_t newlen);
int card_logout(struct card *c);
int card_sign(struct card *c, const struct card_container *k, enum card_sign_alg alg,
              const uint8_t *in, size_t inlen, uint8_t *sig, size_t *siglen);
int card_decrypt(struct card *c, const struct card_container *k,
                 const uint8_t *in, size_t inlen, uint8_t *out, size_t *outlen);
int card_generate_key(struct card *c, enum card_key_type type, unsigned bits,
                      struct card_container *out);
int card_write_cert(struct card *c, const uint8_t *id, size_t idlen,
                    const uint8_t *der, size_t len, const char *label);
int card_delete_cert(struct card *c, const uint8_t *id, size_t idlen);
int card_delete_key(struct card *c, const uint8_t *id, size_t idlen);

#endif
