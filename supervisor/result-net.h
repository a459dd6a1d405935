/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The network parts of the result and of the journal's net records, as
 * json-c objects (schemas in stockade(1) and stockade-journal(5)). */

#include "result.h"
#include "task-net.h"

struct json_object;

/* The result's "net" object, or NULL for a task without the egress wall. */
struct json_object *net_summary_to_json(const NetSummary *s);

/* The fields of one net record, added to o in the documented order. */
void net_event_add_json(const NetEvent *ev, const SandboxSpec *spec, struct json_object *o);
