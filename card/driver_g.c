/* driver_g.c: profile G, GemSAFE V1 on JCOP41 (NHS Series 4/5/6).
 *
 * All objects live in one EF, 3F00/1600/0004: a 110-byte header (used
 * length, a table of 12 containers) and then the certificates, in the
 * order of their allocated table entries. Whoever reads the file finds
 * the certificates by scanning for 30 82, so every write keeps that scan
 * giving each allocated entry its own certificate; the header write is
 * the one command that commits a change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "card/driver_g.h"
#include "card/x509.h"

static const uint8_t g_atr[] = {
    0x3B, 0xF9, 0x18, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x45,
    0x4A, 0x43, 0x4F, 0x50, 0x34, 0x31, 0x56, 0x32, 0x32, 0xAF,
};
static const uint8_t g_aid[] = {
    0xA0, 0x00, 0x00, 0x00, 0x18, 0x0A, 0x00, 0x00, 0x01, 0x63, 0x42, 0x00,
};
static const uint8_t g_e[] = { 0x01, 0x00, 0x01 };

static bool g_match_atr(const uint8_t *atr, size_t len)
{
    return len == sizeof(g_atr) && !memcmp(atr, g_atr, len);
}


static int fill_rsa(struct card_container *k, unsigned ref, const uint8_t *mod,
                    size_t len)
{
    k->ref = ref;
    k->type = CARD_KEY_RSA;
    k->bits = (unsigned)len * 8;
    k->modulus = malloc(len);
    k->exponent = malloc(sizeof(g_e));
    if (!k->modulus || !k->exponent)
        return CARD_E_HOST_MEMORY;
    memcpy(k->modulus, mod, len);
    k->modulus_len = len;
    memcpy(k->exponent, g_e, sizeof(g_e));
    k->exponent_len = sizeof(g_e);
    k->can_sign = k->can_decrypt = true;
    return card_container_set_id(k);
}

/* A key reference's modulus, asked of the card at most once while this
 * handle holds it (see struct card). */
static int probe(struct card *c, unsigned ref, uint8_t *mod, size_t *len)
{
    unsigned i = ref & 15;
    uint32_t bit = 1u << i;
    if (c->empty_refs & bit)
        return CARD_E_NOT_FOUND;
    if (c->key_refs & bit) {
        if (*len < c->key_mod_len[i])
            return CARD_E_ARGS;
        memcpy(mod, c->key_mod[i], c->key_mod_len[i]);
        *len = c->key_mod_len[i];
        return CARD_OK;
    }
    int rv = card_g_read_pubkey(c, ref, mod, len);
    if (rv == CARD_E_NOT_FOUND)
        c->empty_refs |= bit;
    else if (rv == CARD_OK)
        card_g_remember_key(c, ref, mod, *len);
    return rv;
}

void card_g_remember_key(struct card *c, unsigned ref, const uint8_t *mod, size_t len)
{
    unsigned i = ref & 15;
    c->empty_refs &= ~(1u << i);
    c->key_refs &= ~(1u << i);
    if (len == 0 || len > sizeof(c->key_mod[i]))
        return;
    memcpy(c->key_mod[i], mod, len);
    c->key_mod_len[i] = len;
    c->key_refs |= 1u << i;
}

/* The store's header as the change counter (g_change_counter). */
static uint64_t header_counter(const uint8_t hdr[G_HDR])
{
    uint8_t md[SHA256_DIGEST_LENGTH];
    SHA256(hdr, G_HDR, md);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | md[i];
    return v;
}

