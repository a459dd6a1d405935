/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Exit statuses of stockade itself (stockade(1), EXIT STATUS). */
#define EXIT_WRAPPER_FAILED 125
#define EXIT_NOT_EXECUTABLE 126
#define EXIT_NOT_FOUND 127

int cmd_run(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_journal_replay(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_journal(int argc, char **argv);
