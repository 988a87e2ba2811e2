/* fz_card.c: the fuzzers' readers, cards and faults (see fz_card.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "tests/fuzz/fz_card.h"
#include "tests/vcard/vcard.h"

/* ---- the key pool, behind --wrap ---- */

EVP_PKEY *__real_EVP_PKEY_Q_keygen(OSSL_LIB_CTX *lib, const char *propq,
                                    const char *type, ...);
int __real_EVP_PKEY_keygen(EVP_PKEY_CTX *ctx, EVP_PKEY **k);
int __real_EVP_PKEY_generate(EVP_PKEY_CTX *ctx, EVP_PKEY **k);
int __real_EVP_PKEY_CTX_set_rsa_keygen_bits(EVP_PKEY_CTX *ctx, int bits);

static EVP_PKEY *pool[FZ_NKEYS];
static unsigned next_1024, next_2048, next_p256;
static int want_bits;

static EVP_PKEY *pool_take(int bits)
{
    EVP_PKEY *k;
    if (bits == 1024)
        k = pool[FZ_RSA1024_A + next_1024++ % 2];
    else if (bits == 2048)
        k = pool[FZ_RSA2048_A + next_2048++ % 2];
    else if (bits == 256)
        k = pool[FZ_P256_A + next_p256++ % 2];
    else
        return NULL;
    EVP_PKEY_up_ref(k);
    return k;
}

int __wrap_EVP_PKEY_CTX_set_rsa_keygen_bits(EVP_PKEY_CTX *ctx, int bits)
{
    want_bits = bits;
    return __real_EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits);
}

static int keygen(EVP_PKEY_CTX *ctx, EVP_PKEY **k,
                  int (*real)(EVP_PKEY_CTX *, EVP_PKEY **))
{
    if (want_bits == 1024 || want_bits == 2048) {
        *k = pool_take(want_bits);
        want_bits = 0;
        return *k ? 1 : 0;
    }
    return real(ctx, k);
}

int __wrap_EVP_PKEY_keygen(EVP_PKEY_CTX *ctx, EVP_PKEY **k)
{
    return keygen(ctx, k, __real_EVP_PKEY_keygen);
}

int __wrap_EVP_PKEY_generate(EVP_PKEY_CTX *ctx, EVP_PKEY **k)
{
    return keygen(ctx, k, __real_EVP_PKEY_generate);
}

EVP_PKEY *__wrap_EVP_PKEY_Q_keygen(OSSL_LIB_CTX *lib, const char *propq,
                                    const char *type, ...)
{
    va_list ap;
    va_start(ap, type);
    EVP_PKEY *k = NULL;
    if (!strcmp(type, "EC")) {
        const char *curve = va_arg(ap, const char *);
        k = !strcmp(curve, "P-256") ? pool_take(256)
                                    : __real_EVP_PKEY_Q_keygen(lib, propq, type, curve);
    } else if (!strcmp(type, "RSA")) {
        size_t bits = va_arg(ap, size_t);
        k = pool_take((int)bits);
        if (!k)
            k = __real_EVP_PKEY_Q_keygen(lib, propq, type, bits);
    }
    va_end(ap);
    return k;
}

/* ---- certificates for the pool's keys ---- */

static uint8_t *cert_der[FZ_NKEYS];
static size_t cert_len[FZ_NKEYS];
static X509 *cert_x509[FZ_NKEYS];

static X509 *make_cert(EVP_PKEY *pub, EVP_PKEY *issuer, long serial)
{
    X509 *x = X509_new();
    if (!x)
        abort();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const uint8_t *)"Fuzz Holder", -1, -1, 0);
    X509_NAME_add_entry_by_txt(X509_get_issuer_name(x), "CN", MBSTRING_ASC,
                               (const uint8_t *)"Fuzz CA", -1, -1, 0);
    /* Fixed dates: the same bytes in every run. */
    ASN1_TIME_set_string(X509_getm_notBefore(x), "20260101000000Z");
    ASN1_TIME_set_string(X509_getm_notAfter(x), "20280101000000Z");
    X509_set_pubkey(x, pub);
    if (X509_sign(x, issuer, EVP_sha256()) <= 0)
        abort();
    return x;
}

EVP_PKEY *fz_pool_key(int k)
{
    return pool[k];
}

const uint8_t *fz_cert_der(int k, size_t *len)
{
    *len = cert_len[k];
    return cert_der[k];
}

