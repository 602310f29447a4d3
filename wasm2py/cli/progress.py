"""A progress line for the command line's slow steps (a cold LLVM compile of a big module
takes seconds), shown on a terminal only."""

from __future__ import annotations

import sys
import threading
import time


class Progress:
    """A context manager around a step that may be slow: once it has taken ``delay`` seconds,
    ``label`` and the seconds so far are written to ``stream`` (standard error by default)
    and updated every ``interval`` seconds; the line is erased when the step ends. Nothing
    is written when ``stream`` is not a terminal (logs and pipes stay clean) or the step is
    quick."""

    def __init__(self, label: str, stream=None, delay: float = 0.5, interval: float = 0.25):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.delay = delay
        self.interval = interval
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._width = 0

    def __enter__(self) -> Progress:
        isatty = getattr(self.stream, "isatty", None)
        if isatty is not None and isatty():
            self._thread = threading.Thread(target=self._show, name="wasm2py-progress",
                                            daemon=True)  # fmt: skip
            self._thread.start()
        return self

    def _show(self) -> None:
        start = time.monotonic()
        if self._done.wait(self.delay):
            return
        while True:
            line = f"{self.label} ({time.monotonic() - start:.1f} s)"
            self._width = max(self._width, len(line))
            self.stream.write("\r" + line)
            self.stream.flush()
            if self._done.wait(self.interval):
                return

    def __exit__(self, *exc) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
            if self._width:
                self.stream.write("\r" + " " * self._width + "\r")
                self.stream.flush()
