/* Runs the edgec-compiled model `digits` once on a ramp input and prints its output values
 * as "OUT v0 v1 ...", then ends the program so the test can wait for it. */
#include <zephyr/kernel.h>
#include <zephyr/sys/printk.h>
#ifdef CONFIG_ARCH_POSIX
#include <posix_board_if.h>
#else
#include <zephyr/arch/common/semihost.h>
#endif

#include "digits.h"

static int8_t input[DIGITS_INPUT_SIZE];
static int8_t output[DIGITS_OUTPUT_SIZE];

int main(void)
{
    int i, status;
    for (i = 0; i < DIGITS_INPUT_SIZE; ++i) {
        input[i] = (int8_t)((i * 7) % 256 - 128); /* the test builds the same input */
    }
    status = digits_invoke(input, output);
    printk("STATUS %d\nOUT", status);
    for (i = 0; i < DIGITS_OUTPUT_SIZE; ++i) {
        printk(" %d", output[i]);
    }
    printk("\n");
#ifdef CONFIG_ARCH_POSIX
    posix_exit(status);
#else
    /* SYS_EXIT (0x18, missing from Zephyr 4.1's enum), ADP_Stopped_ApplicationExit: QEMU
     * started with -semihosting exits with status 0. */
    (void)semihost_exec((enum semihost_instr)0x18, (void *)0x20026);
#endif
    return status;
}
