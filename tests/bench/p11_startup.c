/* p11_startup: what a host sees of a PKCS#11 module on one card, for
 * several modules in the same run. Each run is a fresh process (what an
 * identity agent pays when it starts): dlopen, C_Initialize, the first
 * C_GetSlotList(token present), C_OpenSession, finding the certificates and
 * reading the first one's CKA_VALUE (together "time to first certificate"),
 * C_Login, finding the private key, one signature (checked with OpenSSL),
 * and the certificates found and read again in the warm session. Runs of
 * the modules alternate so drift hits them alike. Prints median and p90 in
 * ms per operation, APDUs per operation when BENCH_TRACE names the virtual
 * card's trace, and the ratio of the first module's median to the others'.
 * Never judges speed; exits 1 only on an error.
 *
 *   p11_startup N NAME=MODULE:MECH [NAME=MODULE:MECH...]
 *   MECH: sha1 (CKM_SHA1_RSA_PKCS), sha256 (CKM_SHA256_RSA_PKCS),
 *         di-sha1 / di-sha256 (CKM_RSA_PKCS over a DigestInfo)
 *   CARDRENEW_PIN  the user PIN (never argv)
 *   BENCH_TRACE    the vcard APDU trace file (optional)
 *   VCARD_CLOCK    set (the card runs with --clock real): a second table,
 *                  each time with the card's own time replaced by the
 *                  model's (the "clock" notes in the trace)
 * Under `valgrind --tool=callgrind --collect-atstart=no` it counts the
 * host's instructions in the timed regions only, dumped per phase: load,
 * first-certificate, login-key-sign, warm. */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <p11-kit/pkcs11.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

enum { OP_LOAD, OP_INIT, OP_SLOTS, OP_OPEN, OP_FIND, OP_VALUE, OP_TTFC,
       OP_LOGIN, OP_KEY, OP_SIGN, OP_WARM, OP_COUNT };

static const char *const op_name[OP_COUNT] = {
    "dlopen+C_GetFunctionList", "C_Initialize", "C_GetSlotList(present)",
    "C_OpenSession", "C_FindObjects(certs)", "C_GetAttributeValue(VALUE)",
    "= time to first certificate", "C_Login", "C_FindObjects(priv key)",
    "C_SignInit+C_Sign", "warm: find certs+VALUE",
};

struct sample {
    int ok;
    double ms[OP_COUNT];
    double real[OP_COUNT];      /* on the real-card clock; < 0: no clock */
    long apdus[OP_COUNT];
};

struct module {
    const char *name, *path, *mech;
    struct sample *s;
};

#define MAX_MODULES 4
#define MAX_RUNS 1000

static const char *trace_path;
static long trace_off;
/* From the card's "clock" notes since the last count (vcard --clock real):
 * the modelled time of its APDUs and the time it took itself (ms). */
static double clock_model_ms, clock_card_ms;
static bool clock_seen;

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The card writes a trace line just after it answers: wait until the file
 * stops growing, then count the commands ("<stamp> > ...") added since the
 * last call. Outside the timed regions. */
static long apdus_since_last(void)
{
    struct stat a, b;
    long n = 0;
    FILE *f;
    char line[8192];

    if (!trace_path)
        return -1;
    if (stat(trace_path, &a) != 0)
        return -1;
    for (;;) {
        usleep(3000);
        if (stat(trace_path, &b) != 0)
            return -1;
        if (b.st_size == a.st_size)
            break;
        a = b;
    }
    if (!(f = fopen(trace_path, "r")))
        return -1;
    if (fseek(f, trace_off, SEEK_SET) == 0) {
        while (fgets(line, sizeof line, f)) {
            const char *sp = strchr(line, ' ');
            long mu, cu;

            if (sp && sp[1] == '>')
                n++;
            else if (sp && sscanf(sp, " # clock model_us=%ld card_us=%ld",
                                  &mu, &cu) == 2) {
                clock_model_ms += mu / 1e3;
                clock_card_ms += cu / 1e3;
            }
        }
        trace_off = ftell(f);
    }
    fclose(f);
    return n;
}

