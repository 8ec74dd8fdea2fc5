"""Debian's chromium, headless, driven by Playwright (``executable_path``): each page's DOM
after load, every console message and uncaught error, and screenshots."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, Dialog, sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class Visit:
    html: str
    text: str
    console: list[str] = field(default_factory=list)  # console messages and page errors
    dialogs: list[str] = field(default_factory=list)  # alert() and friends: none may open


@dataclass
class Chromium:
    browser: Browser
    shots: Path | None = None  # where screenshots go, if anywhere

    def visit(self, url: str, shot: str = "", *, full_page: bool = False) -> Visit:
        page = self.browser.new_page(viewport={"width": 1280, "height": 900})
        console: list[str] = []
        dialogs: list[str] = []
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))

        def on_dialog(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.goto(url, wait_until="load")
        if shot and self.shots is not None:
            page.screenshot(path=str(self.shots / f"{shot}.png"), full_page=full_page)
        visit = Visit(page.content(), page.inner_text("body"), console, dialogs)
        page.close()
        return visit


@contextmanager
def chromium(shots: Path | None = None) -> Iterator[Chromium]:
    """A headless chromium for the duration of the block (Playwright gives it a fresh
    temporary profile, its equivalent of ``--user-data-dir=<tmp>``)."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield Chromium(browser, shots)
        finally:
            browser.close()
