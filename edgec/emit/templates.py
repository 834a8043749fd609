"""The Jinja2 environment over the repository's ``templates/`` folder."""

from __future__ import annotations

from functools import lru_cache

import jinja2

from edgec.resources import data_dir

TEMPLATE_DIR = data_dir("templates")


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """Strict (an undefined name is an error) and whitespace-exact, so output is stable."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(template: str, context: dict) -> str:
    """``template`` (a file name under ``templates/``) rendered with ``context``."""
    return environment().get_template(template).render(**context)
