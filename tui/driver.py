"""Escape, then a key: two keys, not Alt+key (issue 19).

A terminal sends Alt+m as ESC m, so after an ESC Textual waits ESCDELAY milliseconds (its
`constants.ESCAPE_DELAY`, 100 by default) for what follows. Two things made that wait far
longer, and setting ESCDELAY alone changes nothing below 100 ms:

- its input thread checks the wait only every 0.1 s (`select(0.1)`), after reading what came
  meanwhile: a key typed 30 ms after Escape, with ESCDELAY=20, was still read with it;
- what comes after an ESC is read as one sequence: Escape then m is `alt+m`, Escape then Tab
  `shift+tab`, Escape then `-` an en dash; the Escape is lost each time (Escape then a letter
  on a record did nothing).

`TimelyParser` ends the wait when its time is up, before reading what came after it; with
ESCDELAY at 25 ms by default (`tui.cli.ESCAPE_DELAY_MS`, unless the user set ESCDELAY) an
Escape followed by a key is two keys, while the sequences a terminal sends (arrows, function
keys: one write, read at once) are read as before. PatronDesk binds no Alt key.
"""

from __future__ import annotations

import os
import selectors
from codecs import getincrementaldecoder
from collections.abc import Iterable

from textual._parser import ParseError
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message


class TimelyParser(XTermParser):
    """Textual's parser, but an ESC whose wait for a sequence is over is the Escape key even
    when the next key was read before the input thread checked the time."""

    def feed(self, data: str) -> Iterable[Message]:
        yield from self.tick()  # the Escape whose time is up, before what came after it
        yield from super().feed(data)


class TimelyDriver(LinuxDriver):
    """Textual's Linux/macOS driver reading keys with `TimelyParser`."""

    def run_input_thread(self) -> None:
        """`LinuxDriver.run_input_thread` (Textual 8.2.8) with `TimelyParser`."""
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        parser = TimelyParser()
        decode = getincrementaldecoder("utf-8")().decode

        def process(ready: list, final: bool = False) -> None:
            for index, (_key, mask) in enumerate(ready):
                if mask & selectors.EVENT_READ:
                    last = index == len(ready) - 1
                    data = decode(os.read(self.fileno, 1024 * 4), final=final and last)
                    if not data:  # stdin is a pipe that ended
                        break
                    for event in parser.feed(data):
                        self.process_message(event)
            for event in parser.tick():
                self.process_message(event)

        try:
            while not self.exit_event.is_set():
                process(selector.select(0.1))
            selector.unregister(self.fileno)
            process(selector.select(0.1), final=True)
        finally:
            selector.close()
            try:
                for _event in parser.feed(""):
                    pass
            except (EOFError, ParseError):
                pass