static void trace_skip_to_end(void)
{
    if (trace_path)
        (void)apdus_since_last();
}

static int fail(const char *mod, const char *what, CK_RV rv)
{
    fprintf(stderr, "p11_startup: %s: %s: CKR 0x%lx\n", mod, what,
            (unsigned long)rv);
    return 1;
}

struct mechspec {
    CK_MECHANISM_TYPE type;
    const EVP_MD *(*md)(void);
    bool digestinfo;
};

static int mech_of(const char *s, struct mechspec *m)
{
    if (!strcmp(s, "sha1"))
        *m = (struct mechspec){ CKM_SHA1_RSA_PKCS, EVP_sha1, false };
    else if (!strcmp(s, "sha256"))
        *m = (struct mechspec){ CKM_SHA256_RSA_PKCS, EVP_sha256, false };
    else if (!strcmp(s, "di-sha1"))
        *m = (struct mechspec){ CKM_RSA_PKCS, EVP_sha1, true };
    else if (!strcmp(s, "di-sha256"))
        *m = (struct mechspec){ CKM_RSA_PKCS, EVP_sha256, true };
    else
        return -1;
    return 0;
}

/* The DigestInfo prefixes of RFC 8017, 9.2 note 1. */
static const unsigned char di_sha1[] = {
    0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05,
    0x00, 0x04, 0x14 };
static const unsigned char di_sha256[] = {
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
    0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };

static int find(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s,
                CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out,
                CK_ULONG *found, CK_RV *rv)
{
    CK_OBJECT_HANDLE h[32];
    CK_ULONG got = 0;

    *found = 0;
    if ((*rv = f->C_FindObjectsInit(s, tmpl, n)) != CKR_OK)
        return -1;
    do {
        if ((*rv = f->C_FindObjects(s, h, 32, &got)) != CKR_OK) {
            f->C_FindObjectsFinal(s);
            return -1;
        }
        if (got > 0 && *found == 0)
            *out = h[0];
        *found += got;
    } while (got == 32);
    return (*rv = f->C_FindObjectsFinal(s)) == CKR_OK ? 0 : -1;
}

static int read_value(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s,
                      CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t,
                      unsigned char **v, CK_ULONG *len, CK_RV *rv)
{
    CK_ATTRIBUTE a = { t, NULL, 0 };

    if ((*rv = f->C_GetAttributeValue(s, o, &a, 1)) != CKR_OK)
        return -1;
    free(*v);
    if (!(*v = malloc(a.ulValueLen ? a.ulValueLen : 1)))
        return -1;
    a.pValue = *v;
    if ((*rv = f->C_GetAttributeValue(s, o, &a, 1)) != CKR_OK)
        return -1;
    *len = a.ulValueLen;
    return 0;
}

static int verify(const unsigned char *der, long dlen, const EVP_MD *md,
                  const unsigned char *data, size_t n,
                  const unsigned char *sig, size_t slen)
{
    X509 *x = d2i_X509(NULL, &der, dlen);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = x && c &&
        EVP_DigestVerifyInit(c, NULL, md, NULL, X509_get0_pubkey(x)) == 1 &&
        EVP_DigestVerify(c, sig, slen, data, n) == 1;

    EVP_MD_CTX_free(c);
    X509_free(x);
    return ok ? 0 : -1;
}

/* Under callgrind (--collect-atstart=no) only the timed regions count,
 * and each phase is dumped under its name; elsewhere these do nothing. */
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define CG_ON_OFF() CALLGRIND_TOGGLE_COLLECT
#define CG_DUMP(name) CALLGRIND_DUMP_STATS_AT(name)
#else
#define CG_ON_OFF() ((void)0)
#define CG_DUMP(name) ((void)(name))
#endif

#define T0(op) do { trace_skip_to_end(); clock_model_ms = clock_card_ms = 0; \
    CG_ON_OFF(); t = now_ms(); (void)(op); } while (0)
#define T1(op) do { r->ms[op] = now_ms() - t; CG_ON_OFF(); \
    r->apdus[op] = apdus_since_last(); real_clock(r, op); } while (0)

