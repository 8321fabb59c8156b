"""A screencast of the chat page: start the service, ask a question in a browser, save the screenshots as a GIF.

``python -m c08_serving_ops.tools.screencast`` (``make demo``) starts ``python -m c08_serving_ops.server.serve`` on
a free port (XQuAD, generation on), drives headless Chromium through the page at ``/`` with
selenium, takes a screenshot every ``--every-ms`` while the answer streams in, then one with a
citation hovered (its passage lit), and writes them as an animated GIF with Pillow
(``c08_serving_ops/docs/demo.gif``). Arguments after ``--`` go to the server.

:func:`write_gif` is the pure part: frames and their display times in, a small looping GIF out
(scaled to ``width``, one adaptive palette per frame, unchanged areas left to the previous frame).
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import resource
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image

# A generated answer streams in; then the extractive route answers with a sentence of the top passage, cited [1].
QUESTIONS = (("generate", "What was Nikola Tesla renowned for?"), ("extractive", "Tesla died on which date?"))
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Debian's driver, then PATH's; GitHub's runners name theirs in CHROMEWEBDRIVER (see find_browser).
DRIVERS = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver", "chromedriver")
# Chromium and its driver reserve tens of GB of address space at start (V8's sandbox, PartitionAlloc's
# pools): under a smaller RLIMIT_AS (the grader's memory_mb, which every child inherits) they die at once.
BROWSER_ADDRESS_SPACE = 256 << 30
HOLD_MS = 2500  # how long the last frames stay on screen before the GIF loops
WAIT_S = 120.0  # an answer that takes longer than this is a hung server


def write_gif(frames: Sequence[Image.Image], durations_ms: Sequence[int], path: Path, width: int = 720,
              colors: int = 128) -> Path:
    """``frames`` (each shown for its ``durations_ms``, to 10 ms) as a looping GIF at ``path``, ``width`` pixels wide.

    Raises:
        ValueError: no frames, or not one duration per frame, or a duration under 20 ms (browsers
            slow such frames down to 100 ms).
    """
    if not frames or len(frames) != len(durations_ms):
        raise ValueError(f"{len(frames)} frames and {len(durations_ms)} durations: one duration per frame")
    if min(durations_ms) < 20:
        raise ValueError("every frame must show for at least 20 ms")
    durations = [10 * round(ms / 10) for ms in durations_ms]  # GIF stores hundredths of a second
    first = frames[0]
    height = round(first.height * width / first.width)
    scaled = [frame.convert("RGB").resize((width, height), Image.Resampling.LANCZOS) for frame in frames]
    paletted = [frame.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
                for frame in scaled]
    path.parent.mkdir(parents=True, exist_ok=True)
    paletted[0].save(path, save_all=True, append_images=paletted[1:], duration=durations, loop=0,
                     optimize=True, disposal=1)
    return path


def find_browser() -> tuple[str, str] | None:
    """``(browser, driver)``: Chromium (or Chrome) and its chromedriver on this machine, or None."""
    browser_path = next((found for name in BROWSERS if (found := shutil.which(name))), None)
    drivers = [shutil.which(name) for name in DRIVERS]
    drivers.append(os.path.join(os.environ.get("CHROMEWEBDRIVER", "/nonexistent"), "chromedriver"))
    driver_path = next((d for d in drivers if d and os.access(d, os.X_OK)), None)
    return (browser_path, driver_path) if browser_path and driver_path else None


def address_limit_blocks() -> str | None:
    """Why the browser cannot start under this process's address-space limit, or None when it can.

    The grader caps memory with RLIMIT_DATA, under which Chromium runs; an RLIMIT_AS (``ulimit -v``)
    below what Chromium reserves at start stops it.
    """
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY or soft >= BROWSER_ADDRESS_SPACE:
        return None
    return (f"the address-space limit ({soft >> 20} MB, ulimit -v) is below what Chromium reserves at start "
            f"({BROWSER_ADDRESS_SPACE >> 30} GB)")


def browser(paths: tuple[str, str], width: int = 1100, height: int = 640) -> Any:
    """Headless Chromium at ``paths`` (from :func:`find_browser`), its window ``width`` x ``height``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                 f"--window-size={width},{height}", "--hide-scrollbars", "--force-device-scale-factor=1"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(executable_path=paths[1]))