/* ---- readers and cards ---- */

struct reader {
    const struct vc_profile *home;      /* the card this reader starts with */
    const struct vc_profile *prof;      /* the card in it now */
    void *st;
    bool present;
    bool reset_seen;        /* reset by "another process": next call says so */
    unsigned events;        /* pcsc-lite's event count (high word) */
    uint8_t pend[VC_RESP_MAX];  /* what a 61xx split still holds */
    size_t npend;
    bool has_pend;
    bool in_tx;             /* a transaction begun and not yet ended */
};

static struct reader rd[FZ_READERS];
static struct { uint8_t *buf; size_t len; } blob[2];      /* G, O */
static struct fz *faults;
static unsigned injected;

static int pidx(const struct vc_profile *p)
{
    return p == &vc_profile_o;
}

static void card_load(struct reader *r, const struct vc_profile *p)
{
    if (r->st)
        r->prof->free(r->st);
    r->prof = p;
    r->st = p->load(blob[pidx(p)].buf, blob[pidx(p)].len);
    if (!r->st)
        abort();
    p->reset(r->st);
}

static void perso(const struct vc_profile *p)
{
    static const uint8_t serial[10] = { 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70,
                                        0x80, 0x90, 0xA0 };
    struct vc_new n = { .pin = FZ_PIN, .puk = FZ_PUK, .holder = "Fuzz Holder",
                        .serial = serial };
    void *st = p->create(&n);
    if (!st)
        abort();
    next_1024 = next_2048 = next_p256 = 0;
    /* G: a 1024-bit credential and a pending 2048-bit key; O: an RSA and
     * an EC credential. */
    const char *k1 = p == &vc_profile_g ? "rsa1024" : "rsa2048";
    const char *k2 = p == &vc_profile_g ? "rsa2048" : "p256";
    EVP_PKEY *pub = NULL;
    if (p->perso_generate(st, k1, &pub) != 0)
        abort();
    X509 *x = cert_x509[p == &vc_profile_g ? FZ_RSA1024_A : FZ_RSA2048_A];
    if (p->perso_install_cert(st, x) != 0)
        abort();
    EVP_PKEY_free(pub);
    pub = NULL;
    if (p->perso_generate(st, k2, &pub) != 0)
        abort();
    EVP_PKEY_free(pub);
    if (p == &vc_profile_o && p->perso_install_cert(st, cert_x509[FZ_P256_A]) != 0)
        abort();
    if (p->save(st, &blob[pidx(p)].buf, &blob[pidx(p)].len) != 0)
        abort();
    p->free(st);
}

void fz_world_init(const char *profile0, const char *profile1)
{
    static const int bits[FZ_NKEYS] = { 1024, 1024, 2048, 2048, 0, 0 };
    for (int i = 0; i < FZ_NKEYS; i++) {
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, bits[i] ? "RSA" : "EC", NULL);
        if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0)
            abort();
        if (bits[i])
            __real_EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits[i]);
        else
            EVP_PKEY_CTX_set_group_name(ctx, "P-256");
        if (__real_EVP_PKEY_generate(ctx, &pool[i]) <= 0)
            abort();
        EVP_PKEY_CTX_free(ctx);
    }
    EVP_PKEY *ca = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0 ||
        EVP_PKEY_CTX_set_group_name(ctx, "P-256") <= 0 ||
        __real_EVP_PKEY_generate(ctx, &ca) <= 0)
        abort();
    EVP_PKEY_CTX_free(ctx);
    for (int i = 0; i < FZ_NKEYS; i++) {
        cert_x509[i] = make_cert(pool[i], ca, 100 + i);
        int n = i2d_X509(cert_x509[i], &cert_der[i]);
        if (n <= 0)
            abort();
        cert_len[i] = (size_t)n;
    }
    EVP_PKEY_free(ca);
    const char *names[FZ_READERS] = { profile0, profile1 };
    for (int i = 0; i < FZ_READERS; i++) {
        if (!names[i])
            continue;
        rd[i].home = !strcmp(names[i], "G") ? &vc_profile_g : &vc_profile_o;
        if (!blob[pidx(rd[i].home)].buf)
            perso(rd[i].home);
    }
}

