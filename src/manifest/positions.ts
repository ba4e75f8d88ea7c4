/**
 * Map a JSON Pointer in a parsed YAML document back to a line and column of the source text.
 */
import { isCollection, isMap, isScalar, type Document, type LineCounter, type Node } from "yaml";

export interface Position {
  line: number;
  col: number;
}

function segments(pointer: string): (string | number)[] {
  if (pointer === "" || pointer === "/") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

function nodeAt(doc: Document, path: (string | number)[]): Node | undefined {
  if (path.length === 0) return doc.contents ?? undefined;
  const found: unknown = doc.getIn(path, true);
  return found !== null && typeof found === "object" && "range" in found ? (found as Node) : undefined;
}

/**
 * Position of the value at `pointer`; if `key` is given, of that key inside the map at `pointer`.
 * Falls back to the nearest existing ancestor (e.g. for a missing property), then to 1:1.
 */
export function positionOf(doc: Document, counter: LineCounter, pointer: string, key?: string): Position {
  const path = segments(pointer);
  if (key !== undefined) {
    const map = nodeAt(doc, path);
    if (isMap(map)) {
      const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
      const range = isScalar(pair?.key) ? pair.key.range : undefined;
      if (range) return counter.linePos(range[0]);
    }
  }
  const value = nodeAt(doc, path);
  const last = path[path.length - 1];
  if (isCollection(value) && typeof last === "string") {
    // A whole list or map is reported at its key ("nodes:"), where a reader looks for it.
    return positionOf(doc, counter, pointer.slice(0, pointer.lastIndexOf("/")), last);
  }
  for (let n = path.length; n >= 0; n--) {
    const range = nodeAt(doc, path.slice(0, n))?.range;
    if (range) return counter.linePos(range[0]);
  }
  return { line: 1, col: 1 };
}
