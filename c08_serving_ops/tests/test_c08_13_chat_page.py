"""c08.13: the chat page in a real browser: the answer streams in from POST /rag, cites, and stops.

Headless Chromium (Debian's ``chromium`` and ``chromium-driver``) driven through selenium against
a real server with generation on and a bearer key, typed into the page as a user would. Oracles:
``POST /rag`` asked directly (greedy decoding: the same answer, passages and citations as the page
shows); ``c08_generation_cancelled_total`` in ``/metrics`` for the stop button.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import AppServer, generation_loader, make_settings, start_app
from PIL import Image, ImageSequence

from c08_serving_ops.tools.screencast import address_limit_blocks, browser, find_browser, record, write_gif

pytestmark = pytest.mark.task("c08.13")

QUERY = "what similarity laws must be obeyed when constructing aeroelastic models of heated high speed aircraft"
KEY = "browser-key"
ANSWER_TOKENS = 24  # enough tokens to watch the answer grow
LONG = 400  # far more than the test waits for: only the stop button ends it early
WAIT_S = 60.0  # generous bounds for a loaded 2-core machine (hang detectors, not timings)


def browser_paths() -> tuple[str, str]:
    paths = find_browser()
    if paths is None:
        pytest.skip("no Chromium and chromedriver on this machine (Debian: apt-get install chromium chromium-driver)")
    blocked = address_limit_blocks()
    if blocked is not None:
        pytest.skip(blocked)
    return paths


@pytest.fixture(scope="module")
def page_server(live: AppServer, llm: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    server = start_app(make_settings(tmp_path_factory.mktemp("page"), generation=True, generate_context=1024,
                                     api_keys=[KEY]), generation_loader(live, llm))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def driver(page_server: AppServer) -> Iterator[Any]:
    chrome = browser(browser_paths())
    chrome.set_script_timeout(WAIT_S)
    yield chrome
    chrome.quit()


def metric(server: AppServer, name: str) -> float:
    text = httpx.get(f"{server.url}/metrics").text
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def open_page(chrome: Any, server: AppServer, route: str, max_new_tokens: int) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    chrome.get(f"{server.url}/")
    chrome.find_element(By.ID, "api_key").send_keys(KEY)
    Select(chrome.find_element(By.ID, "route")).select_by_value(route)
    tokens = chrome.find_element(By.ID, "max_new_tokens")
    tokens.clear()
    tokens.send_keys(str(max_new_tokens))
    chrome.find_element(By.ID, "question").send_keys(QUERY)
    # Every change of the answer box, as the browser renders it: a stream shows many lengths, one body one.
    chrome.execute_script("""
        window.answerLengths = [];
        const box = document.getElementById('answer');
        new MutationObserver(() => window.answerLengths.push(box.textContent.length))
            .observe(box, {childList: true, subtree: true, characterData: true});""")


def state_of(chrome: Any) -> str:
    return str(chrome.execute_script("return document.getElementById('answer').dataset.state || ''"))


def wait_for(chrome: Any, condition: Any, what: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(chrome, WAIT_S, poll_frequency=0.02).until(condition, message=what)


def asked_directly(server: AppServer, **request: Any) -> dict[str, Any]:
    with server.client(headers={"Authorization": f"Bearer {KEY}"}) as http:
        response = http.post("/rag", json={"query": QUERY, "top_k": 3, **request})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def check_citations(chrome: Any, body: dict[str, Any]) -> None:
    """Each ``[k]`` of the answer is a link to passage ``k``: hovering lights it, clicking picks it."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    items = chrome.find_elements(By.CSS_SELECTOR, "#passages li")
    assert [li.get_attribute("data-id") for li in items] == [p["id"] for p in body["passages"]]
    markers = chrome.find_elements(By.CSS_SELECTOR, "#answer a.cite")
    assert [int(m.get_attribute("data-k")) for m in markers] == [int(k) for k in re.findall(r"\[(\d+)\]",
                                                                                             body["answer"])]
    assert body["citations"] and markers, "the answer cites no passage"
    for k in body["citations"]:
        marker = next(m for m in markers if m.get_attribute("data-k") == str(k))
        passage = chrome.find_element(By.ID, f"passage-{k}")
        assert "cited" in passage.get_attribute("class").split()
        assert marker.get_attribute("title").endswith(body["passages"][k - 1]["text"])
        ActionChains(chrome).move_to_element(marker).perform()
        assert "lit" in passage.get_attribute("class").split()
        ActionChains(chrome).move_to_element(chrome.find_element(By.ID, "question")).perform()  # away: light out
        assert "lit" not in passage.get_attribute("class").split()
        marker.click()
        assert "picked" in passage.get_attribute("class").split()
        shown = passage.find_element(By.CLASS_NAME, "text").text  # as rendered: runs of white space are one
        assert shown.split() == body["passages"][k - 1]["text"].split()


