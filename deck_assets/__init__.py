"""zh-CN PowerPoint deck built from the DuckDB warehouse's marts."""

from deck_assets.builder import DeckResult, build_deck

__all__ = ["DeckResult", "build_deck"]
