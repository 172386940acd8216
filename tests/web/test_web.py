"""The listening test's store, design and API: migrations keep data, orders are counterbalanced,
the listener flow stores every answer once, and bad input is refused with nothing stored."""

import csv
import io
import itertools
import json
import sqlite3

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tunelab.web import design
from tunelab.web.app import create_app
from tunelab.web.guard import MAX_BODY, Limits
from tunelab.web.store import MIGRATIONS, SCHEMA, Store

from ..helpers import song as _song

TOKEN = "Kx3v9QmT2pLw8RzN4bYc7HdF"  # strong enough for tunelab serve (tunelab.web.server.token_bits)
OPEN = Limits(listeners_per_test_minute=10_000, listeners_per_client_minute=10_000)


class Clock:
    """The server's clock in tests: stands still until told to move."""

    def __init__(self, t: float = 1.9e9):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def make_sets(root, seed=3, n=6):
    rng = np.random.default_rng(seed)
    paths = []
    for name in ("modelA", "modelB", "real"):
        p = root / f"{name}.txt"
        p.write_text("\n".join(_song(rng) for _ in range(n)) + "\n")
        paths.append(p)
    return paths


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("listen")
    a, b, real = make_sets(root)
    test_id = design.create(
        root / "data", [a, b], reference=str(real), n=3, seed=1, pairs=2, max_seconds=2.0, min_play_s=1.0,
        synth="numpy", progress=False,
    )  # fmt: skip
    return root, test_id


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def client(site, clock):
    root, _ = site
    app = create_app(
        root / "data", admin_token=TOKEN, gallery={"modelA": str(root / "modelA.txt")},
        allowed_hosts=("testserver",), limits=OPEN, clock=clock,
    )  # fmt: skip
    with TestClient(app) as c:
        c.clock = clock
        yield c


def test_williams_rows_balance_positions_and_successions():
    for n in (2, 3, 4, 5):
        rows = design.williams(n)
        assert len(rows) == (n if n % 2 == 0 else 2 * n)
        for pos in range(n):  # every condition equally often in every position
            counts = np.bincount([r[pos] for r in rows], minlength=n)
            assert len(set(counts)) == 1
        follows = np.zeros((n, n), int)
        for r in rows:
            for x, y in itertools.pairwise(r):
                follows[x, y] += 1
        off = follows[~np.eye(n, dtype=bool)]
        assert len(set(off)) == 1 and off[0] > 0  # and each after each other equally often


def test_listener_orders_cover_every_item_once_and_differ(site):
    root, test_id = site
    d = Store(root / "data" / "tunelab.db").test(test_id)["design"]
    assert d["conditions"] == ["modelA", "modelB", "reference-real"] and len(d["item_sets"]) == 9
    orders = [design.steps(d, k) for k in range(6)]
    for steps in orders:
        rated = [s["item"] for s in steps if s["kind"] == "rate"]
        assert sorted(rated) == list(range(9))
        pairs = [s for s in steps if s["kind"] == "pair"]
        assert len(pairs) == 2 and all(d["item_sets"][p["a"]] != d["item_sets"][p["b"]] for p in pairs)
    first_sets = [d["item_sets"][o[0]["item"]] for o in orders]
    assert len(set(first_sets)) == 3  # the first condition heard rotates across listeners
    assert (
        orders[0] != orders[1] and design.steps(d, 0) == orders[0]
    )  # seeded: the same listener, the same order


def test_migrating_a_version_1_database_keeps_its_rows(tmp_path):
    path = tmp_path / "old.db"
    old = Store(path, upto=1)
    assert old.version == 1
    with old.tx() as db:
        db.execute("INSERT INTO tests (id, name, created, design) VALUES ('abcd0123', 't', 0, '{}')")
    old.connect().close()
    new = Store(path)
    assert new.version == SCHEMA == max(MIGRATIONS)
    assert new.test("abcd0123")["closed"] == 0  # the new column, with its default
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def media_urls(step: dict) -> list[str]:
    return [step["audio"]] if step["kind"] == "rate" else [step["a"]["audio"], step["b"]["audio"]]