def test_the_answer_streams_in_and_cites_its_passages(driver: Any, page_server: AppServer) -> None:
    from selenium.webdriver.common.by import By

    open_page(driver, page_server, "generate", ANSWER_TOKENS)
    driver.find_element(By.ID, "send").click()
    wait_for(driver, lambda d: state_of(d) in ("done", "error"), "the answer did not finish")
    status = driver.find_element(By.ID, "status").text
    assert state_of(driver) == "done", status
    body = asked_directly(page_server, max_new_tokens=ANSWER_TOKENS)
    assert driver.find_element(By.ID, "answer").text == body["answer"].strip()
    lengths = [n for n in driver.execute_script("return window.answerLengths") if n > 0]
    assert len(set(lengths)) >= 3, f"the answer did not grow token by token: {lengths}"
    assert "route: generated" in status and "latency" in status and "first token" in status
    if body["citations"]:
        check_citations(driver, body)

    open_page(driver, page_server, "extractive", ANSWER_TOKENS)  # the extractive route always cites [1]
    driver.find_element(By.ID, "send").click()
    wait_for(driver, lambda d: state_of(d) in ("done", "error"), "the extractive answer did not come")
    assert "route: extractive" in driver.find_element(By.ID, "status").text
    extractive = asked_directly(page_server, route="extractive")
    assert driver.find_element(By.ID, "answer").text == extractive["answer"]
    check_citations(driver, extractive)


def test_stop_cancels_the_generation(driver: Any, page_server: AppServer) -> None:
    from selenium.webdriver.common.by import By

    before = metric(page_server, "c08_generation_cancelled_total")
    open_page(driver, page_server, "generate", LONG)
    driver.find_element(By.ID, "send").click()
    wait_for(driver, lambda d: len(d.find_element(By.ID, "answer").text) > 0, "no token arrived")
    assert state_of(driver) == "streaming"
    driver.find_element(By.ID, "stop").click()
    wait_for(driver, lambda d: state_of(d) == "stopped", "the page did not stop")
    assert driver.find_element(By.ID, "status").text.startswith("stopped after")
    assert driver.find_element(By.ID, "send").is_enabled() and not driver.find_element(By.ID, "stop").is_enabled()
    wait_for(driver, lambda _: metric(page_server, "c08_generation_cancelled_total") == before + 1,
             "the server did not cancel the generation")
    wait_for(driver, lambda _: metric(page_server, "c08_generation_active") == 0, "the generation still runs")



def test_the_screencast_of_the_page(page_server: AppServer, tmp_path: Path) -> None:
    """``make demo``'s recorder on the extractive route (no generation): frames, then the citation hovered."""
    frames, durations = record(page_server.url, [("extractive", QUERY)], browser_paths(), api_key=KEY,
                               size=(1000, 600))  # two columns: the passages beside the answer
    assert len(frames) == len(durations) >= 3 and frames[0].width == 1000
    assert frames[-1].tobytes() != frames[-2].tobytes()  # the hovered citation lit its passage
    gif = write_gif(frames, durations, tmp_path / "demo.gif", width=400)
    with Image.open(gif) as image:
        shown = [(frame.size, frame.info["duration"]) for frame in ImageSequence.Iterator(image)]
        assert image.info["loop"] == 0
    assert {size for size, _ in shown} == {(400, round(frames[0].height * 400 / 1000))}
    # Identical frames merge, the time is kept (to GIF's hundredths of a second).
    assert sum(duration for _, duration in shown) == sum(10 * round(ms / 10) for ms in durations)
    with pytest.raises(ValueError, match="one duration per frame"):
        write_gif(frames, durations[:-1], tmp_path / "bad.gif")
    with pytest.raises(ValueError, match="at least 20 ms"):
        write_gif(frames[:1], [5], tmp_path / "bad.gif")
