/* o_store.c: the profile O card's persistent state as a versioned blob:
 * PIN and PUK with their counters, every file, every key slot (private
 * keys as DER). Loading checks every length; anything malformed is NULL. */
#include <stdlib.h>
#include <string.h>
#include <openssl/x509.h>

#include "tests/vcard/o_card.h"

static const uint8_t magic[4] = { 'V', 'C', 'O', 1 };

struct wbuf {
    uint8_t *p;
    size_t n, cap;
    bool bad;
};

static void w(struct wbuf *b, const void *v, size_t n)
{
    if (b->bad || n == 0)
        return;
    if (n > b->cap - b->n) {
        size_t cap = (b->cap + n) * 2;
        uint8_t *p = malloc(cap);
        if (!p) {
            b->bad = true;
            return;
        }
        if (b->p) {
            memcpy(p, b->p, b->n);
            OPENSSL_cleanse(b->p, b->n);
            free(b->p);
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, v, n);
    b->n += n;
}

static void w8(struct wbuf *b, unsigned v) { uint8_t x = (uint8_t)v; w(b, &x, 1); }
static void w16(struct wbuf *b, size_t v)
{
    uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };
    w(b, x, 2);
}

static void w_secret(struct wbuf *b, const struct o_secret *s)
{
    w8(b, s->len);
    w(b, s->value, s->len);
    w8(b, s->tries);
    w8(b, s->max);
}

int vc_o_save(void *st, uint8_t **buf, size_t *len)
{
    struct o_card *c = st;
    struct wbuf b = { NULL, 0, 0, false };
    unsigned nfiles = 0;
    w(&b, magic, sizeof magic);
    w_secret(&b, &c->pin);
    w_secret(&b, &c->puk);
    for (int i = 0; i < O_MAX_FILES; i++)
        nfiles += c->files[i].used;
    w8(&b, nfiles);
    for (int i = 0; i < O_MAX_FILES; i++) {
        const struct o_file *f = &c->files[i];
        if (!f->used)
            continue;
        w8(&b, (unsigned)i);
        w8(&b, (f->is_df ? 1u : 0u) | (f->update_acl == O_ACL_PIN ? 2u : 0u));
        w16(&b, f->fid);
        w16(&b, f->parent);
        w8(&b, f->sfi);
        w8(&b, f->aid_len);
        w(&b, f->aid, f->aid_len);
        w16(&b, f->size);
        w(&b, f->data, f->size);
    }
    for (int i = 0; i < O_KEY_SLOTS; i++) {
        const struct o_slot *s = &c->slots[i];
        uint8_t *der = NULL;
        int dl = 0;
        if (s->key && (dl = i2d_PrivateKey(s->key, &der)) <= 0)
            b.bad = true;
        w8(&b, s->pending);
        w8(&b, s->exp_len);
        w(&b, s->exp, s->exp_len);
        w16(&b, s->rsa_bytes);
        w16(&b, dl > 0 ? (size_t)dl : 0);
        if (dl > 0)
            w(&b, der, (size_t)dl);
        if (der)
            OPENSSL_clear_free(der, (size_t)dl);
    }
    if (b.bad) {
        if (b.p)
            OPENSSL_cleanse(b.p, b.n);
        free(b.p);
        *buf = NULL;
        *len = 0;
        return -1;
    }
    *buf = b.p;
    *len = b.n;
    return 0;
}

struct rbuf {
    const uint8_t *p;
    size_t n, off;
    bool bad;
};

static const uint8_t *r(struct rbuf *b, size_t n)
{
    if (b->bad || n > b->n - b->off) {
        b->bad = true;
        return NULL;
    }
    const uint8_t *p = b->p + b->off;
    b->off += n;
    return p;
}

static unsigned r8(struct rbuf *b)
{
    const uint8_t *p = r(b, 1);
    return p ? p[0] : 0;
}

static size_t r16(struct rbuf *b)
{
    const uint8_t *p = r(b, 2);
    return p ? o_be16(p) : 0;
}

