/* test_card_gspace.c: profile G renews for ever, and every command of every
 * renewal leaves a card that still works and that a rerun finishes.
 *
 * A small model of the G card (the object store EF, the key references)
 * sits behind the PC/SC seam. Each renewal (key generation, certificate
 * write, retirement of the old credential) is run once, with a snapshot of
 * the card after every command that changes it: since the card completes or
 * discards each command, those snapshots are exactly the states a torn
 * command can leave. From each one we check (a) that a credential is whole,
 * as our driver reads it, as OpenSC's gemsafeV1 scan pairs it and as
 * OpenSC's PKCS#11 layer lists it, and
 * (b) that a rerun from there ends with the new credential alone.
 */
#include "tests/unit/scripted_card.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#define G_ATR "3B F9 18 00 00 81 31 FE 45 4A 43 4F 50 34 31 56 32 32 AF"
#define EF 8000
#define HDR 110
#define NPOOL 3
#define RENEWALS 50
#define MAX_SNAP 64

/* Keys the model's generation hands out in turn, never one in use. */
static EVP_PKEY *pool[NPOOL], *ca_key;
static uint8_t pool_mod[NPOOL][128];

struct gcard {
    uint8_t ef[EF];
    int key[16];                /* pool index per reference, -1 none */
};
static struct gcard card;
static struct gcard snap[MAX_SNAP];
static size_t nsnap;
static bool recording;
static unsigned writes;         /* state-changing commands, all runs */

static void record(void)
{
    writes++;
    if (recording) {
        assert_true(nsnap < MAX_SNAP);
        snap[nsnap++] = card;
    }
}

static LONG answer(LPBYTE resp, LPDWORD rlen, const uint8_t *d, size_t n, uint16_t sw)
{
    assert_true(*rlen >= n + 2);
    if (n)
        memcpy(resp, d, n);
    resp[n] = (uint8_t)(sw >> 8);
    resp[n + 1] = (uint8_t)sw;
    *rlen = (DWORD)(n + 2);
    return SCARD_S_SUCCESS;
}

static LONG model_transmit(SCARDHANDLE h, const SCARD_IO_REQUEST *spci, LPCBYTE c,
                           DWORD len, SCARD_IO_REQUEST *rpci, LPBYTE resp, LPDWORD rlen)
{
    (void)h; (void)spci; (void)rpci;
    assert_true(len >= 4);
    uint8_t cla = c[0], ins = c[1], p1 = c[2], p2 = c[3];
    size_t off = (size_t)p1 << 8 | p2;
    if (cla == 0x00 && ins == 0xA4)
        return answer(resp, rlen, NULL, 0, 0x9000);
    if (cla == 0x80 && ins == 0xCA && p2 == 0x03) {
        static const uint8_t v[8] = { 0x47, 0x53, 0x56, 0x31, 2, 1, 0, 0 };
        return answer(resp, rlen, v, 8, 0x9000);
    }
    if (cla == 0x80 && ins == 0xCA && p2 == 0x7F) {
        uint8_t cplc[45] = { 0x9F, 0x7F, 0x2A };
        for (int i = 3; i < 45; i++)
            cplc[i] = (uint8_t)i;
        return answer(resp, rlen, cplc, 45, 0x9000);
    }
    if (cla == 0x00 && ins == 0xB0) {
        assert_int_equal(len, 5);
        size_t want = c[4] ? c[4] : 256;
        if (off >= EF)
            return answer(resp, rlen, NULL, 0, 0x6B00);
        size_t n = EF - off < want ? EF - off : want;
        return answer(resp, rlen, card.ef + off, n, n < want ? 0x6282 : 0x9000);
    }
    if (cla == 0x00 && ins == 0xD6) {
        /* Short APDUs: one command writes at most 255 bytes. */
        assert_true(len >= 6 && c[4] && len == 5u + c[4]);
        if (off + c[4] > EF)
            return answer(resp, rlen, NULL, 0, 0x6A84);
        memcpy(card.ef + off, c + 5, c[4]);
        record();
        return answer(resp, rlen, NULL, 0, 0x9000);
    }
    if (cla == 0x80 && ins == 0x46 && p1 == 0x00) {
        if (card.key[p2] >= 0)
            return answer(resp, rlen, NULL, 0, 0x6A89);
        int k = 0;
        for (bool used = true; used; k++) {
            used = false;
            for (int r = 0; r < 16; r++)
                used |= card.key[r] == k;
            if (!used)
                break;
        }
        assert_true(k < NPOOL);
        card.key[p2] = k;
        record();
        return answer(resp, rlen, pool_mod[k], 128, 0x9000);
    }
    if (cla == 0x80 && ins == 0x46 && p1 == 0x01) {
        if (card.key[p2] < 0)
            return answer(resp, rlen, NULL, 0, 0x6A88);
        return answer(resp, rlen, pool_mod[card.key[p2]], 128, 0x9000);
    }
    if (cla == 0x80 && ins == 0xE4) {
        if (card.key[p2] < 0)
            return answer(resp, rlen, NULL, 0, 0x6A88);
        card.key[p2] = -1;
        record();
        return answer(resp, rlen, NULL, 0, 0x9000);
    }
    fail_msg("the model does not know %02X %02X %02X %02X", cla, ins, p1, p2);
    return SCARD_E_PROTO_MISMATCH;
}

