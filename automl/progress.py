"""Progress of a search on stderr: a live line on a terminal, periodic lines otherwise.

Examples
--------
>>> import io
>>> out = io.StringIO()
>>> p = Progress(verbose=1, time_budget=10.0, metric="roc_auc", stream=out)
>>> p.update(elapsed=1.0, n_ok=3, n_failed=1, best_score=0.91, best_algorithm="lightgbm")
>>> p.finish("done")
>>> "3 ok / 1 failed" in out.getvalue() and "done" in out.getvalue()
True
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Report a running search; silent when ``verbose`` is 0.

    Parameters
    ----------
    verbose : int
        0 silent; 1 a live line (or a line every ``interval`` seconds when the stream is
        not a terminal) and a summary; 2 also one line per finished trial.
    time_budget : float or None
        Shown as "elapsed / budget".
    metric : str
        Name of the score shown.
    stream : file-like, default sys.stderr
    interval : float, default 5.0
        Seconds between plain lines when the stream is not a terminal.

    Examples
    --------
    >>> Progress(verbose=0, time_budget=None, metric="rmse").update(0.0, 0, 0, None, None)
    """

    def __init__(self, verbose: int, time_budget: float | None, metric: str,
                 stream: TextIO | None = None, interval: float = 5.0) -> None:
        self.verbose = verbose
        self.time_budget = time_budget
        self.metric = metric
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self._live = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_write = -float("inf")
        self._width = 0

    def _line(self, elapsed: float, n_ok: int, n_failed: int, best_score: float | None,
              best_algorithm: str | None) -> str:
        budget = f" / {self.time_budget:.0f} s" if self.time_budget else " s"
        best = "none yet" if best_score is None else f"{best_score:.5g} ({best_algorithm})"
        return (f"automl: {elapsed:6.1f}{budget} | trials {n_ok} ok / {n_failed} failed | "
                f"best {self.metric} {best}")

    def update(self, elapsed: float, n_ok: int, n_failed: int, best_score: float | None,
               best_algorithm: str | None) -> None:
        """Show the current state (rate-limited when the stream is not a terminal)."""
        if not self.verbose:
            return
        now = time.monotonic()
        line = self._line(elapsed, n_ok, n_failed, best_score, best_algorithm)
        if self._live:
            self.stream.write("\r" + line.ljust(self._width))
            self._width = len(line)
        elif now - self._last_write >= self.interval:
            self.stream.write(line + "\n")
        else:
            return
        self._last_write = now
        self.stream.flush()

    def trial(self, message: str) -> None:
        """One line per finished trial, at ``verbose >= 2``."""
        if self.verbose >= 2:
            self._end_live_line()
            self.stream.write(f"automl: {message}\n")
            self.stream.flush()

    def finish(self, summary: str) -> None:
        """End the live line and write the summary."""
        if not self.verbose:
            return
        self._end_live_line()
        self.stream.write(summary.rstrip("\n") + "\n")
        self.stream.flush()

    def _end_live_line(self) -> None:
        if self._live and self._width:
            self.stream.write("\n")
            self._width = 0