void fz_world_reset(struct fz *f)
{
    faults = f;
    injected = 0;
    next_1024 = next_2048 = next_p256 = 1;  /* the cards hold the A keys */
    want_bits = 0;
    for (int i = 0; i < FZ_READERS; i++) {
        struct reader *r = &rd[i];
        if (!r->home)
            continue;
        card_load(r, r->home);
        r->present = true;
        r->reset_seen = false;
        r->events = 0;
        r->has_pend = false;
        r->in_tx = false;
    }
}

bool fz_in_transaction(int i)
{
    return rd[i].in_tx;
}

unsigned fz_faults_injected(void)
{
    return injected;
}

/* ---- PC/SC ---- */

#define H_BASE 0x100

static struct reader *by_handle(SCARDHANDLE h)
{
    if (h < H_BASE || h >= H_BASE + FZ_READERS || !rd[h - H_BASE].home)
        return NULL;
    return &rd[h - H_BASE];
}

static const char names[] = "Fuzz Reader 0\0Fuzz Reader 1\0";

const char *fz_reader_name(int i)
{
    return i ? names + 14 : names;
}

static void power_cycle(struct reader *r)
{
    r->prof->reset(r->st);
    r->has_pend = false;
}

static void pull(struct reader *r)
{
    r->present = false;
    r->has_pend = false;
    r->events++;
}

/* Put a card back: the same one, or (odd choice) the other profile's. */
static void insert(struct reader *r, uint8_t how)
{
    const struct vc_profile *p = r->prof;
    if (how & 1)
        p = p == &vc_profile_g ? &vc_profile_o : &vc_profile_g;
    if (!blob[pidx(p)].buf)
        p = r->prof;
    if (p != r->prof)
        card_load(r, p);
    else
        power_cycle(r);
    r->present = true;
    r->reset_seen = false;
    r->events++;
}

static LONG fz_establish(DWORD scope, LPCVOID r1, LPCVOID r2, LPSCARDCONTEXT ctx)
{
    (void)scope; (void)r1; (void)r2;
    *ctx = 1;
    return SCARD_S_SUCCESS;
}

static LONG fz_release(SCARDCONTEXT ctx)
{
    (void)ctx;
    return SCARD_S_SUCCESS;
}

static LONG fz_list_readers(SCARDCONTEXT ctx, LPCSTR groups, LPSTR out, LPDWORD len)
{
    (void)ctx; (void)groups;
    DWORD need = 0;
    char buf[sizeof(names) + 1];
    for (int i = 0; i < FZ_READERS; i++) {
        if (!rd[i].home)
            continue;
        const char *n = fz_reader_name(i);
        memcpy(buf + need, n, strlen(n) + 1);
        need += (DWORD)strlen(n) + 1;
    }
    buf[need++] = 0;
    if (out) {
        if (*len < need)
            return SCARD_E_INSUFFICIENT_BUFFER;
        memcpy(out, buf, need);
    }
    *len = need;
    return SCARD_S_SUCCESS;
}

static LONG fz_connect(SCARDCONTEXT ctx, LPCSTR reader, DWORD share, DWORD protos,
                       LPSCARDHANDLE h, LPDWORD active)
{
    (void)ctx; (void)protos;
    if (share != SCARD_SHARE_SHARED)
        abort();        /* the module never takes a card exclusively */
    for (int i = 0; i < FZ_READERS; i++) {
        if (!rd[i].home || strcmp(reader, fz_reader_name(i)))
            continue;
        if (!rd[i].present)
            return SCARD_E_NO_SMARTCARD;
        rd[i].reset_seen = false;
        *h = H_BASE + (SCARDHANDLE)i;
        *active = SCARD_PROTOCOL_T1;
        return SCARD_S_SUCCESS;
    }
    return SCARD_E_UNKNOWN_READER;
}

static LONG fz_reconnect(SCARDHANDLE h, DWORD share, DWORD protos, DWORD init,
                         LPDWORD active)
{
    (void)protos;
    struct reader *r = by_handle(h);
    if (!r)
        return SCARD_E_INVALID_HANDLE;
    if (share != SCARD_SHARE_SHARED)
        abort();
    uint8_t b = fz_u8(faults);
    if (!r->present) {
        /* A pulled card comes back (0: the same one) or stays away. */
        if (b >= 0xC0) {
            injected++;
            return SCARD_E_NO_SMARTCARD;
        }
        insert(r, b);
    } else if (b >= 0xF0) {
        injected++;
        return b & 1 ? SCARD_E_NO_SERVICE : SCARD_E_SHARING_VIOLATION;
    }
    if (init == SCARD_RESET_CARD || init == SCARD_UNPOWER_CARD)
        power_cycle(r);
    r->reset_seen = false;
    *active = SCARD_PROTOCOL_T1;
    return SCARD_S_SUCCESS;
}

