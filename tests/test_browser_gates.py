"""The Gates animation in a real Chromium: the heatmap is drawn, and changes, in screenshots taken while it plays; Pause holds."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from browser import wait_idle

pytestmark = pytest.mark.browser

CHART = ".st-key-gates_animation .js-plotly-plot"
MIN_FPS = 4.0  # bench/gates.py measures 7 to 13 frames/s on 2 busy cores; screenshots slow it further
# chroma (max - min of R, G, B) above which a pixel counts as painted: the heatmap's red and blue cells are
# far above it; the white/grey plot background, grid lines and text are below it
PAINTED_CHROMA = 40

# the state of the animation inside the page: plotly.js keeps it on the graph div
_STATE_JS = """
gd => {
    const heat = gd.data.findIndex(trace => trace.type === 'heatmap');
    const name = gd._fullLayout._currentFrame;
    const frame = gd._transitionData._frameHash[name];
    const drawn = gd.data[heat].z;
    const framed = frame === undefined ? undefined : frame.data.find(d => d.z !== undefined);
    const same = framed !== undefined && JSON.stringify(Array.from(drawn, row => Array.from(row)))
        === JSON.stringify(Array.from(framed.z, row => Array.from(row)));
    return {frame: name ?? null, slider: gd._fullLayout.sliders[0].active,
            sliderFrame: gd._fullLayout.sliders[0].steps[gd._fullLayout.sliders[0].active].args[0][0],
            frames: gd._transitionData._frames.length, playing: !!gd._transitionData._animationRaf,
            heatmapIsFrame: same};
}"""
# the time of every animation frame, from plotly's own event (bench/gates.py uses it too)
COUNT_FRAMES_JS = """
gd => {
    window.__gateFrames = [];
    gd.on('plotly_animatingframe', () => window.__gateFrames.push(performance.now()));
}"""


# stop wherever the animation is and show its first frame, as a click on the slider's first step would
_FIRST_FRAME_JS = """
gd => window.Plotly.animate(gd, [gd._transitionData._frames[0].name],
                            {mode: 'immediate', frame: {duration: 0, redraw: true}, transition: {duration: 0}})"""


def heatmap_pixels(page) -> np.ndarray:
    """A screenshot of the heatmap's plot area (subplot x2y2) as an ``[H, W, 3]`` uint8 array."""
    from PIL import Image

    box = page.locator(f"{CHART} .draglayer .x2y2 .nsewdrag").bounding_box()
    shot = page.screenshot(clip=box)
    return np.asarray(Image.open(io.BytesIO(shot)).convert("RGB"))


def painted_share(pixels: np.ndarray) -> float:
    """Share of the pixels that carry colour (see PAINTED_CHROMA)."""
    channels = pixels.astype(int)
    return float(((channels.max(axis=2) - channels.min(axis=2)) > PAINTED_CHROMA).mean())


def save(pixels: np.ndarray, name: str, folder: Path) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(folder / name)