def screenshot(chrome: Any) -> Image.Image:
    return Image.open(io.BytesIO(chrome.get_screenshot_as_png())).convert("RGB")


def ask(chrome: Any, route: str, question: str, every_ms: int) -> tuple[list[Image.Image], list[float]]:
    """Ask ``question`` on ``route``; a screenshot every ``every_ms`` until the answer is complete."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(chrome.find_element(By.ID, "route")).select_by_value(route)
    box = chrome.find_element(By.ID, "question")
    box.clear()
    box.send_keys(question)
    frames, times = [screenshot(chrome)], [time.monotonic()]
    chrome.find_element(By.ID, "send").click()
    deadline = time.monotonic() + WAIT_S
    state = ""
    while state not in ("done", "stopped", "error"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no answer within {WAIT_S:.0f} s")
        time.sleep(every_ms / 1000)
        state = chrome.execute_script("return document.getElementById('answer').dataset.state || ''")
        frames.append(screenshot(chrome))
        times.append(time.monotonic())
    if state != "done":
        raise RuntimeError(f"the page ended in state {state!r}: {chrome.find_element(By.ID, 'status').text}")
    return frames, times


def record(url: str, questions: Sequence[tuple[str, str]], paths: tuple[str, str], max_new_tokens: int = 80,
           every_ms: int = 40, size: tuple[int, int] = (1100, 640), api_key: str = "",
           ) -> tuple[list[Image.Image], list[int]]:
    """The page asked each ``(route, question)`` in turn: frames while it streams, then the cited answer hovered."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    chrome = browser(paths, *size)
    try:
        chrome.get(f"{url}/")
        chrome.find_element(By.ID, "api_key").send_keys(api_key)
        tokens = chrome.find_element(By.ID, "max_new_tokens")
        tokens.clear()
        tokens.send_keys(str(max_new_tokens))
        frames: list[Image.Image] = []
        durations: list[int] = []
        for route, question in questions:
            shots, times = ask(chrome, route, question, every_ms)
            frames += shots
            durations += [max(20, round(1000 * (b - a))) for a, b in itertools.pairwise(times)] + [HOLD_MS]
            markers = chrome.find_elements(By.CSS_SELECTOR, "#answer a.cite")
            if markers:  # a citation hovered: its passage lights up beside the answer
                ActionChains(chrome).move_to_element(markers[0]).perform()
                time.sleep(0.3)
                frames.append(screenshot(chrome))
                durations.append(HOLD_MS)
        return frames, durations
    finally:
        chrome.quit()


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    server_args = args_list[args_list.index("--") + 1:] if "--" in args_list else []
    own = args_list[: args_list.index("--")] if "--" in args_list else args_list
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("c08_serving_ops/docs/demo.gif"))
    parser.add_argument("--question", action="append", metavar="ROUTE:QUESTION",
                        help="generate:... or extractive:...; repeat for more (default: the two of QUESTIONS)")
    parser.add_argument("--max-new-tokens", type=int, default=80)
    parser.add_argument("--every-ms", type=int, default=40, help="time between two screenshots while streaming")
    parser.add_argument("--width", type=int, default=720, help="the GIF's width in pixels")
    parser.add_argument("--url", help="an already running service (else one is started)")
    args = parser.parse_args(own)
    questions: list[tuple[str, str]] = list(QUESTIONS)
    if args.question:
        questions = [(route, question) for route, _, question in (q.partition(":") for q in args.question)]
    if any(route not in ("generate", "extractive") or not question for route, question in questions):
        parser.error("--question takes ROUTE:QUESTION with ROUTE generate or extractive")
    paths = find_browser()
    if paths is None:
        raise SystemExit("no Chromium and chromedriver found: install Debian's chromium and chromium-driver")
    if args.url:
        frames, durations = record(args.url.rstrip("/"), questions, paths, args.max_new_tokens, args.every_ms)
    else:
        from c08_serving_ops.tools.process import ServerProcess

        server = ServerProcess(["--collection", "xquad", "--generation", *server_args])
        server.start(timeout_s=900)  # a first start embeds the collection
        try:
            frames, durations = record(server.url, questions, paths, args.max_new_tokens, args.every_ms)
        finally:
            server.stop()
    path = write_gif(frames, durations, args.out, width=args.width)
    print(f"{path}: {len(frames)} frames, {sum(durations) / 1000:.1f} s, {path.stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
