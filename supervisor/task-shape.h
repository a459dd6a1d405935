/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The observation layer for one task (stockade-profile(5) observe): its
 * syscall, process and file shape, counted in the kernel (bpf-shape.c) by
 * the task's cgroup id. The programs are loaded once per supervisor, on the
 * first task that asks for them; a task with observe.shape off costs
 * nothing (no program is linked for it). */

#include <stdbool.h>
#include <stdint.h>

#include "result.h"
#include "sandbox.h"

struct Shape;
struct ShapeTask;
struct ShapeEvent;

/* One process or file event, as the journal's proc record sees it. */
typedef void (*ProcEventFn)(const SandboxSpec *spec, const struct ShapeEvent *ev, double t_ms, void *userdata);

typedef struct SupervisorShape {
        struct Shape *shape;
        struct TaskShape *tasks;   /* the running tasks, for routing ring buffer events */
} SupervisorShape;

typedef struct TaskShape {
        SupervisorShape *ss;       /* NULL: the task is not observed */
        const SandboxSpec *spec;
        struct ShapeTask *task;
        uint64_t cgroup_id;
        bool attached;             /* task_shape_attach() succeeded */
        double t_start_ms;         /* CLOCK_MONOTONIC: event times are relative to it */
        ProcEventFn event_fn;
        void *userdata;
        struct TaskShape *next;
} TaskShape;

/* Loads the programs (once per supervisor) when spec asks for shape; on
 * error the task is simply not observed (t->ss NULL) and what says why. */
int task_shape_prepare(SupervisorShape *ss, const SandboxSpec *spec, double t_start_ms, ProcEventFn fn,
                       void *userdata, TaskShape *ret, const char **reterr_what);
/* Starts counting for the task's cgroup; before the task may exec. */
int task_shape_attach(TaskShape *t, int cgroup_fd, const char **reterr_what);

int supervisor_shape_ring_fd(SupervisorShape *ss);
void supervisor_shape_dispatch(SupervisorShape *ss);

/* Takes the last events and the counters into summary, then stops counting. */
void task_shape_done(TaskShape *t, ShapeSummary *summary);
void supervisor_shape_done(SupervisorShape *ss);

/* For a long-lived supervisor (stockaded): loads the programs now and
 * keeps them linked until supervisor_shape_done(), so that tasks pay only
 * their own map entry. -errno (-EOPNOTSUPP without the programs). */
int supervisor_shape_hold(SupervisorShape *ss);
/* In a child forked from such a supervisor, before its first task: a
 * ring buffer of its own (see shape_own_ring()). */
int supervisor_shape_fork(SupervisorShape *ss);
/* After a forked child died with its task: drops the entries of tasks
 * whose cgroup is gone. cgroup2_fd: a directory on the cgroup2 mount.
 * Returns how many. */
int supervisor_shape_sweep(SupervisorShape *ss, int cgroup2_fd);
