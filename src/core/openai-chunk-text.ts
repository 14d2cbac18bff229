/**
 * Reading and rewriting fields of an OpenAI chunk's JSON text without parsing it: the per-chunk
 * work of the OpenAI pass-through (`OpenAIPassThroughV1.doStreamOpenAI`), where a `JSON.parse` and
 * `JSON.stringify` of every chunk cost several times what piping its bytes costs.
 *
 * Why a text search can be exact here: inside a JSON string every `"` is escaped as `\"`, so the
 * text `"name":` (a quote, the name, a quote, optional whitespace, a colon) can only be an object
 * key, never part of a string value. What it cannot tell is the key's depth; `setTopLevelString`
 * walks the structure for that, and `jsonKeyPattern` answers "anywhere in the chunk", which the
 * callers use only to decide whether a chunk needs the full `JSON.parse` path.
 *
 * The text is assumed to be a JSON object as the upstream sent it; nothing here validates JSON.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function skipSpace(text: string, index: number): number {
  let at = index;
  for (;;) {
    const code = text.charCodeAt(at);
    if (code !== 0x20 && code !== 0x0a && code !== 0x0d && code !== 0x09) return at;
    at++;
  }
}

/**
 * A pattern that finds any of the keys `names` at any depth of a chunk's text (`"name":`); with
 * `valueSet`, only where the value is set: not `null`, `false` or an empty string (what `if (value)`
 * skips among the values OpenAI sends). Build it once per module: one regular expression test costs
 * a fraction of one `indexOf` per key.
 */
export function jsonKeyPattern(names: readonly string[], valueSet: boolean): RegExp {
  const keys = `"(?:${names.join('|')})"[ \\t\\r\\n]*:`;
  return new RegExp(valueSet ? `${keys}(?![ \\t\\r\\n]*(?:null|false|""))` : keys);
}

/** The index of the quote that ends the string whose opening quote is at `start`; -1 if none. */
function stringEnd(text: string, start: number): number {
  let end = start;
  for (;;) {
    end = text.indexOf('"', end + 1);
    if (end === -1) return -1;
    let backslashes = 0;
    while (text.charCodeAt(end - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return end;
  }
}

/**
 * The object text with its top-level key `name` set to `valueJson` (already JSON: a quoted,
 * escaped string), replacing its value or, when the object has no such key, added first. Returns
 * undefined when the text is not an object this walk can follow (the caller then parses it).
 * Stops at the key, which OpenAI sends among the first fields.
 */
export function setTopLevelString(text: string, name: string, valueJson: string): string | undefined {
  if (text.charCodeAt(0) !== 0x7b /* { */) return undefined;
  let depth = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === QUOTE) {
      const end = stringEnd(text, index);
      if (end === -1) return undefined;
      if (depth === 1 && end - index - 1 === name.length && text.startsWith(name, index + 1)) {
        const colon = skipSpace(text, end + 1);
        if (text.charCodeAt(colon) === 0x3a /* : */) {
          const valueStart = skipSpace(text, colon + 1);
          const valueEnd = valueEndAt(text, valueStart);
          if (valueEnd === -1) return undefined;
          return `${text.slice(0, valueStart)}${valueJson}${text.slice(valueEnd)}`;
        }
      }
      index = end;
    } else if (code === 0x7b || code === 0x5b /* { [ */) {
      depth++;
    } else if (code === 0x7d || code === 0x5d /* } ] */) {
      depth--;
      if (depth === 0) {
        const empty = text.charCodeAt(skipSpace(text, 1)) === 0x7d; /* } */
        return `{"${name}":${valueJson}${empty ? '' : ','}${text.slice(1)}`;
      }
    }
  }
  return undefined;
}

/** The index just past a string, number or literal value starting at `start` (-1: not one). */
function valueEndAt(text: string, start: number): number {
  const code = text.charCodeAt(start);
  if (code === QUOTE) {
    const end = stringEnd(text, start);
    return end === -1 ? -1 : end + 1;
  }
  // A model is a string; anything else (a number, null, an object) goes to the parsing path.
  return -1;
}