static struct pcsc_ops ops;
static struct card_ctx *ctx;

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < NPOOL; i++) {
        pool[i] = EVP_RSA_gen(1024);
        BIGNUM *n = NULL;
        EVP_PKEY_get_bn_param(pool[i], OSSL_PKEY_PARAM_RSA_N, &n);
        if (BN_bn2binpad(n, pool_mod[i], 128) != 128)
            return -1;
        BN_free(n);
    }
    ca_key = EVP_RSA_gen(1024);
    ops = sc_ops;
    ops.transmit = model_transmit;
    sc_reset(G_ATR);
    return card_ctx_new(&ops, &ctx) == CARD_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    card_ctx_free(ctx);
    for (int i = 0; i < NPOOL; i++)
        EVP_PKEY_free(pool[i]);
    EVP_PKEY_free(ca_key);
    return 0;
}

static int pool_of(const uint8_t *mod, size_t len)
{
    for (int i = 0; i < NPOOL; i++)
        if (len == 128 && !memcmp(mod, pool_mod[i], 128))
            return i;
    return -1;
}

/* The certificate of renewal n for pool key k; its size varies with n
 * (about 600 to 1300 bytes), so some are longer than the one they replace. */
static size_t make_cert(unsigned n, int k, uint8_t **der)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)n + 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    char cn[32], ou[800];
    snprintf(cn, sizeof(cn), "Renewal %u", n);
    size_t fill = (n * 251u) % 700;
    memset(ou, 'o', fill);
    ou[fill] = 0;
    X509_NAME *s = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(s, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    if (fill)
        X509_NAME_add_entry_by_txt(s, "OU", MBSTRING_ASC, (const unsigned char *)ou, -1,
                                   -1, 0);
    X509_NAME *iss = X509_NAME_new();
    X509_NAME_add_entry_by_txt(iss, "CN", MBSTRING_ASC, (const unsigned char *)"Test CA",
                               -1, -1, 0);
    X509_set_issuer_name(x, iss);
    X509_NAME_free(iss);
    X509_set_pubkey(x, pool[k]);
    X509_sign(x, ca_key, EVP_sha256());
    *der = NULL;
    int len = i2d_X509(x, der);
    X509_free(x);
    assert_true(len > 256);
    return (size_t)len;
}

/* The pool key a whole certificate certifies, or -1. */
static int cert_key(const uint8_t *der, size_t len)
{
    const uint8_t *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (!x || p != der + len) {
        X509_free(x);
        return -1;
    }
    BIGNUM *n = NULL;
    uint8_t mod[128];
    int k = -1;
    if (EVP_PKEY_get_bn_param(X509_get0_pubkey(x), OSSL_PKEY_PARAM_RSA_N, &n) &&
        BN_bn2binpad(n, mod, 128) == 128)
        k = pool_of(mod, 128);
    BN_free(n);
    X509_free(x);
    return k;
}

/* OpenSC's gemsafeV1 reading of the EF, as a pure function: the used
 * length; the table up to the first byte that is not 01 (9-byte allocated,
 * 8-byte free entries, at most 12); from there a scan for 30 82, each find
 * given to the next allocated entry with a jump of its length; a find with
 * no entry left ends the scan (an orphan). */
struct scan {
    size_t n;
    bool alloc[12], has[12];
    unsigned ref[12];
    size_t idx[12], cnt[12];
};

static void opensc_scan(const uint8_t *ef, struct scan *s)
{
    memset(s, 0, sizeof(*s));
    size_t objlen = (size_t)ef[0] << 8 | ef[1], ind = 2;
    while (ef[ind] == 0x01 && s->n < 12) {
        s->alloc[s->n] = ef[ind + 1] == 0xFE;
        s->ref[s->n] = ef[ind + 4];
        ind += s->alloc[s->n] ? 9 : 8;
        s->n++;
    }
    size_t i = 0;
    while (ind + 1 < objlen) {
        if (ef[ind] == 0x30 && ef[ind + 1] == 0x82) {
            while (i < s->n && !s->alloc[i])
                i++;
            if (i == s->n)
                return;
            s->idx[i] = ind;
            s->cnt[i] = ((size_t)ef[ind + 2] << 8 | ef[ind + 3]) + 4;
            s->has[i] = true;
            ind += s->cnt[i];
            i++;
        } else {
            ind++;
        }
    }
}

