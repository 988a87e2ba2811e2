/* o_card.h: the profile O card's state and the pieces its commands share.
 *
 * The card is an IAS-ECC file system (MF with EF.ATR, EF.DIR, EF.SN and the
 * AWP application DF), twelve key slots (SDO references 01..0C), a user PIN
 * (reference 81) and a PUK (reference 84). card/PROFILES.md says what each
 * command answers.
 */
#ifndef CARDRENEW_VC_O_CARD_H
#define CARDRENEW_VC_O_CARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

#include "tests/vcard/vcard.h"

#define O_MAX_FILES     48
#define O_FS_CAPACITY   24576   /* bytes of EF content the card can hold */
#define O_MAX_CMD       1024    /* longest command data (one APDU) */
#define O_CHAIN_MAX     4096    /* longest command data (a chain) */
#define O_KEY_SLOTS     12
#define O_PIN_MAX       8
#define O_PIN_MIN       4
#define O_PIN_TRIES     3
#define O_PUK_LEN       8
#define O_PUK_TRIES     10
#define O_DF_SIZE       960     /* PrKDF, PuKDF, CDF */

#define O_FID_MF        0x3F00
#define O_FID_AWP       0x5000
#define O_FID_COUNTER   0x5034
#define O_FID_PRKDF     0x7002
#define O_FID_PUKDF     0x7004
#define O_FID_CDF       0x7005
#define O_NONE          0xFFFF

#define O_PIN_REF       0x81
#define O_PUK_REF       0x84

/* Status words. */
#define SW_OK           0x9000
#define SW_WRONG_LEN    0x6700
#define SW_SEC_STATUS   0x6982
#define SW_BLOCKED      0x6983
#define SW_COND_USE     0x6985
#define SW_NO_EF        0x6986
#define SW_BAD_DATA     0x6A80
#define SW_NOT_FOUND    0x6A82
#define SW_NO_MEMORY    0x6A84
#define SW_BAD_P1P2     0x6A86
#define SW_REF_NOT_FND  0x6A88
#define SW_EXISTS       0x6A89
#define SW_BAD_OFFSET   0x6B00
#define SW_BAD_INS      0x6D00
#define SW_BAD_CLA      0x6E00
#define SW_CHAIN_LAST   0x6883
#define SW_ERROR        0x6F00

enum o_acl { O_ACL_NEVER, O_ACL_PIN };

struct o_file {
    bool used;
    bool is_df;
    uint16_t fid;
    uint16_t parent;            /* index, O_NONE for the MF */
    uint8_t sfi;                /* 0: none */
    uint8_t aid[16];
    uint8_t aid_len;
    uint8_t update_acl;         /* enum o_acl, for EFs */
    uint8_t *data;
    size_t size;
};

enum o_keytype { O_KEY_NONE, O_KEY_RSA, O_KEY_EC };

struct o_slot {
    EVP_PKEY *key;              /* the generated pair, NULL: empty */
    uint8_t pending;            /* enum o_keytype set by PUT DATA */
    uint8_t exp[4];
    uint8_t exp_len;
    uint16_t rsa_bytes;         /* modulus size for the next generation */
};

struct o_secret {
    char value[16];
    uint8_t len;
    uint8_t tries;
    uint8_t max;
};

struct o_apdu {
    uint8_t cla, ins, p1, p2;
    const uint8_t *data;
    size_t lc;
    size_t ne;                  /* 0: no Le */
    bool ext;
};

struct o_card {
    struct o_file files[O_MAX_FILES];
    struct o_slot slots[O_KEY_SLOTS];
    struct o_secret pin, puk;

    /* volatile */
    uint16_t cur_df, cur_ef;
    bool pin_ok, puk_ok;
    uint8_t se_tmpl;            /* B6, A4, B8 or 0 */
    uint8_t se_key;             /* SDO reference 1..12 */
    uint8_t se_alg;
    uint8_t chain_hdr[4];
    bool chaining;
    uint8_t *chain;             /* O_CHAIN_MAX */
    size_t chain_len;
    uint8_t *pending;           /* response data left for GET RESPONSE */
    size_t pending_len, pending_off;
};

/* A command's answer: data (at most VC_RESP_MAX - 2 bytes) and a status. */
struct o_resp {
    uint8_t *data;
    size_t len;
    uint16_t sw;
    bool fixed;                 /* a fixed-length answer: 6C xx on a short Le */
};

/* o_apdu.c */
uint16_t vc_o_parse(const uint8_t *apdu, size_t len, struct o_apdu *out);
size_t vc_o_emit(struct o_card *c, const struct o_apdu *a, struct o_resp *r,
                 uint8_t *out);
