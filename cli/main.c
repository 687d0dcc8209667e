#include <stdio.h>
int main(void) { puts("gradcam: under construction"); return 0; }
