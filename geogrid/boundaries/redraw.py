"""Redrawing boundaries: plan a new generation from an upload, preview it, commit, roll back.

A plan is a dry run: the generation the upload would make (the whole set, or
the active one with one subtree replaced), its validation report, the diff
against the active generation and the events that would change grid. Nothing
changes until :func:`commit`, which writes the generation, activates it and
reassigns open events in one transaction.
"""

from __future__ import annotations

import dataclasses
import gc
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import shapely
import sqlalchemy as sa

from geogrid import codes
from geogrid.boundaries.diff import diff
from geogrid.boundaries.grids import grids_from_features
from geogrid.boundaries.masks import unmasked
from geogrid.boundaries.moves import Moves, find_moves, impact, reassign
from geogrid.boundaries.scoped import ordered, where
from geogrid.boundaries.stale import staleness
from geogrid.boundaries.topology import Problem, Tolerances, check_topology
from geogrid.cases.dispatch import unstaffed
from geogrid.engine.assign import GridIndex
from geogrid.errors import InvalidInputError, NotFoundError
from geogrid.grid import Grid
from geogrid.storage.gridrows import row_values
from geogrid.storage.schema import audit
from geogrid.storage.store import Store
from geogrid.times import to_db_time

__all__ = ["Plan", "commit", "plan", "rollback"]

_UNSTAFFED = 200  # codes listed in a report (the count is whole)
DEFAULT_TOLERANCES = Tolerances()


@dataclass
class Plan:
    """What an upload would do; ``ok`` when it has no error."""

    grids: list[Grid]
    scope: str | None
    sha256: str | None
    problems: list[Problem]
    diff: dict = field(default_factory=dict)
    events: dict = field(default_factory=dict)
    base_generation: int | None = None
    #: the index the dry run built for the events' impact; a commit of this plan reuses it
    index: GridIndex | None = field(default=None, repr=False, compare=False)
    #: (the store's change sequence, the events that would move) as the dry run saw them
    moves: tuple[int, Moves] | None = field(default=None, repr=False, compare=False)
    #: the grids' WKB, bounds and areas, as a commit writes them (gridrows.row_values)
    row_values: tuple | None = field(default=None, repr=False, compare=False)
    #: three-level grids of the result that no 网格员 on the roster would serve
    unstaffed: list[str] = field(default_factory=list)
    stale: dict | None = None  #: the file is from an older generation (see .stale)
    elsewhere: list[Problem] = field(default_factory=list)  #: not about the scope (.scoped)

    @property
    def ok(self) -> bool:
        """True if no problem is an error (warnings allow a commit)."""
        return not any(p.severity == "error" for p in self.problems + self.elsewhere)

    def report(self) -> dict:
        """The plan as JSON: counts, problems, the diff and the events that move."""
        counts = Counter(g.level for g in self.grids)
        kinds = Counter(f"{p.severity}:{p.kind}" for p in self.problems)
        return {
            "ok": self.ok,
            "scope": self.scope,
            "sha256": self.sha256,
            "base_generation": self.base_generation,
            "counts": {lv: counts.get(lv, 0) for lv in codes.LEVELS},
            "problem_counts": dict(sorted(kinds.items())),
            "problems": where([p.as_dict() for p in self.problems], self.grids),
            "elsewhere": {
                "errors": sum(p.severity == "error" for p in self.elsewhere),
                "warnings": sum(p.severity == "warning" for p in self.elsewhere),
                "problems": where([p.as_dict() for p in self.elsewhere], self.grids),
            },
            "diff": self.diff,
            "events": self.events,
            "unstaffed": {"count": len(self.unstaffed), "codes": self.unstaffed[:_UNSTAFFED]},
            "stale": self.stale,
        }


def _resulting(active: list[Grid], uploaded: list[Grid], scope: str | None) -> list[Grid]:
    if scope is None:
        return uploaded
    codes.validate_code(scope)
    if scope not in {g.code for g in active}:
        raise NotFoundError(f"scope {scope!r} is not a grid of the active generation")
    stray = [g.code for g in uploaded if not g.code.startswith(scope)]
    if stray:
        raise InvalidInputError(
            f"scope {scope!r} does not match the codes inside: {len(stray)} outside it, "
            f"first {stray[0]!r}",
            details=[{"field": "scope", "codes": stray[:50]}],
        )
    replaced = {g.code for g in uploaded}
    kept = [
        g
        for g in active
        if not g.code.startswith(scope) or (g.code == scope and scope not in replaced)
    ]
    return sorted(kept + uploaded, key=lambda g: g.code)


