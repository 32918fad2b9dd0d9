"""Review without a browser: reading results back, review order, the store, apply, the server's API and
its refusals (path traversal, other hosts, other origins), the static export, and the CLI's exit codes."""

from __future__ import annotations

import csv
import http.client
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from digitscan.cli import app
from digitscan.errors import BadResultsError, NoInputError
from digitscan.results import HUMAN, DigitResult, FileResult, NumberResult, PageResult, RunResult
from digitscan.review import (
    CorrectionStore,
    Decision,
    DigitKey,
    ReviewItem,
    apply_corrections,
    decide,
    iter_corrections,
    load_decisions,
    load_results,
    read_corrections_file,
    render_corrections_file,
    review_items,
    run_from_json,
    store_path,
)
from digitscan.review_images import PageImages, PageUnavailableError, ScanLocator
from digitscan.review_server import ReviewSession
from digitscan.segment import Box
from digitscan.writers import render_json, write_results

from .conftest import REPO, SAMPLES
from .review_helpers import DOUBTFUL, item_id, make_results, serving

runner = CliRunner()
FIRST, SECOND, THIRD, FOURTH = list(DOUBTFUL)


@pytest.fixture
def results(tmp_path: Path) -> Path:
    return make_results(tmp_path)


def _request(
    server_port: int, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server_port, timeout=10)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        all_headers = {"Host": f"127.0.0.1:{server_port}", **(headers or {})}
        if body is not None:
            all_headers.setdefault("Content-Type", "application/json")
            all_headers["Content-Length"] = str(len(body))
        for name, value in all_headers.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _post(port: int, digit_id: str, label: str | None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    return _request(port, "POST", "/api/decisions", json.dumps({"id": digit_id, "label": label}).encode(), headers)


def _answer(results: Path, *answers: tuple[int, int | None]) -> list[ReviewItem]:
    """Save answers (item index in review order, label) in the store beside ``results``; return the items."""
    items = review_items(load_results(results).run)
    store = CorrectionStore.open(store_path(results))
    for index, label in answers:
        store.save(decide(items[index], label))
    store.close()
    return items


# --- reading results and choosing what to review ----------------------------------------------------------


def test_a_json_results_document_reads_back_into_the_same_run(results: Path) -> None:
    document = load_results(results)
    assert render_json(document.run) == results.read_text()
    assert document.pdf_dpi == 300
    assert document.inputs[0].folder and document.inputs[0].path == "scans"


def test_items_are_the_doubtful_digits_least_confident_first(results: Path) -> None:
    items = review_items(load_results(results).run)
    assert [(i.key.file, i.key.page, i.key.number, i.key.position) for i in items] == list(DOUBTFUL)
    first = items[0]
    assert (first.digit.digit, first.digit.second_digit, first.number.text) == (5, 3, "1584")
    crop = first.context_box()
    assert crop.x <= first.number.box.x and crop.right >= first.number.box.right
    assert crop.x >= 0 and crop.right <= first.page_width and crop.bottom <= first.page_height


def test_digit_ids_are_stable_and_distinct() -> None:
    key = DigitKey("a.png", 1, 0, 0, Box(1, 2, 3, 4))
    assert key.id == DigitKey("a.png", 1, 0, 0, Box(1, 2, 3, 4)).id
    others = [
        DigitKey("b.png", 1, 0, 0, Box(1, 2, 3, 4)),
        DigitKey("a.png", 2, 0, 0, Box(1, 2, 3, 4)),
        DigitKey("a.png", 1, 1, 0, Box(1, 2, 3, 4)),
        DigitKey("a.png", 1, 0, 1, Box(1, 2, 3, 4)),
        DigitKey("a.png", 1, 0, 0, Box(1, 2, 3, 5)),
    ]
    assert len({key.id, *(k.id for k in others)}) == 6
    assert re.fullmatch(r"[0-9a-f]{20}", key.id)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG not json", "not valid JSON"),
        (b'["a list"]', "no 'files' list"),
        (b'{"files": [{"file": "a.png"}]}', "not a well-formed"),
        (b'{"files": [{"file": "a.png", "kind": "png", "pages": [{"page": "one"}]}]}', "not a well-formed"),
    ],
)
def test_malformed_results_are_refused_with_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "results.json"
    path.write_bytes(content)
    with pytest.raises(BadResultsError, match=message):
        load_results(path)


