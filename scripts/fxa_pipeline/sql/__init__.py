"""The loader's longer SQL statements, as `.sql` templates beside this file.

A template is plain SQL with Jinja placeholders (`{{ name }}`) for the fragments Python builds
from the schema's field lists (column lists, per-field checks); `render_sql()` fills them. Jinja
comes with dbt. Placeholders must all be given (StrictUndefined); nothing is escaped, so values
are SQL text: quote identifiers with `fxa_pipeline.raw_schema.quote` and strings with
`fxa_pipeline.raw_schema.literal`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

TEMPLATES = Path(__file__).resolve().parent


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render_sql(name: str, **values: str) -> str:
    """The template `name` (a file of this folder) with its placeholders filled."""
    return _environment().get_template(name).render(**values)
