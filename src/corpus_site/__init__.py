"""corpus-site: read a multilingual text corpus as a static website."""

__version__ = "0.1.0"
