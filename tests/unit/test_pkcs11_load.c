/* test_pkcs11_load.c: the built module as a host sees it: dlopen,
 * C_GetFunctionList and the 3.0 interfaces, the not-initialised rules,
 * threads calling at once, and fork. No card is needed: PC/SC is pointed
 * at a socket that does not exist. The module is CARDRENEW_MODULE, else
 * $BUILD/cardrenew-pkcs11.so. */
#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <p11-kit/pkcs11.h>

typedef struct {
    CK_UTF8CHAR *pInterfaceName;
    CK_VOID_PTR pFunctionList;
    CK_FLAGS flags;
} iface_t;
typedef CK_RV (*get_iface_list_t)(iface_t *, CK_ULONG *);
typedef CK_RV (*get_iface_t)(CK_UTF8CHAR *, CK_VERSION *, iface_t **, CK_FLAGS);

static void *lib;
static CK_FUNCTION_LIST *f;

static int setup(void **state)
{
    (void)state;
    char path[4096];
    const char *m = getenv("CARDRENEW_MODULE");
    const char *b = getenv("BUILD");
    if (m)
        snprintf(path, sizeof(path), "%s", m);
    else
        snprintf(path, sizeof(path), "%s/cardrenew-pkcs11.so", b ? b : "build");
    if (access(path, R_OK) != 0) {
        print_message("module %s not built\n", path);
        return 0;
    }
    setenv("PCSCLITE_CSOCK_NAME", "/nonexistent/cardrenew-test/pcscd.comm", 1);
    lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        print_message("dlopen: %s\n", dlerror());
        return -1;
    }
    CK_C_GetFunctionList gfl = (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList");
    if (!gfl || gfl(&f) != CKR_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (lib)
        dlclose(lib);
    return 0;
}

#define NEED_MODULE() do { if (!f) skip(); } while (0)

static void test_exports(void **state)
{
    (void)state;
    NEED_MODULE();
    assert_int_equal(f->version.major, 2);
    assert_int_equal(f->version.minor, 40);
    assert_null(dlsym(lib, "p11_initialize"));      /* internals stay hidden */
    assert_null(dlsym(lib, "card_open"));
    get_iface_list_t gil = (get_iface_list_t)dlsym(lib, "C_GetInterfaceList");
    get_iface_t gi = (get_iface_t)dlsym(lib, "C_GetInterface");
    assert_non_null(gil);
    assert_non_null(gi);
    CK_ULONG n = 0;
    assert_int_equal(gil(NULL, &n), CKR_OK);
    assert_int_equal(n, 2);
    iface_t list[2];
    CK_ULONG small = 1;
    assert_int_equal(gil(list, &small), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(gil(list, &n), CKR_OK);
    assert_string_equal((char *)list[0].pInterfaceName, "PKCS 11");
    assert_int_equal(((CK_VERSION *)list[0].pFunctionList)->major, 3);
    assert_int_equal(((CK_VERSION *)list[1].pFunctionList)->major, 2);
    iface_t *i = NULL;
    assert_int_equal(gi((CK_UTF8CHAR *)"PKCS 11", NULL, &i, 0), CKR_OK);
    assert_int_equal(((CK_VERSION *)i->pFunctionList)->major, 3);
    CK_VERSION v240 = { 2, 40 };
    assert_int_equal(gi((CK_UTF8CHAR *)"PKCS 11", &v240, &i, 0), CKR_OK);
    assert_ptr_equal(i->pFunctionList, f);
    assert_int_not_equal(gi((CK_UTF8CHAR *)"Vendor X", NULL, &i, 0), CKR_OK);
    /* No fork-safe interface: a child must call C_Initialize again. */
    assert_int_equal(list[0].flags, 0);
    assert_int_not_equal(gi((CK_UTF8CHAR *)"PKCS 11", NULL, &i, 1 /* CKF_INTERFACE_FORK_SAFE */), CKR_OK);
    /* The 3.0 list starts with the same 2.40 functions. */
    CK_FUNCTION_LIST *l3 = list[0].pFunctionList;
    assert_ptr_equal(l3->C_Initialize, f->C_Initialize);
    assert_ptr_equal(l3->C_WaitForSlotEvent, f->C_WaitForSlotEvent);
    /* Through it, the library says 3.0. */
    CK_INFO info;
    assert_int_equal(l3->C_Initialize(NULL), CKR_OK);
    assert_int_equal(l3->C_GetInfo(&info), CKR_OK);
    assert_int_equal(info.cryptokiVersion.major, 3);
    assert_int_equal(f->C_GetInfo(&info), CKR_OK);
    assert_int_equal(info.cryptokiVersion.major, 2);
    assert_int_equal(l3->C_Finalize(NULL), CKR_OK);
}

static void test_not_initialized(void **state)
{
    (void)state;
    NEED_MODULE();
    CK_INFO info;
    CK_ULONG n = 0;
    CK_SESSION_HANDLE h;
    CK_SLOT_ID slot;
    assert_int_equal(f->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_int_equal(f->C_GetSlotList(CK_FALSE, NULL, &n), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_int_equal(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_int_equal(f->C_CloseSession(1), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_int_equal(f->C_Login(1, CKU_USER, (CK_UTF8CHAR *)"123456", 6), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_int_equal(f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_int_equal(f->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
}

static void test_basics(void **state)
{
    (void)state;
    NEED_MODULE();
    CK_C_INITIALIZE_ARGS a = { 0 };
    a.flags = CKF_OS_LOCKING_OK;
    assert_int_equal(f->C_Initialize(&a), CKR_OK);
    assert_int_equal(f->C_Initialize(&a), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    CK_INFO info;
    assert_int_equal(f->C_GetInfo(&info), CKR_OK);
    assert_memory_equal(info.manufacturerID, "cardrenew ", 10);
    assert_int_equal(info.cryptokiVersion.major, 2);
    CK_ULONG n = 99;
    assert_int_equal(f->C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK);
    assert_int_equal(n, 0);         /* no PC/SC service: no readers */
    assert_int_equal(f->C_GetSlotList(CK_TRUE, NULL, NULL), CKR_ARGUMENTS_BAD);
    CK_SLOT_INFO si;
    CK_TOKEN_INFO ti;
    CK_SESSION_HANDLE h;
    CK_SESSION_INFO sinfo;
    CK_SLOT_ID slot;
    assert_int_equal(f->C_GetSlotInfo(999, &si), CKR_SLOT_ID_INVALID);
    assert_int_equal(f->C_GetTokenInfo(999, &ti), CKR_SLOT_ID_INVALID);
    assert_int_equal(f->C_OpenSession(999, CKF_SERIAL_SESSION, NULL, NULL, &h), CKR_SLOT_ID_INVALID);
    assert_int_equal(f->C_CloseSession(12345), CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(f->C_GetSessionInfo(12345, &sinfo), CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(f->C_Login(12345, CKU_USER, (CK_UTF8CHAR *)"123456", 6), CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL), CKR_NO_EVENT);
    /* The session handle comes first: no session, no RNG answer. */
    assert_int_equal(f->C_GenerateRandom(1, (CK_BYTE *)&n, 1), CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(f->C_DigestInit(1, NULL), CKR_FUNCTION_NOT_SUPPORTED);
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    assert_int_equal(f->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
}

static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 300; i++) {
        CK_ULONG n = 0;
        CK_INFO info;
        CK_SESSION_INFO si;
        if (f->C_GetSlotList(CK_FALSE, NULL, &n) != CKR_OK ||
            f->C_GetInfo(&info) != CKR_OK ||
            f->C_GetSessionInfo(777, &si) != CKR_SESSION_HANDLE_INVALID)
            return (void *)1;
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    NEED_MODULE();
    CK_C_INITIALIZE_ARGS a = { 0 };
    a.flags = CKF_OS_LOCKING_OK;
    assert_int_equal(f->C_Initialize(&a), CKR_OK);
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, NULL), 0);
    for (int i = 0; i < 8; i++) {
        void *r;
        pthread_join(t[i], &r);
        assert_null(r);
    }
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
}

static void test_fork(void **state)
{
    (void)state;
    NEED_MODULE();
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        CK_ULONG n = 0;
        CK_INFO info;
        int bad = 0;
        /* Inherited state is not the child's until it initialises. */
        bad |= f->C_GetSlotList(CK_FALSE, NULL, &n) != CKR_CRYPTOKI_NOT_INITIALIZED;
        bad |= f->C_GetInfo(&info) != CKR_CRYPTOKI_NOT_INITIALIZED;
        bad |= f->C_Finalize(NULL) != CKR_CRYPTOKI_NOT_INITIALIZED;
        bad |= f->C_Initialize(NULL) != CKR_OK;
        bad |= f->C_GetSlotList(CK_FALSE, NULL, &n) != CKR_OK;
        bad |= f->C_Finalize(NULL) != CKR_OK;
        _exit(bad ? 1 : 0);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    CK_ULONG n = 0;
    assert_int_equal(f->C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK);     /* parent unaffected */
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exports),
        cmocka_unit_test(test_not_initialized),
        cmocka_unit_test(test_basics),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_fork),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
