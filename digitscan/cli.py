"""The ``digitscan`` command: a thin layer that turns arguments into library calls and errors into exit codes.

Nothing here imports TensorFlow at module level, so ``digitscan --help`` is instant. Messages, progress and
the summary go to stderr; stdout carries only data (``--out -``).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from digitscan.errors import DigitscanError, ExitCode

if TYPE_CHECKING:
    from digitscan.review_images import ScanLocator
    from digitscan.review_server import ReviewServer, ReviewSession

app = typer.Typer(
    name="digitscan",
    help="Read handwritten digits from scanned cheques and forms, with a confidence for each digit.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)
MnistFolder = Annotated[
    Path | None, typer.Option(help="Folder with the four MNIST IDX .gz files [default: keras' downloader].")
]
CROSSED_SEVENS_HELP = (
    "The writers cross their 7s (continental Europe, Latin America): a 7 without a bar is read as the flagged 1 "
    "it more likely is."
)


@app.callback()
def _root(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log every step (and TensorFlow's own messages).")
    ] = False,
) -> None:
    level = logging.DEBUG if verbose else logging.WARNING
    console = RichHandler(console=err, show_path=False)
    console.setLevel(level)  # a log file may lower the logger's level; the terminal stays at this one
    logging.basicConfig(level=level, format="%(message)s", handlers=[console])
    logging.getLogger("digitscan").setLevel(level)


@contextmanager
def _exit_codes() -> Iterator[None]:
    """The one place where exceptions become messages and exit codes."""
    try:
        yield
    except DigitscanError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(int(exc.exit_code)) from None
    except KeyboardInterrupt:
        err.print("[bold red]interrupted[/]")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def _print_summary(counts: dict[str, int], elapsed: float, failures: list[tuple[str, str, str]]) -> None:
    table = Table(title="digitscan", show_header=True, header_style="bold")
    for column in ("files", "pages", "numbers", "digits", "needs_review", "failures", "time"):
        table.add_column(column, justify="right")
    table.add_row(*[str(counts[k]) for k in list(counts)[:6]], f"{elapsed:.1f} s")
    err.print(table)
    for where, kind, message in failures[:20]:
        err.print(f"[red]failed[/] {where}: {kind}: {message}", highlight=False, soft_wrap=True)
    if len(failures) > 20:
        err.print(f"... and {len(failures) - 20} more failures (see the JSON output)")


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM (a scheduler stopping the job) ends the run like Ctrl-C: exit 130, journal kept."""
    raise KeyboardInterrupt


def _add_log_file(path: Path) -> None:
    """Append timestamped INFO logs of the run to ``path`` (cron jobs keep these)."""
    from digitscan.errors import OutputNotWritableError

    try:
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as exc:
        raise OutputNotWritableError(f"cannot open log file {path}: {exc}") from exc
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    package = logging.getLogger("digitscan")
    package.addHandler(handler)
    package.setLevel(min(package.level or logging.WARNING, logging.INFO))


class _PlainProgress:
    """Progress for logs and cron: a plain line every 30 seconds and at the end, never a bar."""

    interval_s = 30.0

    def __init__(self) -> None:
        self._last = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - self._last >= self.interval_s:
            self._last = now
            err.print(f"digitscan: {done}/{total} files read", highlight=False, soft_wrap=True)


