/** Just enough Markdown reading for the README checks: headings, sections and table cells, outside code fences. */
import { readdirSync, readFileSync } from 'node:fs';

export interface Line {
  text: string;
  /** Inside a ``` fence (shell comments there look like headings). */
  fenced: boolean;
}

export function lines(md: string): Line[] {
  let fenced = false;
  return md.split('\n').map((text) => {
    if (/^\s*```/.test(text)) {
      fenced = !fenced;
      return { text, fenced: true };
    }
    return { text, fenced };
  });
}

function headingLevel(line: Line): number {
  if (line.fenced) return 0;
  const m = /^(#{1,6})\s/.exec(line.text);
  return m ? m[1].length : 0;
}

/**
 * The text under the heading whose title is exactly `title` (without the #s), up to the next heading of the same
 * or a higher level (`nested: true`) or up to the next heading of any level (`nested: false`). Undefined when
 * there is no such heading.
 */
export function section(md: string, title: string, opts: { nested: boolean } = { nested: true }): string | undefined {
  const all = lines(md);
  const start = all.findIndex((l) => headingLevel(l) > 0 && l.text.replace(/^#+\s+/, '').trim() === title);
  if (start < 0) return undefined;
  const level = headingLevel(all[start]);
  const end = all.findIndex((l, i) => i > start && headingLevel(l) > 0 && (!opts.nested || headingLevel(l) <= level));
  return all.slice(start + 1, end < 0 ? undefined : end).map((l) => l.text).join('\n');
}

/** Titles of every heading (outside fences). */
export function headings(md: string): string[] {
  return lines(md).filter((l) => headingLevel(l) > 0).map((l) => l.text.replace(/^#+\s+/, '').trim());
}

/** Body rows of every table in `md` (header and separator rows left out), each as its cells. */
export function tableRows(md: string): string[][] {
  const all = lines(md).filter((l) => !l.fenced).map((l) => l.text);
  const rows: string[][] = [];
  for (let i = 0; i < all.length; i++) {
    const text = all[i].trim();
    if (!text.startsWith('|') || isSeparator(text)) continue;
    if (i + 1 < all.length && isSeparator(all[i + 1].trim())) continue; // a header row
    rows.push(cells(text));
  }
  return rows;
}

function isSeparator(text: string): boolean {
  return /^\|[\s|:-]+\|$/.test(text) && text.includes('-');
}

/** Cells of one table row; `\|` is a pipe inside a cell. */
function cells(row: string): string[] {
  return row.replace(/^\||\|$/g, '').split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
}

/** The contents of the `code spans` in a piece of Markdown. */
export function codeSpans(text: string): string[] {
  return [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
}

/**
 * README.md and every docs/*.md file, one after the other: the drift checks look sections up by title, and
 * each docs file opens with its own level-1 heading, so no section runs into the next file.
 */
export function docsText(): string {
  const root = new URL('../../../', import.meta.url);
  const docs = readdirSync(new URL('docs/', root)).filter((f) => f.endsWith('.md')).sort();
  return [readFileSync(new URL('README.md', root), 'utf8'), ...docs.map((f) => readFileSync(new URL(`docs/${f}`, root), 'utf8'))].join('\n');
}