def test_missing_and_csv_results_are_refused(tmp_path: Path) -> None:
    with pytest.raises(NoInputError, match="does not exist"):
        load_results(tmp_path / "results.json")
    (tmp_path / "results.csv").write_text("file,page\n")
    with pytest.raises(BadResultsError, match="JSON output"):
        load_results(tmp_path / "results.csv")


# --- the store and the corrections file -------------------------------------------------------------------


def test_store_keeps_every_decision_across_reopening(results: Path) -> None:
    items = _answer(results, (0, 3), (1, None), (2, 1), (2, 5))  # changed mind on item 2: the last answer wins
    store = CorrectionStore.open(store_path(results))
    store.forget(items[1].id)
    store.close()
    assert store_path(results).name == "results.json.review.sqlite"
    reopened = CorrectionStore.open(store_path(results))
    found = reopened.decisions()
    reopened.close()
    assert {k: d.label for k, d in found.items()} == {items[0].id: 3, items[2].id: 5}
    assert found[items[0].id].model_digit == 5 and found[items[0].id].key == items[0].key


def test_a_file_that_is_not_a_store_or_of_another_schema_is_refused(results: Path) -> None:
    store_path(results).write_text("not sqlite" * 100)
    with pytest.raises(BadResultsError, match="not a digitscan review store"):
        load_decisions(results)
    store_path(results).unlink()
    CorrectionStore.open(store_path(results)).close()
    with sqlite3.connect(store_path(results)) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    with pytest.raises(BadResultsError, match="schema 99"):
        load_decisions(results)


def test_corrections_file_round_trip_and_refusals(results: Path, tmp_path: Path) -> None:
    document = load_results(results)
    items = review_items(document.run)
    decisions = [decide(items[0], 3), decide(items[1], None)]
    path = tmp_path / "results.corrections.json"
    path.write_text(render_corrections_file(decisions, document))
    assert read_corrections_file(path) == {d.id: d for d in decisions}
    record = json.loads(path.read_text())
    record["corrections"][0]["x"] += 1  # the id no longer matches the box
    path.write_text(json.dumps(record))
    with pytest.raises(BadResultsError, match=r"record 0.*does not match"):
        read_corrections_file(path)
    record["corrections"][0]["x"] -= 1
    record["corrections"][0]["label"] = "12"
    path.write_text(json.dumps(record))
    with pytest.raises(BadResultsError, match="label"):
        read_corrections_file(path)
    path.write_text('{"corrections": []}')
    with pytest.raises(BadResultsError, match="not a digitscan corrections file"):
        read_corrections_file(path)
    with pytest.raises(NoInputError):
        read_corrections_file(tmp_path / "absent.json")


def test_training_reads_the_decisions_as_records_with_their_scan(results: Path) -> None:
    items = _answer(results, (0, 3), (1, None))
    records = list(iter_corrections(results))
    assert [(r.file, r.page, r.box, r.label) for r in records] == [
        (items[0].key.file, 1, items[0].digit.box, 3),
        (items[1].key.file, 2, items[1].digit.box, None),
    ]
    assert records[1].path == results.parent / "scans" / "mixed_004.pdf" and records[1].pdf_dpi == 300


# --- apply ------------------------------------------------------------------------------------------------


