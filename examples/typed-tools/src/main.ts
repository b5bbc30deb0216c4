// Typed tools: `createPool<Tools>()` with the types `npx snakepit types` generated from the
// Python adapter in ../python (src/tools.ts). Wrong calls are compile errors; with
// `argumentSchemas`, values that escape the compiler (parsed JSON) are refused before Python.
// Run (from the repository root): npx tsc -p examples/typed-tools && node examples/typed-tools/dist/main.js
import { fileURLToPath } from 'node:url';
import { createPool, SnakepitError } from '@snakepit/sdk';
import { pythonAdapter } from '@snakepit/adapter-python';
import { toolSchemas, type Book, type Shelf, type Tools } from './tools.js';

const pool = createPool<Tools>({
  adapter: pythonAdapter({
    adapter: 'bookshop.adapter.BookshopAdapter',
    // src/ and dist/ both sit beside python/.
    pythonPath: [fileURLToPath(new URL('../python', import.meta.url))],
  }),
  size: 1,
  argumentSchemas: toolSchemas,
});

function titles(shelf: Shelf, depth = 0): string[] {
  const line = `${'  '.repeat(depth)}${shelf.name}: ${shelf.books?.length ?? 0} book(s)`;
  return [line, ...(shelf.children ?? []).flatMap((child) => titles(child, depth + 1))];
}

try {
  // `books` is a Book[]: its fields are known, `genre` is 'fiction' | 'science' | 'history'.
  const books: Book[] = await pool.execute('search', { query: 'the', genre: 'fiction' });
  console.log('fiction with "the":', books.map((book) => `${book.title} (${book.year})`).join(', '));

  const cover: Uint8Array = await pool.execute('cover', { book_id: 2, size: [2, 3] });
  console.log('cover bytes:', cover.length);

  console.log(titles(await pool.execute('shelves')).join('\n'));

  const tags = await pool.execute('tag', { book_id: 4, mood: 'calm', format: 'paperback' });
  console.log('tags:', JSON.stringify(tags));

  // Each chunk is a Page until the final one, which may carry no page.
  for await (const chunk of pool.executeStream('read', { book_id: 1, pages: 2 })) {
    if (chunk.text !== undefined) console.log(`read page ${chunk.page}: ${chunk.text}`);
  }

  // None of these compile (each line's error is expected, or tsc fails):
  // @ts-expect-error: there is no tool "serch"
  void (() => pool.execute('serch', { query: 'x' }));
  // @ts-expect-error: "query" is required
  void (() => pool.execute('search', { limit: 2 }));
  // @ts-expect-error: "limit" is a number
  void (() => pool.execute('search', { query: 'x', limit: '2' }));
  // @ts-expect-error: "poetry" is not a genre
  void (() => pool.execute('search', { query: 'x', genre: 'poetry' }));
  // @ts-expect-error: "shelves" takes no arguments
  void (() => pool.execute('shelves', { all: true }));
  // @ts-expect-error: a cover is bytes, not a string
  void (async (): Promise<string> => await pool.execute('cover', { book_id: 1 }));

  // What the compiler cannot see (here: parsed JSON) the pool checks against toolSchemas.
  const fromRequest = JSON.parse('{"query": "time", "limit": "all"}');
  try {
    await pool.execute('search', fromRequest);
  } catch (error) {
    if (SnakepitError.isInstance(error)) console.log(`refused before Python: ${error.code}: ${error.message}`);
  }
} finally {
  await pool.close();
}
