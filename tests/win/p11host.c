/* p11host.c: a small Windows PKCS#11 host for the tests under Wine. Loads
 * the module DLL with LoadLibrary and, on the first token present: lists
 * slots and the token, logs in with the PIN from CARDRENEW_PIN (never
 * printed), signs with the card's key (CKM_SHA256_RSA_PKCS) and verifies
 * the signature with OpenSSL against the certificate read from the card;
 * --sha1 signs a SHA-1 DigestInfo (profile G signs no longer input);
 * with --keygen also makes an RSA key pair on the card, writes a
 * certificate for it (issued here by a throwaway key) and signs with the
 * new key; with --pull asks the test script to pull the card (the file
 * pull-now appears in the current directory) and put it back (back-now),
 * sees the slot empty and its session gone, then logs in and signs again.
 *   p11host.exe MODULE.dll [--sha1] [--keygen] [--pull]
 * Prints one "ok: ..." line per step; exit 0 when every step passed. */
#include <windows.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <p11-kit/pkcs11.h>
#include <openssl/evp.h>
#include <openssl/bn.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

static CK_FUNCTION_LIST_PTR f;
static bool sha1;

#define CHECK(call)                                                                \
    do {                                                                           \
        CK_RV rv_ = (call);                                                        \
        if (rv_ != CKR_OK) {                                                       \
            printf("FAIL: %s: 0x%lx\n", #call, (unsigned long)rv_);                \
            exit(1);                                                               \
        }                                                                          \
    } while (0)

static CK_OBJECT_HANDLE find_one(CK_SESSION_HANDLE s, CK_ATTRIBUTE *t, CK_ULONG n)
{
    CK_OBJECT_HANDLE o = CK_INVALID_HANDLE;
    CK_ULONG got = 0;
    CHECK(f->C_FindObjectsInit(s, t, n));
    CHECK(f->C_FindObjects(s, &o, 1, &got));
    CHECK(f->C_FindObjectsFinal(s));
    return got ? o : CK_INVALID_HANDLE;
}

static unsigned char *attr(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type,
                           CK_ULONG *len)
{
    CK_ATTRIBUTE a = { type, NULL, 0 };
    CHECK(f->C_GetAttributeValue(s, o, &a, 1));
    a.pValue = malloc(a.ulValueLen + 1);
    CHECK(f->C_GetAttributeValue(s, o, &a, 1));
    *len = a.ulValueLen;
    return a.pValue;
}

/* Signs with key and checks the signature against the certificate's key. */
static void sign_verify(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, const unsigned char *der,
                        CK_ULONG der_len, const char *what)
{
    /* CKM_RSA_PKCS over a DigestInfo made here: SHA-256, or SHA-1 for a
     * card that signs nothing longer (profile G). */
    static unsigned char msg[] = "cardrenew under Wine";
    static const unsigned char p256[19] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                            0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                            0x01, 0x05, 0x00, 0x04, 0x20 };
    static const unsigned char p1[15] = { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
                                          0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14 };
    const EVP_MD *md = sha1 ? EVP_sha1() : EVP_sha256();
    const unsigned char *prefix = sha1 ? p1 : p256;
    size_t plen = sha1 ? sizeof(p1) : sizeof(p256);
    unsigned char di[19 + 32];
    unsigned hlen = 0;
    memcpy(di, prefix, plen);
    EVP_Digest(msg, sizeof(msg) - 1, di + plen, &hlen, md, NULL);
    CK_MECHANISM m = { CKM_RSA_PKCS, NULL, 0 };
    unsigned char sig[512];
    CK_ULONG sig_len = sizeof(sig);
    CHECK(f->C_SignInit(s, &m, key));
    CHECK(f->C_Sign(s, di, plen + hlen, sig, &sig_len));
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)der_len);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!x || !c || EVP_DigestVerifyInit(c, NULL, md, NULL, X509_get0_pubkey(x)) != 1 ||
        EVP_DigestVerify(c, sig, sig_len, msg, sizeof(msg) - 1) != 1) {
        printf("FAIL: %s: the signature does not verify with the certificate's key\n", what);
        exit(1);
    }
    /* A changed message must not verify: the check can fail. */
    msg[0] ^= 1;
    EVP_DigestVerifyInit(c, NULL, md, NULL, X509_get0_pubkey(x));
    if (EVP_DigestVerify(c, sig, sig_len, msg, sizeof(msg) - 1) == 1) {
        printf("FAIL: %s: a changed message verified\n", what);
        exit(1);
    }
    msg[0] ^= 1;
    EVP_MD_CTX_free(c);
    X509_free(x);
    printf("ok: %s: %lu-byte signature verified by OpenSSL\n", what, (unsigned long)sig_len);
}

