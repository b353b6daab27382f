/**
 * WebSocket topics (docs/contracts.md): each pipeline declares the forms of its topics, either a fixed
 * name (`vehicles`, `donations:top`) or a prefix followed by one `{name}` placeholder for an id
 * (`route:{routeId}`); a client may subscribe to any topic of a form the stack's pipelines declare.
 */
import { ID_RULE, isValidId } from '../ids.js';

/** Thrown for a topic a client may not subscribe to; the message is safe to send back. */
export class InvalidTopicError extends Error {
  override name = 'InvalidTopicError';
}

/**
 * Whether `value` is of a topic form: the form itself (`donations:top`), or a form ending in one
 * `{name}` placeholder (`sensor:{sensorId}`) whose prefix is followed by a valid id.
 */
export function matchesTopicForm(form: string, value: string): boolean {
  const open = form.indexOf('{');
  if (open < 0) return value === form;
  return value.startsWith(form.slice(0, open)) && isValidId(value.slice(open));
}

/** The forms as a client reads them in an error message: `route:<routeId>`. */
export const describeTopicForms = (forms: readonly string[]) =>
  forms.map((form) => form.replace(/\{(\w+)\}/, '<$1>')).join(', ');

/** Returns `value` as a topic of one of `forms`, or throws `InvalidTopicError` saying what is allowed. */
export function parseTopic(value: unknown, forms: readonly string[]): string {
  if (typeof value !== 'string' || !forms.some((form) => matchesTopicForm(form, value))) {
    const shown = typeof value === 'string' ? `"${value.slice(0, 80)}"` : String(typeof value);
    throw new InvalidTopicError(
      `invalid topic ${shown}: expected one of ${describeTopicForms(forms)} (ids are ${ID_RULE})`,
    );
  }
  return value;
}
