import { readFile } from 'node:fs/promises';
import type { Stack, StackService } from '../compose/stack.js';
import { planImageEdit, type ImageEdit } from '../compose/image-source.js';
import { applyEdit, editFile } from '../compose/units.js';
import { replaceFileSafely } from '../compose/writer.js';

export interface RewriteContext {
  /** Texts as dosync last read or wrote them; a file that differs on disk was edited meanwhile (ComposeChangedError). */
  knownTexts: Map<string, string>;
  backupDir?: string;
  keepBackups: number;
  reloadStack: () => Promise<Stack>;
}

export interface RewriteResult {
  /** The file that was changed: a compose file, or the env file that defines the tag's variable. */
  file: string;
  backup: string;
  mode: 'rename' | 'in-place';
  edit: ImageEdit;
}

/**
 * Makes `service` resolve to `newImage` with the one edit that does it (the image line, the env-file variable
 * or the `${VAR:-default}` that holds the tag), after a backup, atomically. Then re-reads the stack: if the
 * service does not resolve to `newImage` the file is put back and the update fails, so a surprising edit
 * never reaches the engine.
 */
export async function rewriteServiceImage(service: StackService, newImage: string, ctx: RewriteContext): Promise<RewriteResult> {
  const edit = planImageEdit(service, newImage);
  const file = editFile(edit);
  const original = ctx.knownTexts.get(file) ?? (await readFile(file, 'utf8'));
  const updated = applyEdit(original, edit);
  const written = await replaceFileSafely(file, updated, { expectedOriginal: original, backupDir: ctx.backupDir, keep: ctx.keepBackups });
  ctx.knownTexts.set(file, updated);
  const check = (await ctx.reloadStack()).services.find((s) => s.name === service.name);
  if (check?.image !== newImage) {
    await replaceFileSafely(file, original, { expectedOriginal: updated, backupDir: ctx.backupDir, keep: ctx.keepBackups });
    ctx.knownTexts.set(file, original);
    throw new Error(`rewriting ${file} for ${service.name} yielded ${check?.image ?? 'no image'} instead of ${newImage}; restored the file`);
  }
  return { file, backup: written.backupPath, mode: written.mode, edit };
}

/** Puts `service` back on `oldImage`, planning the edit from the file as it is now, so other edits survive. */
export async function restoreServiceImage(serviceName: string, oldImage: string, ctx: RewriteContext): Promise<RewriteResult | undefined> {
  const current = (await ctx.reloadStack()).services.find((s) => s.name === serviceName);
  if (!current || current.image === oldImage) return undefined;
  // Read what is on disk now: the user may have edited other lines since the update.
  const fresh: RewriteContext = { ...ctx, knownTexts: new Map() };
  const result = await rewriteServiceImage(current, oldImage, fresh);
  ctx.knownTexts.set(result.file, fresh.knownTexts.get(result.file)!);
  return result;
}
