"""A one-line progress bar on stderr for long scans.

Only on a real terminal: pipes, files and CI logs get nothing, so every method is a
no-op there and callers need no ifs.  A bar must never cost a scan its report, so no
method raises.
"""
from __future__ import annotations

import os
import time

DELAY = 1.0  # a short scan (pre-commit on a few files) must never flash a bar
INTERVAL = 0.1  # redraws per second are bounded however fast files finish
ERASE = "\x1b[K"  # erase to the end of the line; understood by every terminal but "dumb"


class Progress:
    def __init__(self, stream, clock=time.monotonic):
        self.stream, self.clock = stream, clock
        self.enabled = _is_terminal(stream) and os.environ.get("TERM") != "dumb"
        self.started = clock()  # the scan's start: discovery counts towards the delay
        self.total = self.done = 0
        self.drawn_at: float | None = None
        self.shown = False  # whether the bar is on the screen now

    def start(self, total: int) -> None:
        self.total = total

    def advance(self, files: int = 1) -> None:
        self.done += files
        if not self.enabled:
            return
        now = self.clock()
        if now - self.started < DELAY or self.drawn_at is not None and now - self.drawn_at < INTERVAL:
            return
        self.drawn_at = now
        text = f"kubelint-cc: {self.done:,}/{self.total:,} files"
        if self.total:
            text += f" ({min(100, self.done * 100 // self.total)}%)"
        text += f", {now - self.started:.1f} s"
        # One column short of the width: writing the last column makes some terminals wrap.
        self._write("\r" + text[:self._width() - 1] + ERASE)
        self.shown = True

    def clear(self) -> None:
        """Erases the bar (it comes back on a later advance), so other output can use the line."""
        if self.shown:
            self.shown = False
            self._write("\r" + ERASE)

    def close(self) -> None:
        self.clear()
        self.enabled = False

    def _width(self) -> int:
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (OSError, ValueError, AttributeError):
            columns = 0
        return columns if columns > 0 else 80  # a fresh pseudo-terminal reports 0 columns

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()  # stderr flushes on newlines only, and the bar has none
        except (OSError, ValueError):  # terminal gone, or stream closed: stop drawing, keep scanning
            self.enabled = self.shown = False


def _is_terminal(stream) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (OSError, ValueError):
        return False