static int g_read_objects(struct card *c, struct card_objects *out, unsigned flags,
                          uint64_t *counter, bool *counted)
{
    struct card_g_store s;
    int rv = card_g_store_read(c, &s);
    if (rv != CARD_OK)
        return rv;
    if (counter && s.used >= G_HDR) {
        *counter = header_counter(s.buf);
        *counted = true;
    }
    out->c = calloc(G_MAX_ENTRIES, sizeof(*out->c));
    if (!out->c) {
        rv = CARD_E_HOST_MEMORY;
        goto out;
    }
    for (size_t i = 0; i < s.n; i++) {
        struct card_g_entry *e = &s.e[i];
        struct card_container *k = &out->c[out->n];
        if (e->alloc && e->cert_len) {
            rv = card_cert_pubkey(s.buf + e->cert_off, e->cert_len, k);
            if (rv != CARD_OK || k->type != CARD_KEY_RSA) {
                card_container_clear(k);
                rv = CARD_E_BAD_RESPONSE;
                goto out;
            }
            k->cert = malloc(e->cert_len);
            if (!k->cert) {
                rv = CARD_E_HOST_MEMORY;
                goto out;
            }
            memcpy(k->cert, s.buf + e->cert_off, e->cert_len);
            k->cert_len = e->cert_len;
            k->ref = e->ref;
            k->can_sign = k->can_decrypt = true;
            card_cert_cn(k->cert, k->cert_len, k->label, sizeof(k->label));
            out->n++;
            continue;
        }
        /* A free entry whose reference holds a key: a pending key, asked
         * of the card only when asked for (CARD_READ_PENDING) or known.
         * An allocated one without a certificate shows its key alone. */
        uint32_t bit = 1u << (e->ref & 15);
        if (!e->alloc && !(flags & CARD_READ_PENDING) && !(c->key_refs & bit))
            continue;
        uint8_t mod[512];
        size_t len = sizeof(mod);
        rv = probe(c, e->ref, mod, &len);
        if (rv == CARD_E_NOT_FOUND) {
            rv = CARD_OK;
            continue;
        }
        if (rv == CARD_OK)
            rv = fill_rsa(k, e->ref, mod, len);
        if (rv != CARD_OK) {
            card_container_clear(k);
            goto out;
        }
        out->n++;
    }
out:
    if (rv != CARD_OK)
        card_objects_clear(out);
    card_g_store_free(&s);
    return rv;
}

static int g_find_pending(struct card *c, struct card_objects *out)
{
    uint32_t refs = 0;
    int rv = card_g_free_refs(c, &refs);
    if (rv != CARD_OK)
        return rv;
    out->c = calloc(G_MAX_ENTRIES, sizeof(*out->c));
    if (!out->c)
        return CARD_E_HOST_MEMORY;
    for (unsigned ref = 0x03; ref <= 0x0E && rv == CARD_OK; ref++) {
        if (!(refs & 1u << ref) || out->n == G_MAX_ENTRIES)
            continue;
        uint8_t mod[512];
        size_t len = sizeof(mod);
        rv = probe(c, ref, mod, &len);
        if (rv == CARD_E_NOT_FOUND) {
            rv = CARD_OK;
            continue;
        }
        if (rv == CARD_OK)
            rv = fill_rsa(&out->c[out->n], ref, mod, len);
        if (rv == CARD_OK)
            out->n++;
        else
            card_container_clear(&out->c[out->n]);
    }
    if (rv != CARD_OK)
        card_objects_clear(out);
    return rv;
}

static int g_init(struct card *c, struct card_info *info)
{
    c->empty_refs = c->key_refs = 0;
    c->sel = CARD_SEL_NONE;
    c->max_send = 255;
    c->ext_len = false;
    c->chaining = false;
    uint8_t buf[258];
    size_t len = sizeof(buf);
    struct card_apdu sel = { 0x00, 0xA4, 0x04, 0x00, g_aid, sizeof(g_aid), false, 0, false };
    int rv = card_apdu_run(c, &sel, buf, &len);
    if (rv != CARD_OK)
        return rv;
    len = sizeof(buf);
    struct card_apdu ver = { 0x80, 0xCA, 0xDF, 0x03, NULL, 0, true, 8, false };
    rv = card_apdu_run(c, &ver, buf, &len);
    if (rv != CARD_OK)
        return rv;
    len = sizeof(buf);
    struct card_apdu cplc = { 0x80, 0xCA, 0x9F, 0x7F, NULL, 0, true, 0x2D, false };
    rv = card_apdu_run(c, &cplc, buf, &len);
    if (rv != CARD_OK)
        return rv;
    if (len < 3 + 18 || buf[0] != 0x9F || buf[1] != 0x7F)
        return CARD_E_BAD_RESPONSE;
    /* IC serial number, IC batch and module fabricator: CPLC bytes 10..17. */
    card_hex(buf + 3 + 10, 8, info->serial);
    info->model = "Series 4/5/6 (GemSAFE on JCOP41)";
    info->pin_min = G_PIN_MIN;
    info->pin_max = G_PIN_MAX;
    info->max_containers = G_MAX_ENTRIES;
    info->rsa_bits_min = 1024;
    info->rsa_bits_max = 2048;
    info->has_ec = info->has_pss = info->has_sha2 = info->has_puk = false;
    /* No holder name on the card: the module labels the token with the
     * first certificate's CN when it reads the objects. */
    return CARD_OK;
}

