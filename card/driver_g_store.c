/* driver_g_store.c: profile G's object store, EF 3F00/1600/0004: reading
 * and parsing it, finding each allocated entry's certificate as a scan
 * for 30 82 does, and building the 110-byte header that commits a change. */
#include <stdlib.h>
#include <string.h>

#include "card/driver_g.h"
#include "card/x509.h"

static const uint8_t g_path[] = { 0x16, 0x00, 0x00, 0x04 };

void card_g_store_free(struct card_g_store *s)
{
    free(s->buf);
    memset(s, 0, sizeof(*s));
}

/* Once per transaction: nothing this driver sends selects another file. */
int card_g_select_store(struct card *c)
{
    if (c->sel == CARD_SEL_G_STORE)
        return CARD_OK;
    c->sel = CARD_SEL_NONE;
    struct card_apdu a = { 0x00, 0xA4, 0x08, 0x0C, g_path, sizeof(g_path), false, 0, false };
    int rv = card_apdu_run(c, &a, NULL, NULL);
    if (rv == CARD_OK)
        c->sel = CARD_SEL_G_STORE;
    return rv;
}

/* READ BINARY; 62 82 (end of file reached) still carries data. */
int card_g_read_at(struct card *c, size_t off, uint8_t *out, size_t want, size_t *got)
{
    struct card_apdu a = { 0x00, 0xB0, (uint8_t)(off >> 8), (uint8_t)off, NULL, 0,
                           true, want, false };
    uint16_t sw = 0;
    size_t n = want;
    int rv = card_apdu_transmit(c, &a, out, &n, &sw);
    if (rv != CARD_OK)
        return rv;
    if (sw != 0x9000 && sw != 0x6282)
        return card_sw_to_rv(sw);
    *got = n;
    return CARD_OK;
}

int card_g_write_at(struct card *c, size_t off, const uint8_t *data, size_t len)
{
    if (off < G_HDR)
        c->free_known = false;      /* the table may change */
    struct card_apdu a = { 0x00, 0xD6, (uint8_t)(off >> 8), (uint8_t)off, data, len,
                           false, 0, false };
    return card_apdu_run(c, &a, NULL, NULL);
}

/* Parses the header and finds each allocated entry's certificate. */
static int store_parse(struct card_g_store *s)
{
    const uint8_t *b = s->buf;
    size_t pos = 2;
    s->n = 0;
    while (pos < s->used && pos < G_HDR && b[pos] == 0x01) {
        if (s->n == G_MAX_ENTRIES || pos + 2 > s->used)
            return CARD_E_BAD_RESPONSE;
        struct card_g_entry *e = &s->e[s->n];
        memset(e, 0, sizeof(*e));
        size_t sz = b[pos + 1] == 0xFE ? 9 : b[pos + 1] == 0xF0 ? 8 : 0;
        if (!sz || pos + sz > s->used || pos + sz > G_HDR)
            return CARD_E_BAD_RESPONSE;
        e->alloc = sz == 9;
        e->ref = b[pos + 4];
        if (e->alloc)
            e->bits = (unsigned)b[pos + 5] << 8 | b[pos + 6];
        if (e->ref < 0x03 || e->ref > 0x0E)
            return CARD_E_BAD_RESPONSE;
        s->n++;
        pos += sz;
    }
    for (size_t k = 0; k < s->n; k++)
        s->nalloc += s->e[k].alloc;
    /* Certificates, as a scanner for 30 82 finds them. */
    size_t i = 0, p = G_HDR;
    while (p + 4 <= s->used) {
        if (b[p] != 0x30 || b[p + 1] != 0x82) {
            p++;
            continue;
        }
        size_t len = 4 + ((size_t)b[p + 2] << 8 | b[p + 3]);
        if (p + len > s->used)
            return CARD_E_BAD_RESPONSE;     /* a certificate past the end */
        while (i < s->n && !s->e[i].alloc)
            i++;
        if (i == s->n)
            break;                          /* more certificates than entries */
        s->coff[s->ncert] = p;
        s->clen[s->ncert++] = len;
        s->e[i].cert_off = s->e[i].scan_off = p;
        s->e[i].cert_len = s->e[i].scan_len = len;
        i++;
        p += len;
    }
    return CARD_OK;
}

/* One whole certificate, nothing after it. */
static bool cert_whole(const uint8_t *der, size_t len)
{
    struct card_cert_parts parts;
    return card_cert_whole(der, len) && card_cert_split(der, len, &parts) == CARD_OK;
}

/* True when order alone pairs every allocated entry with a whole
 * certificate of its own. A deletion or a move cut short leaves fewer
 * certificates than entries, bytes that are no certificate (being zeroed
 * or overwritten), or a copy of the next certificate. */
static bool store_sound(const struct card_g_store *s)
{
    if (s->ncert < s->nalloc)
        return false;
    for (size_t k = 0; k < s->ncert; k++) {
        if (!cert_whole(s->buf + s->coff[k], s->clen[k]))
            return false;
        for (size_t j = 0; j < k; j++)
            if (s->clen[j] == s->clen[k] &&
                !memcmp(s->buf + s->coff[j], s->buf + s->coff[k], s->clen[k]))
                return false;
    }
    return true;
}

/* Order does not pair them (see store_sound): give each certificate to
 * the entry whose key it certifies; the rest show their keys alone. */
