/* trace.c: CARDRENEW_DEBUG=<file> or 1 (stderr), read once with
 * plat_getenv (secure_getenv on Linux). One line per call and its CKR; PINs appear as lengths. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card/plat.h"
#include "pkcs11/p11.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static FILE *out;

static void trace_open(void)
{
    const char *v = plat_getenv("CARDRENEW_DEBUG");
    if (!v || !*v || strcmp(v, "0") == 0)
        return;
    if (strcmp(v, "1") == 0) {
        out = stderr;
        return;
    }
    out = plat_fopen_append(v);
    if (out)
        setvbuf(out, NULL, _IOLBF, 0);
}

bool p11_trace_on(void)
{
    pthread_once(&once, trace_open);
    return out != NULL;
}

void p11_trace(const char *fmt, ...)
{
    if (!p11_trace_on())
        return;
    va_list ap;
    va_start(ap, fmt);
    plat_file_lock(out);
    fprintf(out, "cardrenew-pkcs11[%ld]: ", plat_pid());
    vfprintf(out, fmt, ap);
    fputc('\n', out);
    plat_file_unlock(out);
    va_end(ap);
}

const char *p11_rv_name(CK_RV rv)
{
    switch (rv) {
#define N(x) case x: return #x
    N(CKR_OK); N(CKR_CANCEL); N(CKR_HOST_MEMORY); N(CKR_SLOT_ID_INVALID);
    N(CKR_GENERAL_ERROR); N(CKR_FUNCTION_FAILED); N(CKR_ARGUMENTS_BAD);
    N(CKR_NO_EVENT); N(CKR_CANT_LOCK); N(CKR_ATTRIBUTE_SENSITIVE);
    N(CKR_ATTRIBUTE_TYPE_INVALID); N(CKR_ATTRIBUTE_VALUE_INVALID);
    N(CKR_ACTION_PROHIBITED); N(CKR_DATA_INVALID); N(CKR_DATA_LEN_RANGE);
    N(CKR_DEVICE_ERROR); N(CKR_DEVICE_MEMORY); N(CKR_DEVICE_REMOVED);
    N(CKR_ENCRYPTED_DATA_INVALID); N(CKR_ENCRYPTED_DATA_LEN_RANGE);
    N(CKR_FUNCTION_NOT_SUPPORTED); N(CKR_KEY_HANDLE_INVALID);
    N(CKR_KEY_SIZE_RANGE); N(CKR_KEY_TYPE_INCONSISTENT);
    N(CKR_KEY_FUNCTION_NOT_PERMITTED); N(CKR_MECHANISM_INVALID);
    N(CKR_MECHANISM_PARAM_INVALID); N(CKR_OBJECT_HANDLE_INVALID);
    N(CKR_OPERATION_ACTIVE); N(CKR_OPERATION_NOT_INITIALIZED);
    N(CKR_PIN_INCORRECT); N(CKR_PIN_INVALID); N(CKR_PIN_LEN_RANGE);
    N(CKR_PIN_LOCKED); N(CKR_SESSION_CLOSED); N(CKR_SESSION_COUNT);
    N(CKR_SESSION_HANDLE_INVALID); N(CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    N(CKR_SESSION_READ_ONLY); N(CKR_SESSION_EXISTS);
    N(CKR_SESSION_READ_ONLY_EXISTS); N(CKR_SESSION_READ_WRITE_SO_EXISTS);
    N(CKR_SIGNATURE_INVALID); N(CKR_SIGNATURE_LEN_RANGE);
    N(CKR_TEMPLATE_INCOMPLETE); N(CKR_TEMPLATE_INCONSISTENT);
    N(CKR_TOKEN_NOT_PRESENT); N(CKR_TOKEN_NOT_RECOGNIZED);
    N(CKR_TOKEN_WRITE_PROTECTED); N(CKR_USER_ALREADY_LOGGED_IN);
    N(CKR_USER_NOT_LOGGED_IN); N(CKR_USER_PIN_NOT_INITIALIZED);
    N(CKR_USER_TYPE_INVALID); N(CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
    N(CKR_BUFFER_TOO_SMALL); N(CKR_CRYPTOKI_NOT_INITIALIZED);
    N(CKR_CRYPTOKI_ALREADY_INITIALIZED); N(CKR_MUTEX_BAD);
    N(CKR_MUTEX_NOT_LOCKED); N(CKR_CURVE_NOT_SUPPORTED);
#undef N
    default: return "CKR_?";
    }
}
