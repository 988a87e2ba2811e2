/* test_pkcs11_init.c: the four CK_C_INITIALIZE_ARGS cases, partial mutex
 * callbacks, double initialise and finalise, and the application's
 * mutexes being used. No card I/O happens in C_Initialize. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "pkcs11/p11.h"

static int created, destroyed, locks, unlocks;

static CK_RV mk(CK_VOID_PTR_PTR m) { created++; *m = malloc(1); return *m ? CKR_OK : CKR_HOST_MEMORY; }
static CK_RV rm(CK_VOID_PTR m) { destroyed++; free(m); return CKR_OK; }
static CK_RV lk(CK_VOID_PTR m) { (void)m; locks++; return CKR_OK; }
static CK_RV ul(CK_VOID_PTR m) { (void)m; unlocks++; return CKR_OK; }

static void reset(void) { created = destroyed = locks = unlocks = 0; }

static void test_no_args(void **state)
{
    (void)state;
    assert_false(p11_is_initialized());
    assert_int_equal(p11_finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_int_equal(p11_initialize(NULL), CKR_OK);
    assert_true(p11_is_initialized());
    assert_int_equal(p11_initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    int dummy;
    assert_int_equal(p11_finalize(&dummy), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11_finalize(NULL), CKR_OK);
    assert_false(p11_is_initialized());
}

static void test_flags_only(void **state)
{
    (void)state;
    CK_C_INITIALIZE_ARGS a = { 0 };
    assert_int_equal(p11_initialize(&a), CKR_OK);                  /* case 1 */
    assert_int_equal(p11_finalize(NULL), CKR_OK);
    a.flags = CKF_OS_LOCKING_OK;
    assert_int_equal(p11_initialize(&a), CKR_OK);                  /* case 2 */
    assert_int_equal(p11_finalize(NULL), CKR_OK);
}

static void test_callbacks(void **state)
{
    (void)state;
    reset();
    CK_C_INITIALIZE_ARGS a = { mk, rm, lk, ul, 0, NULL };
    assert_int_equal(p11_initialize(&a), CKR_OK);                  /* case 3 */
    assert_int_equal(created, 1 + P11_MAX_SLOTS);   /* the global lock, one per slot */
    p11_lock();
    p11_unlock();
    assert_int_equal(locks, 1);
    assert_int_equal(unlocks, 1);
    /* A slot's lock: its own mutex once, the global one to count users. */
    p11_slot_lock(3);
    assert_int_equal(locks, 3);
    /* Held (even by this thread): a trylock answers at once. */
    assert_false(p11_slot_trylock(3));
    assert_true(p11_slot_trylock(4));
    p11_slot_unlock(4);
    p11_slot_unlock(3);
    assert_int_equal(locks, unlocks);
    assert_int_equal(p11_finalize(NULL), CKR_OK);
    assert_int_equal(destroyed, created);

    reset();
    a.flags = CKF_OS_LOCKING_OK;
    assert_int_equal(p11_initialize(&a), CKR_OK);                  /* case 4: the OS */
    p11_lock();
    p11_unlock();
    assert_int_equal(locks, 0);
    assert_int_equal(p11_finalize(NULL), CKR_OK);
}

/* The card timeout (card/io.c) needs threads of the module's own: an
 * application that forbids them gets calls in its threads, unbounded. */
static void test_no_threads_no_timeout(void **state)
{
    (void)state;
    CK_C_INITIALIZE_ARGS a = { NULL, NULL, NULL, NULL, CKF_OS_LOCKING_OK, NULL };
    assert_int_equal(p11_initialize(&a), CKR_OK);
    assert_int_equal(card_get_timeout(), 5000);         /* the default, 5 s */
    assert_int_equal(p11_finalize(NULL), CKR_OK);
    a.flags |= CKF_LIBRARY_CANT_CREATE_OS_THREADS;
    assert_int_equal(p11_initialize(&a), CKR_OK);
    assert_int_equal(card_get_timeout(), 0);
    assert_int_equal(p11_finalize(NULL), CKR_OK);
}

static void test_bad_args(void **state)
{
    (void)state;
    CK_C_INITIALIZE_ARGS partial = { mk, rm, NULL, ul, CKF_OS_LOCKING_OK, NULL };
    assert_int_equal(p11_initialize(&partial), CKR_ARGUMENTS_BAD);
    CK_C_INITIALIZE_ARGS one = { NULL, NULL, lk, NULL, 0, NULL };
    assert_int_equal(p11_initialize(&one), CKR_ARGUMENTS_BAD);
    int r;
    CK_C_INITIALIZE_ARGS reserved = { NULL, NULL, NULL, NULL, 0, &r };
    assert_int_equal(p11_initialize(&reserved), CKR_ARGUMENTS_BAD);
    assert_false(p11_is_initialized());
}

int main(void)
{
    unsetenv("CARDRENEW_CARD_TIMEOUT");     /* the default is under test */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_args),
        cmocka_unit_test(test_flags_only),
        cmocka_unit_test(test_callbacks),
        cmocka_unit_test(test_no_threads_no_timeout),
        cmocka_unit_test(test_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
