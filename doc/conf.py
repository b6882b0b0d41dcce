"""Sphinx configuration for the sknas documentation.

Build with ``sphinx-build -W -b html doc doc/_build/html`` (``pip install -e ".[docs]"``).
"""

import re
import sys
from pathlib import Path

# Document the checkout this file belongs to, installed or not.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sknas  # noqa: E402

project = "sknas"
author = "the sknas developers"
copyright = "the sknas developers"
release = sknas.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# Markdown: GitHub-style anchors for headings down to level 3, so that links such as
# ``user_guide.md#budgets-and-timeouts`` resolve as they do on GitHub.
myst_heading_anchors = 3

# API reference: one explicit directive per public object in api.rst, no generated stub files
# (autosummary only draws the summary tables).
autosummary_generate = False
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # numpydoc's "Parameters" sections already give the types
autodoc_default_options = {}

# numpydoc: the class pages list their public methods through autodoc's ``members``; numpydoc's
# own member tables would repeat them (and want autosummary stubs that are not generated).
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "alabaster"
html_title = f"sknas {release}"
html_static_path = []
html_theme_options = {
    "description": "scikit-learn compatible AutoML and neural architecture search",
    "fixed_sidebar": False,
}


_SHAPE = re.compile(r"of shape \(([^)]*)\)")
_TRAILING_UNDERSCORE = re.compile(r"\b([A-Za-z]\w*_)(?=[\s,)]|$)")


def _quote_shape_attributes(app, what, name, obj, options, lines):
    """Quote fitted-attribute names in numpydoc shapes, e.g. ``(n_features_in_,)``.

    In reST a word ending in ``_`` is a link, so such a type is an "Unknown target name"
    error; scikit-learn writes ``(`n_features_in_`,)``, plain text reads better in ``help()``.
    """
    for index, line in enumerate(lines):
        lines[index] = _SHAPE.sub(
            lambda shape: "of shape (" + _TRAILING_UNDERSCORE.sub(r"``\1``", shape[1]) + ")",
            line,
        )


def setup(app):
    # Before numpydoc (priority 500) turns the sections into reST.
    app.connect("autodoc-process-docstring", _quote_shape_attributes, priority=400)
