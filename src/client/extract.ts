/**
 * Pulling code and data out of model text: fenced code blocks (`extractCode`), `<_tag_>…</_tag_>`
 * sections (`TagExtractor`), and the JSON of an answer (`extractJson`, Byzer-LLM's locating rules).
 */
import { jsonrepair } from 'jsonrepair';

export interface CodeBlock {
  /** The fence's language tag (`json`, `javascript`, …); empty when none. */
  language: string;
  code: string;
}

/** Every fenced block (```lang … ```) in order; the whole text as one untagged block when none. */
export function extractCode(text: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  for (const match of text.matchAll(/```([\w+#.-]*)[^\n]*\n([\s\S]*?)```/g)) {
    blocks.push({ language: match[1]!.toLowerCase(), code: match[2]!.replace(/\n$/, '') });
  }
  if (blocks.length === 0) return [{ language: '', code: text.trim() }];
  return blocks;
}

export interface TaggedSection {
  tag: string;
  content: string;
}

/**
 * Finds `<_tag_>content</_tag_>` sections (Byzer-LLM's tag convention). Nested sections of another
 * tag stay inside their parent's content; a section without its end tag is ignored.
 */
export class TagExtractor {
  constructor(private readonly text: string) {}

  extract(): TaggedSection[] {
    const sections: TaggedSection[] = [];
    const pattern = /<_([A-Za-z0-9]+)_>([\s\S]*?)<\/_\1_>/g;
    for (const match of this.text.matchAll(pattern)) {
      sections.push({ tag: match[1]!, content: match[2]! });
    }
    return sections;
  }

  /** The content of the first section with that tag. */
  first(tag: string): string | undefined {
    return this.extract().find((section) => section.tag === tag)?.content;
  }
}

/**
 * The JSON value of a model answer: the whole text if it parses; else the body of a ```json fence;
 * else the last fenced block; else the outermost `{…}` / `[…]` span. When none parses as it is, the
 * same places are tried once more through `jsonrepair` (trailing commas, single quotes, unquoted
 * keys, comments, a cut-off end: what small models write), keeping only an object or array, so
 * prose never becomes a JSON string. Undefined when nothing parses.
 */
export function extractJson(text: string): { value: unknown } | undefined {
  const candidates: string[] = [text.trim()];
  const blocks = extractCode(text).filter((block) => block.code !== text.trim());
  const jsonBlock = blocks.find((block) => block.language === 'json');
  if (jsonBlock) candidates.push(jsonBlock.code);
  const lastBlock = blocks.at(-1);
  if (lastBlock) candidates.push(lastBlock.code);
  const objectSpan = span(text, '{', '}');
  if (objectSpan) candidates.push(objectSpan);
  const arraySpan = span(text, '[', ']');
  if (arraySpan) candidates.push(arraySpan);
  for (const candidate of candidates) {
    try {
      return { value: JSON.parse(candidate) };
    } catch {
      // try the next way of finding it
    }
  }
  // A cut-off answer has no closing bracket: from its first opening one to the end.
  const tails = ['{', '['].map((open) => text.indexOf(open)).filter((start) => start >= 0);
  for (const candidate of [...candidates, ...tails.map((start) => text.slice(start))]) {
    const trimmed = candidate.trim();
    if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) continue;
    try {
      const value: unknown = JSON.parse(jsonrepair(trimmed));
      if (value !== null && typeof value === 'object') return { value };
    } catch {
      // not repairable: try the next candidate
    }
  }
  return undefined;
}

function span(text: string, open: string, close: string): string | undefined {
  const start = text.indexOf(open);
  const end = text.lastIndexOf(close);
  return start >= 0 && end > start ? text.slice(start, end + 1) : undefined;
}
