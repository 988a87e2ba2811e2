/* p11_soak: a long-lived host's figures: N signatures through a module on
 * one session (the first key with a certificate), the signatures per
 * second, and the process's resident size before the first and after the
 * last (VmRSS), so a leak per signature shows. Prints; never judges.
 *
 *   p11_soak N MODULE [sha1|sha256]   CARDRENEW_PIN: the user PIN (never argv) */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <p11-kit/pkcs11.h>

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    long kb = -1;

    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fail(const char *what, CK_RV rv)
{
    fprintf(stderr, "p11_soak: %s: CKR 0x%lx\n", what, (unsigned long)rv);
    return 1;
}

int main(int argc, char **argv)
{
    const char *pin = getenv("CARDRENEW_PIN");
    CK_C_INITIALIZE_ARGS ia = { .flags = CKF_OS_LOCKING_OK };
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t = { CKA_CLASS, &cls, sizeof cls };
    CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
    CK_FUNCTION_LIST_PTR f;
    CK_C_GetFunctionList gfl;
    CK_SLOT_ID slot;
    CK_ULONG ns = 1, nk = 0;
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE key;
    CK_RV rv;
    unsigned char sig[512], data[32] = "a long-lived host signs";
    long n, rss0, rss1;
    void *dl;
    double t0, t1;

    if (argc < 3 || argc > 4 || (n = atol(argv[1])) < 1 || !pin || !*pin) {
        fprintf(stderr, "usage: CARDRENEW_PIN=... p11_soak N MODULE [sha1|sha256]\n");
        return 2;
    }
    if (argc == 4 && strcmp(argv[3], "sha1") == 0)
        m.mechanism = CKM_SHA1_RSA_PKCS;
    if (!(dl = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL)) ||
        !(gfl = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList")) ||
        gfl(&f) != CKR_OK) {
        fprintf(stderr, "p11_soak: %s: cannot load\n", argv[2]);
        return 1;
    }
    if ((rv = f->C_Initialize(&ia)) != CKR_OK)
        return fail("C_Initialize", rv);
    if ((rv = f->C_GetSlotList(CK_TRUE, &slot, &ns)) != CKR_OK || ns == 0)
        return fail("C_GetSlotList", rv);
    if ((rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s)) != CKR_OK)
        return fail("C_OpenSession", rv);
    if ((rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)strlen(pin))) != CKR_OK)
        return fail("C_Login", rv);
    if ((rv = f->C_FindObjectsInit(s, &t, 1)) != CKR_OK ||
        (rv = f->C_FindObjects(s, &key, 1, &nk)) != CKR_OK ||
        (rv = f->C_FindObjectsFinal(s)) != CKR_OK || nk == 0)
        return fail("finding a private key", rv);
    rss0 = rss_kb();
    t0 = now_s();
    for (long i = 0; i < n; i++) {
        CK_ULONG len = sizeof sig;

        data[0] = (unsigned char)i;
        if ((rv = f->C_SignInit(s, &m, key)) != CKR_OK ||
            (rv = f->C_Sign(s, data, sizeof data, sig, &len)) != CKR_OK)
            return fail("signing", rv);
    }
    t1 = now_s();
    rss1 = rss_kb();
    printf("%ld signatures (%s) in one session: %.0f per second "
           "on the virtual card; resident size %ld kB before, %ld kB after (%+ld kB)\n",
           n, m.mechanism == CKM_SHA1_RSA_PKCS ? "CKM_SHA1_RSA_PKCS" : "CKM_SHA256_RSA_PKCS",
           n / (t1 - t0), rss0, rss1, rss1 - rss0);
    f->C_Logout(s);
    f->C_CloseSession(s);
    f->C_Finalize(NULL);
    return 0;
}