def test_heatmap_is_drawn_while_playing_and_pause_holds(app_url, browser_page, tmp_path):
    page = browser_page
    shots = Path(os.environ.get("GATES_SHOTS", tmp_path))  # set GATES_SHOTS to keep the PNGs
    page.goto(app_url)
    wait_idle(page)
    page.locator("[data-testid='stSidebarNavLink'][href$='/gates']").click()
    page.wait_for_url(f"{app_url}/gates*")  # the workspace id follows in ?ws=
    wait_idle(page)
    chart = page.locator(CHART)
    chart.locator(".heatmaplayer image").wait_for(timeout=30_000)
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(800)  # plotly's fade-in
    state = chart.evaluate(_STATE_JS)
    assert state["frames"] == 60  # the default 60-day window, one frame per step
    at_rest = heatmap_pixels(page)
    save(at_rest, "rest.png", shots)
    assert painted_share(at_rest) > 0.25, "the heatmap is blank before Play"

    chart.evaluate(COUNT_FRAMES_JS)
    play, pause = chart.locator(".updatemenu-button").nth(0), chart.locator(".updatemenu-button").nth(1)
    play.click()
    page.wait_for_timeout(150)
    # a shot counts when the animation plays before and after it; the 60 frames last about 5 s and a shot
    # can take a second on a busy machine, so Play starts the animation again when it has ended
    mid_play: list[tuple[int, np.ndarray]] = []
    tries = 0
    while len(mid_play) < 3 and tries < 12:
        tries += 1
        before = chart.evaluate(_STATE_JS)
        pixels = heatmap_pixels(page)
        after = chart.evaluate(_STATE_JS)
        if before["playing"] and after["playing"] and after["frame"] is not None:
            save(pixels, f"play_{len(mid_play)}.png", shots)
            share = painted_share(pixels)
            assert share > 0.25, f"mid-play shot {len(mid_play)} (frames {before['frame']}-{after['frame']}) is blank: {share:.1%} painted"
            mid_play.append((int(before["frame"]), pixels))
        elif not after["playing"]:
            play.click()
    assert len(mid_play) == 3, f"only {len(mid_play)} shots while playing in {tries} tries"
    assert len({frame for frame, _ in mid_play}) > 1
    # an untrained model's gates move little (standardised returns shift a gate by a few hundredths, a few colour
    # levels), and two shots can land on frames that look alike: the heatmap must change between some pair of
    # mid-play shots, not necessarily the first and the last. A screenshot is exact, so a heatmap that is not redrawn
    # differs by 0 levels everywhere; more than 2 levels is a change of colour, not of rendering
    changed = max(
        float((np.abs(a.astype(int) - b.astype(int)).max(axis=2) > 2).mean())
        for k, (_, a) in enumerate(mid_play) for _, b in mid_play[k + 1 :]
    )
    assert changed > 0.01, f"only {changed:.2%} of the heatmap changed between any two mid-play shots"

    stamps = page.evaluate("window.__gateFrames")
    fps = (len(stamps) - 1) / ((stamps[-1] - stamps[0]) / 1000)
    print(f"\ngates animation in the app: {fps:.1f} frames/s while screenshots were taken")
    assert fps >= MIN_FPS

    # Pause mid-way: back to the first frame and Play (Play goes on from where the animation is; near the end, a slow
    # machine could reach the last frame before Pause, and there is nothing left to hold)
    chart.evaluate(_FIRST_FRAME_JS)
    page.wait_for_timeout(100)
    play.click()
    page.wait_for_timeout(300)
    pause.click()
    page.wait_for_timeout(300)
    paused = chart.evaluate(_STATE_JS)
    held = heatmap_pixels(page)
    page.wait_for_timeout(1000)
    later = chart.evaluate(_STATE_JS)
    assert not later["playing"] and later["frame"] == paused["frame"], (paused, later)
    assert np.array_equal(heatmap_pixels(page), held), "the heatmap kept changing after Pause"
    assert painted_share(held) > 0.25
    # slider, frame and heatmap agree on where the animation stopped
    assert later["sliderFrame"] == later["frame"] and later["heatmapIsFrame"], later
    assert int(later["frame"]) < 59

    play.click()  # Play again: it goes on from where it stopped
    page.wait_for_timeout(500)
    resumed = chart.evaluate(_STATE_JS)
    assert int(resumed["frame"]) > int(later["frame"]), (later, resumed)


# ---------------------------------------------------------------- a memory task, from Data to Gates

MARKER_RGB = (230, 57, 70)  # the marker's bars (lstm_core.plots.gates.INPUT_COLOURS[1], #e63946)
SEARCH_CHART = ".st-key-gates_search_chart .js-plotly-plot"
# each panel of the search figure: its marker bars' values inside the shaded stretch (a vrect on that panel's axis)
_SEARCH_JS = """
gd => gd._fullLayout.shapes.map(shape => {
    const bars = gd._fullData.find(d => d.type === 'bar' && d.xaxis === shape.xref);
    return Array.from(bars.x).map((x, k) => [x, bars.y[k]]).filter(([x]) => x >= shape.x0 && x <= shape.x1)
        .map(([, y]) => y);
})"""