def _run_with_progress(paths: list[Path], options: Any, journal: Any, quiet: bool) -> Any:
    """Run the pipeline with a bar on a terminal, plain lines otherwise, nothing when quiet."""
    from digitscan.pipeline import process as run_process

    if quiet:
        return run_process(paths, options, journal=journal)
    if not err.is_terminal:
        return run_process(paths, options, on_file_done=_PlainProgress(), journal=journal)
    from rich.progress import Progress

    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("reading scans", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return run_process(paths, options, on_file_done=advance, journal=journal)


@app.command()
def process(
    paths: Annotated[list[Path], typer.Argument(help="Scan files and folders (searched recursively).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="results.csv or results.json; - for CSV on stdout.")],
    pdf_dpi: Annotated[int, typer.Option(help="Resolution at which PDF pages are rendered.")] = 300,
    device: Annotated[str, typer.Option(help="auto, cpu or gpu.")] = "auto",
    model: Annotated[Path | None, typer.Option(help="Model file (.keras with its .json card).")] = None,
    pair_model: Annotated[
        Path | None, typer.Option(help="Touching-pair model file (digitscan train-pairs) [default: the shipped one].")
    ] = None,
    review_threshold: Annotated[
        float | None, typer.Option(help="Digits below this confidence need review [default: the model card's].")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Crops per model call.")] = 256,
    jobs: Annotated[
        int, typer.Option(help="Worker processes for loading and segmentation [default: the number of cores].")
    ] = 0,
    file_timeout: Annotated[
        float | None, typer.Option(help="Seconds a file may take to read and segment before it fails.")
    ] = None,
    min_age: Annotated[
        float, typer.Option(help="Skip files modified less than this many seconds ago (still being written).")
    ] = 0.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no summary.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output file.")] = True,
    log_file: Annotated[Path | None, typer.Option(help="Also log every file read and every failure here.")] = None,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Forget the run journal beside --out and read every file again.")
    ] = False,
    template: Annotated[
        Path | None,
        typer.Option(help="A known form (YAML or JSON): register each page to it and read its named fields."),
    ] = None,
    printed: Annotated[
        bool,
        typer.Option(
            "--printed", help="Also report digits printed on the form (account numbers, serials), marked printed."
        ),
    ] = False,
    crossed_sevens: Annotated[bool, typer.Option("--crossed-sevens", help=CROSSED_SEVENS_HELP)] = False,
) -> None:
    """Find and read every handwritten digit in the scans; write one row per digit.

    Finished files are kept in a run journal beside the output: rerunning the same command after an
    interruption, or over a folder with new scans, reads only what is not done yet.
    """
    signal.signal(signal.SIGTERM, _interrupt)
    with _exit_codes():
        from digitscan.journal import RunJournal, journal_path
        from digitscan.pipeline import ProcessOptions
        from digitscan.writers import STDOUT, check_writable, write_results

        check_writable(out, overwrite)
        if log_file is not None:
            _add_log_file(log_file)
        options = ProcessOptions(
            pdf_dpi=pdf_dpi,
            device=device,
            model=model,
            pair_model=pair_model,
            review_threshold=review_threshold,
            batch_size=batch_size,
            jobs=jobs or os.cpu_count() or 1,
            file_timeout_s=file_timeout,
            min_age_s=min_age,
            template=template,
            printed=printed,
            crossed_sevens=crossed_sevens,
        )
        journal = None if out == STDOUT else RunJournal.open(journal_path(out), fresh=fresh)
        try:
            run = _run_with_progress(paths, options, journal, quiet)
        finally:
            if journal is not None:
                journal.close()
        write_results(run, out)
        if not quiet:
            failures = [
                (f"{f.file}" + (f" page {f.page}" if f.page else ""), f.error_type, f.message) for f in run.failures
            ]
            _print_summary(run.counts(), run.elapsed_s, failures)
        if run.failures:
            raise typer.Exit(int(ExitCode.SOME_INPUTS_FAILED))


def _log_training() -> None:
    """Training is long: show its epoch lines on the terminal."""
    package = logging.getLogger("digitscan")
    package.setLevel(min(logging.INFO, package.level))
    for handler in logging.getLogger().handlers:
        handler.setLevel(min(logging.INFO, handler.level))


@app.command()
def train(
    out: Annotated[Path, typer.Option(help="Where to write the model (.keras); its card goes beside it.")],
    mnist: MnistFolder = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    epochs: Annotated[
        int | None, typer.Option(help="Training epochs [default: 45; 5 when fine-tuning with --extra].")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Train on only the first N images (smoke tests).")] = None,
    extra: Annotated[
        list[Path] | None,
        typer.Option(help="A reviewed results.json (its review store beside it): fine-tune on its corrections."),
    ] = None,
    base: Annotated[
        Path | None,
        typer.Option(help="Model to fine-tune: on --extra corrections [default: the shipped one], or alone on MNIST."),
    ] = None,
    holdout: Annotated[
        float, typer.Option(help="With --extra: share of the corrected files held out to measure the gain.")
    ] = 0.0,
    learning_rate: Annotated[
        float | None, typer.Option(help="Peak learning rate [default: 3e-3; 5e-4 when fine-tuning].")
    ] = None,
) -> None:
    """Train the digit CNN on MNIST (or fine-tune a model), calibrate it, write it with its card."""
    with _exit_codes():
        from digitscan.errors import UsageError
        from digitscan.mnist import load_mnist
        from digitscan.train import TrainSettings
        from digitscan.train import train as run_training

        if out.suffix != ".keras":
            raise UsageError("--out must end in .keras")
        if (epochs is not None and epochs < 1) or (limit is not None and limit < 100):
            raise UsageError("--epochs must be >= 1 and --limit >= 100")
        if not 0.0 <= holdout < 1.0:
            raise UsageError("--holdout must be in [0, 1)")
        if learning_rate is not None and not 0 < learning_rate < 1:
            raise UsageError("--learning-rate must be in (0, 1)")
        _log_training()
        data = load_mnist(mnist)
        from digitscan.card import default_model_path
        from digitscan.finetune import accuracy_on, fine_tune, load_corrections

        from_scratch = not extra and base is None
        default_epochs, default_rate = (
            (TrainSettings.epochs, TrainSettings.learning_rate) if from_scratch else (5, 5e-4)
        )
        settings = TrainSettings(
            epochs=epochs or default_epochs, seed=seed, train_limit=limit, learning_rate=learning_rate or default_rate
        )
        if not extra:
            result = run_training(data, settings, out) if base is None else fine_tune(data, settings, base, None, out)
            err.print(f"wrote {result.model_path} and its card: {json.dumps(result.card.metrics)}")
            return
        base = base or default_model_path()
        corrections = load_corrections(extra)
        tuning, held_out = corrections.split_by_file(holdout, seed)
        if not len(tuning):
            raise UsageError("--holdout leaves no corrections to fine-tune on")
        result = fine_tune(data, settings, base, tuning, out)
        err.print(f"fine-tuned on {len(tuning)} corrections ({corrections.skipped} skipped): wrote {result.model_path}")
        if len(held_out):
            typer.echo(
                f"held-out corrections: {len(held_out)} crops from {len(set(held_out.files))} files; "
                f"accuracy {accuracy_on(base, held_out):.4f} before, {accuracy_on(out, held_out):.4f} after"
            )


@app.command(name="train-pairs")
def train_pairs(
    out: Annotated[Path, typer.Option(help="Where to write the pair model (.keras); its card goes beside it.")],
    mnist: MnistFolder = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 8,
    pairs: Annotated[int, typer.Option(help="Touching pairs to train on.")] = 250_000,
    limit: Annotated[int | None, typer.Option(help="Draw pairs from only the first N images (smoke tests).")] = None,
) -> None:
    """Train the model that reads two touching digits as one pair (00-99), from MNIST, with its card."""
    with _exit_codes():
        from digitscan.errors import UsageError
        from digitscan.mnist import load_mnist
        from digitscan.pairs import PairSettings
        from digitscan.pairs import train_pairs as run_training

        if epochs < 1 or pairs < 100 or (limit is not None and limit < 100):
            raise UsageError("--epochs must be >= 1, --pairs >= 100 and --limit >= 100")
        _log_training()
        settings = PairSettings(pairs=pairs, epochs=epochs, seed=seed, train_limit=limit)
        card = run_training(load_mnist(mnist), settings, out)
        err.print(f"wrote {out} and its card: {json.dumps(card.metrics)}")


@app.command()
def ensemble(
    members: Annotated[list[Path], typer.Argument(help="Trained models (.keras with their cards) to average.")],
    out: Annotated[Path, typer.Option(help="Where to write the ensemble (.keras); its card goes beside it.")],
    mnist: MnistFolder = None,
) -> None:
    """Average trained models into one model (slower, surer), calibrated on the images they all held out."""
    with _exit_codes():
        from digitscan.errors import UsageError
        from digitscan.mnist import load_mnist
        from digitscan.train import ensemble as build_ensemble

        if out.suffix != ".keras":
            raise UsageError("--out must end in .keras")
        result = build_ensemble(load_mnist(mnist), members, out)
        err.print(f"wrote {result.model_path} and its card: {json.dumps(result.card.metrics)}")


@app.command()
def synth(
    out: Annotated[Path, typer.Option(help="Folder to write the pages and truth.json into.")],
    mnist: Annotated[Path, typer.Option(help="Folder with the MNIST IDX files (test digits are used).")],
    pages: Annotated[int, typer.Option(help="Number of pages.")] = 7,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    style: Annotated[
        str,
        typer.Option(
            help="clean: ruled pages, handwriting only; scanned: also printed labels and numbers, touching and "
            "broken digits, blur, noise, JPEG artefacts and 1-bit pages."
        ),
    ] = "clean",
    hands: Annotated[
        str,
        typer.Option(
            help="mnist: MNIST's own hands (bare 1s, uncrossed 7s); crossing: every 7 crossed and most 1s flagged, "
            "as the writers --crossed-sevens is for write them."
        ),
    ] = "mnist",
) -> None:
    """Generate synthetic cheque and form scans from MNIST test digits, with exact ground truth."""
    with _exit_codes():
        from digitscan.errors import UsageError
        from digitscan.mnist import load_mnist
        from digitscan.synth import HANDS, STYLES, write_samples

        if pages < 1:
            raise UsageError("--pages must be at least 1")
        if style not in STYLES:
            raise UsageError(f"--style must be one of {', '.join(STYLES)}, not {style!r}")
        if hands not in HANDS:
            raise UsageError(f"--hands must be one of {', '.join(HANDS)}, not {hands!r}")
        truth = write_samples(out, pages, seed, load_mnist(mnist), style, hands)
        err.print(f"wrote {pages} pages in {len(truth['files'])} files and truth.json to {out}")


@app.command()
def score(
    results: Annotated[Path, typer.Argument(help="A results CSV or JSON written by digitscan process.")],
    truth: Annotated[Path, typer.Argument(help="The truth.json written by digitscan synth.")],
) -> None:
    """Compare results with ground truth: digit accuracy, box recall and precision, exact numbers."""
    with _exit_codes():
        from digitscan.errors import UsageError
        from digitscan.scoring import score_files

        for path in (results, truth):
            if not path.is_file():
                raise UsageError(f"{path} does not exist")
        typer.echo(json.dumps(score_files(results, truth).summary()))


@app.command()
def evaluate(
    out: Annotated[Path, typer.Option(help="Folder for the confusion-matrix and reliability PNGs.")] = Path(
        "evaluation"
    ),
    mnist: Annotated[
        Path | None, typer.Option(help="Folder with the MNIST IDX files [default: keras' downloader].")
    ] = None,
    real: Annotated[
        Path | None, typer.Option(help="ORAND-CAR folder (digit_boxes.csv, images/) to evaluate on too.")
    ] = None,
    model: Annotated[Path | None, typer.Option(help="Model file [default: the shipped one].")] = None,
    crossed_sevens: Annotated[bool, typer.Option("--crossed-sevens", help=CROSSED_SEVENS_HELP)] = False,
) -> None:
    """Accuracy, per-class precision and recall, calibration and risk-coverage of a model, with plots."""
    with _exit_codes():
        from digitscan.classify import DigitClassifier
        from digitscan.evaluation import cluttered_report, nondigit_report, orand_digit_crops, report, write_plots
        from digitscan.evaluation import evaluate as run_evaluation
        from digitscan.mnist import load_mnist
        from digitscan.normalize import normalize_many

        classifier = DigitClassifier(model)
        data = load_mnist(mnist)
        sets = [("MNIST test", normalize_many(data.test_images), data.test_labels)]
        if real is not None:
            sets.append(("ORAND-CAR digits", *orand_digit_crops(real)))
        for name, crops, labels in sets:
            evaluation = run_evaluation(name, crops, labels, classifier, crossed_sevens)
            typer.echo(report(evaluation))
            for path in write_plots(evaluation, out):
                err.print(f"wrote {path}", highlight=False)
        typer.echo(nondigit_report(classifier))
        typer.echo(cluttered_report(classifier, data))


@app.command()
def inspect(
    scan: Annotated[Path, typer.Argument(help="One scan file.")],
    out: Annotated[Path, typer.Option(help="The overlay image to write (.png).")],
    page: Annotated[int, typer.Option(help="Page of the file to draw, from 1.")] = 1,
    pdf_dpi: Annotated[int, typer.Option(help="Resolution at which PDF pages are rendered.")] = 300,
    model: Annotated[Path | None, typer.Option(help="Model file [default: the shipped one].")] = None,
    template: Annotated[
        Path | None,
        typer.Option(help="A known form (YAML or JSON): read the page with it and draw its fields where they fell."),
    ] = None,
    crossed_sevens: Annotated[bool, typer.Option("--crossed-sevens", help=CROSSED_SEVENS_HELP)] = False,
) -> None:
    """Draw the numbers and digits found on one page, with readings and confidences, over the page.

    With --template, the page is read as `process --template` reads it, and each of the template's fields is
    drawn where registration placed it (combs with their cells), with its reading: the way to check a new
    template, or to see why a field was misread.
    """
    with _exit_codes():
        import cv2

        from digitscan.discover import discover
        from digitscan.errors import OutputNotWritableError, UsageError
        from digitscan.loading import iter_pages
        from digitscan.overlay import draw_overlay
        from digitscan.pipeline import ProcessOptions
        from digitscan.pipeline import process as run_process
        from digitscan.template import load_template

        if out.suffix.lower() != ".png":
            raise UsageError("--out must end in .png")
        if not scan.is_file():
            raise UsageError(f"{scan} is not a file")
        form = None if template is None else load_template(template)  # a bad template fails before any work
        options = ProcessOptions(pdf_dpi=pdf_dpi, model=model, template=template, crossed_sevens=crossed_sevens)
        run = run_process([scan], options)
        pages = {p.page: p for p in run.files[0].pages}
        if page not in pages:
            reason = run.failures[0].message if run.failures else f"it has {len(pages)} page(s)"
            raise UsageError(f"cannot draw page {page} of {scan}: {reason}")
        image = next(p.image for p in iter_pages(discover([scan])[0], pdf_dpi) if p.number == page)
        if not cv2.imwrite(str(out), draw_overlay(image, pages[page], form)):
            raise OutputNotWritableError(f"cannot write {out}")
        numbers = pages[page].numbers
        summary = f"wrote {out}: {len(numbers)} numbers, {sum(len(n.digits) for n in numbers)} digits"
        if form is not None:
            summary += f", {sum(n.valid is False for n in numbers)} of {len(numbers)} fields invalid"
        err.print(summary)


def _can_open_browser() -> bool:
    """Whether a browser can be shown here: never on a headless Linux box (no DISPLAY, no Wayland)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


@app.command()
def review(
    results: Annotated[Path, typer.Argument(help="A results.json written by digitscan process.")],
    port: Annotated[int, typer.Option(help="Port to serve the review page on (0: any free port).")] = 8765,
    host: Annotated[
        str, typer.Option(help="Address to listen on. Anything but 127.0.0.1 shows the scans to the network.")
    ] = "127.0.0.1",
    html: Annotated[
        Path | None, typer.Option(help="Write one self-contained review page here instead of serving it.")
    ] = None,
    scans: Annotated[Path | None, typer.Option(help="Folder holding the scans, when they moved since the run.")] = None,
    open_browser: Annotated[
        bool | None, typer.Option("--open/--no-open", help="Open a browser; by default only when a display is present.")
    ] = None,
) -> None:
    """Review the digits that need it, least confident first, in a local web page; each answer is saved at once.

    Answers go to RESULTS.review.sqlite beside the results; `digitscan apply` writes corrected results.
    With --html, writes a static page instead whose answers are exported as a file for `digitscan apply`.
    """
    signal.signal(signal.SIGTERM, _interrupt)
    with _exit_codes():
        from digitscan.errors import NoInputError, UsageError
        from digitscan.review import CorrectionStore, load_results, review_items, store_path
        from digitscan.review_images import PageImages, ScanLocator
        from digitscan.review_server import ReviewServer, ReviewSession
        from digitscan.writers import check_html_output, write_html

        if html is not None:
            check_html_output(html)
        document = load_results(results)
        if scans is not None and not scans.is_dir():
            raise NoInputError(f"--scans {scans} is not a folder")
        locator = ScanLocator(document, scans)
        images = PageImages(document, locator)
        store_file = store_path(results)
        if html is not None:
            store = CorrectionStore.open(store_file, create=False) if store_file.is_file() else None
            session = ReviewSession(document, images, store)
            _warn_missing_scans(session, locator)
            try:
                write_html(html, session.static_page())
            finally:
                if store is not None:
                    store.close()
            err.print(f"wrote {html}: {len(session.items)} digits to review", highlight=False)
            return
        if not review_items(document.run):
            err.print(f"nothing needs review in {results}", highlight=False)
            return
        store = CorrectionStore.open(store_file)
        try:
            session = ReviewSession(document, images, store)
            _warn_missing_scans(session, locator)
            try:
                server = ReviewServer(session, host, port)
            except OSError as exc:
                raise UsageError(
                    f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port (0: any free one)"
                ) from exc
            _serve_review(server, open_browser)
            reviewed = len(session.decisions())
            err.print(f"stopped: {reviewed} of {len(session.items)} reviewed, saved in {store_file}", highlight=False)
        finally:
            store.close()


def _warn_missing_scans(session: ReviewSession, locator: ScanLocator) -> None:
    for name in sorted({item.key.file for item in session.items}):
        if locator.find(name) is None:
            err.print(
                f"[yellow]warning:[/] {name} is not found where the run read it; its digits show without a crop "
                "(give the scans' folder with --scans)",
                highlight=False,
                soft_wrap=True,
            )


def _serve_review(server: ReviewServer, open_browser: bool | None) -> None:
    """Serve until Ctrl-C or SIGTERM (the normal way to stop: every answer is already saved)."""
    if not server.loopback_only:
        err.print("[yellow]warning:[/] listening beyond this machine: anyone who can reach it can see the scans")
    err.print(
        f"digitscan review: {len(server.session.items)} digits to review at {server.url}  (Ctrl-C to stop)",
        highlight=False,
        soft_wrap=True,
    )
    if open_browser if open_browser is not None else _can_open_browser():
        import webbrowser

        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@app.command(name="apply")
def apply_review(
    results: Annotated[Path, typer.Argument(help="The results.json that was reviewed.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="corrected.csv or corrected.json; - for CSV on stdout.")],
    corrections: Annotated[
        list[Path] | None,
        typer.Option(
            help="A review store (.sqlite) or a corrections file exported by the static page (.json); repeatable, "
            "later ones win; by default RESULTS.review.sqlite beside the results."
        ),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output file.")] = True,
) -> None:
    """Write the results with the review's answers: reviewed digits get source=human, numbers are rebuilt."""
    with _exit_codes():
        from digitscan.errors import UsageError
        from digitscan.review import apply_corrections, load_decisions, load_results
        from digitscan.writers import STDOUT, check_writable, write_results

        document = load_results(results)
        check_writable(out, overwrite)
        if out != STDOUT and out.resolve() == results.resolve():
            raise UsageError("--out must not be the reviewed results file itself: write the corrected results apart")
        decisions = load_decisions(results, corrections or [])
        applied = apply_corrections(document.run, decisions)
        write_results(applied.run, out)
        if not decisions:
            err.print(f"[yellow]warning:[/] no review answers found for {results}; wrote it unchanged", highlight=False)
        err.print(
            f"applied {len(decisions) - applied.unmatched} answers: {applied.confirmed} confirmed, "
            f"{applied.corrected} corrected, {applied.not_digits} not digits "
            f"({applied.numbers_dropped} numbers left empty and dropped)",
            highlight=False,
        )
        if applied.unmatched:
            err.print(
                f"[yellow]warning:[/] {applied.unmatched} answers match no digit of {results} (another run's?)",
                highlight=False,
            )


@app.command()
def doctor(
    model: Annotated[Path | None, typer.Option(help="Model file to check [default: the shipped one].")] = None,
    pair_model: Annotated[
        Path | None, typer.Option(help="Touching-pair model file to check [default: the shipped one].")
    ] = None,
) -> None:
    """Report versions, poppler, TensorFlow devices and the model cards; exit 3 or 7 when something is missing."""
    with _exit_codes():
        import platform
        import shutil
        from importlib import metadata

        from digitscan import __version__
        from digitscan.card import default_model_path, read_card
        from digitscan.classify import import_tensorflow
        from digitscan.pairs import read_pair_card

        table = Table(title="digitscan doctor", show_header=False)
        table.add_row("digitscan", __version__)
        table.add_row("python", platform.python_version())
        for package in ("numpy", "opencv-python-headless", "pillow", "pdf2image", "typer", "rich"):
            try:
                table.add_row(package, metadata.version(package))
            except metadata.PackageNotFoundError:
                table.add_row(package, "[red]not installed[/]")
        pdftoppm = shutil.which("pdftoppm")
        table.add_row("poppler pdftoppm", pdftoppm or "[red]missing: sudo apt-get install -y poppler-utils[/]")
        tf = import_tensorflow()
        table.add_row("tensorflow", tf.__version__)
        gpus = tf.config.list_physical_devices("GPU")
        table.add_row("GPUs", ", ".join(g.name for g in gpus) or "none (CPU only)")
        path = model or default_model_path()
        card = read_card(path)
        table.add_row("model", str(path))
        table.add_row("model sha256", card.sha256)
        for key, value in sorted(card.metrics.items()):
            table.add_row(f"  {key}", f"{value:.4f}")
        table.add_row("review threshold", f"{card.review_threshold:.4f}")
        pair_path, pair_card = read_pair_card(pair_model)
        table.add_row("pair model", str(pair_path))
        table.add_row("pair model sha256", pair_card.sha256)
        for key, value in sorted(pair_card.metrics.items()):
            table.add_row(f"  {key}", f"{value:.4f}")
        err.print(table)
        if pdftoppm is None:
            raise typer.Exit(int(ExitCode.MISSING_DEPENDENCY))


template_app = typer.Typer(help="Known forms: propose a template from an example page.", no_args_is_help=True)
app.add_typer(template_app, name="template")


@template_app.command("draft")
def template_draft(
    page_file: Annotated[Path, typer.Argument(metavar="PAGE", help="A blank or filled example of the form.")],
    out: Annotated[Path, typer.Option(help="The template to write (.yaml, .yml or .json).")],
    page: Annotated[int, typer.Option(help="Page of the file to use, from 1.")] = 1,
    name: Annotated[str | None, typer.Option(help="The template's name [default: the file's stem].")] = None,
    pdf_dpi: Annotated[int, typer.Option(help="Resolution at which PDF pages are rendered.")] = 300,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output file.")] = False,
) -> None:
    """Propose a template from an example page: its printed boxes, combs and rules as candidate fields.

    Edit the result: name the fields, set each one's kind, length or pattern, and delete what is not a field.
    """
    with _exit_codes():
        from digitscan.discover import discover
        from digitscan.draft import draft_template, render_template
        from digitscan.errors import InputFileError, OutputNotWritableError, UsageError
        from digitscan.loading import iter_pages
        from digitscan.writers import write_atomic

        if out.suffix.lower() not in (".yaml", ".yml", ".json"):
            raise UsageError("--out must end in .yaml, .yml or .json")
        if out.exists() and not overwrite:
            raise OutputNotWritableError(f"{out} exists; pass --overwrite to replace it")
        if not out.parent.is_dir():
            raise OutputNotWritableError(f"output folder {out.parent} does not exist")
        found = discover([page_file]) if page_file.is_file() else []
        if not found:
            raise UsageError(f"{page_file} is not a scan file")
        try:
            image = next((p.image for p in iter_pages(found[0], pdf_dpi) if p.number == page), None)
        except InputFileError as exc:
            raise UsageError(f"cannot read {page_file}: {exc}") from None
        if image is None:
            raise UsageError(f"{page_file} has no page {page}")
        document = draft_template(image, name or page_file.stem)
        try:
            write_atomic(out, render_template(document, out.suffix.lower()))
        except OSError as exc:
            raise OutputNotWritableError(f"cannot write {out}: {exc}") from exc
        err.print(f"wrote {out}: {len(document['fields'])} candidate fields; edit their names, kinds and rules")


def main() -> None:
    """Console-script entry point."""
    app(prog_name="digitscan")


if __name__ == "__main__":  # pragma: no cover
    main()
