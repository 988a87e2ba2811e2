/* plat_win.c: renew/plat.h on Windows. */
#include <openssl/err.h>
#include <openssl/x509.h>
/* After OpenSSL's headers: wincrypt.h defines X509_NAME and others. */
#include <windows.h>
#include <wincrypt.h>
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renew/plat.h"
#include "renew/renew.h"

void *renew_plat_module_open(const char *path, char *err, size_t errlen)
{
    /* The DLL's own folder is searched for what it imports, not the
     * current directory. */
    HMODULE m = LoadLibraryExA(path, NULL, LOAD_WITH_ALTERED_SEARCH_PATH);
    if (!m) {
        DWORD code = GetLastError();
        char msg[256] = "";
        FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, code, 0,
                       msg, sizeof(msg), NULL);
        msg[strcspn(msg, "\r\n")] = '\0';
        snprintf(err, errlen, "%s: error %lu%s%s", path, (unsigned long)code, msg[0] ? ", " : "",
                 msg);
    }
    return (void *)m;
}

void *renew_plat_module_sym(void *module, const char *name)
{
    return (void *)GetProcAddress((HMODULE)module, name);
}

void renew_plat_module_close(void *module)
{
    FreeLibrary((HMODULE)module);
}

void renew_plat_module_dir(char *out, size_t outlen)
{
    char exe[MAX_PATH];
    DWORD n = GetModuleFileNameA(NULL, exe, sizeof(exe));
    char *slash = n && n < sizeof(exe) ? strrchr(exe, '\\') : NULL;
    if (slash)
        snprintf(out, outlen, "%.*s", (int)(slash - exe), exe);
    else
        snprintf(out, outlen, ".");
}

void renew_plat_installed_module(char *out, size_t outlen)
{
    char dir[MAX_PATH];
    renew_plat_module_dir(dir, sizeof dir);
    snprintf(out, outlen, "%s\\cardrenew-pkcs11.dll", dir);
}

/* No p11-kit here: a path, or a DLL's file name in the program's folder;
 * NULL: the installed module. */
int renew_plat_module_load(const char *arg, struct renew_plat_module *m, struct renew_err *e)
{
    char why[400];
    CK_C_GetFunctionList gfl;
    memset(m, 0, sizeof *m);
    if (!arg || !*arg) {
        renew_plat_installed_module(m->path, sizeof m->path);
    } else if (strpbrk(arg, "\\/")) {
        snprintf(m->path, sizeof m->path, "%s", arg);
    } else if (strstr(arg, ".dll")) {
        char dir[MAX_PATH];
        renew_plat_module_dir(dir, sizeof dir);
        snprintf(m->path, sizeof m->path, "%s\\%s", dir, arg);
    } else {
        return renew_fail(e, RENEW_E_USAGE,
                          "no PKCS#11 module named \"%s\": give --module PATH to its .dll", arg);
    }
    m->handle = renew_plat_module_open(m->path, why, sizeof why);
    if (!m->handle)
        return renew_fail(e, RENEW_E_NO_TOKEN,
                          "cannot load the PKCS#11 module (%s): install it or give --module PATH",
                          why);
    *(void **)&gfl = renew_plat_module_sym(m->handle, "C_GetFunctionList");
    if (!gfl || gfl(&m->f) != CKR_OK || !m->f) {
        renew_plat_module_unload(m);
        return renew_fail(e, RENEW_E_NO_TOKEN,
                          "%s is not a PKCS#11 module (no C_GetFunctionList)", m->path);
    }
    return 0;
}

void renew_plat_module_unload(struct renew_plat_module *m)
{
    if (m->handle)
        renew_plat_module_close(m->handle);
    m->handle = NULL;
    m->f = NULL;
}

int renew_plat_state_dir(char *out, size_t outlen, struct renew_err *e)
{
    const char *base = getenv("LOCALAPPDATA");
    if (!base || !base[0])
        return renew_fail(e, RENEW_E_USAGE,
                          "cannot find a place for the renewal journal: LOCALAPPDATA is not set");
    int n = snprintf(out, outlen, "%s\\cardrenew", base);
    if (n < 0 || (size_t)n >= outlen)
        return renew_fail(e, RENEW_E_USAGE, "the state directory path is too long (LOCALAPPDATA)");
    return 0;
}

/* A Windows error as the nearest errno value, for strerror. */
static int werr(void)
{
    switch (GetLastError()) {
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS: return EEXIST;
    case ERROR_ACCESS_DENIED: return EACCES;
    case ERROR_PATH_NOT_FOUND:
    case ERROR_FILE_NOT_FOUND: return ENOENT;
    case ERROR_DISK_FULL: return ENOSPC;
    case ERROR_LOCK_VIOLATION:
    case ERROR_SHARING_VIOLATION: return EWOULDBLOCK;
    default: return EIO;
    }
}

/* A CRT descriptor owning h, so that close() releases it. */
static int to_fd(HANDLE h, int *fd)
{
    *fd = _open_osfhandle((intptr_t)h, _O_BINARY);
    if (*fd < 0) {
        CloseHandle(h);
        return EMFILE;
    }
    return 0;
}

