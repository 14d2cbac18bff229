/**
 * Vendors whose conversations must alternate roles (Anthropic, Gemini) get consecutive messages of
 * one role merged into one turn: a tool result followed by a user message, say, become one user turn
 * with both parts.
 */
export class AlternatingTurns<Role extends string, Part> {
  readonly turns: { role: Role; parts: Part[] }[] = [];

  /** Appends to the last turn when it has this role, else starts a turn. */
  push(role: Role, parts: Part[]): void {
    const last = this.turns.at(-1);
    if (last && last.role === role) last.parts.push(...parts);
    else this.turns.push({ role, parts: [...parts] });
  }
}
