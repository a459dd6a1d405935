/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmexit CODE: ends the test VM with a verdict.  With qemu's
 * `-device isa-debug-exit,iobase=0xf4,iosize=0x04` a write to port 0xf4 makes
 * qemu exit at once with status (CODE << 1) | 1: 1 = the guest passed, 3 = it
 * failed.  Built statically by run.sh (the initramfs has no libc).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>

int main(int argc, char **argv) {
        int code = argc > 1 ? atoi(argv[1]) : 0;

        if (ioperm(0xf4, 4, 1) < 0) {
                perror("vmexit: ioperm");
                return 2;
        }
        outl((unsigned) code, 0xf4);
        fprintf(stderr, "vmexit: no isa-debug-exit device at 0xf4\n");
        return 1;
}