int renew_plat_replace_durable(const char *path, const void *data, size_t len, bool *moved)
{
    char tmp[600];
    *moved = false;
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp || len > MAXDWORD)
        return ENAMETOOLONG;
    DeleteFileA(tmp);
    /* CREATE_NEW never opens an existing file or follows a link to one. */
    HANDLE h = CreateFileA(tmp, GENERIC_WRITE, 0, NULL, CREATE_NEW,
                           FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return werr();
    DWORD done = 0;
    int err = !WriteFile(h, data, (DWORD)len, &done, NULL) || done != len ||
              !FlushFileBuffers(h) ? werr() : 0;
    CloseHandle(h);
    /* MOVEFILE_WRITE_THROUGH returns once the move is on disk. */
    if (!err && !MoveFileExA(tmp, path, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
        err = werr();
    if (err) {
        DeleteFileA(tmp);
        return err;
    }
    *moved = true;
    return 0;
}

int renew_plat_create_new(const char *path, int *fd)
{
    *fd = -1;
    HANDLE h = CreateFileA(path, GENERIC_WRITE, 0, NULL, CREATE_NEW,
                           FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return werr();
    return to_fd(h, fd);
}

int renew_plat_sync(int fd)
{
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    return h != INVALID_HANDLE_VALUE && FlushFileBuffers(h) ? 0 : EIO;
}

int renew_plat_lock(const char *path, int *fd)
{
    *fd = -1;
    HANDLE h = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                           NULL, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return werr();
    OVERLAPPED o = { 0 };
    if (!LockFileEx(h, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &o)) {
        CloseHandle(h);
        return EWOULDBLOCK;
    }
    return to_fd(h, fd);    /* closing the handle releases the lock */
}

int renew_plat_dir_ready(const char *dir, struct renew_err *e)
{
    char tmp[512];
    int n = snprintf(tmp, sizeof tmp, "%s", dir);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return renew_fail(e, RENEW_E_USAGE, "the journal directory path is too long: %s", dir);
    /* Each missing folder in turn, after the drive ("C:\") or share. */
    for (char *p = tmp + 1; *p; p++) {
        if ((*p != '\\' && *p != '/') || p[-1] == ':' || p[-1] == '\\' || p[-1] == '/')
            continue;
        char c = *p;
        *p = '\0';
        CreateDirectoryA(tmp, NULL);
        *p = c;
    }
    if (!CreateDirectoryA(tmp, NULL) && GetLastError() != ERROR_ALREADY_EXISTS)
        return renew_fail(e, RENEW_E_USAGE, "cannot create the journal directory %s: %s (check LOCALAPPDATA)",
                          dir, strerror(werr()));
    DWORD a = GetFileAttributesA(dir);
    if (a == INVALID_FILE_ATTRIBUTES)
        return renew_fail(e, RENEW_E_USAGE, "cannot read the journal directory %s: %s", dir,
                          strerror(werr()));
    if (!(a & FILE_ATTRIBUTE_DIRECTORY) || (a & FILE_ATTRIBUTE_REPARSE_POINT))
        return renew_fail(e, RENEW_E_USAGE,
                          "the journal directory %s is not a directory (a link?): remove it and retry", dir);
    return 0;
}

int renew_plat_read_own(const char *path, size_t max, char **text, size_t *len)
{
    BY_HANDLE_FILE_INFORMATION fi;
    *text = NULL;
    *len = 0;
    /* FILE_FLAG_OPEN_REPARSE_POINT opens a link itself, which is then
     * refused, rather than what it points to; FILE_FLAG_BACKUP_SEMANTICS
     * opens a folder, refused as not a file. */
    HANDLE h = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING,
                           FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return werr();
    int err = 0;
    char *buf = NULL;
    DWORD n = 0;
    if (!GetFileInformationByHandle(h, &fi))
        err = EIO;
    else if (fi.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)
        err = ELOOP;
    else if (fi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
        err = EPERM;
    else if (fi.nFileSizeHigh || fi.nFileSizeLow > max)
        err = EFBIG;
    else if (!(buf = malloc((size_t)fi.nFileSizeLow + 1)))
        err = ENOMEM;
    else if (!ReadFile(h, buf, fi.nFileSizeLow, &n, NULL) || n != fi.nFileSizeLow)
        err = EIO;
    CloseHandle(h);
    if (err) {
        free(buf);
        return err;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

int renew_plat_move_new(const char *from, const char *to)
{
    /* Without MOVEFILE_REPLACE_EXISTING an existing 'to' is an error. */
    return MoveFileExA(from, to, MOVEFILE_WRITE_THROUGH) ? 0 : werr();
}

int renew_plat_default_trust(X509_STORE *store)
{
    HCERTSTORE roots = CertOpenSystemStoreA(0, "ROOT");
    int added = 0;
    if (!roots)
        return 0;
    for (PCCERT_CONTEXT c = NULL; (c = CertEnumCertificatesInStore(roots, c));) {
        const unsigned char *p = c->pbCertEncoded;
        X509 *x = d2i_X509(NULL, &p, (long)c->cbCertEncoded);
        added += x && X509_STORE_add_cert(store, x);
        X509_free(x);
    }
    CertCloseStore(roots, 0);
    ERR_clear_error();      /* a root OpenSSL cannot read is skipped */
    return added > 0;
}

void renew_plat_kill_self(void)
{
    TerminateProcess(GetCurrentProcess(), 137);
}