def _answer(client, who, step, position, played=5.0, listen=True, **extra):
    """Answer a step as a listener does: fetch its audio, let the server's clock run past the
    listening time, post."""
    if listen:
        for url in media_urls(step):
            assert client.get(url).status_code == 200
        client.clock.advance(10)
    body = {"listener_id": who, "position": position, "played_s": played, **extra}
    if "ratings" not in extra and "choice" not in extra:
        if step["kind"] == "rate":
            body["ratings"] = dict.fromkeys(design.SCALES, 7)
        else:
            body["choice"] = "A"
    return client.post("/api/responses", json=body)


def test_a_listener_goes_through_the_test_and_every_answer_is_stored_once(client, site):
    root, test_id = site
    public = client.get(f"/api/tests/{test_id}").json()
    assert public["scales"] == list(design.SCALES) and "conditions" not in json.dumps(public)
    made = client.post("/api/listeners", json={"test_id": test_id, "consent": True, "expertise": "amateur"})
    assert made.status_code == 201
    who, total = made.json()["listener_id"], made.json()["total"]
    assert total == 9 + 2
    seen_audio = set()
    for position in range(total):
        state = client.get(f"/api/listeners/{who}").json()
        assert state["next_position"] == position and not state["done"]
        step = state["step"]
        blob = json.dumps(step)
        assert "model" not in blob and "real" not in blob  # no set names reach the page
        for url in media_urls(step):
            got = client.get(url)
            assert got.status_code == 200 and got.content[:4] == b"RIFF"
            seen_audio.add(url)
        r = _answer(client, who, step, position)
        assert r.status_code == 201, r.text
        if position == 3:  # a retry of an acknowledged answer (lost reply) is not stored twice
            again = _answer(client, who, step, position, listen=False)
            assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert client.get(f"/api/listeners/{who}").json()["done"]
    store = Store(root / "data" / "tunelab.db")
    ratings = [r for r in store.ratings(test_id) if r["listener"] == made_number(store, who)]
    assert len(ratings) == 9 * 5 and {r["value"] for r in ratings} == {7}
    assert len(store.choices(test_id)) >= 2
    exported = client.get(f"/api/tests/{test_id}/export.csv", headers={"X-Admin-Token": TOKEN})
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sum(r["kind"] == "rating" for r in rows) == len(store.ratings(test_id))
    report = client.get(f"/api/tests/{test_id}/report", headers={"X-Admin-Token": TOKEN}).json()
    assert report["summary"]["overall"]["modelA"]["mean"] == 7.0
    page = client.get(f"/results/{test_id}")  # a page with no data: its script fetches them with the token
    assert page.status_code == 200 and TOKEN not in page.text and "modelA" not in page.text
    admin = {"X-Admin-Token": TOKEN}
    assert client.get(f"/api/tests/{test_id}/chart.png", headers=admin).content[:4] == b"\x89PNG"
    assert client.get(f"/api/tests/{test_id}/chart.png").status_code == 401
    titles = [t["title"] for t in client.get(f"/api/tests/{test_id}/report", headers=admin).json()["tables"]]
    assert titles[0] == "Ratings" and "Bradley-Terry ranking" in titles


def made_number(store, listener_id):
    return store.listener(listener_id)["number"]


def test_answers_must_follow_the_order_and_the_music_must_be_played(client, site):
    _, test_id = site
    who = client.post("/api/listeners", json={"test_id": test_id, "consent": True}).json()["listener_id"]
    step = client.get(f"/api/listeners/{who}").json()["step"]
    ahead = _answer(client, who, step, 1, listen=False)
    assert ahead.status_code in (409, 422)
    unheard = _answer(client, who, step, 0, played=60.0, listen=False)  # the page's played_s is not trusted
    assert unheard.status_code == 422 and unheard.json()["code"] == "too_soon"
    for url in media_urls(step):
        client.get(url)
    client.clock.advance(0.5)  # served, but not long enough ago (the test asks for 1 s)
    assert _answer(client, who, step, 0, listen=False).json()["code"] == "too_soon"
    assert client.get(f"/api/listeners/{who}").json()["next_position"] == 0
    client.clock.advance(0.6)
    assert _answer(client, who, step, 0, played=0.0, listen=False).status_code == 201


