/* fuzz_card.c: one card driver (FZ_PROFILE, "G" or "O") under every
 * answer a card can give.
 *
 * Input: two streams (fz_split). The first chooses the operations the
 * module uses, with their arguments: open (match and select), read the
 * objects, the change counter, PIN status, verify, change and unblock,
 * logout, sign, decipher, generate, write and delete a certificate,
 * delete a key, close and open again. The second is the fault stream of
 * fz_card.c, which can change every answer the virtual card gives.
 *
 * Checked beyond the sanitizers: what the driver returns is well formed
 * (containers with a 20-byte id and their key material, lengths within
 * the buffers given), every transaction opened is closed, and a run with
 * no fault injected reads the card's own credentials.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card/card.h"
#include "tests/fuzz/fz_card.h"

#ifndef FZ_PROFILE
#define FZ_PROFILE "G"
#endif

#define MAX_OPS 48

static struct card_container gen[4];
static size_t ngen;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    fz_world_init(FZ_PROFILE, NULL);
    return 0;
}

static void check_container(const struct card_container *k)
{
    if (k->id_len != 20)
        abort();
    if (k->type == CARD_KEY_RSA && (!k->modulus || !k->modulus_len || !k->exponent))
        abort();
    if (k->type == CARD_KEY_EC_P256 && (!k->ec_point || k->ec_point_len != 65))
        abort();
    if (k->type != CARD_KEY_RSA && k->type != CARD_KEY_EC_P256)
        abort();
    if (!k->cert != !k->cert_len)
        abort();
    if (!memchr(k->label, 0, sizeof(k->label)))
        abort();
}

static void check_objects(const struct card_objects *o)
{
    for (size_t i = 0; i < o->n; i++)
        check_container(&o->c[i]);
}

/* A container to operate on: one read from the card, one generated, or
 * one made up (wrong sizes, wrong type, a reference the card lacks). */
static const struct card_container *pick(struct fz *f, const struct card_objects *o,
                                         struct card_container *fake)
{
    uint8_t b = fz_u8(f);
    if (b < 0xC0 && o->n)
        return &o->c[b % o->n];
    if (b < 0xE0 && ngen)
        return &gen[b % ngen];
    memset(fake, 0, sizeof(*fake));
    fake->type = b & 1 ? CARD_KEY_EC_P256 : CARD_KEY_RSA;
    fake->ref = fz_u8(f);
    fake->bits = fz_u16(f);
    fake->id_len = 20;
    memset(fake->id, fz_u8(f), 20);
    return fake;
}

static const char *pin_of(struct fz *f, char *buf, size_t *len)
{
    uint8_t b = fz_u8(f);
    if (b < 0x80) {
        *len = strlen(FZ_PIN);
        return FZ_PIN;
    }
    size_t got;
    const uint8_t *p = fz_bytes(f, b & 0x3F, &got);
    memcpy(buf, p, got);
    *len = got;
    return buf;
}

