/* plat.h: what the card and pkcs11 layers do differently on POSIX and on
 * Windows. One file per platform, chosen by the Makefile: plat_posix.c
 * (Linux) and plat_win.c (mingw-w64, whose winpthreads gives the rest of
 * the pthread API). */
#ifndef CARDRENEW_CARD_PLAT_H
#define CARDRENEW_CARD_PLAT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

/* The environment, ignored in a setuid/setgid process where that applies. */
const char *plat_getenv(const char *name);
long plat_pid(void);

/* fn runs in a forked child (a no-op where there is no fork). */
void plat_atfork_child(void (*fn)(void));

/* The monotonic clock, and condition variables whose timed waits take a
 * deadline on it: 0 or ETIMEDOUT. */
void plat_now(struct timespec *t);
void plat_cond_init(pthread_cond_t *cv);
int plat_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *m, const struct timespec *t);
void plat_sleep_ms(unsigned ms);

/* A thread of the module's own: no signals delivered to it, and the module
 * stays loaded from then on (a host unloading it without C_Finalize must
 * not leave the thread in unmapped code). 0 or an errno. */
int plat_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

/* A file opened for reading, not inherited by children. */
FILE *plat_fopen_read(const char *path);

/* A log file opened for appending, not inherited by children; one writer
 * at a time for a line. */
FILE *plat_fopen_append(const char *path);
void plat_file_lock(FILE *f);
void plat_file_unlock(FILE *f);

/* A directory only this user can write, made if missing:
 * $XDG_RUNTIME_DIR/<name> or /tmp/<name>-<uid>; %LOCALAPPDATA%\<name>.
 * false, with *why, when there is none safe to use. */
bool plat_private_dir(const char *name, char *out, size_t n, const char **why);

/* Replaces path's content whole: a reader sees the old or the new. */
bool plat_replace_file(const char *path, const char *data, size_t len);

/* What tells a file's content changed without reading it. */
struct plat_stamp {
    bool exists;
    unsigned long long dev, ino, size;
    long long mtime_s, mtime_ns, ctime_s, ctime_ns;
};
/* A regular file's stamp; a zero one when there is none. */
void plat_stamp_of(const char *path, struct plat_stamp *out);

#endif