/* How many entries OpenSC pairs with their own certificate. */
static unsigned opensc_good(const struct gcard *g, unsigned *mispaired)
{
    struct scan s;
    opensc_scan(g->ef, &s);
    unsigned good = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (!s.alloc[i] || !s.has[i] || s.idx[i] + s.cnt[i] > EF)
            continue;
        int k = cert_key(g->ef + s.idx[i], s.cnt[i]);
        if (k >= 0 && k == g->key[s.ref[i]])
            good++;
        else if (k >= 0 && mispaired)
            (*mispaired)++;
    }
    return good;
}

/* One DER header at p: its total length, 0 when it is not one. */
static size_t tlv_len(const uint8_t *p, size_t max)
{
    if (max < 2)
        return 0;
    size_t n = p[1], h = 2;
    if (n == 0x81 || n == 0x82) {
        h += n & 3;
        if (max < h)
            return 0;
        n = n == 0x81 ? p[2] : (size_t)p[2] << 8 | p[3];
    } else if (n > 0x7F) {
        return 0;
    }
    return h + n <= max ? h + n : 0;
}

/* OpenSC's PKCS#11 layer parses each certificate in entry order, reading
 * the outer SEQUENCE's first three elements and ignoring what follows, and
 * lists nothing after the first it cannot parse. The number of entries it
 * lists with their own certificate. */
static unsigned opensc_listed(const struct gcard *g)
{
    struct scan s;
    opensc_scan(g->ef, &s);
    unsigned good = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (!s.alloc[i] || !s.has[i])
            continue;
        const uint8_t *p = g->ef + s.idx[i];
        size_t max = s.cnt[i] - 4, in = 0;
        if (s.cnt[i] < 8 || s.idx[i] + s.cnt[i] > EF)
            return good;
        for (int k = 0; k < 3; k++) {
            size_t t = tlv_len(p + 4 + in, max - in);
            if (!t)
                return good;
            in += t;
        }
        uint8_t der[EF];
        der[0] = 0x30;
        der[1] = 0x82;
        der[2] = (uint8_t)(in >> 8);
        der[3] = (uint8_t)in;
        memcpy(der + 4, p + 4, in);
        const uint8_t *q = der;
        X509 *x = d2i_X509(NULL, &q, (long)(in + 4));
        X509_free(x);
        if (!x)
            return good;
        int k = cert_key(der, in + 4);
        good += k >= 0 && k == g->key[s.ref[i]];
    }
    return good;
}

static struct card *open_card(void)
{
    struct card *c = NULL;
    assert_int_equal(card_open(ctx, "Scripted Reader 0", &c), CARD_OK);
    assert_int_equal(card_begin(c), CARD_OK);
    return c;
}

static void close_card(struct card *c)
{
    card_end(c);
    card_close(c);
}

/* Our driver's reading: no container has a certificate that is not its
 * key's, and the number with one is returned. */
static unsigned driver_good(struct card_objects *o)
{
    unsigned good = 0;
    for (size_t i = 0; i < o->n; i++) {
        int k = pool_of(o->c[i].modulus, o->c[i].modulus_len);
        if (k < 0)
            fail_msg("container %zu (reference %02X): a key the card never made", i,
                     o->c[i].ref);
        assert_int_equal(card.key[o->c[i].ref], k);
        if (o->c[i].cert) {
            assert_int_equal(cert_key(o->c[i].cert, o->c[i].cert_len), k);
            good++;
        }
    }
    return good;
}

static void id_of(int k, uint8_t id[20])
{
    SHA1(pool_mod[k], 128, id);
}

/* What the renewal engine's rerun does with the card: a pending key gets
 * its certificate (the journal's, or a fresh one when the key is new), a
 * new credential retires the old one. Returns the new credential's key. */
static int rerun(int old, unsigned n)
{
    struct card *c = open_card();
    struct card_objects o;
    assert_int_equal(card_read_objects(c, &o), CARD_OK);
    int nw = -1;
    bool has_cert = false;
    for (size_t i = 0; i < o.n; i++) {
        int k = pool_of(o.c[i].modulus, o.c[i].modulus_len);
        if (k != old) {
            assert_int_equal(nw, -1);
            nw = k;
            has_cert = o.c[i].cert != NULL;
        }
    }
    card_objects_clear(&o);
    uint8_t id[20];
    if (nw < 0) {
        struct card_container k = { 0 };
        assert_int_equal(card_generate_key(c, CARD_KEY_RSA, 1024, &k), CARD_OK);
        nw = pool_of(k.modulus, k.modulus_len);
        card_container_clear(&k);
    }
    if (!has_cert) {
        uint8_t *der;
        size_t len = make_cert(n, nw, &der);
        id_of(nw, id);
        assert_int_equal(card_write_cert(c, id, 20, der, len, NULL), CARD_OK);
        OPENSSL_free(der);
    }
    if (old >= 0) {
        bool there = false;
        for (int r = 0; r < 16; r++)
            there |= card.key[r] == old;
        if (there) {
            id_of(old, id);
            assert_int_equal(card_delete_key(c, id, 20), CARD_OK);
        }
    }
    close_card(c);
    return nw;
}

