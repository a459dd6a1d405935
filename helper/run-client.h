/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "run-options.h"

/* Runs opts through stockaded at socket_path; returns stockade's exit status. */
int run_client(RunOptions *opts, const char *socket_path);