def _one_page_run() -> RunResult:
    def digit(position: int, value: int, confidence: float, x: int) -> DigitResult:
        return DigitResult(position, value, confidence, 0, 0.01, Box(x, 10, 20, 30), confidence < 0.9)

    numbers = (
        NumberResult(0, (digit(0, 1, 0.99, 10), digit(1, 5, 0.5, 40), digit(2, 7, 0.95, 70))),
        NumberResult(1, (digit(0, 4, 0.3, 200),)),  # a speck read as 4
        NumberResult(2, (digit(0, 8, 0.6, 300), digit(1, 2, 0.98, 330))),
    )
    return RunResult((FileResult("a.png", "png", (PageResult(1, 400, 100, 0.0, numbers),)),), (), {"x": 1})


def test_apply_rebuilds_numbers_from_the_reviewers_answers() -> None:
    run = _one_page_run()
    items = {(i.key.number, i.key.position): i for i in review_items(run)}
    decisions = [decide(items[0, 1], 3), decide(items[1, 0], None), decide(items[2, 0], 8)]
    stray = Decision(DigitKey("other.png", 1, 0, 0, Box(0, 0, 1, 1)), 1, 1, "")
    applied = apply_corrections(run, {d.id: d for d in [*decisions, stray]})
    assert (applied.confirmed, applied.corrected, applied.not_digits) == (1, 1, 1)
    assert (applied.numbers_dropped, applied.unmatched) == (1, 1)
    numbers = applied.run.files[0].pages[0].numbers
    assert [(n.index, n.text) for n in numbers] == [(0, "137"), (1, "82")]
    corrected = numbers[0].digits[1]
    assert (corrected.digit, corrected.confidence, corrected.needs_review, corrected.source) == (3, 1.0, False, HUMAN)
    assert numbers[0].confidence == 0.95 and not numbers[0].needs_review
    assert [d.source for d in numbers[1].digits] == ["human", "model"]
    assert applied.run.counts()["digits"] == 5 and applied.run.metadata["review"]["decisions_applied"] == 3


def test_apply_drops_a_not_a_digit_and_renumbers_positions() -> None:
    run = _one_page_run()
    items = {(i.key.number, i.key.position): i for i in review_items(run)}
    applied = apply_corrections(run, {d.id: d for d in [decide(items[0, 1], None)]})
    digits = applied.run.files[0].pages[0].numbers[0].digits
    assert [(d.position, d.digit) for d in digits] == [(0, 1), (1, 7)]
    assert applied.run.files[0].pages[0].numbers[0].text == "17"


def test_cli_apply_writes_csv_and_json_with_the_source_column(results: Path, tmp_path: Path) -> None:
    _answer(results, (0, 3), (2, 5))
    out_csv, out_json = tmp_path / "corrected.csv", tmp_path / "corrected.json"
    result = runner.invoke(app, ["apply", str(results), "--out", str(out_csv)])
    assert result.exit_code == 0, result.output
    assert "1 confirmed, 1 corrected" in result.output
    rows = list(csv.DictReader(out_csv.open()))
    human = [(r["file"], r["page"], r["number"], r["position"], r["digit"]) for r in rows if r["source"] == "human"]
    assert human == [("cheque_001.png", "1", "2", "1", "3"), ("mixed_004.pdf", "1", "1", "0", "5")]
    fixed = [r for r in rows if r["file"] == "cheque_001.png" and r["number"] == "2"]
    assert {r["number_text"] for r in fixed} == {"1384"} and fixed[1]["confidence"] == "1.000000"
    assert sum(r["needs_review"] == "true" for r in rows) == 2
    assert runner.invoke(app, ["apply", str(results), "--out", str(out_json)]).exit_code == 0
    document = json.loads(out_json.read_text())
    assert document["summary"]["needs_review"] == 2 and document["digitscan"]["review"]["corrected"] == 1
    assert load_results(out_json).run.files[0].pages[0].numbers[2].digits[1].source == HUMAN


