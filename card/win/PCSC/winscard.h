/* Windows: the system's winscard.h under the name pcsc-lite uses, so that
 * card/pcsc.h needs no #ifdef. Only the Windows build adds card/win to the
 * include path. */
#ifndef CARDRENEW_WIN_WINSCARD_H
#define CARDRENEW_WIN_WINSCARD_H
#include <windows.h>
#include <winscard.h>
#ifndef MAX_ATR_SIZE
#define MAX_ATR_SIZE 33
#endif
#endif
