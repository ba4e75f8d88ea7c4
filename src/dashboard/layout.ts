/**
 * The dashboard pages' shared head and navigation, written once: a page in ./public holds
 * `<!-- amp:head TITLE [plots] -->` inside its `<head>` and `<!-- amp:nav PATH -->` inside its
 * `<header>`; `expandLayout` replaces them with the meta tags, title and stylesheets (uPlot's with
 * `plots`) and the page list with `aria-current` on PATH. The build step (bundle.ts) writes the
 * expanded pages into dist; served from the sources, server.ts expands them per request (an
 * expanded page has no markers left: expanding again changes nothing).
 */
import { InvalidInputError } from "../util/errors";

export const PAGES: readonly (readonly [path: string, name: string])[] = [
  ["/", "Rounds"],
  ["/nodes", "Nodes"],
  ["/drift", "Drift"],
  ["/credits", "Credits"],
  ["/proof", "Proof lookup"],
];

const MARKER = /^([ \t]*)<!-- amp:(\S+)(.*?)-->[ \t]*$/;

function head(args: string, indent: string, where: string): string[] {
  const m = /^\s*(.+?)(\s+plots)?\s*$/.exec(args);
  if (!m) throw new InvalidInputError(`${where}: amp:head needs a title`);
  const title = m[1]!;
  if (/[<>&"]/.test(title)) throw new InvalidInputError(`${where}: amp:head title must be plain text`);
  return [
    `<meta charset="utf-8" />`,
    `<meta name="viewport" content="width=device-width, initial-scale=1" />`,
    `<title>AMP dashboard — ${title}</title>`,
    `<link rel="icon" href="data:," />`,
    ...(m[2] ? [`<link rel="stylesheet" href="/assets/uPlot.min.css" />`] : []),
    `<link rel="stylesheet" href="/app.css" />`,
  ].map((l) => indent + l);
}

function nav(args: string, indent: string, where: string): string[] {
  const current = args.trim();
  if (!PAGES.some(([p]) => p === current)) {
    throw new InvalidInputError(
      `${where}: amp:nav "${current}" is not a page (${PAGES.map(([p]) => p).join(", ")})`,
    );
  }
  return [
    `<nav aria-label="Dashboard pages">`,
    ...PAGES.map(([p, name]) => `  <a href="${p}"${p === current ? ` aria-current="page"` : ""}>${name}</a>`),
    `</nav>`,
  ].map((l) => indent + l);
}

/** `html` (the page `file`, for errors) with its layout markers replaced. */
export function expandLayout(html: string, file: string): string {
  return html
    .split("\n")
    .flatMap((line, i) => {
      const m = MARKER.exec(line);
      if (!m) return [line];
      const where = `${file}:${i + 1}`;
      if (m[2] === "head") return head(m[3]!, m[1]!, where);
      if (m[2] === "nav") return nav(m[3]!, m[1]!, where);
      throw new InvalidInputError(`${where}: unknown layout marker amp:${m[2]} (amp:head, amp:nav)`);
    })
    .join("\n");
}