def test_cli_apply_refusals(results: Path, tmp_path: Path) -> None:
    def apply(*args: str) -> int:
        return runner.invoke(app, ["apply", *args]).exit_code

    assert apply(str(results), "--out", str(results)) == 2  # never over the reviewed results
    assert apply(str(results), "--out", str(tmp_path / "corrected.txt")) == 2
    assert apply(str(tmp_path / "absent.json"), "--out", str(tmp_path / "c.csv")) == 4
    assert apply(str(results), "--corrections", str(tmp_path / "absent.json"), "--out", str(tmp_path / "c.csv")) == 4
    (tmp_path / "bad.json").write_text("{")
    assert apply(str(results), "--corrections", str(tmp_path / "bad.json"), "--out", str(tmp_path / "c.csv")) == 6
    assert apply(str(results), "--out", str(tmp_path / "missing" / "c.csv")) == 5
    assert not (tmp_path / "c.csv").exists()


# --- pages and crops: only the results' own files -----------------------------------------------------------


def test_pdf_pages_are_rendered_at_the_runs_dpi_and_match_the_results(results: Path) -> None:
    document = load_results(results)
    images = PageImages(document, ScanLocator(document))
    assert images.page("mixed_004.pdf", 2).shape == (2600, 2000)
    assert images.page("cheque_001.png", 1).shape == (1000, 2200)
    with pytest.raises(PageUnavailableError, match="not in the results"):
        images.page("mixed_004.pdf", 3)


def test_a_scan_changed_since_the_run_is_not_shown(results: Path) -> None:
    (results.parent / "scans" / "cheque_001.png").write_bytes((SAMPLES / "form_005_g4.tif").read_bytes())
    document = load_results(results)
    with pytest.raises(PageUnavailableError, match="2000x2600 pixels now but 2200x1000 in the results"):
        PageImages(document, ScanLocator(document)).page("cheque_001.png", 1)


def test_file_names_that_leave_the_scans_folder_are_never_opened(tmp_path: Path) -> None:
    results = make_results(tmp_path)
    secret = tmp_path / "secret.png"
    secret.write_bytes((SAMPLES / "cheque_001.png").read_bytes())
    document = json.loads(results.read_text())
    names = ["../secret.png", str(secret), "scans/../../secret.png", "..\\secret.png", ""]
    template = document["files"][0]
    document["files"] = [{**template, "file": name} for name in names] + document["files"]
    results.write_text(json.dumps(document))
    loaded = load_results(results)
    locator = ScanLocator(loaded)
    assert all(locator.find(name) is None for name in names)
    assert locator.find("cheque_001.png") == tmp_path / "scans" / "cheque_001.png"
    assert locator.find("not-listed.png") is None
    (tmp_path / "scans" / "not-listed.png").write_bytes(b"")
    assert locator.find("not-listed.png") is None  # present on disk, but not in the results
    moved = ScanLocator(loaded, scans=tmp_path / "scans")
    assert moved.find("../secret.png") is None and moved.find("mixed_004.pdf") is not None


def test_a_file_given_by_name_is_found_only_under_that_name(tmp_path: Path) -> None:
    results = make_results(tmp_path)
    document = json.loads(results.read_text())
    scan = tmp_path / "scans" / "cheque_001.png"
    document["digitscan"]["inputs"] = [{"path": "x/cheque_001.png", "absolute": str(scan), "folder": False}]
    document["files"][0]["file"] = "x/cheque_001.png"
    results.write_text(json.dumps(document))
    locator = ScanLocator(load_results(results))
    assert locator.find("x/cheque_001.png") == scan
    assert locator.find("mixed_004.pdf") is None


# --- the server --------------------------------------------------------------------------------------------