/* A certificate for the card's new public key, issued by a throwaway key
 * made here: what the module must accept and tie to the new key. */
static unsigned char *cert_for(const unsigned char *n, CK_ULONG n_len, const unsigned char *e,
                               CK_ULONG e_len, int *der_len)
{
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    BIGNUM *bn = BN_bin2bn(n, (int)n_len, NULL), *be = BN_bin2bn(e, (int)e_len, NULL);
    OSSL_PARAM_BLD_push_BN(b, "n", bn);
    OSSL_PARAM_BLD_push_BN(b, "e", be);
    OSSL_PARAM *prm = OSSL_PARAM_BLD_to_param(b);
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *pub = NULL, *issuer = EVP_RSA_gen(2048);
    X509 *x = X509_new();
    unsigned char *der = NULL;
    if (pc && EVP_PKEY_fromdata_init(pc) == 1 &&
        EVP_PKEY_fromdata(pc, &pub, EVP_PKEY_PUBLIC_KEY, prm) == 1 && issuer && x) {
        X509_NAME *nm = X509_get_subject_name(x);
        X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"cardrenew Wine test",
                                   -1, -1, 0);
        X509_set_issuer_name(x, nm);
        X509_set_version(x, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
        X509_gmtime_adj(X509_getm_notBefore(x), 0);
        X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 30);
        X509_set_pubkey(x, pub);
        if (X509_sign(x, issuer, EVP_sha256()) > 0)
            *der_len = i2d_X509(x, &der);
    }
    X509_free(x);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(issuer);
    EVP_PKEY_CTX_free(pc);
    OSSL_PARAM_free(prm);
    OSSL_PARAM_BLD_free(b);
    BN_free(bn);
    BN_free(be);
    return der;
}

/* A key pair made on the card, a certificate written for it, and a
 * signature by the new key verified against that certificate. */
