"""Small, dependency-free text utilities: tokens, slugs, wrapping, templates, case conversion, diff statistics."""

from .case import to_camel, to_kebab, to_pascal, to_snake, to_title
from .diffstats import DiffStats, diff_stats, unified_diff
from .slug import slugify, unique_slug
from .template import Template, TemplateError, UndefinedError, render
from .tokens import Token, sentences, tokenize, word_frequencies, words
from .wrap import fill, truncate, wrap

__version__ = "1.2.0"

__all__ = [
    "DiffStats",
    "Template",
    "TemplateError",
    "Token",
    "UndefinedError",
    "diff_stats",
    "fill",
    "render",
    "sentences",
    "slugify",
    "to_camel",
    "to_kebab",
    "to_pascal",
    "to_snake",
    "to_title",
    "tokenize",
    "truncate",
    "unified_diff",
    "unique_slug",
    "word_frequencies",
    "words",
    "wrap",
]
