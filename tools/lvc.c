/* lvc — the command-line tool (info). */
#include <stdio.h>
#include "lvc/lvc.h"
int main(void) { printf("lvc %s\n", lvc_version()); return 0; }