/* The host's wall time with the virtual card's own time swapped for what
 * the model says a real card takes. */
static void real_clock(struct sample *r, int op)
{
    r->real[op] = clock_seen ? r->ms[op] - clock_card_ms + clock_model_ms : -1;
}

/* One fresh-process run; fills *r. 0 on success. */
static int one_run(const struct module *m, const char *pin, struct sample *r)
{
    static const unsigned char data[] = "signed for a benchmark";
    CK_OBJECT_CLASS ccert = CKO_CERTIFICATE, ckey = CKO_PRIVATE_KEY;
    CK_C_INITIALIZE_ARGS ia = { .flags = CKF_OS_LOCKING_OK };
    CK_ATTRIBUTE tcert = { CKA_CLASS, &ccert, sizeof ccert };
    CK_ATTRIBUTE tkey[2] = { { CKA_CLASS, &ckey, sizeof ckey },
                             { CKA_ID, NULL, 0 } };
    CK_FUNCTION_LIST_PTR f;
    CK_C_GetFunctionList gfl;
    CK_SLOT_ID slots[16];
    CK_ULONG nslots = 16, found, clen = 0, idlen = 0, slen;
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE cert = 0, key = 0;
    unsigned char *cv = NULL, *id = NULL, sig[512], in[64 + 32];
    size_t inlen;
    struct mechspec ms;
    CK_MECHANISM mech;
    CK_RV rv;
    void *dl;
    double t;

    memset(r, 0, sizeof *r);
    if (mech_of(m->mech, &ms) != 0) {
        fprintf(stderr, "p11_startup: unknown mechanism %s\n", m->mech);
        return 1;
    }
    T0(0);
    if (!(dl = dlopen(m->path, RTLD_NOW | RTLD_LOCAL)) ||
        !(gfl = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList"))) {
        fprintf(stderr, "p11_startup: %s: %s\n", m->path, dlerror());
        return 1;
    }
    if ((rv = gfl(&f)) != CKR_OK)
        return fail(m->name, "C_GetFunctionList", rv);
    T1(OP_LOAD);
    CG_DUMP("load");

    T0(0);
    if ((rv = f->C_Initialize(&ia)) != CKR_OK)
        return fail(m->name, "C_Initialize", rv);
    T1(OP_INIT);

    T0(0);
    if ((rv = f->C_GetSlotList(CK_TRUE, slots, &nslots)) != CKR_OK)
        return fail(m->name, "C_GetSlotList", rv);
    T1(OP_SLOTS);
    if (nslots == 0)
        return fail(m->name, "no token present", CKR_TOKEN_NOT_PRESENT);

    T0(0);
    if ((rv = f->C_OpenSession(slots[0], CKF_SERIAL_SESSION, NULL, NULL,
                               &s)) != CKR_OK)
        return fail(m->name, "C_OpenSession", rv);
    T1(OP_OPEN);

    T0(0);
    if (find(f, s, &tcert, 1, &cert, &found, &rv) != 0)
        return fail(m->name, "finding certificates", rv);
    T1(OP_FIND);
    if (found == 0)
        return fail(m->name, "no certificate on the first slot", CKR_OK);

    T0(0);
    if (read_value(f, s, cert, CKA_VALUE, &cv, &clen, &rv) != 0)
        return fail(m->name, "certificate CKA_VALUE", rv);
    T1(OP_VALUE);
    CG_DUMP("first-certificate");
    r->ms[OP_TTFC] = r->ms[OP_INIT] + r->ms[OP_SLOTS] + r->ms[OP_OPEN] +
                     r->ms[OP_FIND] + r->ms[OP_VALUE];
    r->real[OP_TTFC] = r->real[OP_INIT] + r->real[OP_SLOTS] +
        r->real[OP_OPEN] + r->real[OP_FIND] + r->real[OP_VALUE];
    r->apdus[OP_TTFC] = r->apdus[OP_INIT] < 0 ? -1 :
        r->apdus[OP_INIT] + r->apdus[OP_SLOTS] + r->apdus[OP_OPEN] +
        r->apdus[OP_FIND] + r->apdus[OP_VALUE];
    if (read_value(f, s, cert, CKA_ID, &id, &idlen, &rv) != 0)
        return fail(m->name, "certificate CKA_ID", rv);

    T0(0);
    if ((rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin,
                         (CK_ULONG)strlen(pin))) != CKR_OK)
        return fail(m->name, "C_Login", rv);
    T1(OP_LOGIN);

    tkey[1].pValue = id;
    tkey[1].ulValueLen = idlen;
    T0(0);
    if (find(f, s, tkey, 2, &key, &found, &rv) != 0)
        return fail(m->name, "finding the private key", rv);
    T1(OP_KEY);
    if (found == 0)
        return fail(m->name, "no private key with the certificate's CKA_ID",
                    CKR_OK);

    /* The input: the data for a hashing mechanism, else its DigestInfo. */
    if (ms.digestinfo) {
        const unsigned char *p = ms.md() == EVP_sha1() ? di_sha1 : di_sha256;
        size_t pl = ms.md() == EVP_sha1() ? sizeof di_sha1 : sizeof di_sha256;
        unsigned int hl = 0;

        memcpy(in, p, pl);
        EVP_Digest(data, sizeof data - 1, in + pl, &hl, ms.md(), NULL);
        inlen = pl + hl;
    } else {
        memcpy(in, data, sizeof data - 1);
        inlen = sizeof data - 1;
    }
    mech = (CK_MECHANISM){ ms.type, NULL, 0 };
    slen = sizeof sig;
    T0(0);
    if ((rv = f->C_SignInit(s, &mech, key)) != CKR_OK)
        return fail(m->name, "C_SignInit", rv);
    if ((rv = f->C_Sign(s, in, inlen, sig, &slen)) != CKR_OK)
        return fail(m->name, "C_Sign", rv);
    T1(OP_SIGN);
    CG_DUMP("login-key-sign");
    if (verify(cv, (long)clen, ms.md(), data, sizeof data - 1, sig, slen) != 0) {
        fprintf(stderr, "p11_startup: %s: the signature does not verify "
                "with the certificate\n", m->name);
        return 1;
    }

    T0(0);
    if (find(f, s, &tcert, 1, &cert, &found, &rv) != 0)
        return fail(m->name, "finding certificates (warm)", rv);
    if (read_value(f, s, cert, CKA_VALUE, &cv, &clen, &rv) != 0)
        return fail(m->name, "certificate CKA_VALUE (warm)", rv);
    T1(OP_WARM);
    CG_DUMP("warm");

    /* Each run leaves the card logged out, so the next one logs in alike. */
    f->C_Logout(s);
    f->C_CloseSession(s);
    f->C_Finalize(NULL);
    free(cv);
    free(id);
    r->ok = 1;
    return 0;
}

