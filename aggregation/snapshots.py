"""Snapshots: which ratings an aggregation run counted, and reading exactly those again.

A run stores what identifies its input (``AggregationRun.input_responses`` and
``ratings_fingerprint``): the ids of the submitted responses it counted and a SHA-256 over
one stamp per response. A stamp is what the database aggregates of the response's ratings in
one ``GROUP BY``: the submission time, the number of ratings, sums of the values, of the
values weighted by item id and of the confidences weighted by item id, and the time of the
last change of a rating. Any rating added, removed or changed, and any resubmission, changes
the stamp; so does a response reopened (it leaves the submitted set).

An export or an API read pinned to a run keeps the run's responses only and recomputes their
stamps: equal fingerprints mean the ratings are the ones the run counted; otherwise the
ratings cannot be reproduced (the database keeps no history of ratings) and the read is
refused with ``SnapshotChangedError``, never answered with other data.

The stamps are read before and after a run loads its input; a run whose ratings changed while
it loaded them reads again (``identity_kept``), so the stored identity is the one of the
ratings the run's counts came from.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.db.models import Count, IntegerField, Max, Sum, Value
from django.db.models.functions import Coalesce

from surveys.models import Response

T = TypeVar("T")
LOAD_ATTEMPTS = 3


class SnapshotError(Exception):
    """A read pinned to a run that cannot be served as asked."""


class SnapshotChangedError(SnapshotError):
    """The ratings the run counted have changed since; the run's snapshot is gone."""


@dataclass(frozen=True)
class RatingsIdentity:
    """The submitted responses of a wave and a fingerprint of their ratings' stamps."""

    response_ids: tuple[int, ...]
    fingerprint: str
    n_ratings: int

    @classmethod
    def unknown(cls) -> "RatingsIdentity":
        return cls(response_ids=(), fingerprint="", n_ratings=0)


def _stamps(wave_id: int) -> dict[int, tuple]:
    """Response id → stamp of every submitted response of the wave (one ``GROUP BY``)."""
    zero = Value(0, output_field=IntegerField())
    missing = Value(-1, output_field=IntegerField())
    rows = (
        Response.objects.filter(wave_id=wave_id, status=Response.Status.SUBMITTED)
        .order_by()
        .values("pk", "submitted_at")
        .annotate(
            n=Count("ratings"),
            value_sum=Coalesce(Sum(Coalesce("ratings__value", missing)), zero),
            item_value_sum=Coalesce(
                Sum(Coalesce("ratings__value", missing) * Coalesce("ratings__item_id", zero)),
                zero,
            ),
            item_confidence_sum=Coalesce(
                Sum(Coalesce("ratings__confidence", zero) * Coalesce("ratings__item_id", zero)),
                zero,
            ),
            changed_at=Max("ratings__updated_at"),
        )
    )
    return {
        row["pk"]: (
            row["submitted_at"].isoformat(),
            int(row["n"]),
            int(row["value_sum"]),
            int(row["item_value_sum"]),
            int(row["item_confidence_sum"]),
            row["changed_at"].isoformat() if row["changed_at"] else "",
        )
        for row in rows
    }


def _identity(stamps: dict[int, tuple]) -> RatingsIdentity:
    ordered = sorted(stamps.items())
    digest = hashlib.sha256(repr(ordered).encode()).hexdigest()
    return RatingsIdentity(
        response_ids=tuple(pk for pk, _ in ordered),
        fingerprint=digest,
        n_ratings=sum(stamp[1] for _, stamp in ordered),
    )


def ratings_identity_load(*, wave_id: int) -> RatingsIdentity:
    """The identity of the wave's submitted ratings now."""
    return _identity(_stamps(wave_id))


def identity_kept(*, wave_id: int, load: Callable[[], T]) -> tuple[T, RatingsIdentity]:
    """``load()`` and the identity of the ratings it read: the stamps are read before and
    after, and the load is repeated while they differ (a submission arrived meanwhile).
    After ``LOAD_ATTEMPTS`` unstable loads the identity is unknown (the run is not pinnable)."""
    for _attempt in range(LOAD_ATTEMPTS):
        before = ratings_identity_load(wave_id=wave_id)
        loaded = load()
        if ratings_identity_load(wave_id=wave_id) == before:
            return loaded, before
    return loaded, RatingsIdentity.unknown()


@dataclass(frozen=True)
class RunSnapshot:
    """The responses a run counted, checked to still hold the ratings it counted."""

    response_ids: frozenset[int]
    n_ratings: int
    fingerprint: str


def run_snapshot(run) -> RunSnapshot:
    """The run's responses, after checking that their ratings are still those it counted.

    Raises ``SnapshotError`` for a run that is not complete or recorded no identity, and
    ``SnapshotChangedError`` when the ratings have changed since the run.
    """
    if run.status != run.Status.COMPLETE:
        raise SnapshotError(f"Aggregation run {run.pk} is not complete.")
    if not run.ratings_fingerprint:
        raise SnapshotChangedError(
            f"Aggregation run {run.pk} recorded no snapshot of its ratings (it predates "
            "snapshots, or its ratings changed while it ran); pin a newer run."
        )
    return _input_checked(run)


def _input_checked(run) -> RunSnapshot:
    """The run's recorded responses, if their ratings still have the run's fingerprint."""
    wanted = set(run.input_responses)
    stamps = {pk: stamp for pk, stamp in _stamps(run.wave_id).items() if pk in wanted}
    identity = _identity(stamps)
    if len(stamps) != len(wanted) or identity.fingerprint != run.ratings_fingerprint:
        raise SnapshotChangedError(
            f"The ratings that aggregation run {run.pk} counted have changed since (a response "
            "was reopened, changed or deleted), so they cannot be read as they were; use "
            "the newest run instead."
        )
    return RunSnapshot(
        response_ids=frozenset(wanted),
        n_ratings=identity.n_ratings,
        fingerprint=run.input_fingerprint,
    )


def run_input_load(run, load: Callable[[frozenset[int] | None], T]) -> T:
    """``load(response_ids)`` of exactly the ratings the run counted, running or complete:
    the run's responses are checked before and after the load (``SnapshotChangedError`` if
    their ratings changed). A run that could record no identity (its ratings kept changing
    while it loaded them) gets ``load(None)``: the wave's submitted ratings as they are now.
    """
    if not run.ratings_fingerprint:
        return load(None)
    response_ids = _input_checked(run).response_ids
    loaded = load(response_ids)
    _input_checked(run)
    return loaded
