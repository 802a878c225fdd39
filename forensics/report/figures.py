"""The report's figures: drawn from the scan's TestResults by the ``forensics.plots`` functions.

``FIGURES`` is data: which plotting function draws which test's national
result, in which report section, with which caption.  A plotting function
missing from this build, or one that fails, gives a visible "figure not
available" note instead of a figure (and ``write_report`` says which).
"""
from __future__ import annotations

import base64
import contextlib
import gc
import importlib
import io
import os
import signal
from dataclasses import dataclass

import numpy as np

from ..i18n import N_, Formats, translations
from ..stats.result import TestResult


@dataclass(frozen=True)
class FigureSpec:
    """One figure: ``func`` ("module:attribute") called with the national result of ``test``.

    ``all_results``: the function takes every national result of the test
    (a list: one per party or variant), not the first.  ``speaks``: the
    function writes its labels in the page's language (it takes ``lang``).
    """

    id: str
    section: str
    caption: str
    func: str
    test: str
    all_results: bool = False
    speaks: bool = False

    def draw(self, scan, lang: str = "en"):
        func = _resolve(self.func)
        result = _national(scan, self.test)
        result = result if self.all_results else (result[0] if isinstance(result, list) else result)
        return func(result, lang=lang) if self.speaks else func(result)


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("fingerprint", "fingerprints", N_("The election fingerprint: polling stations by turnout and by the "
               "leader's share. A clean election is one round cloud."),
               "forensics.plots.fingerprints:fingerprint_plot", "fingerprint", speaks=True),
    FigureSpec("histograms", "fingerprints", N_("Turnout and leader-share histograms (the margins of the "
               "fingerprint)."),
               "forensics.plots.fingerprints:histograms_plot", "fingerprint"),
    FigureSpec("cumulative", "fingerprints", N_("The leader's cumulative votes over turnout; an honest curve "
               "flattens at high turnout."), "forensics.plots.fingerprints:cumulative_plot", "cumulative_votes"),
    FigureSpec("klimek", "fingerprints", N_("Klimek's fraud model fitted to the fingerprint: observed and "
               "model-fitted distributions."), "forensics.plots.fingerprints:klimek_plot", "klimek_fit"),
    FigureSpec("excess", "fingerprints", N_("Shpilkin's estimate: the leader's votes by turnout against the "
               "votes expected at the clean turnout."), "forensics.plots.fingerprints:excess_plot", "excess_votes"),
    FigureSpec("integer_spikes", "fingerprints", N_("Turnout and leader-result histograms in 0.1-point bins: "
               "bars are the stations observed, orange marks the number expected at each whole percentage "
               "under honest counting."), "forensics.plots.spikes:integer_histograms", "integer_percentages"),
    FigureSpec("integer_excess", "fingerprints", N_("Stations above the expected number at each whole percentage."),
               "forensics.plots.spikes:integer_excess", "integer_percentages"),
    FigureSpec("coarse", "fingerprints", N_("Density of the leader's vote share against the envelope of honest "
               "re-counts; red marks shares that pile up on round fractions."),
               "forensics.plots.spikes:coarse_density", "coarse_shares"),
    FigureSpec("regression", "fingerprints", N_("Each party's votes (per voter on the list) against turnout, with "
               "the fitted slope."), "forensics.plots.spikes:regression_hexbin", "turnout_regression",
               all_results=True),
    FigureSpec("last_digit", "digits", N_("Last digits of the counts: observed shares (with intervals) against "
               "the shares expected of honest counts, as drawn."),
               "forensics.plots.digits:plot_digits", "last_digit_test"),
    FigureSpec("second_digit", "digits", N_("Second digits of the counts: observed against Benford's law."),
               "forensics.plots.digits:plot_digits", "second_digit_test"),
)


def _resolve(target: str):
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise LookupError(f"{module_name} is not in this build") from exc
    if not hasattr(module, attr):
        raise LookupError(f"{module_name}.{attr} is not in this build")
    return getattr(module, attr)


#: the figures' resolution, and zlib's level for their PNG files (level 1 of 9: on Russia 2018's twelve figures 0.34 s
#: of CPU against 0.39 s at level 3 and 0.55 s at the default 6, for files 3% and 6% larger)
DPI, PNG_LEVEL = 100, 1