static int g_change_counter(struct card *c, uint64_t *counter)
{
    uint8_t hdr[G_HDR];
    int rv = card_g_read_header(c, hdr);
    if (rv != CARD_OK)
        return rv;
    *counter = header_counter(hdr);
    return CARD_OK;
}

/* 123456 -> 12 34 56 FF FF FF FF FF */
static int pin_block(const char *pin, size_t len, uint8_t out[8])
{
    if (len < G_PIN_MIN || len > G_PIN_MAX)
        return CARD_E_PIN_LEN;
    memset(out, 0xFF, 8);
    for (size_t i = 0; i < len; i++) {
        if (pin[i] < '0' || pin[i] > '9') {
            card_secure_zero(out, 8);
            return CARD_E_PIN_LEN;
        }
        uint8_t d = (uint8_t)(pin[i] - '0');
        if (i & 1)
            out[i / 2] = (uint8_t)((out[i / 2] & 0xF0) | d);
        else
            out[i / 2] = (uint8_t)(d << 4 | 0x0F);
    }
    return CARD_OK;
}

static int g_pin_status(struct card *c, int *tries_left)
{
    struct card_apdu a = { 0x00, 0x20, 0x00, 0x01, NULL, 0, false, 0, false };
    uint16_t sw = 0;
    int rv = card_apdu_transmit(c, &a, NULL, NULL, &sw);
    if (rv != CARD_OK)
        return rv;
    if ((sw & 0xFFF0) == 0x63C0) {
        *tries_left = sw & 0x0F;
        return CARD_OK;
    }
    if (sw == 0x9000) {
        *tries_left = 3;        /* verified; the card does not say more */
        return CARD_OK;
    }
    if (sw == 0x6983) {
        *tries_left = -1;
        return CARD_OK;
    }
    return card_sw_to_rv(sw);
}

static int g_pin_verify(struct card *c, const char *pin, size_t len)
{
    uint8_t blk[8];
    int rv = pin_block(pin, len, blk);
    if (rv != CARD_OK)
        return rv;
    struct card_apdu a = { 0x00, 0x20, 0x00, 0x01, blk, sizeof(blk), false, 0, false };
    rv = card_apdu_run(c, &a, NULL, NULL);
    card_secure_zero(blk, sizeof(blk));
    return rv;
}

static int g_pin_change(struct card *c, const char *old, size_t oldlen,
                        const char *neu, size_t newlen)
{
    uint8_t blk[16];
    int rv = pin_block(old, oldlen, blk);
    if (rv == CARD_OK)
        rv = pin_block(neu, newlen, blk + 8);
    if (rv == CARD_OK) {
        struct card_apdu a = { 0x00, 0x24, 0x00, 0x01, blk, sizeof(blk), false, 0, false };
        rv = card_apdu_run(c, &a, NULL, NULL);
    }
    card_secure_zero(blk, sizeof(blk));
    return rv;
}

static int mse(struct card *c, uint8_t tmpl, unsigned ref)
{
    uint8_t d[] = { 0x80, 0x01, 0x12, 0x84, 0x01, (uint8_t)ref };
    struct card_apdu a = { 0x00, 0x22, 0x41, tmpl, d, sizeof(d), false, 0, false };
    return card_apdu_run(c, &a, NULL, NULL);
}

