/* inproc_card.h: the virtual card (tests/vcard, profile G or O) in this
 * process, behind struct pcsc_ops, for unit tests of the whole module
 * (pkcs11/ over card/) without pcscd. One reader; the test can see every
 * command sent.
 *
 * A test program that includes it defines card_pcsc_default() to return
 * &ic_ops, so the module's own PC/SC table is not linked, and links
 * libvcard (Makefile: unit_extra). Include it once per program.
 */
#ifndef CARDRENEW_TEST_INPROC_CARD_H
#define CARDRENEW_TEST_INPROC_CARD_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "card/pcsc.h"
#include "tests/vcard/vcard.h"

#define IC_PIN "123456"
#define IC_READER "Inproc Reader 0"
#define IC_LOG_MAX 4096

static struct {
    const struct vc_profile *prof;
    void *st;
    bool present;
    /* The INS byte of every command sent, in order. */
    uint8_t ins[IC_LOG_MAX];
    size_t napdu;
} ic;

/* A card of the profile holding one credential: a key of keytype
 * ("rsa1024", "rsa2048", "p256") and a certificate for it. */
static inline int ic_new(const struct vc_profile *prof, const char *keytype)
{
    if (ic.st)
        ic.prof->free(ic.st);
    memset(&ic, 0, sizeof(ic));
    ic.prof = prof;
    struct vc_new n = { .pin = IC_PIN, .holder = "Alice Example" };
    ic.st = prof->create(&n);
    if (!ic.st)
        return -1;
    EVP_PKEY *pub = NULL, *ca = EVP_EC_gen("P-256");
    int rc = -1;
    X509 *x = X509_new();
    if (!ca || !x || prof->perso_generate(ic.st, keytype, &pub) != 0)
        goto out;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 30);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"Alice Example", -1, -1, 0);
    X509_NAME_add_entry_by_txt(X509_get_issuer_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"Inproc Test CA", -1, -1, 0);
    /* Long enough for G's store, which wants at least 256 bytes. */
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "OU", MBSTRING_ASC,
                               (const unsigned char *)"A unit that tests the module in one process",
                               -1, -1, 0);
    X509_set_pubkey(x, pub);
    if (X509_sign(x, ca, EVP_sha256()) <= 0 || prof->perso_install_cert(ic.st, x) != 0)
        goto out;
    ic.present = true;
    rc = 0;
out:
    X509_free(x);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(ca);
    return rc;
}

static inline void ic_free(void)
{
    if (ic.st)
        ic.prof->free(ic.st);
    ic.st = NULL;
}

/* Commands sent since the count was n that change the card (writes,
 * key generation, deletions). */
static inline size_t ic_writes_since(size_t n)
{
    size_t w = 0;
    for (size_t i = n; i < ic.napdu && i < IC_LOG_MAX; i++)
        switch (ic.ins[i]) {
        case 0xD6: case 0xD7: case 0xDA: case 0xDB: case 0xE0: case 0xE4:
        case 0x46: case 0x47:
            w++;
            break;
        default:
            break;
        }
    return w;
}

static inline LONG ic_transmit(SCARDHANDLE h, const SCARD_IO_REQUEST *spci, LPCBYTE cmd,
                               DWORD len, SCARD_IO_REQUEST *rpci, LPBYTE resp, LPDWORD rlen)
{
    (void)h; (void)spci; (void)rpci;
    if (!ic.present)
        return SCARD_W_REMOVED_CARD;
    if (len >= 2 && ic.napdu < IC_LOG_MAX)
        ic.ins[ic.napdu] = cmd[1];
    ic.napdu++;
    uint8_t out[VC_RESP_MAX];
    bool persist = false, pin = false;
    size_t n = ic.prof->process(ic.st, cmd, len, out, &persist, &pin);
    if (*rlen < n)
        return SCARD_E_INSUFFICIENT_BUFFER;
    memcpy(resp, out, n);
    *rlen = (DWORD)n;
    return SCARD_S_SUCCESS;
}

static inline LONG ic_establish(DWORD scope, LPCVOID r1, LPCVOID r2, LPSCARDCONTEXT ctx)
{
    (void)scope; (void)r1; (void)r2;
    *ctx = 1;
    return SCARD_S_SUCCESS;
}

