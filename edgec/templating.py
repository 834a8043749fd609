"""The Jinja2 environment over edgec's ``templates/`` folder, for every stage that renders C,
CMake or firmware files (lowering's kernel templates, the emitter, verification harnesses,
projects). It sits at the top of the package so that all of them import it without a cycle.

Where the templates are is decided in one place, ``template_dir``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

from edgec.resources import data_dir


def template_dir() -> Path:
    """The folder holding edgec's templates (in the tree or shipped in the wheel)."""
    return data_dir("templates")


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """Strict (an undefined name is an error) and whitespace-exact, so output is stable."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(template: str, context: dict) -> str:
    """``template`` (a file name under ``templates/``) rendered with ``context``."""
    return environment().get_template(template).render(**context)