size_t vc_o_get_response(struct o_card *c, const struct o_apdu *a, uint8_t *out);

/* o_fs.c */
int vc_o_file_add(struct o_card *c, uint16_t parent, uint16_t fid, bool df,
                  size_t size, uint8_t acl);
int vc_o_find_child(const struct o_card *c, uint16_t parent, uint16_t fid);
int vc_o_find(const struct o_card *c, uint16_t fid);   /* under AWP or MF */
int vc_o_file_set(struct o_card *c, int idx, const uint8_t *d, size_t n);
void vc_o_file_drop(struct o_card *c, int idx);
size_t vc_o_fs_used(const struct o_card *c);
void vc_o_bump(struct o_card *c);
uint16_t vc_o_select(struct o_card *c, const struct o_apdu *a, struct o_resp *r);
uint16_t vc_o_read_binary(struct o_card *c, const struct o_apdu *a, struct o_resp *r);
uint16_t vc_o_update_binary(struct o_card *c, const struct o_apdu *a, bool *persist);
uint16_t vc_o_create_file(struct o_card *c, const struct o_apdu *a, bool *persist);
uint16_t vc_o_delete_file(struct o_card *c, const struct o_apdu *a, bool *persist);

/* o_pin.c */
uint16_t vc_o_verify(struct o_card *c, const struct o_apdu *a, bool *persist);
uint16_t vc_o_change(struct o_card *c, const struct o_apdu *a, bool *persist);
uint16_t vc_o_unblock(struct o_card *c, const struct o_apdu *a, bool *persist);
bool vc_o_pin_valid(const char *pin, size_t len, size_t min, size_t max);

/* o_sdo.c */
uint16_t vc_o_get_data(struct o_card *c, const struct o_apdu *a, struct o_resp *r);
uint16_t vc_o_put_data(struct o_card *c, const struct o_apdu *a, bool *persist);
uint16_t vc_o_generate(struct o_card *c, const struct o_apdu *a, bool *persist);
int vc_o_keygen(struct o_slot *s, enum o_keytype t, unsigned bits);
size_t vc_o_key_size(const EVP_PKEY *k);             /* bytes, as in the DOCP */
int vc_o_key_id(const EVP_PKEY *k, uint8_t id[20]);  /* CKA_ID */

/* o_crypto.c */
uint16_t vc_o_mse(struct o_card *c, const struct o_apdu *a);
uint16_t vc_o_pso(struct o_card *c, const struct o_apdu *a, struct o_resp *r);
uint16_t vc_o_int_auth(struct o_card *c, const struct o_apdu *a, struct o_resp *r);

/* o_pkcs15.c: DER for the AWP files; each returns bytes written, 0 when the
 * output does not fit. */
size_t vc_o_enc_tokeninfo(uint8_t *out, size_t cap, const uint8_t serial[8],
                          const char *label);
size_t vc_o_enc_odf(uint8_t *out, size_t cap);
size_t vc_o_enc_aodf(uint8_t *out, size_t cap);
size_t vc_o_enc_dir(uint8_t *out, size_t cap);
size_t vc_o_enc_atr(uint8_t *out, size_t cap);
size_t vc_o_enc_prkdf(uint8_t *out, size_t cap, const EVP_PKEY *k, uint8_t ref);
size_t vc_o_enc_pukdf(uint8_t *out, size_t cap, const EVP_PKEY *k, uint8_t ref);
size_t vc_o_enc_cdf(uint8_t *out, size_t cap, const uint8_t id[20],
                    const char *label, uint16_t fid);
size_t vc_o_hdr(uint8_t *o, unsigned tag, size_t len);  /* tag + length */
size_t vc_o_enc_7f49(const EVP_PKEY *k, uint8_t *out, size_t cap);
size_t vc_o_df_used(const uint8_t *buf, size_t len);
int vc_o_df_append(struct o_card *c, uint16_t fid, const uint8_t *e, size_t n);
int vc_o_df_remove(struct o_card *c, uint16_t fid, uint16_t path_fid, uint8_t ref);
int vc_o_cdf_first(const struct o_card *c, uint16_t *fid);

/* o_store.c */
int vc_o_save(void *st, uint8_t **buf, size_t *len);
void *vc_o_load(const uint8_t *buf, size_t len);

/* o_perso.c: the issuing station's side (vc_profile perso and damage) */
int vc_o_generate_perso(void *st, const char *keytype, EVP_PKEY **pub);
int vc_o_install_cert(void *st, X509 *cert);
int vc_o_damage(void *st, const char *kind);

/* profile_o.c */
struct o_card *vc_o_alloc(void);
void vc_o_free(void *st);

/* Small helpers. */
static inline uint16_t o_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

#endif
