/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Exit statuses of stockade itself (stockade(1), EXIT STATUS), shared by
 * the embedded supervisor, the daemon's answers and the client. */
#define EXIT_REFUSED 124        /* the daemon's admission refused the request */
#define EXIT_WRAPPER_FAILED 125
#define EXIT_NOT_EXECUTABLE 126
#define EXIT_NOT_FOUND 127
