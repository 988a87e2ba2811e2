/* plat_posix.c: renew/plat.h on Linux (glibc). */
#include <dlfcn.h>
#include <stdio.h>

#include <string.h>
#include <p11-kit/uri.h>

#include "renew/plat.h"

void *renew_plat_module_open(const char *path, char *err, size_t errlen)
{
    void *m = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!m)
        snprintf(err, errlen, "%s", dlerror());
    return m;
}

void *renew_plat_module_sym(void *module, const char *name)
{
    return dlsym(module, name);
}

void renew_plat_module_close(void *module)
{
    dlclose(module);
}

void renew_plat_module_dir(char *out, size_t outlen)
{
    Dl_info info;
    void *sym;
    *(void **)&sym = (void *)p11_kit_uri_new;
    if (dladdr(sym, &info) && info.dli_fname && strrchr(info.dli_fname, '/')) {
        snprintf(out, outlen, "%.*s/pkcs11",
                 (int)(strrchr(info.dli_fname, '/') - info.dli_fname), info.dli_fname);
        return;
    }
    snprintf(out, outlen, "/usr/lib/pkcs11");
}
