/* Windows: the types come with winscard.h (card/win/PCSC/winscard.h). */
#include <PCSC/winscard.h>