static LONG fz_disconnect(SCARDHANDLE h, DWORD d)
{
    struct reader *r = by_handle(h);
    if (!r)
        return SCARD_E_INVALID_HANDLE;
    if (d == SCARD_RESET_CARD || d == SCARD_UNPOWER_CARD)
        power_cycle(r);
    r->in_tx = false;
    return SCARD_S_SUCCESS;
}

/* What a card gone or reset answers first. */
static LONG lost_rv(struct reader *r)
{
    if (!r->present)
        return SCARD_W_REMOVED_CARD;
    if (r->reset_seen)
        return SCARD_W_RESET_CARD;
    return SCARD_S_SUCCESS;
}

static LONG fz_begin(SCARDHANDLE h)
{
    struct reader *r = by_handle(h);
    if (!r)
        return SCARD_E_INVALID_HANDLE;
    LONG rv = lost_rv(r);
    if (rv != SCARD_S_SUCCESS)
        return rv;
    uint8_t b = fz_u8(faults);
    if (b < 0xE0) {
        r->in_tx = true;
        return SCARD_S_SUCCESS;
    }
    injected++;
    switch (b & 7) {
    case 0:
    case 1:
        power_cycle(r);         /* another process reset the card */
        return SCARD_W_RESET_CARD;
    case 2:
        pull(r);
        return SCARD_W_REMOVED_CARD;
    case 3:
        pull(r);
        return SCARD_E_NO_SMARTCARD;
    case 4:
        return SCARD_E_SHARING_VIOLATION;
    case 5:
        return SCARD_E_TIMEOUT;
    case 6:
        return SCARD_E_NO_SERVICE;
    default:
        return SCARD_F_INTERNAL_ERROR;
    }
}

static LONG fz_end(SCARDHANDLE h, DWORD d)
{
    struct reader *r = by_handle(h);
    if (!r)
        return SCARD_E_INVALID_HANDLE;
    if (d != SCARD_LEAVE_CARD)
        abort();        /* card.h: end never resets the card */
    r->in_tx = false;
    return SCARD_S_SUCCESS;
}

static const uint16_t odd_sw[] = {
    0x9000, 0x6282, 0x6283, 0x6300, 0x63C0, 0x63C1, 0x63C2, 0x63C3, 0x6581,
    0x6700, 0x6881, 0x6882, 0x6884, 0x6981, 0x6982, 0x6983, 0x6984, 0x6985,
    0x6986, 0x6A80, 0x6A81, 0x6A82, 0x6A83, 0x6A84, 0x6A86, 0x6A88, 0x6A89,
    0x6B00, 0x6D00, 0x6E00, 0x6F00, 0x6100, 0x6101, 0x6110, 0x61FF, 0x6C00,
    0x6C01, 0x6C10, 0x6CFF, 0x9001, 0x0000, 0xFFFF,
};

static const LONG odd_rv[] = {
    SCARD_W_RESET_CARD, SCARD_W_REMOVED_CARD, SCARD_E_NO_SMARTCARD, SCARD_E_TIMEOUT,
    SCARD_W_UNRESPONSIVE_CARD, SCARD_E_COMM_DATA_LOST, SCARD_E_NOT_TRANSACTED,
    SCARD_E_INSUFFICIENT_BUFFER, SCARD_F_COMM_ERROR, SCARD_E_PROTO_MISMATCH,
};

/* What a PC/SC error means for the card: reset ones reset it, removal
 * ones pull it. */
static LONG with_effect(struct reader *r, LONG rv)
{
    if (rv == SCARD_W_RESET_CARD)
        power_cycle(r);
    else if (rv == SCARD_W_REMOVED_CARD || rv == SCARD_E_NO_SMARTCARD)
        pull(r);
    return rv;
}

