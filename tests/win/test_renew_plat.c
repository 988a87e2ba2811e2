/* test_renew_plat.c: renew/plat_win.c under Wine, in a fresh folder given
 * as the argument: the journal's durable replace, new-file-only creation,
 * the exclusive lock, reading a journal back, moving one aside without
 * replacing, its folder made and checked, and loading a PKCS#11 module by
 * path.
 *   test_renew_plat.exe DIR MODULE.dll
 * One "ok: ..." line per check; exit 0 when all passed. */
#include <openssl/x509.h>
#include <windows.h>
#include <errno.h>
#include <io.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renew/plat.h"
#include "renew/renew.h"

static int failed;

/* renew/p11.c's, which brings the whole PKCS#11 client with it: the same here. */
int renew_fail(struct renew_err *e, int code, const char *fmt, ...)
{
    va_list ap;
    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return code;
}

static void check(int cond, const char *what)
{
    printf("%s: %s\n", cond ? "ok" : "FAIL", what);
    failed |= !cond;
}

static int content_is(const char *path, const char *want)
{
    char buf[64] = "";
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    return f && strcmp(buf, want) == 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_renew_plat DIR MODULE.dll\n");
        return 2;
    }
    char j[600], tmp[620], pem[600], lock[600], why[400], dir[600];
    snprintf(j, sizeof j, "%s\\card.journal", argv[1]);
    snprintf(tmp, sizeof tmp, "%s.tmp", j);
    snprintf(pem, sizeof pem, "%s\\card.old.pem", argv[1]);
    snprintf(lock, sizeof lock, "%s.lock", j);
    bool moved = false;

    check(renew_plat_replace_durable(j, "first", 5, &moved) == 0 && moved && content_is(j, "first"),
          "a new journal written whole");
    check(renew_plat_replace_durable(j, "second", 6, &moved) == 0 && moved &&
              content_is(j, "second") && GetFileAttributesA(tmp) == INVALID_FILE_ATTRIBUTES,
          "the journal replaced whole, no temp file left");

    int fd = -1, fd2 = -1;
    check(renew_plat_create_new(pem, &fd) == 0 && fd >= 0 && _write(fd, "pem", 3) == 3 &&
              renew_plat_sync(fd) == 0 && _close(fd) == 0 && content_is(pem, "pem"),
          "a certificate copy created and flushed");
    check(renew_plat_create_new(pem, &fd) == EEXIST, "an existing file is never reopened (EEXIST)");

    check(renew_plat_lock(lock, &fd) == 0 && fd >= 0, "the lock taken");
    check(renew_plat_lock(lock, &fd2) == EWOULDBLOCK, "a second lock refused at once (EWOULDBLOCK)");
    _close(fd);
    check(renew_plat_lock(lock, &fd2) == 0, "the lock free again once closed");
    _close(fd2);

    char *text = NULL, aside[620], sub[620];
    size_t len = 0;
    check(renew_plat_read_own(j, 100, &text, &len) == 0 && len == 6 && strcmp(text, "second") == 0,
          "the journal read back whole");
    free(text);
    check(renew_plat_read_own(j, 5, &text, &len) == EFBIG && !text,
          "a journal over the size limit is refused (EFBIG)");
    snprintf(aside, sizeof aside, "%s.damaged", j);
    check(renew_plat_read_own(aside, 100, &text, &len) == ENOENT, "a missing journal is ENOENT");
    check(renew_plat_read_own(argv[1], 100, &text, &len) == EPERM, "a folder is not a journal (EPERM)");
    check(renew_plat_move_new(j, aside) == 0 && content_is(aside, "second") &&
              GetFileAttributesA(j) == INVALID_FILE_ATTRIBUTES,
          "a journal moved aside");
    renew_plat_replace_durable(j, "third", 5, &moved);
    check(renew_plat_move_new(j, aside) == EEXIST && content_is(aside, "second") &&
              content_is(j, "third"),
          "moving aside never replaces one moved before (EEXIST)");

    struct renew_err de = { 0 };
    snprintf(sub, sizeof sub, "%s\\state\\deeper\\cardrenew", argv[1]);
    check(renew_plat_dir_ready(sub, &de) == 0 &&
              (GetFileAttributesA(sub) & FILE_ATTRIBUTE_DIRECTORY) &&
              renew_plat_dir_ready(sub, &de) == 0,
          "the journals' folder made with its parents, and fine when it exists");
    check(renew_plat_dir_ready(j, &de) == RENEW_E_USAGE && strstr(de.msg, "not a directory"),
          "a file where the folder should be is refused");

    X509_STORE *roots = X509_STORE_new();
    int nroots = roots && renew_plat_default_trust(roots) ? sk_X509_OBJECT_num(X509_STORE_get0_objects(roots)) : 0;
    printf("(%d roots)\n", nroots);
    check(nroots > 0, "the system's trusted roots read from Windows' ROOT store");
    X509_STORE_free(roots);

    why[0] = '\0';
    check(renew_plat_module_open("Z:\\nonexistent\\none.dll", why, sizeof why) == NULL && why[0],
          "a missing module fails with a reason");
    void *m = renew_plat_module_open(argv[2], why, sizeof why);
    check(m && renew_plat_module_sym(m, "C_GetFunctionList") &&
              !renew_plat_module_sym(m, "C_Initialize"),
          "the module loaded; C_GetFunctionList found, C_Initialize not exported");
    if (m)
        renew_plat_module_close(m);
    renew_plat_module_dir(dir, sizeof dir);
    char exe[MAX_PATH];
    GetModuleFileNameA(NULL, exe, sizeof exe);
    check(strncmp(exe, dir, strlen(dir)) == 0 && exe[strlen(dir)] == '\\',
          "modules named without a folder are looked for beside the program");

    struct renew_err e = { 0 };
    char want[600];
    snprintf(want, sizeof want, "%s\\cardrenew", getenv("LOCALAPPDATA"));
    check(renew_plat_state_dir(dir, sizeof dir, &e) == 0 && strcmp(dir, want) == 0,
          "the journals' folder is %LOCALAPPDATA%\\cardrenew");
    _putenv("LOCALAPPDATA=");
    check(renew_plat_state_dir(dir, sizeof dir, &e) == RENEW_E_USAGE && strstr(e.msg, "LOCALAPPDATA"),
          "without LOCALAPPDATA the journal has no place, and says why");
    return failed;
}
