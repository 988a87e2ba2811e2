/* plat.h: what the renewal engine does differently on POSIX and on
 * Windows. One file per platform, chosen by the Makefile: plat_posix.c
 * (Linux) and plat_win.c (Windows). */
#ifndef CARDRENEW_RENEW_PLAT_H
#define CARDRENEW_RENEW_PLAT_H

#include <stddef.h>

/* A PKCS#11 module by path: its handle, or NULL with the reason in err. */
void *renew_plat_module_open(const char *path, char *err, size_t errlen);
void *renew_plat_module_sym(void *module, const char *name);
void renew_plat_module_close(void *module);
/* Where modules named without a folder are looked for: p11-kit's module
 * directory (beside libp11-kit); the folder of the running program on
 * Windows. */
void renew_plat_module_dir(char *out, size_t outlen);

#endif
