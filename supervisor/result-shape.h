/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The observation parts of the result and of the journal's shape and proc
 * records, as json-c objects (schemas in stockade-journal(5)). */

#include "result.h"
#include "sandbox.h"

struct json_object;
struct ShapeEvent;

/* The result's "shape" object, or NULL when the task's shape was not recorded. */
struct json_object *shape_summary_to_json(const ShapeSummary *s);

/* The fields of one proc record, added to o in the documented order. */
void proc_event_add_json(const struct ShapeEvent *ev, double t_ms, struct json_object *o);
