/* card_int.h: what the drivers share with the card core; not for pkcs11/. */
#ifndef CARDRENEW_CARD_INT_H
#define CARDRENEW_CARD_INT_H

#include "card/card.h"
#include "card/pcsc.h"

#define CARD_READER_MAX 256
#define CARD_ATR_MAX 33

struct card {
    struct card_io *io;         /* its own PC/SC context, handle, calls */
    DWORD proto;
    char reader[CARD_READER_MAX];
    uint8_t atr[CARD_ATR_MAX];
    size_t atr_len;
    const struct card_driver *drv;
    struct card_info info;
    /* Transport limits the driver sets in init: the largest command data
     * field per APDU (before chaining) and whether extended length works. */
    size_t max_send;
    size_t max_recv;
    bool ext_len;
    bool chaining;
    /* The size a PIN is padded to (profile O, from the AODF). */
    size_t pin_pad;
    /* What this handle has selected on the card, as the driver names it
     * (CARD_SEL_*), or CARD_SEL_NONE. Known only inside one transaction:
     * forgotten whenever one begins or ends (in between another process
     * may select something else, unseen) and on any transport failure. */
    unsigned sel;
    /* Profile G: key references found to hold no key (empty_refs) or a
     * key (key_refs, its modulus in key_mod) since the card was connected,
     * a bit per reference, so that free entries are asked once at most,
     * and only when a pending key must be found. Kept up to date by this
     * handle's own key generation and deletion; cleared by init (every
     * connect and reconnect) and by card_forget_probes. */
    uint32_t empty_refs, key_refs;
    /* Profile G: the free entries' key references as the store was last
     * read in this transaction (known like sel, and until a header write). */
    uint32_t free_refs;
    bool free_known;
    uint8_t key_mod[16][256];
    size_t key_mod_len[16];
    /* Profile O: the directory files' IDs from the ODF (read by init;
     * the ODF is written only when the card is personalised). */
    bool have_dirs;
    uint16_t prkdf, pukdf, cdf, aodf;
    /* A reset or removal seen: reconnect in the next card_begin. */
    bool lost;
    /* ... and whether a caller has already been told of it. */
    bool lost_reported;
};

struct card_ctx {
    const struct pcsc_ops *ops;
    SCARDCONTEXT h;
    /* Last known state per reader, for card_ctx_wait/card_ctx_present. */
    struct card_rstate {
        char name[CARD_READER_MAX];
        DWORD state;
        bool was_absent;
    } *rs;
    size_t nrs;
};

/* ---- PC/SC calls on a card's handle (card/io.c) ----
 * Each card has a PC/SC context of its own. With a card timeout set
 * (card_set_timeout) a call that does not come back in time answers
 * SCARD_E_TIMEOUT, and so does every call until it has come back (the
 * card is stuck); no call waits for another card's. */
struct card_io;
int card_io_new(const struct pcsc_ops *ops, struct card_io **out);
/* Disconnects and releases the context; a stuck card's thread does it
 * when its call comes back. */
void card_io_free(struct card_io *io);
LONG card_io_connect(struct card_io *io, const char *reader, DWORD *proto);
LONG card_io_reconnect(struct card_io *io, DWORD init, DWORD *proto);
/* wait_long: another process's transaction (a key generation) may be
 * waited for as long as one takes, not only the card timeout. */
LONG card_io_begin(struct card_io *io, bool wait_long);
LONG card_io_end(struct card_io *io);
LONG card_io_transmit(struct card_io *io, DWORD proto, const uint8_t *cmd, size_t len,
                      uint8_t *resp, size_t *resp_len);
LONG card_io_status(struct card_io *io, DWORD *state, DWORD *proto, uint8_t *atr,
                    size_t *atr_len);
/* An abandoned call came back since the last ask (a command was cut off:
 * the card's state is unknown). Clears the mark. */
bool card_io_interrupted(struct card_io *io);
bool card_io_stuck(struct card_io *io);

/* Values of struct card's sel. */
enum { CARD_SEL_NONE = 0, CARD_SEL_G_STORE, CARD_SEL_O_APP };

/* One command APDU. le_present with le == 0 asks for the maximum. */
struct card_apdu {
    uint8_t cla, ins, p1, p2;
    const uint8_t *data;
    size_t lc;
    bool le_present;
    size_t le;
    /* Send in short APDUs with CLA 0x10 chaining even when extended
     * length would fit (a card that wants its cryptogram chained). */
    bool force_chain;
};

/* Sends one command: extended length or chaining as the card allows,
 * follows 61xx with GET RESPONSE and re-sends on 6Cxx. resp gets the
 * data (up to *resp_len, updated), sw the final status word. Returns
 * CARD_OK when a status word came back, a transport error otherwise. */
int card_apdu_transmit(struct card *c, const struct card_apdu *a,
                       uint8_t *resp, size_t *resp_len, uint16_t *sw);
/* The same, then the status word mapped: CARD_OK only for 90 00. */
int card_apdu_run(struct card *c, const struct card_apdu *a,
                  uint8_t *resp, size_t *resp_len);
/* The one table from status word to card_rv. */
int card_sw_to_rv(uint16_t sw);

/* Raw exchange (with trace): response < 2 bytes is CARD_E_COMM. secret:
 * the response data is traced as masked (a decipher's answer, and every
 * GET RESPONSE that continues it). */
int card_transmit_raw(struct card *c, const uint8_t *cmd, size_t len,
                      uint8_t *resp, size_t *resp_len, bool secret);

/* APDU trace to the file named by CARDRENEW_APDU_TRACE (read once). */
void card_trace(const char *dir, const uint8_t *buf, size_t len);

void card_secure_zero(void *p, size_t n);

/* Resets the card (inside a transaction, which it keeps): the login state
 * goes, for every process. Then the driver's init runs again. The
 * logout of cards that have no command for it. */
int card_reset_logout(struct card *c);

/* PC/SC result -> card_rv; marks the card lost on reset/removal. */
int card_pcsc_rv(struct card *c, LONG rv);

/* Shared helpers for drivers. */
int card_container_set_id(struct card_container *k);
/* n bytes as upper-case hex into out (2n + 1 bytes): card serials. */
void card_hex(const uint8_t *in, size_t n, char *out);

#endif