static void keygen(CK_SESSION_HANDLE s)
{
    CK_MECHANISM m = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
    CK_ULONG bits = 2048;
    CK_BYTE e[] = { 1, 0, 1 }, id[] = { 0x57, 0x49, 0x4e };
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE pub[] = {
        { CKA_MODULUS_BITS, &bits, sizeof(bits) }, { CKA_PUBLIC_EXPONENT, e, sizeof(e) },
        { CKA_TOKEN, &yes, sizeof(yes) }, { CKA_ID, id, sizeof(id) },
        { CKA_VERIFY, &yes, sizeof(yes) },
    };
    CK_ATTRIBUTE priv[] = {
        { CKA_TOKEN, &yes, sizeof(yes) }, { CKA_PRIVATE, &yes, sizeof(yes) },
        { CKA_SIGN, &yes, sizeof(yes) }, { CKA_ID, id, sizeof(id) },
    };
    CK_OBJECT_HANDLE hpub, hpriv;
    CHECK(f->C_GenerateKeyPair(s, &m, pub, 5, priv, 4, &hpub, &hpriv));
    CK_ULONG n_len, e_len, kid_len;
    unsigned char *n = attr(s, hpub, CKA_MODULUS, &n_len);
    unsigned char *pe = attr(s, hpub, CKA_PUBLIC_EXPONENT, &e_len);
    unsigned char *kid = attr(s, hpriv, CKA_ID, &kid_len);
    printf("ok: key pair generated on the card (%lu-bit modulus)\n", (unsigned long)n_len * 8);

    int der_len = 0;
    unsigned char *der = cert_for(n, n_len, pe, e_len, &der_len);
    if (!der) {
        printf("FAIL: OpenSSL could not make a certificate for the new key\n");
        exit(1);
    }
    CK_OBJECT_CLASS cc = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE ct = CKC_X_509;
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE t[] = {
        { CKA_CLASS, &cc, sizeof(cc) }, { CKA_CERTIFICATE_TYPE, &ct, sizeof(ct) },
        { CKA_TOKEN, &yes, sizeof(yes) }, { CKA_PRIVATE, &no, sizeof(no) },
        { CKA_ID, kid, kid_len }, { CKA_VALUE, der, (CK_ULONG)der_len },
    };
    CK_OBJECT_HANDLE hc;
    CHECK(f->C_CreateObject(s, t, 6, &hc));
    CK_ATTRIBUTE find[] = { { CKA_CLASS, &cc, sizeof(cc) }, { CKA_ID, kid, kid_len } };
    CK_OBJECT_HANDLE again = find_one(s, find, 2);
    CK_ULONG back_len = 0;
    unsigned char *back = again != CK_INVALID_HANDLE ? attr(s, again, CKA_VALUE, &back_len) : NULL;
    if (!back || back_len != (CK_ULONG)der_len || memcmp(back, der, back_len) != 0) {
        printf("FAIL: the written certificate is not found under the new key's CKA_ID\n");
        exit(1);
    }
    printf("ok: certificate written for the new key and read back (%d bytes)\n", der_len);
    sign_verify(s, hpriv, der, (CK_ULONG)der_len, "new key");
    free(back);
    OPENSSL_free(der);
    free(n);
    free(pe);
    free(kid);
}

static bool token_present(CK_SLOT_ID slot)
{
    CK_SLOT_INFO si;
    return f->C_GetSlotInfo(slot, &si) == CKR_OK && (si.flags & CKF_TOKEN_PRESENT);
}

/* Waits (bounded) for the test script to pull or put back the card: it
 * is asked through a file in the current directory. */
static void await_token(CK_SLOT_ID slot, bool present, const char *ask)
{
    FILE *q = fopen(ask, "w");
    if (q)
        fclose(q);
    for (int i = 0; i < 600 && token_present(slot) != present; i++)
        Sleep(100);
    if (token_present(slot) != present) {
        printf("FAIL: the token was never seen %s\n", present ? "back" : "gone");
        exit(1);
    }
}

/* The card pulled: the session ends; put back: a new login signs again. */
static void pull_and_back(CK_SLOT_ID slot, CK_SESSION_HANDLE old, const char *pin)
{
    await_token(slot, false, "pull-now");
    CK_SESSION_INFO si;
    CK_RV rv = f->C_GetSessionInfo(old, &si);
    if (rv == CKR_OK) {
        printf("FAIL: the session outlived the card's removal\n");
        exit(1);
    }
    printf("ok: card pulled: the slot shows no token, the session is gone (0x%lx)\n",
           (unsigned long)rv);
    await_token(slot, true, "back-now");
    CK_SESSION_HANDLE s;
    CHECK(f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s));
    CHECK(f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)strlen(pin)));
    CK_OBJECT_CLASS cc = CKO_CERTIFICATE, kc = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE tc = { CKA_CLASS, &cc, sizeof(cc) };
    CK_OBJECT_HANDLE cert = find_one(s, &tc, 1);
    CK_ULONG der_len, id_len;
    unsigned char *der = attr(s, cert, CKA_VALUE, &der_len);
    unsigned char *id = attr(s, cert, CKA_ID, &id_len);
    CK_ATTRIBUTE tk[] = { { CKA_CLASS, &kc, sizeof(kc) }, { CKA_ID, id, id_len } };
    CK_OBJECT_HANDLE key = find_one(s, tk, 2);
    printf("ok: card put back: logged in again\n");
    sign_verify(s, key, der, der_len, "after reinsertion");
    CHECK(f->C_CloseSession(s));
    free(der);
    free(id);
}

