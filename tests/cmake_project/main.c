/* Runs the edgec-compiled model `digits` on raw int8 input read from argv[1]. */
#include <stdio.h>

#include "digits.h"

int main(int argc, char **argv)
{
    static int8_t input[DIGITS_INPUT_SIZE];
    static int8_t output[DIGITS_OUTPUT_SIZE];
    FILE *f;
    int i;
    if (argc != 2 || (f = fopen(argv[1], "rb")) == NULL) {
        fprintf(stderr, "usage: classify INPUT.bin\n");
        return 2;
    }
    if (fread(input, 1, sizeof input, f) != sizeof input) {
        fprintf(stderr, "short input\n");
        return 2;
    }
    fclose(f);
    if (digits_invoke(input, output) != 0) {
        return 1;
    }
    for (i = 0; i < DIGITS_OUTPUT_SIZE; ++i) {
        printf("%d\n", output[i]);
    }
    return 0;
}