BAD = [
    ("malformed JSON", lambda who: {"content": b'{"listener_id": "', "headers": {"Content-Type": "application/json"}}, 400),
    ("rating above the scale", lambda who: {"json": {"listener_id": who, "position": 0, "played_s": 5, "ratings": dict.fromkeys(design.SCALES, 11)}}, 422),
    ("rating below the scale", lambda who: {"json": {"listener_id": who, "position": 0, "played_s": 5, "ratings": dict.fromkeys(design.SCALES, 0)}}, 422),
    ("a missing scale", lambda who: {"json": {"listener_id": who, "position": 0, "played_s": 5, "ratings": {"overall": 5}}}, 422),
    ("a string for a rating", lambda who: {"json": {"listener_id": who, "position": 0, "played_s": 5, "ratings": dict.fromkeys(design.SCALES, "7; DROP TABLE ratings")}}, 422),
    ("SQL in the listener id", lambda who: {"json": {"listener_id": "x' OR '1'='1", "position": 0, "played_s": 5, "choice": "A"}}, 422),
    ("a choice where ratings are asked", lambda who: {"json": {"listener_id": who, "position": 0, "played_s": 5, "choice": "A"}}, 422),
    ("an unknown field", lambda who: {"json": {"listener_id": who, "position": 0, "played_s": 5, "choice": "A", "admin": True}}, 422),
    ("a body over the limit", lambda who: {"json": {"listener_id": who, "position": 0, "played_s": 5, "comment": "x" * (MAX_BODY + 10)}}, 413),
]  # fmt: skip


@pytest.mark.parametrize("what,request_kwargs,status", BAD, ids=[b[0] for b in BAD])
def test_bad_answers_are_refused_with_a_json_error_and_nothing_stored(
    client, site, what, request_kwargs, status
):
    root, test_id = site
    who = client.post("/api/listeners", json={"test_id": test_id, "consent": True}).json()["listener_id"]
    db = sqlite3.connect(root / "data" / "tunelab.db")
    before = (
        db.execute("SELECT COUNT(*) FROM responses").fetchone()[0],
        db.execute("SELECT COUNT(*) FROM ratings").fetchone()[0],
    )
    r = client.post("/api/responses", **request_kwargs(who))
    assert r.status_code == status, (what, r.text)
    body = r.json()
    assert "error" in body and "DROP TABLE" not in r.text and "OR '1'='1" not in r.text  # nothing echoed
    after = (
        db.execute("SELECT COUNT(*) FROM responses").fetchone()[0],
        db.execute("SELECT COUNT(*) FROM ratings").fetchone()[0],
    )
    assert after == before
    assert db.execute("SELECT name FROM sqlite_master WHERE name = 'ratings'").fetchone()  # still there


def test_free_text_with_script_tags_and_sql_is_stored_verbatim_and_escaped_on_pages(client, site):
    root, test_id = site
    who = client.post("/api/listeners", json={"test_id": test_id, "consent": True}).json()["listener_id"]
    step = client.get(f"/api/listeners/{who}").json()["step"]
    nasty = "<script>alert(1)</script>'); DROP TABLE responses; --"
    assert _answer(client, who, step, 0, comment=nasty).status_code == 201
    stored = (
        sqlite3.connect(root / "data" / "tunelab.db")
        .execute("SELECT comment FROM responses WHERE listener_id = ?", (who,))
        .fetchone()[0]
    )
    assert stored == nasty  # parameterised SQL: stored as text, the table intact
    from tunelab.web.analysis import analyse
    from tunelab.web.pages import results

    page = results(analyse(Store(root / "data" / "tunelab.db"), test_id))
    assert "<script>alert" not in page
    exported = client.get(f"/api/tests/{test_id}/export.json", headers={"X-Admin-Token": TOKEN}).json()
    assert nasty in [r["comment"] for r in exported]
    assert "default-src 'self'" in client.get(f"/listen/{test_id}").headers["content-security-policy"]


def test_consent_is_required_and_unknown_tests_are_404(client, site):
    _, test_id = site
    assert client.post("/api/listeners", json={"test_id": test_id, "consent": False}).status_code == 422
    assert client.post("/api/listeners", json={"test_id": "00000000", "consent": True}).status_code == 404
    assert client.get("/listen/00000000").status_code == 404
    assert client.get("/api/listeners/" + "0" * 32).json() == {
        "error": "no such listener",
        "code": "no_such_listener",
    }


