import type { XmlElement, XmlNode } from './types.ts';

/** The element children of `el`, optionally only those named `name`. */
export function childElements(el: XmlElement, name?: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (const c of el.children) {
    if (c.kind === 'element' && (name === undefined || c.name === name)) out.push(c);
  }
  return out;
}

/** The first element child named `name`, or `null`. */
export function firstChild(el: XmlElement, name: string): XmlElement | null {
  for (const c of el.children) {
    if (c.kind === 'element' && c.name === name) return c;
  }
  return null;
}

/** Follows a path of element names from `el` (first match at each step), or `null`. */
export function findPath(el: XmlElement, ...names: string[]): XmlElement | null {
  let cur: XmlElement | null = el;
  for (const n of names) {
    if (cur === null) return null;
    cur = firstChild(cur, n);
  }
  return cur;
}

/** The attribute's value, or `undefined` when absent. */
export function attr(el: XmlElement, name: string): string | undefined {
  return Object.hasOwn(el.attributes, name) ? el.attributes[name] : undefined;
}

/** Concatenated text of `node` and its descendants (CDATA included, comments and PIs not). */
export function textContent(node: XmlNode): string {
  switch (node.kind) {
    case 'text':
      return node.value;
    case 'element':
      return node.children.map(textContent).join('');
    case 'comment':
    case 'pi':
      return '';
  }
}
