"""The service's page in a real browser: headless chromium (selenium) uploads a toy tile
to ``tools/serve_seg.py``, sees the image beside the mask over it (with its opacity
slider), the latency and the legend, and downloads mask.png. chromium and chromedriver
come from ``tools/install_browser.sh`` (run by ``tools/run_tests.sh``); without them this
test fails, it is not skipped.

``KD_SAVE_SCREENSHOT=1`` also writes the page to ``docs/images/serve_seg.png``. The
README's shows the benchmark's M6 student (exported) on a test tile with thin vessels
(``KD_SERVE_STUDENT``: an export folder; ``KD_SERVE_DATA``: toy data whose
``img_dir/val`` the test reads; ``KD_SCREENSHOT_TILE``: the tile uploaded)::

    KD_SAVE_SCREENSHOT=1 KD_SERVE_STUDENT=work_dirs/m6_student/export \
        KD_SERVE_DATA=data/bench/toy_seg \
        KD_SCREENSHOT_TILE=data/bench/toy_seg/img_dir/test/<tile>.png \
        python -m pytest tests/service/test_service_browser.py
"""
import os
import os.path as osp
import time

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT
from service_helpers import (exported_toy_student, png_array, post_image,
                             shared_server, stop_shared_server, val_image_paths)

CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = '/usr/bin/chromedriver'
SCREENSHOT = osp.join(ROOT, 'docs', 'images', 'serve_seg.png')


@pytest.fixture(scope='session')
def server(request, tmp_path_factory):
    request.addfinalizer(stop_shared_server)
    return shared_server(tmp_path_factory)


@pytest.fixture
def browser(tmp_path):
    for path in (CHROMIUM, CHROMEDRIVER):
        assert osp.isfile(path), (f'{path} is missing: run tools/install_browser.sh '
                                  '(tools/run_tests.sh does)')
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    downloads = tmp_path / 'downloads'
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ('--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
                 '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync',
                 '--disable-dev-shm-usage', '--window-size=1000,700',
                 f'--user-data-dir={tmp_path / "profile"}'):
        options.add_argument(flag)
    options.add_experimental_option('prefs', {
        'download.default_directory': str(downloads),
        'download.prompt_for_download': False,
        'safebrowsing.enabled': False})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd('Browser.setDownloadBehavior',
                           {'behavior': 'allow', 'downloadPath': str(downloads)})
    driver.set_page_load_timeout(60)
    driver.downloads = downloads
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(what, check, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f'timed out after {timeout} s waiting for {what}')


def upload(driver, path):
    """Choose ``path`` in the file input; wait for the page's answer (done or error)."""
    from selenium.webdriver.common.by import By

    def answers():
        return int(driver.execute_script('return document.body.dataset.answers'))

    before = answers()
    driver.find_element(By.ID, 'file').send_keys(path)
    wait_for('the page to answer', lambda: answers() > before)
    return driver.execute_script('return document.body.dataset.state')


@pytest.mark.slow
def test_page_uploads_shows_overlay_and_downloads_mask(server, browser, tmp_path,
                                                       tmp_path_factory):
    from selenium.webdriver.common.by import By
    student = exported_toy_student(tmp_path_factory)
    tile_path = osp.abspath(os.environ.get('KD_SCREENSHOT_TILE')
                            or val_image_paths(student)[0])
    status, _, expected = post_image(server.url, open(tile_path, 'rb').read(), fmt='png')
    assert status == 200
    expected = png_array(expected)

    browser.get(server.url + '/')
    wait_for('the model line', lambda: 'EncoderDecoder' in
             browser.find_element(By.ID, 'model').text)
    assert 'background, cell, gland, vessel' in browser.find_element(By.ID, 'model').text

    # a bad file first: the page shows the server's message and keeps working
    bad = tmp_path / 'notes.png'
    bad.write_text('not an image at all')
    assert upload(browser, str(bad)) == 'error'
    error = browser.find_element(By.ID, 'error')
    assert error.is_displayed() and error.text.startswith('415: not a PNG')

    assert upload(browser, tile_path) == 'done'
    assert not browser.find_element(By.ID, 'error').is_displayed()
    for view in ('image', 'under', 'colours'):
        wait_for(f'the {view} view', lambda: browser.execute_script(
            f"const o = document.getElementById('{view}');"
            "return o.complete && o.naturalWidth"))
        assert browser.execute_script(
            f"return document.getElementById('{view}').naturalHeight") == 128
    # the mask layer shows each pixel in its class colour, as the server's mask says
    drawn = np.asarray(browser.execute_script(
        "const o = document.getElementById('colours'), c = document.createElement("
        "'canvas'); c.width = o.naturalWidth; c.height = o.naturalHeight;"
        "const x = c.getContext('2d'); x.drawImage(o, 0, 0);"
        "return Array.from(x.getImageData(0, 0, c.width, c.height).data);"),
        np.uint8).reshape(128, 128, 4)[..., :3]
    palette = np.asarray(browser.execute_script(
        "return fetch('api/health').then(r => r.json()).then(h => h.palette)"), np.uint8)
    np.testing.assert_array_equal(drawn, palette[expected])
    # the opacity slider: the image alone at 0 %, the mask alone at 100 %
    for value in (0, 100, 60):
        browser.execute_script(
            "const s = document.getElementById('opacity'); s.value = arguments[0];"
            "s.dispatchEvent(new Event('input'));", value)
        assert float(browser.execute_script(
            "return document.getElementById('colours').style.opacity")) == value / 100
        assert browser.find_element(By.ID, 'opacity-value').text == f'{value} %'
    latency = browser.find_element(By.ID, 'latency').text
    assert 'ms on the server' in latency and 'round trip' in latency
    rows = browser.find_elements(By.CSS_SELECTOR, '#legend tbody tr')
    assert [r.text.split()[1] for r in rows] == ['background', 'cell', 'gland', 'vessel']
    if os.environ.get('KD_SAVE_SCREENSHOT') == '1':
        os.makedirs(osp.dirname(SCREENSHOT), exist_ok=True)
        browser.save_screenshot(SCREENSHOT)

    link = browser.find_element(By.ID, 'download')
    assert link.get_attribute('download') == 'mask.png'
    link.click()
    target = browser.downloads / 'mask.png'
    wait_for('mask.png to download', lambda: target.is_file() and not any(
        p.suffix == '.crdownload' for p in browser.downloads.iterdir()))
    with Image.open(target) as image:
        assert image.format == 'PNG' and image.size == (128, 128)
        mask = np.asarray(image)
    assert mask.max() < 4  # background, cell, gland, vessel
    np.testing.assert_array_equal(mask, expected)
