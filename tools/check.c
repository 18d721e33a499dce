/* check.c: autostaple check (not written yet). */
#include <stdio.h>

#include "commands.h"

int as_cmd_check(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "autostaple: %s is not available yet\n", argv[0]);
    return 2;
}