/* The card itself: a 61xx split still held, or the card OS. */
static size_t card_answer(struct reader *r, const uint8_t *cmd, size_t len, uint8_t *out)
{
    if (r->has_pend && len >= 4 && cmd[1] == 0xC0 && cmd[0] == 0x00) {
        size_t le = len >= 5 ? (cmd[4] ? cmd[4] : 256) : 256;
        size_t n = r->npend < le ? r->npend : le;
        memcpy(out, r->pend, n);
        memmove(r->pend, r->pend + n, r->npend - n);
        r->npend -= n;
        r->has_pend = r->npend > 0;
        out[n] = r->has_pend ? 0x61 : 0x90;
        out[n + 1] = r->has_pend ? (uint8_t)(r->npend > 255 ? 0 : r->npend) : 0x00;
        return n + 2;
    }
    r->has_pend = false;
    bool persist = false, pin = false;
    return r->prof->process(r->st, cmd, len, out, &persist, &pin);
}

static LONG give(const uint8_t *resp, size_t n, LPBYTE out, LPDWORD out_len)
{
    if (n > *out_len)
        return SCARD_E_INSUFFICIENT_BUFFER;
    memcpy(out, resp, n);
    *out_len = (DWORD)n;
    return SCARD_S_SUCCESS;
}

static LONG fz_transmit(SCARDHANDLE h, const SCARD_IO_REQUEST *spci, LPCBYTE cmd,
                        DWORD len, SCARD_IO_REQUEST *rpci, LPBYTE out, LPDWORD out_len)
{
    (void)spci; (void)rpci;
    struct reader *r = by_handle(h);
    if (!r)
        return SCARD_E_INVALID_HANDLE;
    if (!cmd || len < 4)
        abort();        /* apdu.c never sends less than a header */
    LONG rv = lost_rv(r);
    if (rv != SCARD_S_SUCCESS)
        return rv;
    uint8_t resp[VC_RESP_MAX + 512];
    uint8_t b = fz_u8(faults);
    if (b < 0x80)
        return give(resp, card_answer(r, cmd, len, resp), out, out_len);
    injected++;
    size_t n, got;
    const uint8_t *p;
    switch ((b >> 3) & 0x0F) {
    case 0:     /* cut short, to 0..n-1 bytes */
        n = card_answer(r, cmd, len, resp);
        return give(resp, fz_u8(faults) % n, out, out_len);
    case 1:     /* another status word from the list */
        n = card_answer(r, cmd, len, resp);
        resp[n - 2] = (uint8_t)(odd_sw[fz_u8(faults) % (sizeof(odd_sw) / 2)] >> 8);
        resp[n - 1] = (uint8_t)odd_sw[fz_u8(faults) % (sizeof(odd_sw) / 2)];
        return give(resp, n, out, out_len);
    case 2:     /* any status word */
        n = card_answer(r, cmd, len, resp);
        resp[n - 2] = fz_u8(faults);
        resp[n - 1] = fz_u8(faults);
        return give(resp, n, out, out_len);
    case 3: {   /* the data split with 61xx, the rest by GET RESPONSE */
        n = card_answer(r, cmd, len, resp);
        size_t data = n - 2;
        size_t first = data ? fz_u8(faults) % data : 0;
        r->npend = data - first;
        memcpy(r->pend, resp + first, r->npend);
        r->has_pend = true;
        uint8_t lie = fz_u8(faults);
        resp[first] = 0x61;
        resp[first + 1] = lie ? lie : (uint8_t)(r->npend > 255 ? 0 : r->npend);
        return give(resp, first + 2, out, out_len);
    }
    case 4:     /* 6Cxx: not executed, asked again with this Le */
        resp[0] = 0x6C;
        resp[1] = fz_u8(faults);
        return give(resp, 2, out, out_len);
    case 5:     /* an answer from the input, not the card */
        p = fz_bytes(faults, fz_u8(faults), &got);
        memcpy(resp, p, got);
        return give(resp, got, out, out_len);
    case 6:     /* a PC/SC error before the card saw it */
        return with_effect(r, odd_rv[fz_u8(faults) % (sizeof(odd_rv) / sizeof(LONG))]);
    case 7:     /* ... after the card acted on it: the answer lost */
        card_answer(r, cmd, len, resp);
        return with_effect(r, odd_rv[fz_u8(faults) % (sizeof(odd_rv) / sizeof(LONG))]);
    case 8:     /* answered, then another process resets the card */
        n = card_answer(r, cmd, len, resp);
        power_cycle(r);
        r->reset_seen = true;
        return give(resp, n, out, out_len);
    case 9:     /* answered, then pulled */
        n = card_answer(r, cmd, len, resp);
        pull(r);
        return give(resp, n, out, out_len);
    case 10:    /* success with no bytes: the card died mid-APDU */
        card_answer(r, cmd, len, resp);
        *out_len = 0;
        return SCARD_S_SUCCESS;
    case 11: {  /* bytes from the input before the real answer */
        n = card_answer(r, cmd, len, resp);
        p = fz_bytes(faults, fz_u8(faults), &got);
        memmove(resp + got, resp, n);
        memcpy(resp, p, got);
        return give(resp, n + got, out, out_len);
    }
    default:
        return give(resp, card_answer(r, cmd, len, resp), out, out_len);
    }
}

