"""Driving JupyterLab from Playwright: open a notebook in its own workspace, wait for its kernel, run it,
and find the workbench's widgets by their wb- classes."""
from __future__ import annotations

import re
import uuid

KERNEL_IDLE = re.compile(r"^(?!No Kernel).+\|\s*Idle$")
TIMEOUT_MS = 60_000


def open_notebook(page, lab, name: str) -> None:
    workspace = f"w{uuid.uuid4().hex[:10]}"
    page.goto(lab.url(f"/lab/workspaces/{workspace}/tree/{name}"))
    wait_for_idle_kernel(page, name)
    # the notebook gets the whole width: no file browser beside it
    page.evaluate("window.jupyterapp.shell.collapseLeft(); window.jupyterapp.shell.collapseRight()")


def wait_for_idle_kernel(page, name: str, timeout: int = TIMEOUT_MS) -> None:
    from playwright.sync_api import expect
    status = page.locator(f"#jp-main-statusbar .jp-StatusBar-TextItem[title='Change kernel for {name}']")
    expect(status).to_have_text(KERNEL_IDLE, timeout=timeout)


def run_all(page, name: str) -> None:
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    wait_for_idle_kernel(page, name)


def app(page):
    """The workbench's root element (the first one on the page)."""
    return page.locator(".wb-app").first


def button(page, css: str):
    return page.locator(f".jupyter-widgets.widget-button.{css}").first


def click_tab(page, container_css: str, title: str) -> None:
    page.locator(f".{container_css} .lm-TabBar-tab", has_text=title).first.click()


def checkbox(page, css: str):
    return page.locator(f".{css} input[type=checkbox]").first
