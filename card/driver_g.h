/* driver_g.h: what profile G's two files share. */
#ifndef CARDRENEW_CARD_DRIVER_G_H
#define CARDRENEW_CARD_DRIVER_G_H

#include "card/card_int.h"

#define G_FILE_SIZE 8000
#define G_HDR 110
#define G_CHUNK 248
#define G_MAX_ENTRIES 12
#define G_PIN_MIN 6
#define G_PIN_MAX 16
#define G_SIG_IN_MAX 36
/* How much longer a renewed certificate may be than the longest held. */
#define G_CERT_GROWTH 128

struct card_g_entry {
    bool alloc;
    unsigned ref, bits;
    size_t cert_off, cert_len;      /* alloc with its own certificate */
    size_t scan_off, scan_len;      /* what a 30 82 scan gives it, valid or not */
};

struct card_g_store {
    uint8_t *buf;                   /* bytes 0..used */
    size_t used;
    struct card_g_entry e[G_MAX_ENTRIES];
    size_t n;
    size_t coff[G_MAX_ENTRIES], clen[G_MAX_ENTRIES];   /* as a scan finds them */
    size_t ncert, nalloc;
};

void card_g_store_free(struct card_g_store *s);
/* Selects the store and reads it up to its used length, parsed. */
int card_g_store_read(struct card *c, struct card_g_store *s);
int card_g_select_store(struct card *c);
int card_g_read_at(struct card *c, size_t off, uint8_t *out, size_t want, size_t *got);
int card_g_write_at(struct card *c, size_t off, const uint8_t *data, size_t len);
/* The store's first G_HDR bytes (used length and table), noting the
 * free entries' key references when the table parses. */
int card_g_read_header(struct card *c, uint8_t hdr[G_HDR]);
/* The free entries' key references, a bit each (1 << ref): from the
 * last read of the store in this transaction, else from its header. */
int card_g_free_refs(struct card *c, uint32_t *refs);
/* Records that ref holds this key (len 0: that it may hold one). */
void card_g_remember_key(struct card *c, unsigned ref, const uint8_t *mod, size_t len);
/* The modulus of the key under ref, or CARD_E_NOT_FOUND (6A 88). */
int card_g_read_pubkey(struct card *c, unsigned ref, uint8_t *mod, size_t *len);
void card_g_build_header(uint8_t hdr[G_HDR], size_t used, const struct card_g_entry *e,
                         size_t n);
/* One past the last allocated entry. */
size_t card_g_last_alloc(const struct card_g_store *s);
/* The longest certificate a scan finds: a renewal's size estimate. */
size_t card_g_max_cert(const struct card_g_store *s);

#endif
