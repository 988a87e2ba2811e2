/* pkcs15.h: the PKCS#15 entries profile O keeps in its directory files
 * (ODF, TokenInfo, PrKDF, PuKDF, CDF; AODF read only). */
#ifndef CARDRENEW_CARD_PKCS15_H
#define CARDRENEW_CARD_PKCS15_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum card_p15_kind { P15_PRKEY, P15_PUBKEY, P15_CERT, P15_AUTH };

/* KeyUsageFlags, bit n = flag n of the BIT STRING. */
#define P15_USAGE_ENCRYPT   (1u << 0)
#define P15_USAGE_DECRYPT   (1u << 1)
#define P15_USAGE_SIGN      (1u << 2)
#define P15_USAGE_SIGNRECOVER (1u << 3)
#define P15_USAGE_WRAP      (1u << 4)
#define P15_USAGE_UNWRAP    (1u << 5)
#define P15_USAGE_VERIFY    (1u << 6)
#define P15_USAGE_NONREP    (1u << 9)

/* KeyAccessFlags */
#define P15_ACCESS_SENSITIVE        (1u << 0)
#define P15_ACCESS_EXTRACTABLE      (1u << 1)
#define P15_ACCESS_ALWAYS_SENSITIVE (1u << 2)
#define P15_ACCESS_NEVER_EXTRACTABLE (1u << 3)
#define P15_ACCESS_LOCAL            (1u << 4)

struct card_p15_obj {
    enum card_p15_kind kind;
    bool ec;                    /* keys: privateECKey / publicECKey */
    char label[64];
    uint8_t id[32];             /* iD (keys, certs) or authId (AODF) */
    size_t id_len;
    uint8_t auth_id[32];        /* keys: the PIN that guards them */
    size_t auth_id_len;
    unsigned usage;
    unsigned access;            /* keys: KeyAccessFlags */
    int key_ref;                /* keyReference or pinReference; -1 none */
    uint8_t path[16];
    size_t path_len;
    unsigned bits;              /* RSA modulusLength */
    unsigned pin_min, pin_max;  /* AODF */
    unsigned pin_stored;        /* AODF storedLength: the padded size */
};

/* Every entry of a directory file (00 padding ends it). CARD_E_BAD_RESPONSE
 * when an entry is malformed; at most max entries, the rest ignored. */
int card_p15_decode(enum card_p15_kind kind, const uint8_t *buf, size_t len,
                    struct card_p15_obj *out, size_t max, size_t *n);
/* One entry; returns its size (written when it fits cap), 0 on bad input. */
size_t card_p15_encode(const struct card_p15_obj *o, uint8_t *out, size_t cap);

struct card_p15_odf {
    uint8_t prkdf[16], pukdf[16], cdf[16], aodf[16];
    size_t prkdf_len, pukdf_len, cdf_len, aodf_len;
};
int card_p15_decode_odf(const uint8_t *buf, size_t len, struct card_p15_odf *odf);
size_t card_p15_encode_odf(const struct card_p15_odf *odf, uint8_t *out, size_t cap);

struct card_p15_tokeninfo {
    unsigned version;
    uint8_t serial[32];
    size_t serial_len;
    char manufacturer[64];
    char label[64];
};
int card_p15_decode_tokeninfo(const uint8_t *buf, size_t len,
                              struct card_p15_tokeninfo *ti);
size_t card_p15_encode_tokeninfo(const struct card_p15_tokeninfo *ti,
                                 uint8_t *out, size_t cap);

#endif