def test_server_serves_state_crops_and_pages_and_saves_decisions(results: Path) -> None:
    with serving(results) as server:
        port = server.server_address[1]
        status, body = _request(port, "GET", "/")
        assert status == 200 and b"digitscan review" in body
        status, body = _request(port, "GET", "/api/state")
        state = json.loads(body)
        assert state["total"] == 4 and [i["confidence"] for i in state["items"]] == [0.41, 0.55, 0.62, 0.8]
        first = state["items"][0]
        assert (first["file"], first["digit"], first["second_digit"]) == ("cheque_001.png", 5, 3)
        status, crop = _request(port, "GET", "/" + first["crop_src"])
        assert status == 200 and crop.startswith(b"\x89PNG")
        status, page = _request(port, "GET", "/" + state["pages"][state["items"][1]["page_ref"]])
        assert status == 200 and page.startswith(b"\xff\xd8")
        status, body = _post(port, first["id"], "3")
        assert status == 200 and json.loads(body) == {"saved": True, "reviewed": 1, "total": 4}
        assert _post(port, first["id"], "12")[0] == 400
        assert _post(port, "0" * 20, "3")[0] == 404
    with serving(results) as server:  # a restarted server shows the saved answer
        state = json.loads(_request(server.server_address[1], "GET", "/api/state")[1])
        assert state["decisions"][first["id"]]["label"] == "3"


@pytest.mark.parametrize(
    "path",
    [
        "/../../../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/api/crops/../../../etc/passwd",
        "/api/crops/..%2f..%2f..%2fetc%2fpasswd.png",
        "/api/crops/scans/cheque_001.png",
        "/api/pages/../scans/cheque_001.png",
        "/api/pages/p99.jpg",
        "/scans/cheque_001.png",
        "/results.json",
        "/results.json.review.sqlite",
        "//etc/passwd",
    ],
)
def test_server_serves_nothing_but_its_own_routes(results: Path, path: str) -> None:
    with serving(results) as server:
        status, body = _request(server.server_address[1], "GET", path)
    assert status == 404
    assert b"root:" not in body and not body.startswith(b"\x89PNG") and b'"files"' not in body