/* Runs one_run in a child and reads its sample through a pipe. */
static int forked_run(const struct module *m, const char *pin,
                      struct sample *r)
{
    int fd[2], st;
    pid_t pid;
    ssize_t got;

    if (pipe(fd) != 0)
        return -1;
    fflush(NULL);
    if ((pid = fork()) < 0)
        return -1;
    if (pid == 0) {
        struct sample s;

        close(fd[0]);
        one_run(m, pin, &s);
        got = write(fd[1], &s, sizeof s);
        _exit(got == (ssize_t)sizeof s && s.ok ? 0 : 1);
    }
    close(fd[1]);
    got = read(fd[0], r, sizeof *r);
    close(fd[0]);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (got != (ssize_t)sizeof *r || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
        !r->ok)
        return -1;
    /* The child read the trace; skip what it counted. */
    trace_skip_to_end();
    return 0;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static int cmpl(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;

    return (x > y) - (x < y);
}

static void stats(const struct sample *s, int n, int op, bool real,
                  double *med, double *p90, long *apdu)
{
    double v[MAX_RUNS];
    long a[MAX_RUNS];

    for (int i = 0; i < n; i++) {
        v[i] = real ? s[i].real[op] : s[i].ms[op];
        a[i] = s[i].apdus[op];
    }
    qsort(v, (size_t)n, sizeof *v, cmpd);
    qsort(a, (size_t)n, sizeof *a, cmpl);
    *med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    *p90 = v[(9 * n + 9) / 10 - 1];      /* nearest rank */
    *apdu = a[n / 2];
}

static void table(const struct module *mods, int nm, int n, bool real)
{
    printf("%d runs per module, each a fresh process; ms median and p90%s\n",
           n, trace_path ? "; APDUs (median)" : "");
    printf("%-28s", "operation");
    for (int i = 0; i < nm; i++)
        printf(" | %-8.8s %8s %8s %5s", mods[i].name, "median", "p90",
               "APDUs");
    for (int i = 1; i < nm; i++)
        printf(" | %8.8s", "ratio");
    printf("\n");
    for (int op = 0; op < OP_COUNT; op++) {
        double med[MAX_MODULES], p90;
        long ap;

        printf("%-28s", op_name[op]);
        for (int i = 0; i < nm; i++) {
            stats(mods[i].s, n, op, real, &med[i], &p90, &ap);
            printf(" | %-8s %8.2f %8.2f ", "", med[i], p90);
            if (ap >= 0)
                printf("%5ld", ap);
            else
                printf("%5s", "-");
        }
        /* A ratio of figures near the clock's noise says nothing. */
        for (int i = 1; i < nm; i++)
            if (med[0] >= 0.05 && med[i] >= 0.05)
                printf(" | %8.2f", med[0] / med[i]);
            else
                printf(" | %8s", "-");
        printf("\n");
    }
    if (nm > 1)
        printf("ratio: %s median / %s median (below 1: %s is faster; "
               "- where either is under 0.05 ms)\n",
               mods[0].name, mods[1].name, mods[0].name);
}

int main(int argc, char **argv)
{
    struct module mods[MAX_MODULES];
    const char *pin = getenv("CARDRENEW_PIN");
    int n, nm = argc - 2;

    if (argc < 3 || nm > MAX_MODULES || (n = atoi(argv[1])) < 1 ||
        n > MAX_RUNS) {
        fprintf(stderr, "usage: p11_startup N NAME=MODULE:MECH... "
                "(at most %d modules, 1..%d runs)\n", MAX_MODULES, MAX_RUNS);
        return 2;
    }
    if (!pin || !*pin) {
        fprintf(stderr, "p11_startup: CARDRENEW_PIN is not set\n");
        return 2;
    }
    trace_path = getenv("BENCH_TRACE");
    if (trace_path && !*trace_path)
        trace_path = NULL;
    clock_seen = trace_path && getenv("VCARD_CLOCK");
    for (int i = 0; i < nm; i++) {
        char *a = argv[i + 2], *eq = strchr(a, '='), *co = strrchr(a, ':');

        if (!eq || !co || co < eq) {
            fprintf(stderr, "p11_startup: %s: want NAME=MODULE:MECH\n", a);
            return 2;
        }
        *eq = *co = 0;
        mods[i] = (struct module){ a, eq + 1, co + 1,
                                   calloc((size_t)n, sizeof(struct sample)) };
        if (!mods[i].s)
            return 1;
    }
    trace_skip_to_end();
    for (int k = 0; k < n; k++)
        for (int i = 0; i < nm; i++)
            if (forked_run(&mods[i], pin, &mods[i].s[k]) != 0) {
                fprintf(stderr, "p11_startup: %s run %d failed\n",
                        mods[i].name, k + 1);
                return 1;
            }

    table(mods, nm, n, false);
    if (mods[0].s[0].real[OP_INIT] >= 0) {
        printf("\nreal-card clock: the same runs, the virtual card's own time "
               "replaced by the\nmodel of a real card of this profile "
               "(tests/vcard/README.md)\n");
        table(mods, nm, n, true);
    }
    for (int i = 0; i < nm; i++)
        printf("%s: %s, mechanism %s\n", mods[i].name, mods[i].path,
               mods[i].mech);
    return 0;
}