def panel_pixels(page, chart: str, subplot: str) -> np.ndarray:
    """A screenshot of one subplot's plot area of a chart as an ``[H, W, 3]`` uint8 array."""
    from PIL import Image

    box = page.locator(f"{chart} .draglayer .{subplot} .nsewdrag").bounding_box()
    return np.asarray(Image.open(io.BytesIO(page.screenshot(clip=box))).convert("RGB"))


def near(pixels: np.ndarray, rgb: tuple[int, int, int], tolerance: int = 30) -> float:
    """Share of the pixels within ``tolerance`` of ``rgb`` on every channel."""
    return float((np.abs(pixels.astype(int) - np.array(rgb)).max(axis=2) <= tolerance).mean())


def test_a_memory_task_run_draws_its_inputs_says_what_its_units_do_and_finds_its_markers(app_url, browser_page):
    from browser import keep_screenshot, open_app_page
    from playwright.sync_api import expect

    from lstm_core.i18n import t

    page = browser_page
    open_app_page(page, app_url, "data")
    main = page.locator("[data-testid='stMain']")
    main.get_by_role("radio", name=t("src_task"), exact=True).click()
    wait_idle(page)
    for label, value in (("task_length", 60), ("task_sequences", 800)):  # 3 s of training on one core
        main.get_by_label(t(label), exact=True).fill(str(value))
    main.locator(".st-key-task_load button").click()  # the task's own button: the sample form's may still be drawn
    expect(main.locator(".st-key-task_chart .js-plotly-plot")).to_be_visible(timeout=30_000)
    wait_idle(page)

    page.locator("[data-testid='stSidebarNavLink'][href$='/train']").click()
    wait_idle(page)
    page.get_by_role("button", name=t("train_start")).click()  # the task's own settings: the form followed the data
    verdict = page.locator("[data-testid='stAlertContentSuccess']").first
    expect(verdict).to_contain_text("The model beats the strongest simple method, Training-period mean", timeout=180_000)
    wait_idle(page)

    page.locator("[data-testid='stSidebarNavLink'][href$='/gates']").click()
    wait_idle(page)
    chart = page.locator(CHART)
    chart.locator(".heatmaplayer image").wait_for(timeout=30_000)
    # the page says what the units do, in the roles' own sentences
    expect(main).to_contain_text("latches the marker: its input gate is")
    expect(main).to_contain_text("carries the answer: its cell state at the last step follows it")

    # above the heatmap, the model's own inputs: the marker is a red bar standing out of the panel
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(800)
    top, heat = (chart.locator(f".draglayer .{s} .nsewdrag").bounding_box() for s in ("xy", "x2y2"))
    assert top["y"] + top["height"] < heat["y"], (top, heat)
    inputs = panel_pixels(page, CHART, "xy")
    red = near(inputs, MARKER_RGB)
    assert 0.002 < red < 0.1, f"{red:.2%} of the input panel is the marker's red"
    columns = np.flatnonzero((np.abs(inputs.astype(int) - MARKER_RGB).max(axis=2) <= 30).any(axis=0))
    assert columns.max() - columns.min() < 0.05 * inputs.shape[1], "the marker is one step, one narrow bar"

    # mid-play, for the docs
    chart.locator(".updatemenu-button").nth(0).click()
    page.wait_for_timeout(1500)
    assert chart.evaluate("gd => !!gd._transitionData._animationRaf"), "the animation is not playing"
    assert painted_share(heatmap_pixels(page)) > 0.25
    keep_screenshot(page.locator(".st-key-gates_animation"), "gates_task.png")
    chart.locator(".updatemenu-button").nth(1).click()

    # the search starts from the latch's input gate at the marker: every stretch it returns holds a marker
    search = page.locator(SEARCH_CHART)
    search.scroll_into_view_if_needed()
    search.locator(".barlayer").first.wait_for(timeout=30_000)
    inside = search.evaluate(_SEARCH_JS)  # the picked stretch first, then each match drawn
    assert len(inside) >= 4, inside
    assert all(max(values) > 0.5 for values in inside), inside  # a marker (1, read back from its scaling) in each
    expect(main).to_contain_text("10 of these 10 stretches hold a marker step.")
    keep_screenshot(page.locator(".st-key-gates_search_chart"), "gates_search.png")
