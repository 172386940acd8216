"""A listener's step as the page sees it, and the checks an answer to it must pass."""

from __future__ import annotations

from tunelab.web.guard import ApiError
from tunelab.web.schemas import Answer


def check_answer(body: Answer, step: dict, d: dict) -> None:
    """422 unless the answer is of the step's kind, with every scale in range (or a choice the
    test offers)."""
    if (step["kind"] == "rate") != (body.ratings is not None) or (step["kind"] == "pair") != (
        body.choice is not None
    ):
        kind = "ratings" if step["kind"] == "rate" else "a choice"
        raise ApiError(422, "wrong_kind", f"step {body.position} asks for {kind}")
    if body.choice == "none" and not d.get("no_preference"):
        raise ApiError(422, "invalid", "this test asks for A or B")
    if body.ratings is not None:
        if set(body.ratings) != set(d["scales"]):
            raise ApiError(422, "invalid", f"ratings must give exactly: {', '.join(d['scales'])}")
        if any(not 1 <= v <= d["points"] for v in body.ratings.values()):
            raise ApiError(422, "invalid", f"ratings run from 1 to {d['points']}")


def check_listened(srv, body: Answer, step: dict, d: dict, test_id: str) -> None:
    """422 ``too_soon`` unless every medium of the step was sent at least its listening time
    (min(min_play_s, 90% of its length)) ago, by the server's clock."""
    items, served = srv.items_of(test_id), srv.store.served(body.listener_id, body.position)
    now = srv.clock()
    for slot, index in slots(step).items():
        need = min(d["min_play_s"], 0.9 * items[index]["media"]["seconds"])
        heard = now - served[slot] if slot in served else -1.0
        if heard < need:
            raise ApiError(422, "too_soon", f"listen for at least {need:.1f} s before answering")


def slots(step: dict) -> dict[str, int]:
    """A step's media slots and the items they play: ``x`` for a rated melody, ``a`` and ``b``."""
    return {"x": step["item"]} if step["kind"] == "rate" else {"a": step["a"], "b": step["b"]}


def public_step(listener_id: str, position: int, items, step: dict) -> dict:
    """What the page needs for a step: its own media URLs (no key, no set) and lengths."""

    def urls(slot: str, i: int) -> dict:
        return {
            "audio": f"/api/listeners/{listener_id}/steps/{position}/{slot}.wav",
            "seconds": items[i]["media"]["seconds"],
        }

    if step["kind"] == "rate":
        return {"kind": "rate", **urls("x", step["item"])}
    return {"kind": "pair", "a": urls("a", step["a"]), "b": urls("b", step["b"])}