def _png(fig) -> bytes:
    """The figure as a PNG at ``DPI``: the pixels ``savefig`` draws, stored as RGB where they are all opaque.

    ``savefig`` always stores four channels; the report's figures have an
    opaque background, so the alpha channel only costs encoding time and
    bytes.  Pixels are unchanged (a test compares them with ``savefig``'s).
    """
    from PIL import Image

    from ..plots.artists import light_ticks
    from ..plots.canvas import CachedTextCanvas

    fig.set_dpi(DPI)
    for ax in fig.axes:
        light_ticks(ax)
    canvas = CachedTextCanvas(fig)
    canvas.draw()
    image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    if (np.asarray(canvas.buffer_rgba())[..., 3] == 255).all():
        image = image.convert("RGB")  # in one pass in Pillow, without an intermediate strided copy
    buffer = io.BytesIO()
    image.save(buffer, format="png", dpi=(DPI, DPI), compress_level=PNG_LEVEL)
    return buffer.getvalue()


def _render(fig, formats) -> dict:
    """The figure's bytes per format (PNG always, for embedding); drawing errors surface here, not while writing."""
    import matplotlib

    out = {"png": _png(fig)}
    for fmt in (f for f in formats if f != "png"):
        buffer = io.BytesIO()
        with matplotlib.rc_context({"svg.hashsalt": "forensics"}):  # stable ids inside SVG files
            fig.savefig(buffer, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
        out[fmt] = buffer.getvalue()
    return out


def _national(scan, test: str):
    res = scan.results.get((test, "nation"), {}).get("National")
    if res is None:
        raise LookupError(f"the scan did not run {test} nationally")
    if isinstance(res, str):
        raise LookupError(res)
    items = [r for r in (res if isinstance(res, (list, tuple)) else [res]) if isinstance(r, TestResult)]
    if not items:
        raise LookupError(f"{test} returned no result")
    return items if isinstance(res, (list, tuple)) else items[0]


def _ranked_regions(verdicts, lang: str):
    """The regions ranked by their excess of whole-number percentages, and the caption that counts them."""
    from ..plots.regions import ranked_regions

    v = verdicts.verdicts.get("integer") if verdicts is not None else None
    if v is None or v.note or "null_sd" not in v.groups:
        raise LookupError("no regional result of the whole-number percentages")
    regions = v.groups[v.groups["level"] != "nation"]
    caption = translations(lang).gettext(
        "Whole-number percentages by region: stations above (right) or below (left) the number honest counting "
        "gives (dot), and the range honest counting stays inside 95%% of the time (grey bar); %(k)s of %(n)s "
        "regions stand out after the correction (red).") % {
        "k": Formats(lang).number(int(regions["significant"].sum())), "n": Formats(lang).number(len(regions))}
    figure = ranked_regions(v.groups, "stations with a whole-number percentage: observed minus expected",
                            f"{v.party or ''}")
    return figure, caption


#: the scan whose figures the forked drawing processes draw (set before they fork, so the scan is never pickled)
_SCAN = None


def _jobs(scan, lang: str) -> list:
    """(id, section, caption, draw) for every figure of the report, in the page's order."""
    t = translations(lang)
    jobs = [(s.id, s.section, t.gettext(s.caption), lambda s=s: s.draw(scan, lang)) for s in FIGURES]
    jobs.append(("regions_ranked", "regions", "", lambda: _ranked_regions(scan.verdicts, lang)))
    return jobs


def _drawn(draw, formats) -> tuple:
    """("ok", caption or None, bytes per format) or ("missing" | "failed", reason, None): never raises."""
    try:
        figure = draw()
        caption = None
        if isinstance(figure, tuple):  # a figure whose caption is computed from what it draws
            figure, caption = figure
        return "ok", caption, _render(figure, formats)
    except LookupError as exc:
        return "missing", str(exc), None
    except Exception as exc:  # noqa: BLE001 - a missing figure is reported, never fatal
        return "failed", str(exc), None


def _drawn_in_worker(index: int, lang: str, formats) -> tuple:
    return _drawn(_jobs(_SCAN, lang)[index][3], formats)


def _can_fork(workers: int) -> bool:
    import multiprocessing

    return (workers > 1 and "fork" in multiprocessing.get_all_start_methods()
            and not multiprocessing.current_process().daemon)


def _warm_text() -> None:
    """Find the fonts and build the mathtext parser (log-scale tick labels) once, before the processes fork.

    Every figure process inherits them instead of paying the font search and
    the parser's set-up again; what is drawn does not change.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1, 1))
    fig.text(0, 0, r"$\mathdefault{10^{2}}$ 10% Жж", fontsize=10)
    FigureCanvasAgg(fig).draw()


#: the figures by their cost to draw (``benchmarks/bench_report.py``: Russia 2018, simulations), costliest first:
#: the order the processes take them in, so that they finish close together
COSTLIEST_FIRST = ("regions_ranked", "klimek", "fingerprint", "integer_spikes", "regression", "integer_excess",
                   "excess", "coarse", "histograms", "cumulative", "last_digit", "second_digit")


def _draw_in_group(sends, taken, order, lang: str, formats) -> None:
    """The drawing processes' work, in the first of them (forked by ``PendingFigures``): import matplotlib and
    the plotting modules and warm the text once, fork one process per other pipe of ``sends``, and let each
    take the next figure of ``order`` (``taken``: a shared counter) and send (index, outcome) to the report's
    process through its own pipe (so a process that dies holds up no other).

    The processes form their own group, so the report's process can stop them all at once.
    """
    with contextlib.suppress(OSError):  # the report's process may have set it already
        os.setpgid(0, 0)
    importlib.import_module("forensics.plots.regions")
    for spec in FIGURES:  # imported once here, not once per process
        with contextlib.suppress(LookupError):
            _resolve(spec.func)
    _warm_text()
    # gc.freeze: the objects a process inherits (the scan, the modules) are left out of its garbage collections,
    # which otherwise walk them all again and again while the figures are drawn
    gc.freeze()
    children, mine = [], 0
    for k in range(1, len(sends)):
        pid = os.fork()
        if pid == 0:
            children, mine = None, k
            break
        children.append(pid)
    for k, send in enumerate(sends):
        if k != mine:
            send.close()
    try:
        while True:
            with taken.get_lock():
                k = taken.value
                taken.value += 1
            if k >= len(order):
                break
            sends[mine].send((order[k], _drawn_in_worker(order[k], lang, formats)))
    finally:
        if children is None:  # a forked drawer never returns into the code that forked it
            os._exit(0)
    sends[mine].close()
    for pid in children:
        os.waitpid(pid, 0)


class PendingFigures:
    """The report's figures being drawn (``draw_figures``); ``collect`` waits for them and writes them.

    With more than one worker the figures are drawn in forked processes
    while the caller does other work (the tables, the page's data): the
    first process imports matplotlib and sets up its text while the caller
    works, then forks the others, so the import is paid once and by no
    process the caller waits on.  With one worker, or where the system
    cannot fork, they are drawn here when collected, as are the figures of
    a drawing process that died.  A figure's bytes do not depend on the
    process that draws it (the same matplotlib state, fonts and data), so
    the page is the same either way.  Use it as a context manager: leaving
    it stops the processes.
    """

    def __init__(self, scan, formats=("png",), lang: str = "en", workers: int = 1):
        self.jobs = _jobs(scan, lang)
        self.formats, self.lang = tuple(formats), lang
        self._group, self._reader, self._received = None, None, {}
        if _can_fork(workers):
            self._start(scan, min(workers, len(self.jobs)))

    def _start(self, scan, workers: int) -> None:
        import multiprocessing
        import threading

        global _SCAN
        _SCAN = scan
        rank = {fid: i for i, fid in enumerate(COSTLIEST_FIRST)}
        order = sorted(range(len(self.jobs)), key=lambda i: rank.get(self.jobs[i][0], len(rank)))
        context = multiprocessing.get_context("fork")
        try:
            pipes = [context.Pipe(duplex=False) for _ in range(workers)]
            self._group = context.Process(target=_draw_in_group, args=(
                [send for _, send in pipes], context.Value("i", 0), order, self.lang, self.formats))
            self._group.start()
        except OSError:  # no process could be started: draw them here when collected
            self._group = None
            return
        with contextlib.suppress(OSError):  # the group is the drawing processes' own, whichever sets it first
            os.setpgid(self._group.pid, self._group.pid)
        for _, send in pipes:
            send.close()  # the drawing processes hold the sending ends: a pipe ends when its process has
        # figures are received as they are drawn, so no drawing process waits on a full pipe
        self._reader = threading.Thread(target=self._receive_all, args=([receive for receive, _ in pipes],),
                                        daemon=True)
        self._reader.start()

    def _receive_all(self, receives) -> None:
        from multiprocessing.connection import wait

        while receives and len(self._received) < len(self.jobs):
            for receive in wait(receives):
                try:
                    index, outcome = receive.recv()
                except (EOFError, OSError):  # a drawing process ended or died: its figures are drawn here
                    receives.remove(receive)
                    receive.close()
                    continue
                self._received[index] = outcome
        for receive in receives:
            receive.close()

    def outcomes(self):
        """Each figure's ``_drawn`` outcome, in the page's order."""
        if self._group is None:
            return (_drawn(draw, self.formats) for *_, draw in self.jobs)
        self._reader.join()
        self._group.join(timeout=10)  # done drawing: the processes end on their own (each waited for, its CPU counted)
        self.close()
        return [self._received[i] if i in self._received else _drawn(draw, self.formats)
                for i, (*_, draw) in enumerate(self.jobs)]

    def collect(self, folder, progress: bool = True) -> list:
        """Write every figure into ``folder`` (an ``OutputFolder``); return dicts (id, section, caption, png,
        error, files) in the page's order."""
        t = translations(self.lang)
        outcomes = self.outcomes()
        if progress:  # tqdm only when asked: tqdm.auto warns in notebooks without ipywidgets
            from tqdm.auto import tqdm

            outcomes = tqdm(outcomes, desc="figures", total=len(self.jobs), leave=False)
        figures = []
        for (fid, section, caption, _), (status, detail, rendered) in zip(self.jobs, outcomes):
            entry = {"id": fid, "section": section, "caption": caption, "png": None, "files": [], "error": ""}
            if status == "missing":
                entry["error"] = t.gettext("figure not drawn: its test did not run or is not in this build")
            elif status == "failed":
                entry["error"] = t.gettext("figure not available: %(reason)s") % {"reason": detail}
            else:  # writing errors are output errors: they stop the report
                entry["caption"] = caption if detail is None else detail
                entry["files"] = [folder.bytes(f"figures/{fid}.{fmt}", rendered[fmt]).name for fmt in self.formats]
                entry["png"] = base64.b64encode(rendered["png"]).decode("ascii")
            figures.append(entry)
        return figures

    def close(self) -> None:
        """Stop the drawing processes (figures not collected are dropped)."""
        global _SCAN
        if self._group is not None:
            if self._group.is_alive():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self._group.pid, signal.SIGKILL)
                self._group.kill()
            self._group.join()
            self._reader.join()
        self._group, _SCAN = None, None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def draw_figures(scan, formats=("png",), lang: str = "en", workers: int | None = None) -> PendingFigures:
    """Start drawing every figure of the report (``workers``: processes, default up to 2 as the cores allow)."""
    workers = min(2, os.cpu_count() or 1) if workers is None else int(workers)
    return PendingFigures(scan, formats, lang, workers)


def make_figures(scan, folder, formats=("png",), progress: bool = True, lang: str = "en",
                 workers: int | None = None) -> list:
    """Draw every figure into ``folder`` (an ``OutputFolder``); return dicts (id, section, caption, png, error, files).

    Captions are in ``lang``; the regions' chart is drawn from the scan's
    verdicts.  ``workers`` (default: up to 2 processes, as the cores allow)
    draw the figures side by side where the system can fork; ``workers=1``
    draws them in this process.  The figures are the same either way.
    """
    with draw_figures(scan, formats, lang, workers) as pending:
        return pending.collect(folder, progress)
