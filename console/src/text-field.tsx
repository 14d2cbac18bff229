/** A labelled text input or text area, the console's one form-field markup outside the deploy form. */
export interface TextFieldProps {
  id: string;
  label: string;
  value: string;
  onInput(value: string): void;
  /** Rows > 1 makes it a text area. */
  rows?: number;
  type?: 'text' | 'number';
  placeholder?: string;
}

export function TextField({ id, label, value, onInput, rows, type, placeholder }: TextFieldProps) {
  const common = {
    id,
    value,
    placeholder,
    onInput: (event: Event) => onInput((event.currentTarget as HTMLInputElement).value),
  };
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {rows && rows > 1 ? (
        <textarea {...common} rows={rows} />
      ) : type === 'number' ? (
        <input {...common} type="number" min="1" />
      ) : (
        <input {...common} type="text" />
      )}
    </div>
  );
}
