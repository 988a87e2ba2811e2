/* plat_win.c: renew/plat.h on Windows. */
#include <windows.h>
#include <stdio.h>
#include <string.h>

#include "renew/plat.h"

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