static inline LONG ic_release(SCARDCONTEXT ctx) { (void)ctx; return SCARD_S_SUCCESS; }

static inline LONG ic_list_readers(SCARDCONTEXT ctx, LPCSTR groups, LPSTR readers, LPDWORD len)
{
    (void)ctx; (void)groups;
    static const char names[] = IC_READER "\0";
    if (readers) {
        if (*len < sizeof(names))
            return SCARD_E_INSUFFICIENT_BUFFER;
        memcpy(readers, names, sizeof(names));
    }
    *len = sizeof(names);
    return SCARD_S_SUCCESS;
}

static inline LONG ic_connect(SCARDCONTEXT ctx, LPCSTR reader, DWORD share, DWORD protos,
                              LPSCARDHANDLE h, LPDWORD active)
{
    (void)ctx; (void)reader; (void)share; (void)protos;
    if (!ic.present)
        return SCARD_E_NO_SMARTCARD;
    ic.prof->reset(ic.st);
    *h = 7;
    *active = SCARD_PROTOCOL_T1;
    return SCARD_S_SUCCESS;
}

static inline LONG ic_reconnect(SCARDHANDLE h, DWORD share, DWORD protos, DWORD init,
                                LPDWORD active)
{
    (void)h; (void)share; (void)protos;
    if (!ic.present)
        return SCARD_E_NO_SMARTCARD;
    if (init == SCARD_RESET_CARD)
        ic.prof->reset(ic.st);
    *active = SCARD_PROTOCOL_T1;
    return SCARD_S_SUCCESS;
}

static inline LONG ic_disconnect(SCARDHANDLE h, DWORD d) { (void)h; (void)d; return SCARD_S_SUCCESS; }

static inline LONG ic_begin(SCARDHANDLE h)
{
    (void)h;
    return ic.present ? SCARD_S_SUCCESS : SCARD_W_REMOVED_CARD;
}

static inline LONG ic_end(SCARDHANDLE h, DWORD d) { (void)h; (void)d; return SCARD_S_SUCCESS; }

static inline LONG ic_status(SCARDHANDLE h, LPSTR reader, LPDWORD rlen, LPDWORD state,
                             LPDWORD proto, LPBYTE atr, LPDWORD alen)
{
    (void)h; (void)reader; (void)rlen;
    if (!ic.present)
        return SCARD_W_REMOVED_CARD;
    if (state)
        *state = SCARD_SPECIFIC;
    if (proto)
        *proto = SCARD_PROTOCOL_T1;
    if (*alen < ic.prof->atr_len)
        return SCARD_E_INSUFFICIENT_BUFFER;
    memcpy(atr, ic.prof->atr, ic.prof->atr_len);
    *alen = (DWORD)ic.prof->atr_len;
    return SCARD_S_SUCCESS;
}

static inline LONG ic_gsc(SCARDCONTEXT ctx, DWORD timeout, SCARD_READERSTATE *st, DWORD n)
{
    (void)ctx; (void)timeout;
    bool news = false;
    for (DWORD i = 0; i < n; i++) {
        DWORD now = ic.present ? SCARD_STATE_PRESENT : SCARD_STATE_EMPTY;
        if ((st[i].dwCurrentState & (SCARD_STATE_PRESENT | SCARD_STATE_EMPTY)) != now)
            news = true;
        st[i].dwEventState = now | (news ? SCARD_STATE_CHANGED : 0);
    }
    return news ? SCARD_S_SUCCESS : SCARD_E_TIMEOUT;
}

static inline LONG ic_cancel(SCARDCONTEXT ctx) { (void)ctx; return SCARD_S_SUCCESS; }

static const struct pcsc_ops ic_ops = {
    .establish = ic_establish,
    .release = ic_release,
    .list_readers = ic_list_readers,
    .connect = ic_connect,
    .reconnect = ic_reconnect,
    .disconnect = ic_disconnect,
    .begin = ic_begin,
    .end = ic_end,
    .transmit = ic_transmit,
    .status = ic_status,
    .get_status_change = ic_gsc,
    .cancel = ic_cancel,
};

#endif