def test_server_refuses_other_hosts_origins_and_non_json_posts(results: Path) -> None:
    digit_id = item_id(results, FIRST)
    with serving(results) as server:
        port = server.server_address[1]
        assert _request(port, "GET", "/api/state", headers={"Host": "attacker.example"})[0] == 403
        assert _post(port, digit_id, "3", headers={"Origin": "http://attacker.example"})[0] == 403
        form = b"id=x&label=3"
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        assert _request(port, "POST", "/api/decisions", form, headers)[0] == 415
        assert _request(port, "POST", "/api/decisions", b"x" * 5000)[0] == 400
        assert _post(port, digit_id, "3", headers={"Origin": f"http://127.0.0.1:{port}"})[0] == 200
    assert server.loopback_only


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_cli_review(results: Path, port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("DISPLAY", None)
    return subprocess.Popen(
        [sys.executable, "-m", "digitscan", "review", str(results), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_until_serving(process: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            if _request(port, "GET", "/api/state")[0] == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the review server did not start")


def test_answers_survive_the_server_being_killed(results: Path) -> None:
    port = _free_port()
    server = _start_cli_review(results, port)
    try:
        _wait_until_serving(server, port)
        assert _post(port, item_id(results, FIRST), "3")[0] == 200
        assert _post(port, item_id(results, SECOND), "not_a_digit")[0] == 200
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(10)
    assert server.returncode == -signal.SIGKILL
    restarted = _start_cli_review(results, port)
    try:
        _wait_until_serving(restarted, port)
        state = json.loads(_request(port, "GET", "/api/state")[1])
        assert {k: v["label"] for k, v in state["decisions"].items()} == {
            item_id(results, FIRST): "3",
            item_id(results, SECOND): "not_a_digit",
        }
    finally:
        restarted.send_signal(signal.SIGTERM)  # the normal way to stop it: exit 0, nothing to lose
        _, stderr = restarted.communicate(timeout=20)
    assert restarted.returncode == 0, stderr
    assert f"127.0.0.1:{port}" in stderr and "stopped: 2 of 4 reviewed" in stderr


# --- the CLI ------------------------------------------------------------------------------------------------


def test_review_exit_codes(tmp_path: Path, results: Path) -> None:
    def review(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, ["review", *args])
        return result.exit_code, result.output

    code, output = review(str(tmp_path / "absent.json"))
    assert code == 4 and "does not exist" in output
    (tmp_path / "broken.json").write_text('{"files": [')
    code, output = review(str(tmp_path / "broken.json"))
    assert code == 6 and "not valid JSON" in output
    (tmp_path / "results.csv").write_text("file,page\n")
    code, output = review(str(tmp_path / "results.csv"))
    assert code == 6 and "JSON output" in output
    assert review(str(results), "--html", str(tmp_path / "page.txt"))[0] == 2
    assert review(str(results), "--html", str(tmp_path / "no" / "page.html"))[0] == 5
    assert review(str(results), "--scans", str(tmp_path / "nowhere"))[0] == 4
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        code, output = review(str(results), "--port", str(busy.getsockname()[1]))
    assert code == 2 and "choose another --port" in output


def test_static_export_is_one_self_contained_page(results: Path, tmp_path: Path) -> None:
    items = _answer(results, (0, 3))  # an answer given earlier in the live review comes along
    page = tmp_path / "review.html"
    result = runner.invoke(app, ["review", str(results), "--html", str(page)])
    assert result.exit_code == 0, result.output
    html = page.read_text()
    state = json.loads(re.search(r'<script id="embedded-state" type="application/json">(.*?)</script>', html)[1])
    assert [i["id"] for i in state["items"]] == [i.id for i in items]
    assert all(i["crop_src"].startswith("data:image/png;base64,") for i in state["items"])
    assert all(src.startswith("data:image/jpeg;base64,") for src in state["pages"].values())
    assert state["decisions"] == {
        items[0].id: {"label": "3", "decided_at": state["decisions"][items[0].id]["decided_at"]}
    }
    assert 'src="http' not in html and 'href="http' not in html


def test_static_export_marks_a_missing_scan_instead_of_failing(results: Path, tmp_path: Path) -> None:
    (results.parent / "scans" / "mixed_004.pdf").unlink()
    page = tmp_path / "review.html"
    result = runner.invoke(app, ["review", str(results), "--html", str(page)])
    assert result.exit_code == 0 and "mixed_004.pdf is not found" in result.output
    state = json.loads(re.search(r'type="application/json">(.*?)</script>', page.read_text())[1])
    missing = [i for i in state["items"] if i["file"] == "mixed_004.pdf"]
    assert missing and all(i["crop_src"] is None and "not found" in i["unavailable"] for i in missing)


def test_nothing_to_review_ends_at_once(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    run = _one_page_run()
    calm = RunResult(
        tuple(
            FileResult(f.file, f.kind, tuple(
                PageResult(p.page, p.width, p.height, p.skew_deg, tuple(
                    NumberResult(n.index, tuple(DigitResult(
                        d.position, d.digit, 0.99, d.second_digit, 0.01, d.box, False) for d in n.digits))
                    for n in p.numbers))
                for p in f.pages))
            for f in run.files
        ),
        (),
    )  # fmt: skip
    write_results(calm, results)
    result = runner.invoke(app, ["review", str(results)])
    assert result.exit_code == 0 and "nothing needs review" in result.output


def test_review_of_a_real_run_from_process_to_apply(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    assert runner.invoke(app, ["process", str(SAMPLES / "mixed_004.pdf"), "--out", str(out), "-q"]).exit_code == 0
    document = load_results(out)
    assert document.run.metadata["inputs"][0]["folder"] is False
    session = ReviewSession(document, PageImages(document, ScanLocator(document)), None)
    assert len(session.items) == json.loads(out.read_text())["summary"]["needs_review"]
    for item in session.items:
        assert session.crop(item.id).startswith(b"\x89PNG")
    store = CorrectionStore.open(store_path(out))
    for item in session.items:
        store.save(decide(item, item.digit.second_digit))
    store.close()
    corrected = tmp_path / "corrected.json"
    assert runner.invoke(app, ["apply", str(out), "--out", str(corrected)]).exit_code == 0
    assert json.loads(corrected.read_text())["summary"]["needs_review"] == 0
    assert run_from_json(json.loads(corrected.read_text())).counts()["digits"] == document.run.counts()["digits"]