static int store_repair(struct card *c, struct card_g_store *s)
{
    for (size_t i = 0; i < s->n; i++)
        s->e[i].cert_off = s->e[i].cert_len = 0;
    for (size_t j = 0; j < s->ncert; j++) {
        struct card_container k = { 0 };
        if (!cert_whole(s->buf + s->coff[j], s->clen[j]) ||
            card_cert_pubkey(s->buf + s->coff[j], s->clen[j], &k) != CARD_OK ||
            k.type != CARD_KEY_RSA) {
            card_container_clear(&k);
            continue;
        }
        for (size_t i = 0; i < s->n; i++) {
            struct card_g_entry *e = &s->e[i];
            if (!e->alloc || e->cert_len)
                continue;
            uint8_t mod[512];
            size_t len = sizeof(mod);
            int rv = card_g_read_pubkey(c, e->ref, mod, &len);
            if (rv == CARD_E_NOT_FOUND)
                continue;
            if (rv != CARD_OK) {
                card_container_clear(&k);
                return rv;
            }
            if (len == k.modulus_len && !memcmp(mod, k.modulus, len)) {
                e->cert_off = s->coff[j];
                e->cert_len = s->clen[j];
                break;
            }
        }
        card_container_clear(&k);
    }
    return CARD_OK;
}

static void note_free(struct card *c, const struct card_g_store *s)
{
    c->free_refs = 0;
    for (size_t i = 0; i < s->n; i++)
        if (!s->e[i].alloc)
            c->free_refs |= 1u << (s->e[i].ref & 15);
    c->free_known = true;
}

int card_g_store_read(struct card *c, struct card_g_store *s)
{
    memset(s, 0, sizeof(*s));
    int rv = card_g_select_store(c);
    if (rv != CARD_OK)
        return rv;
    uint8_t first[G_CHUNK];
    size_t got = 0;
    rv = card_g_read_at(c, 0, first, G_CHUNK, &got);
    if (rv != CARD_OK)
        return rv;
    if (got < 2)
        return CARD_E_BAD_RESPONSE;
    s->used = (size_t)first[0] << 8 | first[1];
    if (s->used < 2 || s->used > G_FILE_SIZE)
        return CARD_E_BAD_RESPONSE;
    s->buf = malloc(s->used);
    if (!s->buf)
        return CARD_E_HOST_MEMORY;
    size_t have = got < s->used ? got : s->used;
    memcpy(s->buf, first, have);
    while (have < s->used) {
        size_t want = s->used - have < G_CHUNK ? s->used - have : G_CHUNK;
        rv = card_g_read_at(c, have, s->buf + have, want, &got);
        if (rv == CARD_OK && got == 0)
            rv = CARD_E_BAD_RESPONSE;       /* used length past the file */
        if (rv != CARD_OK) {
            card_g_store_free(s);
            return rv;
        }
        have += got;
    }
    rv = store_parse(s);
    if (rv == CARD_OK && s->ncert && !store_sound(s))
        rv = store_repair(c, s);
    if (rv != CARD_OK) {
        card_g_store_free(s);
        return rv;
    }
    note_free(c, s);
    return CARD_OK;
}

int card_g_read_header(struct card *c, uint8_t hdr[G_HDR])
{
    int rv = card_g_select_store(c);
    if (rv != CARD_OK)
        return rv;
    size_t got = 0;
    rv = card_g_read_at(c, 0, hdr, G_HDR, &got);
    if (rv != CARD_OK)
        return rv;
    if (got != G_HDR)
        return CARD_E_BAD_RESPONSE;
    /* The table alone: no certificate lies before G_HDR. */
    struct card_g_store s;
    memset(&s, 0, sizeof(s));
    size_t used = (size_t)hdr[0] << 8 | hdr[1];
    s.buf = hdr;
    s.used = used < G_HDR ? used : G_HDR;
    if (used >= 2 && used <= G_FILE_SIZE && store_parse(&s) == CARD_OK)
        note_free(c, &s);
    return CARD_OK;
}

int card_g_free_refs(struct card *c, uint32_t *refs)
{
    if (!c->free_known) {
        uint8_t hdr[G_HDR];
        int rv = card_g_read_header(c, hdr);
        if (rv != CARD_OK)
            return rv;
        if (!c->free_known)
            return CARD_E_BAD_RESPONSE;
    }
    *refs = c->free_refs;
    return CARD_OK;
}

/* The modulus of the key under ref, or CARD_E_NOT_FOUND (6A 88). */
int card_g_read_pubkey(struct card *c, unsigned ref, uint8_t *mod, size_t *len)
{
    struct card_apdu a = { 0x80, 0x46, 0x01, (uint8_t)ref, NULL, 0, true, 0, false };
    int rv = card_apdu_run(c, &a, mod, len);
    if (rv == CARD_OK && (*len < 64 || mod[0] == 0))
        rv = CARD_E_BAD_RESPONSE;
    return rv;
}

/* The header for this table: used length, entries, 00 padding. */
void card_g_build_header(uint8_t hdr[G_HDR], size_t used, const struct card_g_entry *e,
                         size_t n)
{
    memset(hdr, 0, G_HDR);
    hdr[0] = (uint8_t)(used >> 8);
    hdr[1] = (uint8_t)used;
    size_t p = 2;
    for (size_t i = 0; i < n; i++) {
        hdr[p] = 0x01;
        hdr[p + 1] = e[i].alloc ? 0xFE : 0xF0;
        hdr[p + 4] = (uint8_t)e[i].ref;
        if (e[i].alloc) {
            hdr[p + 5] = (uint8_t)(e[i].bits >> 8);
            hdr[p + 6] = (uint8_t)e[i].bits;
        }
        p += e[i].alloc ? 9 : 8;
    }
}

size_t card_g_last_alloc(const struct card_g_store *s)
{
    size_t last = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->e[i].alloc)
            last = i + 1;
    return last;
}

size_t card_g_max_cert(const struct card_g_store *s)
{
    size_t m = 0;
    for (size_t k = 0; k < s->ncert; k++)
        if (s->clen[k] > m)
            m = s->clen[k];
    return m;
}
