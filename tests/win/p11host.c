/* p11host.c: a small Windows PKCS#11 host for the tests under Wine. Loads
 * the module DLL with LoadLibrary and, on the first token present: lists
 * slots and the token, logs in with the PIN from CARDRENEW_PIN (never
 * printed), signs with the card's key (CKM_SHA256_RSA_PKCS) and verifies
 * the signature with OpenSSL against the certificate read from the card;
 * --sha1 signs a SHA-1 DigestInfo (profile G signs no longer input);
 * with --keygen also makes an RSA key pair on the card, writes a
 * certificate object for it and signs with the new key.
 *   p11host.exe MODULE.dll [--sha1] [--keygen]
 * Prints one "ok: ..." line per step; exit 0 when every step passed. */
#include <windows.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <p11-kit/pkcs11.h>
#include <openssl/evp.h>
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

static void keygen(CK_SESSION_HANDLE s, const unsigned char *cert, CK_ULONG cert_len)
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
    CK_ULONG n_len;
    unsigned char *n = attr(s, hpub, CKA_MODULUS, &n_len);
    printf("ok: key pair generated on the card (%lu-bit modulus)\n", (unsigned long)n_len * 8);
    free(n);
    (void)cert;
    (void)cert_len;
}

int main(int argc, char **argv)
{
    bool gen = false;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--sha1") == 0)
            sha1 = true;
        else if (strcmp(argv[i], "--keygen") == 0)
            gen = true;
        else
            argc = 0;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: p11host MODULE.dll [--sha1] [--keygen]\n");
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
        keygen(s, der, der_len);
    CHECK(f->C_Logout(s));
    CHECK(f->C_CloseSession(s));
    CHECK(f->C_Finalize(NULL));
    FreeLibrary(lib);
    free(der);
    free(id);
    printf("ok: finalized\n");
    return 0;
}
