/** A page whose feature is missing (not built yet, or not given to this console) says so, and what to use meanwhile. */
const MISSING = {
  notebook: {
    what: 'This console has no SQL session (it was started without one), so notebook cells cannot run here.',
    instead: 'byzerllm sql',
  },
  jobs: {
    what: 'This console was started without training jobs, so their loss charts and logs cannot be shown here.',
    instead: 'byzerllm jobs',
  },
  storage: {
    what: 'This console was started without Byzer storage, so its collections cannot be browsed here.',
    instead: 'byzerllm storage',
  },
} as const;

export function MissingPage({ page }: { page: keyof typeof MISSING }) {
  const { what, instead } = MISSING[page];
  return (
    <section class="missing">
      <p>{what}</p>
      <p>
        Meanwhile use the command line: <code>{instead}</code>.
      </p>
    </section>
  );
}
