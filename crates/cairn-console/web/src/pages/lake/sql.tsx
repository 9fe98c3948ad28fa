// The SQL editor of the Lake pages: a transparent textarea over a <pre> holding the same text tokenized and coloured
// (keywords, strings, numbers, functions, comments), growing with its text; Ctrl/⌘+Enter runs.
import type { ComponentChildren, Ref } from 'preact';
import { useLayoutEffect, useRef } from 'preact/hooks';

const KEYWORDS = new Set(
  (
    'select from where and or not as group by order limit offset having join left right inner outer full cross on in is ' +
    'null like between case when then else end asc desc distinct union all intersect except with unnest ordinality ' +
    'over partition true false filter interval exists escape rows range preceding following current row nulls first last'
  ).split(' '),
);

export type TokenKind = 'kw' | 'str' | 'num' | 'fn' | 'com' | 'text';

/** Splits SQL into tokens: comments, quoted strings, numbers, words (keywords, or functions when a "(" follows);
 *  quoted identifiers and store ids (UUIDs) stay plain text. */
function tokenize(sql: string): [TokenKind, string][] {
  const out: [TokenKind, string][] = [];
  const re = /(--[^\n]*|\/\*[\s\S]*?(?:\*\/|$))|('(?:[^']|'')*'?)|("(?:[^"]|"")*"?|\b[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}\b)|(\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b)|([A-Za-z_][A-Za-z0-9_$]*)(?=(\s*\()?)/g;
  let last = 0;
  for (let m; (m = re.exec(sql)); ) {
    if (m.index > last) out.push(['text', sql.slice(last, m.index)]);
    if (m[1]) out.push(['com', m[1]]);
    else if (m[2]) out.push(['str', m[2]]);
    else if (m[3]) out.push(['text', m[3]]);
    else if (m[4]) out.push(['num', m[4]]);
    else if (KEYWORDS.has(m[5].toLowerCase())) out.push(['kw', m[5]]);
    else out.push([m[6] ? 'fn' : 'text', m[5]]);
    last = re.lastIndex;
  }
  if (last < sql.length) out.push(['text', sql.slice(last)]);
  return out;
}

function highlight(sql: string): ComponentChildren[] {
  return tokenize(sql).map(([kind, text], i) => (kind === 'text' ? text : <span key={i} class={`sql-${kind}`}>{text}</span>));
}

/** The editor; `id` and `aria-describedby` go to the textarea (so a Field labels it). */
export function SqlEditor(props: {
  value: string;
  onChange: (v: string) => void;
  onRun?: () => void;
  id?: string;
  'aria-describedby'?: string;
  name?: string;
  inputRef?: Ref<HTMLTextAreaElement>;
  minRows?: number;
}) {
  const own = useRef<HTMLTextAreaElement | null>(null);
  // Grows the textarea to its text so the highlighted copy under it never needs to scroll.
  useLayoutEffect(() => {
    const ta = own.current;
    if (!ta) return;
    ta.style.height = 'auto';
    ta.style.height = `${ta.scrollHeight + 2}px`;
  }, [props.value]);
  return (
    <div class="editor">
      <pre aria-hidden="true">
        <code>{highlight(props.value)}{'\n'}</code>
      </pre>
      <textarea
        id={props.id}
        name={props.name}
        aria-describedby={props['aria-describedby']}
        ref={(el) => {
          own.current = el;
          const r = props.inputRef;
          if (typeof r === 'function') r(el);
          else if (r) r.current = el;
        }}
        value={props.value}
        rows={props.minRows ?? 6}
        spellcheck={false}
        autocapitalize="off"
        autocomplete="off"
        onInput={(e) => props.onChange(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && props.onRun) {
            e.preventDefault();
            props.onRun();
          }
        }}
      />
    </div>
  );
}
