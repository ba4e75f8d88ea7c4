/**
 * Locates the first RFC 8259 syntax error in a JSON text, for error messages only (runs after
 * JSON.parse refused the text). V8's own messages differ between Node versions and often carry no
 * position; this one always gives the offset of the first offending character and what was there.
 */

export interface SyntaxProblem {
  /** UTF-16 offset of the first character that cannot continue a JSON text. */
  readonly offset: number;
  /** e.g. `unexpected "}"`, `unexpected end of input`. */
  readonly reason: string;
}

/** Internal control flow: thrown at the first bad character, caught below. */
class Stop extends Error {
  constructor(readonly offset: number) {
    super(`JSON syntax error at ${offset}`);
  }
}

/** The first syntax error of `text`, or undefined if it is valid JSON. */
export function firstSyntaxError(text: string): SyntaxProblem | undefined {
  let i = 0;
  const at = (): number => text.charCodeAt(i);
  const stop = (): never => {
    throw new Stop(i);
  };
  const ws = (): void => {
    for (let c = at(); c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = at()) i++;
  };
  const expect = (s: string): void => {
    for (const ch of s) {
      if (text[i] !== ch) stop();
      i++;
    }
  };
  const digits = (): void => {
    if (!(at() >= 0x30 && at() <= 0x39)) stop();
    while (at() >= 0x30 && at() <= 0x39) i++;
  };
  const number = (): void => {
    if (at() === 0x2d) i++;
    if (at() === 0x30) i++;
    else digits();
    if (at() === 0x2e) {
      i++;
      digits();
    }
    if (at() === 0x65 || at() === 0x45) {
      i++;
      if (at() === 0x2b || at() === 0x2d) i++;
      digits();
    }
  };
  const string = (): void => {
    expect('"');
    for (;;) {
      const c = at();
      if (Number.isNaN(c) || c < 0x20) stop();
      if (c === 0x22) {
        i++;
        return;
      }
      if (c === 0x5c) {
        i++;
        const e = text[i];
        if (e === "u") {
          i++;
          for (let k = 0; k < 4; k++) {
            if (!/[0-9a-fA-F]/.test(text[i] ?? "")) stop();
            i++;
          }
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i++;
        else stop();
      } else i++;
    }
  };
  const value = (depth: number): void => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        ws();
        string();
        ws();
        expect(":");
        value(depth + 1);
        if (text[i] === ",") i++;
        else if (text[i] === "}") {
          i++;
          return;
        } else stop();
      }
    } else if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (;;) {
        value(depth + 1);
        if (text[i] === ",") i++;
        else if (text[i] === "]") {
          i++;
          return;
        } else stop();
      }
    } else if (c === '"') string();
    else if (c === "t") expect("true");
    else if (c === "f") expect("false");
    else if (c === "n") expect("null");
    else if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) number();
    else stop();
    ws();
  };
  try {
    value(0);
    if (i < text.length) stop();
    return undefined;
  } catch (e) {
    if (!(e instanceof Stop)) throw e; // e.g. RangeError for absurd nesting: no position to give
    const ch = text.codePointAt(e.offset);
    const reason =
      ch === undefined ? "unexpected end of input" : `unexpected ${JSON.stringify(String.fromCodePoint(ch))}`;
    return { offset: e.offset, reason };
  }
}
