/**
 * A titled box around text, like the rich `Panel` Byzer-LLM's `stat` printed on a terminal:
 *
 *   ╭──── Model Stat ────╮
 *   │ {                  │
 *   ╰────────────────────╯
 *
 * Widths count East Asian wide characters (the Chinese title) as two columns.
 */
function displayWidth(text: string): number {
  let width = 0;
  for (const character of text) {
    const code = character.codePointAt(0) ?? 0;
    const wide =
      (code >= 0x1100 && code <= 0x115f) ||
      (code >= 0x2e80 && code <= 0xa4cf) ||
      (code >= 0xac00 && code <= 0xd7a3) ||
      (code >= 0xf900 && code <= 0xfaff) ||
      (code >= 0xfe30 && code <= 0xfe4f) ||
      (code >= 0xff00 && code <= 0xff60) ||
      (code >= 0xffe0 && code <= 0xffe6);
    width += wide ? 2 : 1;
  }
  return width;
}

export function renderPanel(title: string, text: string): string {
  const lines = text.replace(/\n$/, '').split('\n');
  const titleText = ` ${title} `;
  const inner = Math.max(...lines.map(displayWidth), displayWidth(titleText) + 2) + 2;
  const left = Math.floor((inner - displayWidth(titleText)) / 2);
  const right = inner - displayWidth(titleText) - left;
  const top = `╭${'─'.repeat(left)}${titleText}${'─'.repeat(right)}╮`;
  const body = lines.map((line) => `│ ${line}${' '.repeat(inner - 2 - displayWidth(line))} │`);
  return [top, ...body, `╰${'─'.repeat(inner)}╯`].join('\n');
}
