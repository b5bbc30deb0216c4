/** The adapter under test, as a module: the parent-death test loads it in a Node process it then kills. */
import { nodeAdapter } from '../adapter.js';

export function createAdapter() {
  return nodeAdapter({ tools: new URL('./conformance-tools.js', import.meta.url) });
}
