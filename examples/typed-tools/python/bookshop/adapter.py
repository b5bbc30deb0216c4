"""Tools with type hints: `npx snakepit types` turns each signature into a TypeScript type."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import AsyncIterator, Literal, TypedDict

from snakepit_bridge import BaseAdapter, tool

Genre = Literal["fiction", "science", "history"]


class Book(TypedDict):
    id: int
    title: str
    genre: Genre
    year: int


@dataclass
class Shelf:
    """A shelf, and the shelves inside it (a recursive type)."""

    name: str
    books: list[int] = field(default_factory=list)
    children: list[Shelf] = field(default_factory=list)


class Page(TypedDict):
    page: int
    text: str


_BOOKS: list[Book] = [
    {"id": 1, "title": "The Left Hand of Darkness", "genre": "fiction", "year": 1969},
    {"id": 2, "title": "A Brief History of Time", "genre": "science", "year": 1988},
    {"id": 3, "title": "The Guns of August", "genre": "history", "year": 1962},
    {"id": 4, "title": "The Dispossessed", "genre": "fiction", "year": 1974},
]


class BookshopAdapter(BaseAdapter):
    @tool()
    def search(self, query: str, genre: Genre | None = None, limit: int = 5) -> list[Book]:
        """Books whose title contains the query.

        Args:
            query: Words to look for in the title (case-insensitive).
            genre: Only books of this genre.
            limit: At most this many books.
        """
        words = query.lower()
        found = [book for book in _BOOKS if words in book["title"].lower() and genre in (None, book["genre"])]
        return found[:limit]

    @tool()
    def cover(self, book_id: int, size: tuple[int, int] = (2, 2)) -> bytes:
        """The cover of a book as raw pixels (width x height bytes)."""
        width, height = size
        return bytes((book_id * 40 + index) % 256 for index in range(width * height))

    @tool()
    def shelves(self) -> Shelf:
        """The shop's shelves, nested."""
        return Shelf("shop", children=[Shelf("fiction", books=[1, 4]), Shelf("non-fiction", children=[Shelf("science", [2]), Shelf("history", [3])])])

    @tool()
    def tag(self, book_id: int, **tags: str) -> dict[str, str]:
        """Tags a book; any keyword argument is a tag."""
        return {"book": str(book_id), **dict(sorted(tags.items()))}

    @tool(supports_streaming=True)
    async def read(self, book_id: int, pages: int = 3) -> AsyncIterator[Page]:
        """Streams the first pages of a book.

        Yields:
            One page at a time.
        """
        title = next(book["title"] for book in _BOOKS if book["id"] == book_id)
        for page in range(1, pages + 1):
            await asyncio.sleep(0.01)
            yield {"page": page, "text": f"{title}, page {page}"}
