/* status.c: autostaple status (not written yet). */
#include <stdio.h>

#include "commands.h"

int as_cmd_status(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "autostaple: %s is not available yet\n", argv[0]);
    return 2;
}
