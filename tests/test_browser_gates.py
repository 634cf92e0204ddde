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
    page.wait_for_url(f"{app_url}/gates")
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
    chart.locator(".updatemenu-button").nth(0).click()  # Play
    page.wait_for_timeout(150)
    mid_play, frames_seen = [], []
    for n in range(3):  # each shot takes a while on a busy machine, and the 60 frames last about 5 s
        state = chart.evaluate(_STATE_JS)
        pixels = heatmap_pixels(page)
        assert chart.evaluate(_STATE_JS)["playing"], f"the animation ended before shot {n}: frames {frames_seen}"
        save(pixels, f"play_{n}.png", shots)
        share = painted_share(pixels)
        assert share > 0.25, f"mid-play shot {n} (frame {state['frame']}) is blank: {share:.1%} painted"
        mid_play.append(pixels)
        frames_seen.append(int(state["frame"]))
    assert frames_seen == sorted(frames_seen) and len(set(frames_seen)) == 3, frames_seen  # it moved forward
    changed = np.abs(mid_play[0].astype(int) - mid_play[-1].astype(int)).max(axis=2) > 8
    assert changed.mean() > 0.01, f"only {changed.mean():.2%} of the heatmap changed between two mid-play shots"

    stamps = page.evaluate("window.__gateFrames")
    fps = (len(stamps) - 1) / ((stamps[-1] - stamps[0]) / 1000)
    print(f"\ngates animation in the app: {fps:.1f} frames/s while screenshots were taken")
    assert fps >= MIN_FPS

    chart.locator(".updatemenu-button").nth(1).click()  # Pause
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
    assert int(later["frame"]) > frames_seen[-1]

    chart.locator(".updatemenu-button").nth(0).click()  # Play again: it goes on from where it stopped
    page.wait_for_timeout(500)
    resumed = chart.evaluate(_STATE_JS)
    assert int(resumed["frame"]) > int(later["frame"]) or resumed["frame"] == "59", (later, resumed)
