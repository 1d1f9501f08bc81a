"""tests/find_browser.py finds a browser wherever a user has one, in the documented order,
and says how to get one when there is none (a failure, never a skip)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from find_browser import HOW_TO_GET_ONE, BrowserNotFound, find_chromium

SCRIPT = Path(__file__).with_name("find_browser.py")


def _exe(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def home(tmp_path):
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


def test_chromium_variable_wins_over_path(tmp_path, home):
    explicit = _exe(tmp_path / "custom" / "mychrome")
    bindir = tmp_path / "bin"
    _exe(bindir / "chromium")
    env = {"CHROMIUM": str(explicit), "PATH": str(bindir)}
    assert find_chromium(env, home) == str(explicit)


def test_chromium_variable_naming_nothing_is_an_error(tmp_path, home):
    bindir = tmp_path / "bin"
    _exe(bindir / "chromium")
    with pytest.raises(BrowserNotFound, match="CHROMIUM=.*not an executable"):
        find_chromium({"CHROMIUM": str(tmp_path / "absent"), "PATH": str(bindir)}, home)


@pytest.mark.parametrize("name", ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"])
def test_each_browser_name_on_path_is_found(tmp_path, home, name):
    bindir = tmp_path / "bin"
    hit = _exe(bindir / name)
    assert find_chromium({"PATH": f"{tmp_path / 'empty'}{os.pathsep}{bindir}"}, home) == str(hit)


def test_path_names_are_tried_in_order(tmp_path, home):
    first, second = tmp_path / "a", tmp_path / "b"
    _exe(first / "google-chrome")
    chromium = _exe(second / "chromium")
    assert find_chromium({"PATH": f"{first}{os.pathsep}{second}"}, home) == str(chromium)


def test_non_executable_file_on_path_is_not_a_browser(tmp_path, home):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "chromium").write_text("not a program")
    (bindir / "chromium").chmod(0o644)
    with pytest.raises(BrowserNotFound):
        find_chromium({"PATH": str(bindir)}, home)


def test_playwright_browser_in_home_cache_is_found(tmp_path, home):
    _exe(home / ".cache" / "ms-playwright" / "chromium-1000" / "chrome-linux" / "chrome")
    newest = _exe(home / ".cache" / "ms-playwright" / "chromium-1100" / "chrome-linux" / "chrome")
    assert find_chromium({"PATH": str(tmp_path / "empty")}, home) == str(newest)


def test_playwright_browsers_path_variable_is_searched(tmp_path, home):
    hit = _exe(tmp_path / "pw" / "chromium-1200" / "chrome-linux64" / "chrome")
    env = {"PATH": "", "PLAYWRIGHT_BROWSERS_PATH": str(tmp_path / "pw")}
    assert find_chromium(env, home) == str(hit)


def test_path_wins_over_playwright(tmp_path, home):
    _exe(home / ".cache" / "ms-playwright" / "chromium-1100" / "chrome-linux" / "chrome")
    onpath = _exe(tmp_path / "bin" / "chromium-browser")
    assert find_chromium({"PATH": str(tmp_path / "bin")}, home) == str(onpath)


def test_nothing_found_says_how_to_get_a_browser(tmp_path, home):
    with pytest.raises(BrowserNotFound) as info:
        find_chromium({"PATH": str(tmp_path / "empty")}, home)
    message = str(info.value)
    assert "apt-get install chromium" in message
    assert "playwright install chromium" in message
    assert "CHROMIUM" in message


def test_script_exit_status_and_message(tmp_path, home):
    env = {"PATH": str(tmp_path / "empty"), "HOME": str(home)}
    run = subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, check=False)
    assert run.returncode == 1
    assert run.stdout == ""
    assert run.stderr.strip() == f"error: {HOW_TO_GET_ONE}"
    chromium = _exe(tmp_path / "bin" / "chromium")
    env["PATH"] = str(tmp_path / "bin")
    run = subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, check=False)
    assert (run.returncode, run.stdout.strip()) == (0, str(chromium))