static int g_sign(struct card *c, const struct card_container *k,
                  enum card_sign_alg alg, const uint8_t *in, size_t inlen,
                  uint8_t *sig, size_t *siglen)
{
    if (alg != CARD_SIGN_RSA_PKCS1)
        return CARD_E_UNSUPPORTED;
    if (inlen == 0 || inlen > G_SIG_IN_MAX)
        return CARD_E_ARGS;
    size_t need = k->modulus_len ? k->modulus_len : k->bits / 8;
    if (*siglen < need)
        return CARD_E_ARGS;
    int rv = mse(c, 0xB6, k->ref);
    if (rv != CARD_OK)
        return rv;
    uint8_t d[2 + G_SIG_IN_MAX];
    d[0] = 0x90;
    d[1] = (uint8_t)inlen;
    memcpy(d + 2, in, inlen);
    struct card_apdu a = { 0x80, 0x2A, 0x9E, 0xAC, d, inlen + 2, true, 0, false };
    size_t n = *siglen;
    rv = card_apdu_run(c, &a, sig, &n);
    if (rv == CARD_OK && need && n != need)
        rv = CARD_E_BAD_RESPONSE;
    if (rv == CARD_OK)
        *siglen = n;
    return rv;
}

static int g_decrypt(struct card *c, const struct card_container *k,
                     const uint8_t *in, size_t inlen, uint8_t *out, size_t *outlen)
{
    if (inlen == 0 || inlen > 255)
        return CARD_E_ARGS;     /* short APDUs only: no 2048-bit cryptogram */
    int rv = mse(c, 0xB8, k->ref);
    if (rv != CARD_OK)
        return rv;
    struct card_apdu a = { 0x80, 0x2A, 0x80, 0x84, in, inlen, true, 0, false };
    return card_apdu_run(c, &a, out, outlen);
}


static int g_generate_key(struct card *c, enum card_key_type type, unsigned bits,
                          struct card_container *out)
{
    if (type != CARD_KEY_RSA)
        return CARD_E_UNSUPPORTED;
    if (bits != 1024 && bits != 2048)
        return CARD_E_ARGS;
    struct card_g_store s;
    int rv = card_g_store_read(c, &s);
    if (rv != CARD_OK)
        return rv;
    /* Refuse before a key is made when the certificate a renewal brings
     * (about the size of the largest one here) would not fit where
     * g_write_cert puts it. */
    size_t big = card_g_max_cert(&s);
    if (big) {
        big += G_CERT_GROWTH;
        size_t used = s.used > G_HDR ? s.used : G_HDR;
        if ((used > G_HDR + big ? used : G_HDR + big) + big > G_FILE_SIZE) {
            rv = CARD_E_CARD_FULL;
            goto out;
        }
    }
    /* A free entry after every allocated one keeps certificate order equal
     * to table order; the commit may move an earlier one there instead. */
    size_t after = card_g_last_alloc(&s);
    unsigned ref = 0;
    for (size_t pass = 0; pass < 2 && !ref; pass++) {
        for (size_t i = pass ? 0 : after; i < (pass ? after : s.n) && !ref; i++) {
            if (s.e[i].alloc)
                continue;
            uint8_t mod[512];
            size_t len = sizeof(mod);
            rv = probe(c, s.e[i].ref, mod, &len);
            if (rv == CARD_E_NOT_FOUND)
                ref = s.e[i].ref;
            else if (rv != CARD_OK)
                goto out;
        }
    }
    if (!ref) {
        rv = CARD_E_CARD_FULL;
        goto out;
    }
    /* Whatever the answer, the reference may hold a key from now on. */
    card_g_remember_key(c, ref, NULL, 0);
    uint8_t d[] = { 0x91, 0x02, (uint8_t)(bits >> 8), (uint8_t)bits };
    struct card_apdu a = { 0x80, 0x46, 0x00, (uint8_t)ref, d, sizeof(d), true, 0, false };
    uint8_t mod[512];
    size_t len = sizeof(mod);
    rv = card_apdu_run(c, &a, mod, &len);
    if (rv != CARD_OK)
        goto out;
    if (len != bits / 8 || !(mod[0] & 0x80)) {
        rv = CARD_E_BAD_RESPONSE;
        goto out;
    }
    rv = fill_rsa(out, ref, mod, len);
    if (rv == CARD_OK)
        card_g_remember_key(c, ref, mod, len);
    else
        card_container_clear(out);
out:
    card_g_store_free(&s);
    return rv;
}

/* The entry whose key has this id; its modulus read back from the card
 * when it has no certificate. */
