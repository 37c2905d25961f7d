"""Message templates (issue 14): Jinja2, one file per template and locale under
``adapters/templates/{ko,en}/``, each with a ``subject``, a plain ``text`` and an
``html`` block.

Amounts and days are written by the domain's spelling (``krw`` and ``day`` filters);
links are the domain's paths on ``JOINTFLOW_BASE_URL``. The HTML block escapes what it
is given; the subject and text are plain text and are not escaped. A variable a template
names but the caller did not give is an error (``StrictUndefined``), not a blank. Each
locale has two environments over the same files: one escaping (for the HTML block), one
not (subject and text).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template

from workflow.domain.directory import DEFAULT_LOCALE, LOCALES
from workflow.domain.messaging import INBOX_PATH, PREFERENCES_PATH, spell_day
from workflow.domain.money import spell_krw
from workflow.service_layer.ports import Rendered

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"  # the Procfile's web process, run locally


class TemplateRenderer:
    def __init__(self, base_url: str, directory: Path = TEMPLATES_DIR) -> None:
        self.base_url = base_url.rstrip("/")
        self.directory = directory

    def url(self, path: str) -> str:
        return self.base_url + path

    @cached_property
    def _environments(self) -> dict[tuple[str, bool], Environment]:
        return {
            (locale, escape): self._environment(locale, escape)
            for locale in LOCALES
            for escape in (False, True)
        }

    def _environment(self, locale: str, escape: bool) -> Environment:
        env = Environment(
            loader=FileSystemLoader(self.directory / locale),
            undefined=StrictUndefined,
            autoescape=escape,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        env.filters["krw"] = lambda amount: spell_krw(int(amount), locale)
        env.filters["day"] = lambda day: spell_day(_as_date(day), locale)
        env.globals.update(
            inbox=self.url(INBOX_PATH), preferences=self.url(PREFERENCES_PATH), locale=locale
        )
        # The locale's shared macros (page, footer, ...), as ``layout`` in every template.
        env.globals["layout"] = env.get_template("_layout.j2").module
        return env

    def warm(self) -> None:
        """Compile every template now (a worker process as it starts), not on first use."""
        for env in self._environments.values():
            for name in env.list_templates(extensions=["j2"]):
                env.get_template(name)

    def render(self, template: str, locale: str, context: Mapping[str, Any]) -> Rendered:
        locale = locale if locale in LOCALES else DEFAULT_LOCALE
        plain, escaped = (
            self._environments[locale, e].get_template(f"{template}.j2") for e in (False, True)
        )
        values = dict(context)
        if "path" in values:
            values["link"] = self.url(values.pop("path"))
        values.setdefault("link", self.url(INBOX_PATH))
        subject = " ".join(_block(plain, "subject", values).split())
        text = _block(plain, "text", values).strip() + "\n"
        html = _block(escaped, "html", values).strip() + "\n"
        return Rendered(subject, text, html)


def _block(tmpl: Template, name: str, values: dict[str, Any]) -> str:
    return "".join(tmpl.blocks[name](tmpl.new_context(values)))


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