static LONG fz_status(SCARDHANDLE h, LPSTR reader, LPDWORD reader_len, LPDWORD state,
                      LPDWORD proto, LPBYTE atr, LPDWORD atr_len)
{
    struct reader *r = by_handle(h);
    if (!r)
        return SCARD_E_INVALID_HANDLE;
    LONG rv = lost_rv(r);
    if (rv != SCARD_S_SUCCESS)
        return rv;
    const char *name = fz_reader_name((int)(r - rd));
    if (reader && reader_len && *reader_len > strlen(name)) {
        strcpy(reader, name);
        *reader_len = (DWORD)strlen(name) + 1;
    }
    if (state)
        *state = SCARD_SPECIFIC;
    if (proto)
        *proto = SCARD_PROTOCOL_T1;
    /* A card whose ATR no driver knows (or the other family's) makes
     * card_open offer it to every driver by selecting its applet. */
    const uint8_t *a = r->prof->atr;
    size_t alen = r->prof->atr_len;
    uint8_t b = fz_u8(faults), odd[33];
    if (b >= 0xF0) {
        injected++;
        const struct vc_profile *other = r->prof == &vc_profile_g ? &vc_profile_o
                                                                  : &vc_profile_g;
        if (b & 1) {
            a = other->atr;
            alen = other->atr_len;
        } else {
            memcpy(odd, a, alen);
            odd[alen - 1] ^= (uint8_t)(b | 1);
            a = odd;
        }
    }
    if (*atr_len < alen)
        return SCARD_E_INSUFFICIENT_BUFFER;
    memcpy(atr, a, alen);
    *atr_len = (DWORD)alen;
    return SCARD_S_SUCCESS;
}

/* Never blocks: a change shows at once, none is a timeout. */
static LONG fz_get_status_change(SCARDCONTEXT ctx, DWORD timeout, SCARD_READERSTATE *st,
                                 DWORD n)
{
    (void)ctx; (void)timeout;
    bool changed = false;
    for (DWORD i = 0; i < n; i++) {
        int k = -1;
        for (int j = 0; j < FZ_READERS; j++)
            if (rd[j].home && !strcmp(st[i].szReader, fz_reader_name(j)))
                k = j;
        if (k < 0) {
            st[i].dwEventState = st[i].dwCurrentState & ~SCARD_STATE_CHANGED;
            continue;
        }
        DWORD now = (DWORD)rd[k].events << 16 |
                    (rd[k].present ? SCARD_STATE_PRESENT : SCARD_STATE_EMPTY);
        if ((st[i].dwCurrentState & ~SCARD_STATE_CHANGED) != now) {
            changed = true;
            now |= SCARD_STATE_CHANGED;
        }
        st[i].dwEventState = now;
    }
    return changed ? SCARD_S_SUCCESS : SCARD_E_TIMEOUT;
}

static LONG fz_cancel(SCARDCONTEXT ctx)
{
    (void)ctx;
    return SCARD_S_SUCCESS;
}

static const struct pcsc_ops fz_ops = {
    .establish = fz_establish,
    .release = fz_release,
    .list_readers = fz_list_readers,
    .connect = fz_connect,
    .reconnect = fz_reconnect,
    .disconnect = fz_disconnect,
    .begin = fz_begin,
    .end = fz_end,
    .transmit = fz_transmit,
    .status = fz_status,
    .get_status_change = fz_get_status_change,
    .cancel = fz_cancel,
};

const struct pcsc_ops *fz_pcsc_ops(void)
{
    return &fz_ops;
}

/* The module's card layer asks for pcsc-lite here; the fuzzers give it
 * these readers instead (card/pcsc.c is not linked). */
const struct pcsc_ops *card_pcsc_default(void)
{
    return &fz_ops;
}