static int find_entry(struct card *c, const struct card_g_store *s, const uint8_t *id,
                      size_t idlen, size_t *idx, unsigned *bits)
{
    if (idlen != SHA_DIGEST_LENGTH)
        return CARD_E_NOT_FOUND;
    for (size_t i = 0; i < s->n; i++) {
        const struct card_g_entry *e = &s->e[i];
        struct card_container k = { 0 };
        int rv;
        if (e->alloc && e->cert_len) {
            rv = card_cert_pubkey(s->buf + e->cert_off, e->cert_len, &k);
        } else {
            uint8_t mod[512];
            size_t len = sizeof(mod);
            rv = probe(c, e->ref, mod, &len);
            if (rv == CARD_E_NOT_FOUND) {
                card_container_clear(&k);
                continue;
            }
            if (rv == CARD_OK)
                rv = fill_rsa(&k, e->ref, mod, len);
        }
        bool hit = rv == CARD_OK && !memcmp(k.id, id, SHA_DIGEST_LENGTH);
        if (bits)
            *bits = k.bits;
        card_container_clear(&k);
        if (rv != CARD_OK)
            return rv;
        if (hit) {
            *idx = i;
            return CARD_OK;
        }
    }
    return CARD_E_NOT_FOUND;
}

static int zero_range(struct card *c, size_t from, size_t to)
{
    static const uint8_t zero[G_CHUNK];
    for (size_t off = from; off < to; off += G_CHUNK) {
        int rv = card_g_write_at(c, off, zero, to - off < G_CHUNK ? to - off : G_CHUNK);
        if (rv != CARD_OK)
            return rv;
    }
    return CARD_OK;
}

static int g_write_cert(struct card *c, const uint8_t *id, size_t idlen,
                        const uint8_t *der, size_t len, const char *label)
{
    (void)label;    /* the profile has no labels */
    /* Only 30 82 certificates are found by a scan: 256 bytes or more. */
    if (len < 256 || len > 0xFFFF + 4 || der[0] != 0x30 || der[1] != 0x82 ||
        4 + ((size_t)der[2] << 8 | der[3]) != len)
        return CARD_E_ARGS;
    struct card_g_store s;
    int rv = card_g_store_read(c, &s);
    if (rv != CARD_OK)
        return rv;
    size_t idx = 0;
    unsigned bits = 0;
    rv = find_entry(c, &s, id, idlen, &idx, &bits);
    if (rv != CARD_OK)
        goto out;
    if (s.e[idx].alloc) {
        rv = CARD_E_ARGS;       /* it has its certificate already */
        goto out;
    }
    /* Past the used length, so invisible until the commit; and, behind a
     * certificate to be retired, no nearer the front than its own length,
     * so g_delete_cert can later move it to the front. The bytes skipped
     * are zeroed: the scan will walk them. */
    size_t used = s.used > G_HDR ? s.used : G_HDR;
    size_t pos = s.ncert && G_HDR + len > used ? G_HDR + len : used;
    if (pos + len > G_FILE_SIZE) {
        rv = CARD_E_CARD_FULL;
        goto out;
    }
    if ((rv = zero_range(c, used, pos)) != CARD_OK)
        goto out;
    for (size_t off = 0; off < len; off += G_CHUNK) {
        size_t n = len - off < G_CHUNK ? len - off : G_CHUNK;
        rv = card_g_write_at(c, pos + off, der + off, n);
        if (rv != CARD_OK)
            goto out;
    }
    /* The new entry goes right after the allocated ones, so the scan gives
     * the new certificate (last in the file) to it. */
    struct card_g_entry t[G_MAX_ENTRIES];
    size_t n = 0, after = card_g_last_alloc(&s);
    for (size_t i = 0; i < after; i++)
        if (i != idx)
            t[n++] = s.e[i];
    t[n] = s.e[idx];
    t[n].alloc = true;
    t[n].bits = bits;
    n++;
    for (size_t i = after; i < s.n; i++)
        if (i != idx)
            t[n++] = s.e[i];
    uint8_t hdr[G_HDR];
    card_g_build_header(hdr, pos + len, t, n);
    rv = card_g_write_at(c, 0, hdr, G_HDR);
out:
    card_g_store_free(&s);
    return rv;
}

