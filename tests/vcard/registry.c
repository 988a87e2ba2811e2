/* registry.c: the profiles this build knows. */
#include <strings.h>

#include "tests/vcard/core.h"

const struct vc_profile *vc_profile_find(const char *name)
{
    if (!name)
        return NULL;
    if (strcasecmp(name, "G") == 0)
        return &vc_profile_g;
    if (strcasecmp(name, "O") == 0)
        return &vc_profile_o;
    return NULL;
}