static bool r_secret(struct rbuf *b, struct o_secret *s, size_t min, size_t max)
{
    size_t n = r8(b);
    const uint8_t *v = r(b, n);
    if (!v || !vc_o_pin_valid((const char *)v, n, min, max))
        return false;
    memcpy(s->value, v, n);
    s->len = (uint8_t)n;
    s->tries = (uint8_t)r8(b);
    s->max = (uint8_t)r8(b);
    return !b->bad && s->max >= 1 && s->max <= 15 && s->tries <= s->max;
}

static bool r_file(struct rbuf *b, struct o_card *c)
{
    unsigned idx = r8(b), flags = r8(b);
    if (b->bad || idx >= O_MAX_FILES || c->files[idx].used || flags > 3)
        return false;
    struct o_file *f = &c->files[idx];
    f->is_df = flags & 1;
    f->update_acl = (flags & 2) ? O_ACL_PIN : O_ACL_NEVER;
    f->fid = (uint16_t)r16(b);
    f->parent = (uint16_t)r16(b);
    f->sfi = (uint8_t)r8(b);
    f->aid_len = (uint8_t)r8(b);
    const uint8_t *aid = r(b, f->aid_len);
    if (!aid || f->aid_len > sizeof f->aid || f->sfi > 30)
        return false;
    memcpy(f->aid, aid, f->aid_len);
    f->size = r16(b);
    const uint8_t *d = r(b, f->size);
    if (!d || f->size > 0x7FFF || (f->is_df && f->size))
        return false;
    if (f->size) {
        f->data = malloc(f->size);
        if (!f->data)
            return false;
        memcpy(f->data, d, f->size);
    }
    f->used = true;
    return true;
}

static bool r_slot(struct rbuf *b, struct o_slot *s)
{
    s->pending = (uint8_t)r8(b);
    s->exp_len = (uint8_t)r8(b);
    const uint8_t *e = r(b, s->exp_len);
    if (!e || s->pending > O_KEY_EC || s->exp_len > sizeof s->exp)
        return false;
    memcpy(s->exp, e, s->exp_len);
    s->rsa_bytes = (uint16_t)r16(b);
    size_t dl = r16(b);
    const uint8_t *der = r(b, dl);
    if (!der || (s->rsa_bytes && s->rsa_bytes != 128 && s->rsa_bytes != 256))
        return false;
    if (dl) {
        s->key = d2i_AutoPrivateKey(NULL, &der, (long)dl);
        if (!s->key || (!EVP_PKEY_is_a(s->key, "RSA") && !EVP_PKEY_is_a(s->key, "EC")))
            return false;
    }
    return true;
}

/* Every parent is a DF that exists; the MF is the root at index 0. */
static bool tree_ok(const struct o_card *c)
{
    if (!c->files[0].used || !c->files[0].is_df || c->files[0].parent != O_NONE)
        return false;
    for (int i = 1; i < O_MAX_FILES; i++) {
        const struct o_file *f = &c->files[i];
        if (!f->used)
            continue;
        if (f->parent >= O_MAX_FILES || f->parent == i ||
            !c->files[f->parent].used || !c->files[f->parent].is_df)
            return false;
    }
    return vc_o_fs_used(c) <= O_FS_CAPACITY;
}

void *vc_o_load(const uint8_t *buf, size_t len)
{
    struct rbuf b = { buf, len, 0, false };
    struct o_card *c;
    const uint8_t *m = r(&b, sizeof magic);
    if (!m || memcmp(m, magic, sizeof magic) != 0)
        return NULL;
    if (!(c = vc_o_alloc()))
        return NULL;
    bool ok = r_secret(&b, &c->pin, O_PIN_MIN, O_PIN_MAX) &&
              r_secret(&b, &c->puk, O_PUK_LEN, O_PUK_LEN);
    unsigned nfiles = ok ? r8(&b) : 0;
    ok = ok && !b.bad && nfiles >= 1 && nfiles <= O_MAX_FILES;
    for (unsigned i = 0; ok && i < nfiles; i++)
        ok = r_file(&b, c);
    for (int i = 0; ok && i < O_KEY_SLOTS; i++)
        ok = r_slot(&b, &c->slots[i]);
    ok = ok && !b.bad && b.off == len && tree_ok(c);
    if (!ok) {
        vc_o_free(c);
        return NULL;
    }
    c->cur_df = 0;
    c->cur_ef = O_NONE;
    return c;
}