int main(int argc, char **argv)
{
    bool gen = false, pull = false;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--sha1") == 0)
            sha1 = true;
        else if (strcmp(argv[i], "--keygen") == 0)
            gen = true;
        else if (strcmp(argv[i], "--pull") == 0)
            pull = true;
        else
            argc = 0;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: p11host MODULE.dll [--sha1] [--keygen] [--pull]\n");
        return 2;
    }
    HMODULE lib = LoadLibraryA(argv[1]);
    if (!lib) {
        printf("FAIL: LoadLibrary %s: error %lu\n", argv[1], GetLastError());
        return 1;
    }
    CK_C_GetFunctionList gfl = (CK_C_GetFunctionList)(void *)GetProcAddress(lib, "C_GetFunctionList");
    if (!gfl || GetProcAddress(lib, "C_Initialize")) {
        printf("FAIL: the DLL must export C_GetFunctionList and not C_Initialize\n");
        return 1;
    }
    CHECK(gfl(&f));
    CK_C_INITIALIZE_ARGS ia = { 0 };
    ia.flags = CKF_OS_LOCKING_OK;
    CHECK(f->C_Initialize(&ia));
    CK_INFO info;
    CHECK(f->C_GetInfo(&info));
    printf("ok: C_GetInfo: %.32s, Cryptoki %u.%u\n", (const char *)info.manufacturerID,
           info.cryptokiVersion.major, info.cryptokiVersion.minor);
    CK_SLOT_ID slots[8];
    CK_ULONG ns = 8;
    CHECK(f->C_GetSlotList(CK_TRUE, slots, &ns));
    if (!ns) {
        printf("FAIL: no token present\n");
        return 1;
    }
    CK_TOKEN_INFO ti;
    CHECK(f->C_GetTokenInfo(slots[0], &ti));
    printf("ok: %lu slot(s) with a token; token \"%.32s\" model \"%.16s\"\n", (unsigned long)ns,
           (const char *)ti.label, (const char *)ti.model);

    CK_SESSION_HANDLE s;
    CHECK(f->C_OpenSession(slots[0], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s));
    CK_OBJECT_CLASS cc = CKO_CERTIFICATE, kc = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE tc = { CKA_CLASS, &cc, sizeof(cc) };
    CK_OBJECT_HANDLE cert = find_one(s, &tc, 1);
    if (cert == CK_INVALID_HANDLE) {
        printf("FAIL: no certificate on the token\n");
        return 1;
    }
    CK_ULONG der_len, id_len;
    unsigned char *der = attr(s, cert, CKA_VALUE, &der_len);
    unsigned char *id = attr(s, cert, CKA_ID, &id_len);
    printf("ok: certificate read without login (%lu bytes)\n", (unsigned long)der_len);

    const char *pin = getenv("CARDRENEW_PIN");
    if (!pin) {
        printf("FAIL: CARDRENEW_PIN is not set\n");
        return 1;
    }
    CK_RV bad = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR) "00000000", 8);
    /* A wrong PIN costs a try; the right one below resets the counter. */
    if (bad != CKR_PIN_INCORRECT) {
        printf("FAIL: a wrong PIN gave 0x%lx, not CKR_PIN_INCORRECT\n", (unsigned long)bad);
        return 1;
    }
    CHECK(f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)strlen(pin)));
    printf("ok: wrong PIN refused, right PIN logged in\n");
    CK_ATTRIBUTE tk[] = { { CKA_CLASS, &kc, sizeof(kc) }, { CKA_ID, id, id_len } };
    CK_OBJECT_HANDLE key = find_one(s, tk, 2);
    if (key == CK_INVALID_HANDLE) {
        printf("FAIL: no private key with the certificate's CKA_ID\n");
        return 1;
    }
    sign_verify(s, key, der, der_len, "card key");
    if (gen)
        keygen(s);
    if (pull)
        pull_and_back(slots[0], s, pin);
    else {
        CHECK(f->C_Logout(s));
        CHECK(f->C_CloseSession(s));
    }
    CHECK(f->C_Finalize(NULL));
    FreeLibrary(lib);
    free(der);
    free(id);
    printf("ok: finalized\n");
    return 0;
}