/* Retiring the first of exactly two certificates moves the second to the
 * front instead, so the free space stays at the end of the file and a card
 * renews for ever. Until the commit the bytes at 110 are the retiring
 * entry's certificate, and the first: OpenSC stops listing certificates at
 * the first it cannot parse, so they are made a small certificate that
 * parses (g_stub) under a 30 82 header whose length reaches the second
 * certificate: a scan jumps over the bytes being written, and the second
 * still pairs with its own entry where it was. Our own reading sees bytes
 * that are no whole certificate and shows that entry's key alone. The
 * second's bytes from 138 on are copied to 248 on; then ONE write of 248
 * bytes commits: the header (the retiring entry freed, the used length
 * cut to the copy's end) and the copy's first 138 bytes at 110. The source
 * of the move: 0 when none. */
static const struct card_g_entry *move_source(const struct card_g_store *s, size_t idx)
{
    if (s->nalloc != 2 || s->ncert != 2)
        return NULL;
    size_t k = 0, ord[2] = { 0, 0 };
    for (size_t i = 0; i < s->n; i++)
        if (s->e[i].alloc)
            ord[k++] = i;
    const struct card_g_entry *y = &s->e[ord[1]];
    /* Its bytes where the scan finds them are its own certificate; a copy
     * already at the front (a move cut short) is no reason to stop. */
    if (ord[0] != idx || !y->cert_len || y->cert_len != y->scan_len ||
        memcmp(s->buf + y->cert_off, s->buf + y->scan_off, y->scan_len) ||
        y->scan_off < G_HDR + y->scan_len)
        return NULL;
    return y;
}

/* The content of a certificate that OpenSC parses (empty names, a
 * one-byte RSA key, an empty signature) and that certifies nothing. */
static const uint8_t g_stub[] = {
    0x30, 0x57, 0xA0, 0x03, 0x02, 0x01, 0x02, 0x02, 0x01, 0x01,
    0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B, 0x05, 0x00,
    0x30, 0x00,
    0x30, 0x1E, 0x17, 0x0D, '0', '0', '0', '1', '0', '1', '0', '0', '0', '0', '0', '0', 'Z',
    0x17, 0x0D, '0', '0', '0', '1', '0', '1', '0', '0', '0', '0', '0', '0', 'Z',
    0x30, 0x00,
    0x30, 0x1A, 0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01,
    0x01, 0x05, 0x00, 0x03, 0x09, 0x00, 0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x03,
    0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B, 0x05, 0x00,
    0x03, 0x02, 0x00, 0x00,
};

/* Puts the stub at off under a 30 82 header of length reach, unless it
 * is there already. */
static int put_stub(struct card *c, const struct card_g_store *s, size_t off, size_t reach)
{
    uint8_t b[4 + sizeof(g_stub)] = { 0x30, 0x82, (uint8_t)(reach >> 8), (uint8_t)reach };
    memcpy(b + 4, g_stub, sizeof(g_stub));
    if (off + sizeof(b) <= s->used && !memcmp(s->buf + off, b, sizeof(b)))
        return CARD_OK;
    return card_g_write_at(c, off, b, sizeof(b));
}

static int move_to_front(struct card *c, struct card_g_store *s, size_t idx,
                         const struct card_g_entry *y)
{
    const uint8_t *src = s->buf + y->scan_off;
    size_t len = y->scan_len, head = G_CHUNK - G_HDR;
    int rv = put_stub(c, s, G_HDR, y->scan_off - G_HDR - 4);
    for (size_t off = head; off < len && rv == CARD_OK; off += G_CHUNK)
        rv = card_g_write_at(c, G_HDR + off, src + off,
                             len - off < G_CHUNK ? len - off : G_CHUNK);
    if (rv != CARD_OK)
        return rv;
    s->e[idx].alloc = false;
    uint8_t both[G_CHUNK];
    card_g_build_header(both, G_HDR + len, s->e, s->n);
    memcpy(both + G_HDR, src, head);
    return card_g_write_at(c, 0, both, sizeof(both));
}