def _orphans(grids: list[Grid]) -> list[Problem]:
    present = {g.code for g in grids}
    top = min(codes.LEVELS.index(g.level) for g in grids if g.level != "dedicated")
    out = []
    for g in grids:
        if (
            g.parent
            and g.parent not in present
            and (g.level == "dedicated" or codes.LEVELS.index(g.level) > top)
        ):
            out.append(
                Problem(
                    "orphan",
                    "error",
                    f"{g.level} {g.code} would be left without its parent {g.parent}",
                    [g.code, g.parent],
                )
            )
    return out


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector held off while inside (if it was on).

    A dry run of a district allocates about a million objects that all live
    until it returns (grids, their codes and attributes, the events' rows):
    each time their number grows by a quarter the collector walks the whole
    heap, finding nothing to free, about half a second of a dry run in all.
    A commit, with its plan still alive, allocates the grid rows and the
    moves' payload: as much again. Reference counting still frees everything
    else at once; a cycle made meanwhile waits for the next collection.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@_collector_paused()
def plan(
    store: Store,
    features: list,
    *,
    scope: str | None = None,
    sha256: str | None = None,
    tolerances: Tolerances = DEFAULT_TOLERANCES,
    tolerance_m: float = 30.0,
    taken_from: int | None = None,
) -> Plan:
    """The dry run of an upload (exported from generation ``taken_from``, if known).

    Per-feature faults raise :class:`InvalidInputError`.
    """
    base = store.active_generation()
    # the other core reads the active grids, then finds the events' moves and the diff,
    # while this thread checks the upload and its topology (GEOS and SQLite let go of
    # the GIL); the moves are kept if the topology holds, else waited for and dropped
    with _aside(store) as aside:
        loading = aside.submit(store.load_grids, base) if base is not None else None
        known = frozenset(g.code for g in loading.result()) if scope and loading else frozenset()
        read = grids_from_features(features, known)
        active = loading.result() if loading else []
        grids = _resulting(active, unmasked(read, active, features), scope)
        differences = aside.submit(diff, active, grids)  # first: an upload with errors needs it
        moving = aside.submit(_moves, store, grids, base, tolerance_m)
        problems, elsewhere = ordered(
            _orphans(grids) + check_topology(grids, tolerances), grids, scope
        )
        result = Plan(grids, scope, sha256, problems, differences.result(), base_generation=base)
        result.elsewhere = elsewhere
        result.stale = staleness(store, taken_from, base, scope)
        with store.engine.connect() as conn:  # the roster serves codes: who would have nobody
            result.unstaffed = unstaffed(conn, [g.code for g in grids])
        if not result.ok:
            moving.cancel()
            return result
        result.index, result.moves, result.row_values = moving.result()
    result.events = impact(result.moves[1])
    return result


def _moves(
    store: Store, grids: list[Grid], base: int | None, tolerance_m: float
) -> tuple[GridIndex, tuple[int, Moves], tuple]:
    """The index of ``grids``, its events' moves (with the change sequence), the grids' row values.

    The row values are what a commit writes of the geometries (``row_values``).
    """
    values = row_values(grids)
    # the index gets polygons of its own: the topology check prepares the plan's, and GEOS
    # builds a prepared polygon's parts on first use, which two threads must not race
    own = shapely.from_wkb(values[0]).tolist()
    grids = [dataclasses.replace(g, geometry=p) for g, p in zip(grids, own, strict=True)]
    active_index = store.index(tolerance_m) if base is not None else None
    index = GridIndex(grids, tolerance_m=tolerance_m, reuse=active_index)
    with store.engine.connect() as conn:
        seq = store.change_seq(conn)
        moves = find_moves(conn, index)
    return index, (seq, moves), values


class _Inline:
    """An executor that runs each task at once, in the caller's thread."""

    def submit(self, fn, *args) -> Future:
        done: Future = Future()
        try:
            done.set_result(fn(*args))
        except Exception as err:  # handed over, as a thread's future would
            done.set_exception(err)
        return done


@contextmanager
def _aside(store: Store) -> Iterator:
    """A thread for a dry run's other work; none for an in-memory SQLite store (one per thread)."""
    if isinstance(store.engine.pool, sa.pool.SingletonThreadPool):
        yield _Inline()
        return
    with ThreadPoolExecutor(1, thread_name_prefix="geogrid-plan") as pool:
        yield pool


@_collector_paused()
def commit(
    store: Store,
    the_plan: Plan,
    actor: str,
    now: datetime,
    reassign_closed: bool = False,
    tolerance_m: float = 30.0,
) -> dict:
    """Write the planned generation, activate it and reassign open events: all or nothing."""
    if not the_plan.ok:
        raise InvalidInputError(
            "the upload has errors; nothing was changed",
            details=[
                p.as_dict() for p in the_plan.problems + the_plan.elsewhere if p.severity == "error"
            ][:50],
        )
    with store.write(boundaries=True) as conn:
        if (
            conn.scalar(sa.text("SELECT id FROM generations WHERE active"))
            != the_plan.base_generation
        ):
            raise InvalidInputError(
                "the active generation changed since this preview; upload again"
            )
        gen = store.write_generation(
            conn,
            the_plan.grids,
            actor=actor,
            description=f"upload {the_plan.sha256 or ''}"[:200],
            source_sha256=the_plan.sha256,
            scope=the_plan.scope,
            details={"diff_counts": _diff_counts(the_plan.diff)},
            values=the_plan.row_values,
        )
        built = the_plan.index
        if built is not None and built.tolerance_m == tolerance_m:
            built.generation = gen  # the dry run's index, for the generation it now is
        else:
            built = None
        # saved before the commit, so every worker maps it the moment the generation is
        # active: the dry run's index is written to disk while the events are rewritten
        with ThreadPoolExecutor(1, thread_name_prefix="geogrid-index") as saver:
            if built is not None:
                folder = store.index_folder(gen, tolerance_m, conn)
                saved = saver.submit(store.keep_index, built, folder) if folder else None
                index = built
            else:
                saved, index = None, store.generation_index(gen, tolerance_m, the_plan.grids, conn)
            seen = _unchanged_moves(store, conn, the_plan) if built is not None else None
            moved = reassign(conn, index, reassign_closed, seen)
            _audited(conn, now, actor, "reassign_events", gen, moved, closed_too=reassign_closed)
            if saved is not None:
                saved.result()
    return {"generation": gen, "events_reassigned": moved}


def _unchanged_moves(store: Store, conn: sa.Connection, the_plan: Plan) -> Moves | None:
    """The dry run's moves (under its index) if nothing was written since, for ``reassign``."""
    if the_plan.moves is None:
        return None
    seq, moves = the_plan.moves
    # this transaction raised the sequence once: anything more is a write since
    return moves if store.change_seq(conn) == seq + 1 else None


def _audited(conn, now: datetime, actor: str, action: str, gen: int, moved: int, **details):
    """The audit row of a generation's activation and the events it moved."""
    conn.execute(
        sa.insert(audit).values(
            at=to_db_time(now),
            actor=actor,
            action=action,
            target=str(gen),
            details={"moved": moved, **details},
        )
    )


def _diff_counts(diff: dict) -> dict:
    return {k: (len(v) if isinstance(v, list) else v) for k, v in diff.items()}


@_collector_paused()
def rollback(
    store: Store, generation: int, actor: str, now: datetime, tolerance_m: float = 30.0
) -> dict:
    """Re-activate an earlier generation and reassign open events under it."""
    with store.write(boundaries=True) as conn:
        store.activate(generation, actor, conn)
        index = store.generation_index(generation, tolerance_m, conn=conn)
        moved = reassign(conn, index, closed_too=False)
        _audited(conn, now, actor, "rollback", generation, moved)
    return {"generation": generation, "events_reassigned": moved}
