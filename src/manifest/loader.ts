/**
 * Loader for manifest_federation.yaml: YAML with line info → JSON Schema 2020-12 (Ajv, defaults
 * filled) → semantic checks → key paths resolved. Every problem is reported as
 * `file:line:col field: rule`.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { LineCounter, parseDocument, visit, type Document } from "yaml";
import Ajv2020, { type ErrorObject } from "ajv/dist/2020";
import { InvalidInputError } from "../util/errors";
import { decodeUtf8Strict } from "../events/ijson";
import schema from "./manifest.schema.json";
import { semanticProblems, type RawProblem } from "./checks";
import { positionOf } from "./positions";
import { DEFAULT_NODE_PORT, type Manifest, type ManifestProblem } from "./types";

export { schema as manifestSchema };

const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, useDefaults: true });
const check = ajv.compile<Omit<Manifest, "source">>(schema);

/** Largest manifest file accepted, in bytes. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;
const MAX_REPORTED = 20;

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "manifest_federation.yaml"))) return dir;
    if (path.dirname(dir) === dir) return process.cwd();
  }
}

/** The manifest shipped at the repository / package root. */
export const DEFAULT_MANIFEST_PATH = path.join(findPackageRoot(__dirname), "manifest_federation.yaml");

function fail(problems: ManifestProblem[]): never {
  const lines = problems.map((p) => `${p.file}:${p.line}:${p.col} ${p.field}: ${p.rule}`);
  const more = lines.length > 1 ? ` (and ${lines.length - 1} more)` : "";
  const options = { meta: { problems } };
  throw new InvalidInputError(
    `invalid manifest: ${lines[0]}${more}`,
    lines.length > 1 ? { ...options, details: lines.join("\n") } : options,
  );
}

function fromAjv(e: ErrorObject): RawProblem {
  const params = e.params as Record<string, unknown>;
  if (e.keyword === "required") {
    return { field: `${e.instancePath}/${String(params.missingProperty)}`, rule: "is required" };
  }
  if (e.keyword === "additionalProperties") {
    const key = String(params.additionalProperty);
    return { field: e.instancePath, key, rule: "is not an allowed property" };
  }
  if (e.keyword === "const")
    return { field: e.instancePath, rule: `must be ${JSON.stringify(params.allowedValue)}` };
  return { field: e.instancePath, rule: `${e.message ?? "is invalid"} (${e.keyword} rule)` };
}

function locate(doc: Document, counter: LineCounter, file: string, raw: RawProblem[]): ManifestProblem[] {
  return raw.slice(0, MAX_REPORTED).map((p) => {
    const anchor = p.rule === "is required" ? p.field.slice(0, p.field.lastIndexOf("/")) : p.field;
    const { line, col } = positionOf(doc, counter, anchor, p.key);
    const field = p.key !== undefined ? `${p.field}/${p.key}` : p.field || "/";
    return { file, line, col, field, rule: p.rule };
  });
}

function resolveKeyPath(p: string, baseDir: string): string {
  return p.startsWith("~/") ? path.join(os.homedir(), p.slice(2)) : path.resolve(baseDir, p);
}

/** Position of the first alias whose anchor is not defined before it (toJS gives none). */
function unresolvedAlias(doc: Document, counter: LineCounter): { line: number; col: number } | undefined {
  let at: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      if (node.resolve(doc) !== undefined || !node.range) return undefined;
      at = node.range[0];
      return visit.BREAK;
    },
  });
  return at === undefined ? undefined : counter.linePos(at);
}

function parseYaml(text: string, file: string): { doc: Document; counter: LineCounter; data: unknown } {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    fail(
      doc.errors.slice(0, MAX_REPORTED).map((e) => {
        const pos = e.linePos?.[0] ?? counter.linePos(e.pos[0]);
        return {
          file,
          line: pos.line,
          col: pos.col,
          field: "/",
          rule: `YAML syntax: ${e.message.split("\n")[0]}`,
        };
      }),
    );
  }
  try {
    return { doc, counter, data: doc.toJS({ maxAliasCount: 100 }) as unknown };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const { line, col } = unresolvedAlias(doc, counter) ?? { line: 1, col: 1 };
    return fail([{ file, line, col, field: "/", rule: `YAML: ${reason}` }]);
  }
}

/**
 * Parse and validate manifest text. `file` labels error positions; relative key paths resolve
 * against `baseDir`. Throws InvalidInputError whose message starts with the first problem
 * (`file:line:col field: rule`) and whose `meta.problems` lists all (up to 20).
 */
export function parseManifest(text: string, file = "<manifest>", baseDir = process.cwd()): Manifest {
  const { doc, counter, data } = parseYaml(text, file);
  if (!check(data)) fail(locate(doc, counter, file, (check.errors ?? []).map(fromAjv)));
  const semantic = semanticProblems(data);
  if (semantic.length > 0) fail(locate(doc, counter, file, semantic));
  let position = 0;
  for (const f of data.federations) {
    for (const n of f.nodes) {
      n.url =
        (n.url as string | undefined)?.replace(/\/$/, "") ??
        `http://127.0.0.1:${DEFAULT_NODE_PORT + position}`;
      position++;
      n.mldsa_key = resolveKeyPath(n.mldsa_key, baseDir);
      n.evm_keystore = resolveKeyPath(n.evm_keystore, baseDir);
    }
  }
  return { ...data, source: file };
}

/** Read, parse and validate a manifest file (default: the shipped manifest_federation.yaml). */
export function loadManifest(file: string = DEFAULT_MANIFEST_PATH): Manifest {
  const abs = path.resolve(file);
  let text: string;
  try {
    const size = fs.statSync(abs).size;
    if (size > MAX_MANIFEST_BYTES)
      fail([
        {
          file: abs,
          line: 1,
          col: 1,
          field: "/",
          rule: `file is ${size} bytes, limit ${MAX_MANIFEST_BYTES}`,
        },
      ]);
    // Strict UTF-8: a bad byte is refused with its line, not replaced by U+FFFD.
    text = decodeUtf8Strict(fs.readFileSync(abs), { source: abs });
  } catch (err) {
    if (err instanceof InvalidInputError) throw err;
    throw new InvalidInputError(`cannot read manifest ${abs}`, { cause: err });
  }
  return parseManifest(text, abs, path.dirname(abs));
}
