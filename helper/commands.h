/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "exit-status.h"

int cmd_run(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_journal_replay(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_journal(int argc, char **argv);
