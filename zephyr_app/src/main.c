/* edgec reference application: the model on a deterministic ramp input, once per second.
 * The generated applications (templates/zephyr/) add sensors, preprocessing and actions
 * around this same invoke-and-time core. The model must have int8 input and output. */
#include <zephyr/kernel.h>
#include <zephyr/sys/printk.h>

#include EDGEC_MODEL_HEADER

static int8_t input[EDGEC_INPUT_SIZE];
static int8_t output[EDGEC_OUTPUT_SIZE];

int main(void)
{
    int round, i;
    for (round = 0; round < 3; ++round) {
        uint32_t start, cycles;
        int status, best = 0;
        for (i = 0; i < EDGEC_INPUT_SIZE; ++i) {
            input[i] = (int8_t)((i * 7 + round * 31) % 256 - 128);
        }
        start = k_cycle_get_32();
        status = EDGEC_INVOKE(input, output);
        cycles = k_cycle_get_32() - start;
        for (i = 1; i < EDGEC_OUTPUT_SIZE; ++i) {
            best = output[i] > output[best] ? i : best;
        }
        printk("round %d: status %d, top output %d (%d), %u cycles\n", round, status, best,
               output[best], (unsigned)cycles);
        k_sleep(K_SECONDS(1));
    }
    printk("EDGEC DONE\n");
    return 0;
}
