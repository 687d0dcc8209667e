/* cmd_explain.c - `gradcam explain` (being built: see issue 3). */
#include "cli.h"
int cmd_explain(int argc, char **argv) { return cli_fail("explain: not implemented yet"); }
