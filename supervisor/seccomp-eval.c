/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A classic BPF interpreter for seccomp programs, so audit mode can ask the
 * compiled enforce policy itself what it would do with a call: the same
 * instructions the kernel would run, not a second reading of the profile.
 * Covers the instruction set the kernel accepts for seccomp
 * (seccomp_check_filter() in kernel/seccomp.c). */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <string.h>

#include "syscall-filter.h"

uint32_t seccomp_program_run(const SeccompProgram *p, const struct seccomp_data *d) {
        uint32_t A = 0, X = 0, M[BPF_MEMWORDS] = {};
        const size_t data_len = sizeof *d;

        for (size_t pc = 0; pc < p->n_insns; pc++) {
                const struct sock_filter *f = &p->insns[pc];
                uint32_t k = f->k, src;

                switch (BPF_CLASS(f->code)) {
                case BPF_LD:
                        switch (BPF_MODE(f->code)) {
                        case BPF_ABS:
                                if (BPF_SIZE(f->code) != BPF_W || k > data_len - 4 || (k & 3))
                                        return SECCOMP_RET_KILL_PROCESS;
                                memcpy(&A, (const char *) d + k, 4);
                                break;
                        case BPF_LEN:
                                A = (uint32_t) data_len;
                                break;
                        case BPF_IMM:
                                A = k;
                                break;
                        case BPF_MEM:
                                if (k >= BPF_MEMWORDS)
                                        return SECCOMP_RET_KILL_PROCESS;
                                A = M[k];
                                break;
                        default:
                                return SECCOMP_RET_KILL_PROCESS;
                        }
                        break;
                case BPF_LDX:
                        switch (BPF_MODE(f->code)) {
                        case BPF_LEN:
                                X = (uint32_t) data_len;
                                break;
                        case BPF_IMM:
                                X = k;
                                break;
                        case BPF_MEM:
                                if (k >= BPF_MEMWORDS)
                                        return SECCOMP_RET_KILL_PROCESS;
                                X = M[k];
                                break;
                        default:
                                return SECCOMP_RET_KILL_PROCESS;
                        }
                        break;
                case BPF_ST:
                case BPF_STX:
                        if (k >= BPF_MEMWORDS)
                                return SECCOMP_RET_KILL_PROCESS;
                        M[k] = BPF_CLASS(f->code) == BPF_ST ? A : X;
                        break;
                case BPF_ALU:
                        src = BPF_SRC(f->code) == BPF_X ? X : k;
                        switch (BPF_OP(f->code)) {
                        case BPF_ADD: A += src; break;
                        case BPF_SUB: A -= src; break;
                        case BPF_MUL: A *= src; break;
                        case BPF_DIV:
                                if (src == 0)
                                        return SECCOMP_RET_KILL_PROCESS;
                                A /= src;
                                break;
                        case BPF_MOD:
                                if (src == 0)
                                        return SECCOMP_RET_KILL_PROCESS;
                                A %= src;
                                break;
                        case BPF_AND: A &= src; break;
                        case BPF_OR: A |= src; break;
                        case BPF_XOR: A ^= src; break;
                        case BPF_LSH: A = src < 32 ? A << src : 0; break;
                        case BPF_RSH: A = src < 32 ? A >> src : 0; break;
                        case BPF_NEG: A = -A; break;
                        default:
                                return SECCOMP_RET_KILL_PROCESS;
                        }
                        break;
                case BPF_JMP: {
                        bool cond;
                        src = BPF_SRC(f->code) == BPF_X ? X : k;
                        switch (BPF_OP(f->code)) {
                        case BPF_JA:
                                pc += k;
                                continue;
                        case BPF_JEQ: cond = A == src; break;
                        case BPF_JGT: cond = A > src; break;
                        case BPF_JGE: cond = A >= src; break;
                        case BPF_JSET: cond = (A & src) != 0; break;
                        default:
                                return SECCOMP_RET_KILL_PROCESS;
                        }
                        pc += cond ? f->jt : f->jf;
                        break;
                }
                case BPF_RET:
                        return BPF_RVAL(f->code) == BPF_A ? A : k;
                case BPF_MISC:
                        if (BPF_MISCOP(f->code) == BPF_TAX)
                                X = A;
                        else
                                A = X;
                        break;
                default:
                        return SECCOMP_RET_KILL_PROCESS;
                }
        }
        /* Falling off the end is rejected by the kernel's checker. */
        return SECCOMP_RET_KILL_PROCESS;
}
