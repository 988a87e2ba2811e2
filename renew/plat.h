/* plat.h: what the renewal engine does differently on POSIX and on
 * Windows. One file per platform, chosen by the Makefile: plat_posix.c
 * (Linux) and plat_win.c (Windows). */
#ifndef CARDRENEW_RENEW_PLAT_H
#define CARDRENEW_RENEW_PLAT_H

#include <stdbool.h>
#include <stddef.h>
#include <p11-kit/pkcs11.h>

struct renew_err;

/* A PKCS#11 module, loaded and not yet initialised. */
struct renew_plat_module {
    CK_FUNCTION_LIST *f;
    void *handle;               /* for renew_plat_module_unload */
    char path[512];             /* its file, for messages */
};
/* Loads arg: a file path; a configured module's name or a file name in the
 * module folder; NULL: the configured "cardrenew" module, else the
 * installed one. On Linux through p11-kit (its module configuration, its
 * module folder); on Windows LoadLibrary (names in the program's folder).
 * 0; RENEW_E_USAGE for a name that is no module; RENEW_E_NO_TOKEN for one
 * that cannot be loaded. */
int renew_plat_module_load(const char *arg, struct renew_plat_module *m, struct renew_err *e);
void renew_plat_module_unload(struct renew_plat_module *m);

/* The module when none is named and none is configured: where make install
 * puts ours (/usr/local/lib/pkcs11/cardrenew-pkcs11.so); on Windows
 * cardrenew-pkcs11.dll beside the running program. */
void renew_plat_installed_module(char *out, size_t outlen);
/* Windows: the parts of its loader (also tested on their own). A module by
 * path: its handle, or NULL with the reason in err; a symbol; the folder
 * module names are looked for in (the running program's). */
void *renew_plat_module_open(const char *path, char *err, size_t errlen);
void *renew_plat_module_sym(void *module, const char *name);
void renew_plat_module_close(void *module);
void renew_plat_module_dir(char *out, size_t outlen);

/* The folder of the renewal journals: $XDG_STATE_HOME/cardrenew or
 * ~/.local/state/cardrenew; %LOCALAPPDATA%\cardrenew on Windows. */
int renew_plat_state_dir(char *out, size_t outlen, struct renew_err *e);
/* That folder made if missing (with its parents) and fit to hold the
 * journals: a real folder, not a link. On POSIX also the user's own, mode
 * 0700 or stricter; on Windows it inherits the user profile's access list
 * (%LOCALAPPDATA%). 0, or RENEW_E_USAGE with e set. */
int renew_plat_dir_ready(const char *dir, struct renew_err *e);

/* The journal's files. Each returns 0 or an errno value.
 * Replaces path whole and durably: a fresh file beside it (never through a
 * link) written and flushed to disk, moved over path, and the move itself
 * made durable. *moved says the move was done (a later failure is the
 * durability's). */
int renew_plat_replace_durable(const char *path, const void *data, size_t len, bool *moved);
/* A new file that did not exist (EEXIST otherwise), only the user's;
 * its descriptor in *fd. */
int renew_plat_create_new(const char *path, int *fd);
/* The file's data on disk. */
int renew_plat_sync(int fd);
/* An exclusive lock on path (made if missing), without waiting: EWOULDBLOCK
 * when another process holds it. Closing *fd releases it. */
int renew_plat_lock(const char *path, int *fd);
/* A small file of the user's read whole, never through a link: *text
 * (NUL-terminated, *len bytes, at most max; the caller frees it). 0 or:
 * ENOENT, ELOOP (a link), EPERM (not a regular file of the user's), EFBIG
 * (larger than max), EIO (not read whole), or why it cannot be opened. */
int renew_plat_read_own(const char *path, size_t max, char **text, size_t *len);
/* Moves from to to, which must not exist (EEXIST: nothing is replaced). */
int renew_plat_move_new(const char *from, const char *to);

/* The system's trusted roots, for an https CA without ca_tls_trust, added
 * to store: OpenSSL's default paths (the distribution's store) on Linux;
 * Windows' own "ROOT" certificate store on Windows, where OpenSSL's
 * default paths name no folder that exists. 1, or 0 when none was added. */
struct x509_store_st;
int renew_plat_default_trust(struct x509_store_st *store);

/* Ends the process at once, as an outside kill would (the test hook that
 * cuts a renewal after a step): SIGKILL, exit status 137; on Windows
 * TerminateProcess with exit code 137. */
void renew_plat_kill_self(void);

#endif