static void run(struct fz *ops, struct card *c, struct card_objects *objs)
{
    struct card_container fake;
    char p1[64], p2[64];
    size_t l1, l2, got;
    int rv = card_begin(c);
    if (rv != CARD_OK)
        return;     /* REMOVED: reported once, with no transaction open */
    uint8_t op = fz_u8(ops);
    switch (op % 13) {
    case 0: {
        uint64_t ctr;
        card_change_counter(c, &ctr);
        break;
    }
    case 1:
        card_objects_clear(objs);
        if (card_read_objects(c, objs) == CARD_OK)
            check_objects(objs);
        else if (objs->n || objs->c)
            abort();    /* a failed read leaves nothing behind */
        break;
    case 2: {
        int tries = 99;
        if (card_pin_status(c, &tries) == CARD_OK && (tries < -1 || tries > 15))
            abort();
        break;
    }
    case 3: {
        const char *pin = pin_of(ops, p1, &l1);
        card_pin_verify(c, pin, l1);
        break;
    }
    case 4: {
        const char *o = pin_of(ops, p1, &l1);
        const char *n = pin_of(ops, p2, &l2);
        card_pin_change(c, o, l1, n, l2);
        break;
    }
    case 5: {
        const char *puk = fz_u8(ops) < 0x80 ? FZ_PUK : "00000000";
        const char *n = pin_of(ops, p2, &l2);
        card_pin_unblock(c, puk, strlen(puk), n, l2);
        break;
    }
    case 6:
        card_logout(c);
        break;
    case 7: {
        const struct card_container *k = pick(ops, objs, &fake);
        enum card_sign_alg alg = (enum card_sign_alg)(fz_u8(ops) % 3);
        const uint8_t *in = fz_bytes(ops, fz_u8(ops), &got);
        uint8_t one = 0;
        size_t cap = fz_u8(ops) < 0x80 ? 512 : fz_u16(ops) % 600;
        uint8_t *sig = malloc(cap ? cap : 1);
        size_t siglen = cap;
        if (card_sign(c, k, alg, got ? in : &one, got, sig, &siglen) == CARD_OK &&
            (siglen > cap || !siglen))
            abort();
        free(sig);
        break;
    }
    case 8: {
        const struct card_container *k = pick(ops, objs, &fake);
        uint8_t in[600];
        size_t inlen = fz_u8(ops) < 0x80 ? (k->modulus_len ? k->modulus_len : 128)
                                        : fz_u16(ops) % sizeof(in);
        size_t n;
        const uint8_t *src = fz_bytes(ops, inlen, &n);
        memset(in, 0x5A, sizeof(in));
        memcpy(in, src, n);
        size_t cap = fz_u8(ops) < 0x80 ? 512 : fz_u16(ops) % 600;
        uint8_t *out = malloc(cap ? cap : 1);
        size_t outlen = cap;
        if (card_decrypt(c, k, in, inlen ? inlen : 1, out, &outlen) == CARD_OK &&
            outlen > cap)
            abort();
        free(out);
        break;
    }
    case 9: {
        uint8_t b = fz_u8(ops);
        enum card_key_type t = b & 1 ? CARD_KEY_EC_P256 : CARD_KEY_RSA;
        static const unsigned bits[] = { 2048, 1024, 256, 0, 512, 4096 };
        struct card_container k;
        if (card_generate_key(c, t, bits[(b >> 1) % 6], &k) == CARD_OK) {
            check_container(&k);
            if (k.cert)
                abort();    /* a new key is pending */
            if (ngen == sizeof(gen) / sizeof(gen[0]))
                card_container_clear(&gen[--ngen]);
            gen[ngen++] = k;
        } else {
            card_container_clear(&k);
        }
        break;
    }
    case 10: {
        const struct card_container *k = pick(ops, objs, &fake);
        uint8_t b = fz_u8(ops);
        const uint8_t *der;
        size_t len;
        if (b < 0xC0) {
            der = fz_cert_der(b % FZ_NKEYS, &len);
        } else {
            der = fz_bytes(ops, fz_u16(ops), &len);
            if (!len)
                break;
        }
        const char *label = fz_u8(ops) & 1 ? "Fuzz Label" : NULL;
        card_write_cert(c, k->id, k->id_len, der, len, label);
        break;
    }
    case 11: {
        const struct card_container *k = pick(ops, objs, &fake);
        card_delete_cert(c, k->id, k->id_len);
        break;
    }
    case 12: {
        const struct card_container *k = pick(ops, objs, &fake);
        card_delete_key(c, k->id, k->id_len);
        break;
    }
    }
    card_end(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz ops, faults;
    fz_split(data, size, &ops, &faults);
    fz_world_reset(&faults);
    struct card_ctx *ctx = NULL;
    struct card *c = NULL;
    struct card_objects objs = { 0 };
    if (card_ctx_new(fz_pcsc_ops(), &ctx) != CARD_OK)
        abort();
    int rv = card_open(ctx, fz_reader_name(0), &c);
    if (rv != CARD_OK) {
        if (!fz_faults_injected())
            abort();        /* the card as made must open */
        goto out;
    }
    /* Without faults the card's credential is there to read. */
    if (card_begin(c) == CARD_OK) {
        rv = card_read_objects(c, &objs);
        card_end(c);
        if (rv == CARD_OK)
            check_objects(&objs);
        if (!fz_faults_injected() && (rv != CARD_OK || objs.n < 2 || !objs.c[0].cert))
            abort();
    }
    for (int i = 0; i < MAX_OPS && ops.n; i++) {
        if (fz_u8(&ops) == 0xFF) {     /* close and open again */
            card_close(c);
            c = NULL;
            if (card_open(ctx, fz_reader_name(0), &c) != CARD_OK)
                break;
            continue;
        }
        run(&ops, c, &objs);
        if (fz_in_transaction(0))
            abort();        /* every card_begin that succeeded was ended */
    }
out:
    card_close(c);
    card_objects_clear(&objs);
    for (size_t i = 0; i < ngen; i++)
        card_container_clear(&gen[i]);
    ngen = 0;
    card_ctx_free(ctx);
    return 0;
}