@pytest.mark.parametrize(
    "url",
    ["/media/../tunelab.db", "/media/..%2F..%2Ftunelab.db", "/media/%2e%2e/tunelab.db.wav",
     "/media/gallery/modelA/..%2F..%2Ftunelab.db", "/media/gallery/modelA/-1.wav", "/media/gallery/..%2Fdata/0.wav",
     "/static/..%2F..%2Fapp.py", "/media/0123456789abcdef.wav"],
)  # fmt: skip
def test_file_routes_refuse_traversal(client, url):
    r = client.get(url)
    assert r.status_code in (404, 422) and b"SQLite" not in r.content and b"import" not in r.content


def test_admin_routes_need_the_token(client, site):
    _, test_id = site
    for url in ("/api/tests", f"/api/tests/{test_id}/export.csv", f"/api/tests/{test_id}/report"):
        assert client.get(url).status_code == 401
        assert client.get(url, headers={"X-Admin-Token": "wrong"}).status_code == 403
        assert client.get(url, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get(f"/api/tests/{test_id}/report?token={TOKEN}").json()["code"] == "token_in_url"
    made = client.post("/api/tests", json={"sets": ["modelA"], "n": 2})
    assert made.status_code == 401
    assert len(client.get("/api/tests", headers={"X-Admin-Token": TOKEN}).json()) == 1
    admin = {"X-Admin-Token": TOKEN}
    outside = client.post("/api/tests", json={"sets": ["/etc"], "n": 2}, headers=admin)
    assert outside.status_code == 422  # only gallery sets, never a path from the request
    made = client.post("/api/tests", json={"sets": ["modelA"], "n": 2, "scales": ["overall"]}, headers=admin)
    assert made.status_code == 201 and client.get(made.json()["url"]).status_code == 200
    assert client.get(f"/api/tests/{made.json()['id']}").json()["scales"] == ["overall"]


def test_the_gallery_shows_each_melody_with_audio_sheet_and_roll(client):
    home = client.get("/")
    assert "/gallery/modelA" in home.text
    page = client.get("/gallery/modelA").text
    assert page.count("<audio") == 6 and page.count("alt='sheet music'") == 6
    assert client.get("/media/gallery/modelA/0.svg").text.lstrip().startswith(("<?xml", "<svg"))
    assert client.get("/media/gallery/modelA/0.png").content[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_listen_commands_create_export_and_report(tmp_path, capsys):
    from tunelab.cli import main

    a, b, real = make_sets(tmp_path, n=4)
    data = str(tmp_path / "data")
    assert main(["listen", "create", "--sets", str(a), str(b), "--reference", str(real), "--n", "2",
                 "--scales", "overall,coherence", "--max-seconds", "1", "--data-dir", data]) == 0  # fmt: skip
    test_id = capsys.readouterr().out.split()[1]
    store = Store(tmp_path / "data" / "tunelab.db")
    d = store.test(test_id)["design"]
    assert d["scales"] == ["overall", "coherence"] and len(d["item_sets"]) == 6
    who = store.add_listener(test_id, "a" * 32, "none", None, lambda k: design.steps(d, k))
    for position in range(len(who["steps"])):
        store.respond("a" * 32, position, played_s=1, ratings={"overall": position + 1, "coherence": 5})
    assert main(["listen", "export", test_id, "--data-dir", data, "--out", str(tmp_path / "r.csv")]) == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text())))
    assert len(rows) == 12 and {r["set"] for r in rows} == {"modelA", "modelB", "reference-real"}
    assert main(["listen", "report", test_id, "--data-dir", data, "--out", str(tmp_path / "rep")]) == 0
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    by_set = {s: report["summary"]["overall"][s]["mean"] for s in report["conditions"]}
    expected = {}
    for position, step in enumerate(who["steps"]):
        expected.setdefault(d["item_sets"][step["item"]], []).append(position + 1)
    assert by_set == {s: np.mean(v) for s, v in expected.items()}  # means computed by hand
    assert "<svg" in (tmp_path / "rep" / "report.html").read_text()
    assert main(["listen", "report", "ffffffff", "--data-dir", data]) == 2
    assert "no test 'ffffffff'" in capsys.readouterr().err