/* The card holds key k with its certificate alone, at the front. */
static size_t check_done(int k)
{
    struct scan s;
    opensc_scan(card.ef, &s);
    size_t nalloc = 0, at = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (!s.alloc[i])
            continue;
        nalloc++;
        assert_true(s.has[i]);
        assert_int_equal(card.key[s.ref[i]], k);
        assert_int_equal(cert_key(card.ef + s.idx[i], s.cnt[i]), k);
        at = s.idx[i];
    }
    assert_int_equal(nalloc, 1);
    for (int r = 0; r < 16; r++)
        assert_true(card.key[r] < 0 || card.key[r] == k);
    assert_int_equal(opensc_good(&card, NULL), 1);
    return at;
}

/* Checks (a) in the current state. */
static void check_whole(void)
{
    assert_true(opensc_good(&card, NULL) >= 1);
    assert_true(opensc_listed(&card) >= 1);
    struct card *c = open_card();
    struct card_objects o;
    assert_int_equal(card_read_objects(c, &o), CARD_OK);
    assert_true(driver_good(&o) >= 1);
    card_objects_clear(&o);
    close_card(c);
}

/* A card as it was issued: one credential, key 0 under reference 03. */
static void issue(size_t at)
{
    memset(&card, 0, sizeof(card));
    for (int r = 0; r < 16; r++)
        card.key[r] = -1;
    size_t p = 2;
    for (unsigned r = 3; r <= 0x0E; r++, p += 8) {
        const uint8_t fr[] = { 0x01, 0xF0, 0x00, 0x00, (uint8_t)r, 0, 0, 0 };
        memcpy(card.ef + p, fr, 8);
    }
    uint8_t *der;
    size_t len = make_cert(1000, 0, &der);
    card.key[3] = 0;
    const uint8_t a3[] = { 0x01, 0xFE, 0x00, 0x00, 0x03, 0x04, 0x00, 0x00, 0x00 };
    memmove(card.ef + 2 + 9, card.ef + 2 + 8, 11 * 8);
    memcpy(card.ef + 2, a3, 9);
    memcpy(card.ef + at, der, len);
    card.ef[0] = (uint8_t)((at + len) >> 8);
    card.ef[1] = (uint8_t)(at + len);
    OPENSSL_free(der);
}

static void renew_many(size_t first_at, unsigned renewals)
{
    issue(first_at);
    int old = 0;
    unsigned states = 0, opensc_dup = 0;
    for (unsigned n = 0; n < renewals; n++) {
        nsnap = 0;
        recording = true;
        int nw = rerun(old, n);     /* on an untouched card: the whole renewal */
        recording = false;
        struct gcard end = card;
        assert_true(nsnap >= 4);
        for (size_t t = 0; t < nsnap; t++) {
            card = snap[t];
            check_whole();
            opensc_good(&card, &opensc_dup);
            check_done(rerun(old, n));
            states++;
        }
        card = end;
        assert_int_equal(check_done(nw), HDR);
        old = nw;
    }
    print_message("%u renewals, %u torn states checked, %u where OpenSC also pairs "
                  "a copy with the retiring key\n", renewals, states, opensc_dup);
}

static void test_renew_forever(void **state)
{
    (void)state;
    renew_many(HDR, RENEWALS);
}

/* A card left by a driver that reclaimed only the end of the file: its
 * certificate far from the front. The first renewal brings it back. */
static void test_renew_from_gap(void **state)
{
    (void)state;
    renew_many(HDR + 2000, 5);
}

/* A file too full for the certificate a renewal brings: generation
 * refuses before any key is made. */
static void test_full_refused(void **state)
{
    (void)state;
    issue(HDR);
    size_t used = (size_t)card.ef[0] << 8 | card.ef[1];
    size_t tight = EF - (used - HDR);
    memset(card.ef + used, 0, tight - used);
    card.ef[0] = (uint8_t)(tight >> 8);
    card.ef[1] = (uint8_t)tight;
    struct card *c = open_card();
    struct card_container k = { 0 };
    unsigned before = writes;
    assert_int_equal(card_generate_key(c, CARD_KEY_RSA, 1024, &k), CARD_E_CARD_FULL);
    assert_int_equal(writes, before);
    for (int r = 4; r < 16; r++)
        assert_int_equal(card.key[r], -1);
    close_card(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_renew_forever),
        cmocka_unit_test(test_renew_from_gap),
        cmocka_unit_test(test_full_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
