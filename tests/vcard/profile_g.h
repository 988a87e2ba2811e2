/* profile_g.h: profile G (GemSAFE V1 applet on JCOP41), shared between
 * its files: state, object store layout, APDU processing. */
#ifndef CARDRENEW_VCARD_PROFILE_G_H
#define CARDRENEW_VCARD_PROFILE_G_H

#include "tests/vcard/vcard.h"

#define G_EF_SIZE 8000          /* EF 1600/0004 */
#define G_HDR 110               /* used length + table + padding */
#define G_NKEYS 12
#define G_REF0 0x03             /* key references 03..0E */
#define G_PIN_BLOCK 8
#define G_TRIES 3
#define G_CPLC 42

enum g_cur { G_CUR_MF, G_CUR_DF, G_CUR_EF };

struct g_state {
    /* persistent */
    uint8_t pin[G_PIN_BLOCK];   /* BCD, F-padded */
    uint8_t tries;
    uint8_t cplc[G_CPLC];
    uint8_t ef[G_EF_SIZE];
    EVP_PKEY *key[G_NKEYS];     /* private keys by reference - G_REF0 */
    /* volatile: cleared by reset */
    bool verified;
    enum g_cur cur;
    uint8_t se_sign, se_dec;    /* key reference, 0 = not set */
    uint8_t pend[VC_RESP_MAX];  /* GET RESPONSE data */
    size_t pend_len, pend_off;
};

/* One container table entry as the object store holds it. */
struct g_entry {
    uint8_t ref;
    bool allocated;
    unsigned bits;
    size_t cert_off, cert_len;  /* 0 when no certificate follows */
};

struct g_table {
    size_t n, used;
    struct g_entry e[G_NKEYS];
};

void vc_g_parse_table(const struct g_state *s, struct g_table *t);
/* Lays the store out again from entries (sorted by reference) and the
 * certificates given for allocated ones; -1 if it does not fit. */
int vc_g_rebuild(struct g_state *s, const struct g_table *t,
              const uint8_t *const *certs, const size_t *cert_lens);
int vc_g_pin_encode(const char *digits, uint8_t out[G_PIN_BLOCK]);
EVP_PKEY *vc_g_rsa_generate(unsigned bits);
/* Bare big-endian modulus of a key; returns its length or 0. */
size_t vc_g_modulus(EVP_PKEY *k, uint8_t *out, size_t max);

size_t vc_g_process(void *st, const uint8_t *apdu, size_t len, uint8_t *resp,
                 bool *persist, bool *pin_data);
void vc_g_reset(void *st);

int vc_g_perso_generate(void *st, const char *keytype, EVP_PKEY **pub);
int vc_g_perso_install_cert(void *st, X509 *cert);
int vc_g_damage(void *st, const char *kind);
void vc_g_info(void *st, FILE *out);

#endif