static int g_delete_cert(struct card *c, const uint8_t *id, size_t idlen)
{
    struct card_g_store s;
    int rv = card_g_store_read(c, &s);
    if (rv != CARD_OK)
        return rv;
    size_t idx = 0;
    rv = find_entry(c, &s, id, idlen, &idx, NULL);
    if (rv != CARD_OK)
        goto out;
    struct card_g_entry *e = &s.e[idx];
    if (!e->alloc) {
        rv = CARD_E_NOT_FOUND;
        goto out;
    }
    /* The key stays under an entry that will be free: a pending key
     * this handle knows without asking the card. */
    struct card_container key = { 0 };
    if (e->cert_len && card_cert_pubkey(s.buf + e->cert_off, e->cert_len, &key) == CARD_OK &&
        key.type == CARD_KEY_RSA)
        card_g_remember_key(c, e->ref, key.modulus, key.modulus_len);
    card_container_clear(&key);
    const struct card_g_entry *y = move_source(&s, idx);
    if (y) {
        rv = move_to_front(c, &s, idx, y);
        goto out;
    }
    /* Where a scan finds its certificate, readable or half gone; unless
     * that is another entry's own certificate (its own already zeroed). */
    size_t off = e->scan_off, len = e->scan_len;
    /* Used length after: the end of the last certificate that stays. */
    size_t used = G_HDR;
    for (size_t i = 0; i < s.n; i++) {
        const struct card_g_entry *o = &s.e[i];
        if (i == idx || !o->alloc || !o->cert_len)
            continue;
        if (o->cert_off + o->cert_len > used)
            used = o->cert_off + o->cert_len;
        if (len && o->cert_off < off + len && off < o->cert_off + o->cert_len)
            len = 0;
    }
    e->alloc = false;
    uint8_t hdr[G_HDR];
    card_g_build_header(hdr, used, s.e, s.n);

    if (len) {
        /* The stub first (see move_to_front: OpenSC still lists what
         * follows; we show the key alone), then zeros behind it; the 30 82
         * LL LL goes last, so until then a scan still skips this one. */
        uint8_t zero[G_CHUNK] = { 0 };
        size_t stub = len >= 4 + sizeof(g_stub) ? sizeof(g_stub) : 0;
        if ((stub && (rv = put_stub(c, &s, off, len - 4)) != CARD_OK) ||
            (rv = zero_range(c, off + 4 + stub, off + len)) != CARD_OK)
            goto out;
        if (off + 4 <= G_CHUNK) {
            /* The 30 82 and the table entry go in one write: at no moment
             * does the table hold an entry without its certificate. */
            uint8_t both[G_CHUNK];
            memcpy(both, hdr, G_HDR);
            memcpy(both + G_HDR, s.buf + G_HDR, off - G_HDR);
            memset(both + off, 0, 4);
            rv = card_g_write_at(c, 0, both, off + 4);
            goto out;
        }
        rv = card_g_write_at(c, off, zero, 4);
        if (rv != CARD_OK)
            goto out;
    }
    rv = card_g_write_at(c, 0, hdr, G_HDR);
out:
    card_g_store_free(&s);
    return rv;
}

static int g_delete_key(struct card *c, const uint8_t *id, size_t idlen)
{
    struct card_g_store s;
    int rv = card_g_store_read(c, &s);
    if (rv != CARD_OK)
        return rv;
    size_t idx = 0;
    rv = find_entry(c, &s, id, idlen, &idx, NULL);
    unsigned ref = s.e[idx].ref;
    bool alloc = s.e[idx].alloc;
    card_g_store_free(&s);
    if (rv != CARD_OK)
        return rv;
    /* A container is a key and its certificate: the certificate goes first. */
    if (alloc && (rv = g_delete_cert(c, id, idlen)) != CARD_OK)
        return rv;
    struct card_apdu a = { 0x80, 0xE4, 0x00, (uint8_t)ref, NULL, 0, false, 0, false };
    rv = card_apdu_run(c, &a, NULL, NULL);
    if (rv == CARD_OK) {
        card_g_remember_key(c, ref, NULL, 0);
        c->empty_refs |= 1u << (ref & 15);
    }
    return rv;
}

const struct card_driver card_driver_g = {
    .name = "G",
    .match_atr = g_match_atr,
    .init = g_init,
    .change_counter = g_change_counter,
    .read_objects = g_read_objects,
    .find_pending = g_find_pending,
    .pin_status = g_pin_status,
    .pin_verify = g_pin_verify,
    .pin_change = g_pin_change,
    .logout = card_reset_logout,
    .sign = g_sign,
    .decrypt = g_decrypt,
    .generate_key = g_generate_key,
    .write_cert = g_write_cert,
    .delete_cert = g_delete_cert,
    .delete_key = g_delete_key,
};
