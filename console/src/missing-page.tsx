/** Pages this first slice of the console does not have yet say so, and what to use meanwhile. */
const MISSING = {
  notebook: {
    what: 'SQL and --%chat cells in the browser are not in the console yet.',
    instead: 'byzerllm sql',
  },
  jobs: {
    what: 'Training jobs with live loss charts and logs are not in the console yet.',
    instead: 'byzerllm jobs',
  },
  storage: {
    what: 'Browsing storage collections and querying them is not in the console yet.',
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
