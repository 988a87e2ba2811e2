/* plat_win.c: card/plat.h on Windows (mingw-w64, winpthreads linked
 * statically). winpthreads times its condition waits on the wall clock
 * whatever the attribute says, so a monotonic deadline becomes a relative
 * wait here. */
#include <windows.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "card/plat.h"

const char *plat_getenv(const char *name)
{
    return getenv(name);
}

long plat_pid(void)
{
    return (long)GetCurrentProcessId();
}

void plat_atfork_child(void (*fn)(void))
{
    (void)fn;                   /* no fork on Windows */
}

void plat_now(struct timespec *t)
{
    clock_gettime(CLOCK_MONOTONIC, t);
}

void plat_sleep_ms(unsigned ms)
{
    Sleep(ms);
}

void plat_cond_init(pthread_cond_t *cv)
{
    pthread_cond_init(cv, NULL);
}

int plat_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *m, const struct timespec *t)
{
    struct timespec now, rel;
    plat_now(&now);
    rel.tv_sec = t->tv_sec - now.tv_sec;
    rel.tv_nsec = t->tv_nsec - now.tv_nsec;
    if (rel.tv_nsec < 0) {
        rel.tv_sec--;
        rel.tv_nsec += 1000000000L;
    }
    if (rel.tv_sec < 0)
        return ETIMEDOUT;
    return pthread_cond_timedwait_relative_np(cv, m, &rel);
}

/* Pins the DLL: FreeLibrary no longer unloads it. */
static void keep_loaded(void)
{
    HMODULE self;
    (void)GetModuleHandleExA(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_PIN,
                             (LPCSTR)(void *)keep_loaded, &self);
}

static pthread_once_t keep_once = PTHREAD_ONCE_INIT;

int plat_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
    int rc = pthread_create(t, NULL, fn, arg);
    if (rc == 0)
        pthread_once(&keep_once, keep_loaded);
    return rc;
}

FILE *plat_fopen_append(const char *path)
{
    return fopen(path, "aN");   /* N: not inherited */
}

void plat_file_lock(FILE *f)
{
    _lock_file(f);
}

void plat_file_unlock(FILE *f)
{
    _unlock_file(f);
}

FILE *plat_fopen_read(const char *path)
{
    return fopen(path, "rN");
}

bool plat_private_dir(const char *name, char *out, size_t n, const char **why)
{
    /* A user's LOCALAPPDATA is readable and writable by that user alone
     * (and administrators) by its default ACL; what is made inside it
     * inherits that. */
    const char *base = getenv("LOCALAPPDATA");
    *why = NULL;
    if (!base || !base[0]) {
        *why = "LOCALAPPDATA is not set";
        return false;
    }
    int len = snprintf(out, n, "%s\\%s", base, name);
    if (len < 0 || (size_t)len >= n)
        return false;
    if (!CreateDirectoryA(out, NULL) && GetLastError() != ERROR_ALREADY_EXISTS) {
        *why = "cannot make the directory in LOCALAPPDATA";
        return false;
    }
    DWORD a = GetFileAttributesA(out);
    if (a == INVALID_FILE_ATTRIBUTES || !(a & FILE_ATTRIBUTE_DIRECTORY) ||
        (a & FILE_ATTRIBUTE_REPARSE_POINT)) {
        *why = "the directory in LOCALAPPDATA is not a plain directory";
        return false;
    }
    return true;
}

bool plat_replace_file(const char *path, const char *data, size_t len)
{
    char tmp[MAX_PATH + 32];
    int n = snprintf(tmp, sizeof(tmp), "%s.%lu.tmp", path, (unsigned long)GetCurrentProcessId());
    if (n < 0 || (size_t)n >= sizeof(tmp) || len > MAXDWORD)
        return false;
    HANDLE h = CreateFileA(tmp, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                           FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return false;
    DWORD done = 0;
    bool ok = WriteFile(h, data, (DWORD)len, &done, NULL) && done == len;
    ok = CloseHandle(h) && ok;
    /* MoveFileEx replaces in one step: a reader sees the old or the new. */
    if (!ok || !MoveFileExA(tmp, path, MOVEFILE_REPLACE_EXISTING)) {
        DeleteFileA(tmp);
        return false;
    }
    return true;
}

void plat_stamp_of(const char *path, struct plat_stamp *out)
{
    WIN32_FILE_ATTRIBUTE_DATA d;
    memset(out, 0, sizeof(*out));
    if (!GetFileAttributesExA(path, GetFileExInfoStandard, &d) ||
        (d.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY))
        return;
    out->exists = true;
    out->size = ((unsigned long long)d.nFileSizeHigh << 32) | d.nFileSizeLow;
    out->mtime_s = (long long)d.ftLastWriteTime.dwHighDateTime;
    out->mtime_ns = (long long)d.ftLastWriteTime.dwLowDateTime;
    out->ctime_s = (long long)d.ftCreationTime.dwHighDateTime;
    out->ctime_ns = (long long)d.ftCreationTime.dwLowDateTime;
}
