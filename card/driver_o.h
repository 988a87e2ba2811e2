/* driver_o.h: what profile O's two files share. */
#ifndef CARDRENEW_CARD_DRIVER_O_H
#define CARDRENEW_CARD_DRIVER_O_H

#include "card/card_int.h"
#include "card/pkcs15.h"

#define O_DF_SIZE 960           /* PrKDF, PuKDF, CDF: one write rewrites one */
#define O_MAX_OBJS 24
#define O_REF_MIN 1
#define O_REF_MAX 12

/* The AWP application's directory, as read from its files. */
struct card_o_dir {
    uint16_t prkdf, pukdf, cdf, aodf;       /* file IDs, from the ODF */
    struct card_p15_obj prk[O_MAX_OBJS], puk[O_MAX_OBJS], crt[O_MAX_OBJS];
    size_t nprk, npuk, ncrt;
};

int card_o_select_app(struct card *c);
/* Selects an EF of the current DF by file ID; *size from its FCP. */
int card_o_select_ef(struct card *c, uint16_t fid, size_t *size);
/* Reads the whole current EF (size from its FCP); caller frees. */
int card_o_read_ef(struct card *c, uint16_t fid, uint8_t **buf, size_t *len);
/* Selects the application and reads its three key/certificate directories
 * (the ODF read once per connect) into *d, which the caller frees. */
int card_o_open_dir(struct card *c, struct card_o_dir **d);
/* The public half of SDO ref: RSA n/e or the EC point; sets id. */
int card_o_read_pubkey(struct card *c, unsigned ref, bool ec, struct card_container *k);
/* The directory entry index whose iD equals id, or -1. */
int card_o_find(const struct card_p15_obj *o, size_t n, const uint8_t *id, size_t idlen);
/* Rewrites a whole directory file from these entries, 00-padded. */
int card_o_write_df(struct card *c, uint16_t fid, const struct card_p15_obj *o, size_t n);
int card_o_pin_pad(struct card *c, const char *pin, size_t len, uint8_t *out, size_t *outlen);

int card_o_generate_key(struct card *c, enum card_key_type type, unsigned bits,
                   struct card_container *out);
int card_o_write_cert(struct card *c, const uint8_t *id, size_t idlen,
                 const uint8_t *der, size_t len, const char *label);
int card_o_delete_cert(struct card *c, const uint8_t *id, size_t idlen);
int card_o_delete_key(struct card *c, const uint8_t *id, size_t idlen);

#endif
