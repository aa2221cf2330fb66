/* Leaks 64 bytes on purpose: test_leaks.sh runs it first to make sure that LeakSanitizer works
 * where the tests run (it needs ptrace), so that a silent run of the tool means no leak.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>

static void *volatile keep;

int main(void)
{
    keep = malloc(64);
    keep = NULL;
    return 0;
}
