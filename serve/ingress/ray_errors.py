"""What a call through a DeploymentHandle raises, as one of our typed errors (serve/errors.py):
the replica's own error unwrapped from Ray's `RayTaskError`, Ray Serve's back-pressure and a
replica that went away as 503s, anything else as an internal error (logged here, masked in the
answer). Rendering those as HTTP is http_errors.py's."""

from __future__ import annotations

import logging

from serve.errors import TriserveError, Unavailable

logger = logging.getLogger("ray.serve")


def classify(exc: BaseException) -> TriserveError:
    """Any exception from a handle call or our own code, as one of our typed errors."""
    from ray import exceptions as ray_exc
    from ray.serve.exceptions import (
        BackPressureError,
        DeploymentUnavailableError,
        ReplicaUnavailableError,
    )

    cause = getattr(exc, "cause", None)  # a RayTaskError carries the replica's exception
    # The cause first: Ray's `RayTaskError(InvalidRequest)` is a TriserveError too, but one built
    # without our fields' values (its `code` is the class default).
    if isinstance(cause, TriserveError):
        return cause
    if isinstance(exc, TriserveError):
        return exc
    if isinstance(exc, BackPressureError) or isinstance(cause, BackPressureError):
        return Unavailable("the model is at capacity; retry shortly", code="overloaded")
    gone = (ray_exc.RayActorError, ray_exc.ActorUnavailableError, DeploymentUnavailableError,
            ReplicaUnavailableError)
    if isinstance(exc, gone) or isinstance(cause, gone):
        return Unavailable("the model replica went away; retry shortly", code="replica_unavailable")
    logger.error("unexpected error", exc_info=exc)
    return TriserveError("internal error")
