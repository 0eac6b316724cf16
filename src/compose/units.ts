/**
 * Update units (pure): the services that one edit moves together. An edit lands where a service's tag is
 * written (an image scalar, a default inside it, an env-file variable); every service whose image has a
 * part written there changes with it, whether it reaches that place through a variable, an alias, a merge
 * key, `extends` or an `include:`. Planning, recreating, verifying and rolling back work on these units.
 */
import { basename } from 'node:path';
import type { Stack, StackService, VariableUse } from './stack.js';
import { variableKey } from './stack.js';
import { imageAfterEdit, imageSites, versionSites, type ImageEdit } from './image-source.js';
import { setDefaultAt, setEnvVariable, setScalarAt } from './mutate.js';

export interface Unit {
  /** The members' names joined by commas: stable while the file keeps them together. */
  id: string;
  /** Members in file order. */
  services: string[];
  /** What the members share, for messages: `N8N_VERSION in .env`, `&netbox in docker-compose.yml`. Empty for a unit of one. */
  via: string[];
  /** Uses of the unit's variables outside an image (a build arg, an environment value): they change too, and are reported. */
  dependents: VariableUse[];
  /** `n8n, n8n-runner (N8N_VERSION in .env)`; a unit of one is its service's name. */
  label: string;
}

/** Groups the services of a stack into units (services without an image are units of one). */
export function stackUnits(stack: Stack): Unit[] {
  const services = stack.services;
  const parent = services.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  const union = (a: number, b: number) => { parent[find(a)] = find(b); };
  const dependsOn = services.map((s) => imageSites(s));
  const edits = services.map((s) => versionSites(s));
  const usersBySite = new Map<string, number[]>();
  dependsOn.forEach((sites, i) => sites.forEach((site) => {
    let users = usersBySite.get(site);
    if (!users) usersBySite.set(site, (users = []));
    users.push(i);
  }));
  // A service whose edit lands on a site moves every service that depends on that site.
  edits.forEach((sites, i) => sites.forEach((site) => usersBySite.get(site)?.forEach((j) => union(i, j))));

  const members = new Map<number, number[]>();
  services.forEach((_, i) => {
    const root = find(i);
    const list = members.get(root);
    if (list) list.push(i);
    else members.set(root, [i]);
  });
  const units: Unit[] = [];
  for (const list of members.values()) {
    const own = list.map((i) => services[i]);
    const shared = new Set<string>();
    if (own.length > 1) {
      for (const i of list) for (const site of edits[i]) if (list.filter((j) => dependsOn[j].has(site)).length > 1) shared.add(site);
    }
    const editSites = new Set(list.flatMap((i) => [...edits[i]]));
    const via = [...shared].map((site) => describeSite(site, own));
    const dependents = [...editSites].flatMap((site) => variableUsesOf(stack, site));
    const names = own.map((s) => s.name);
    units.push({ id: names.join(','), services: names, via, dependents, label: via.length > 0 ? `${names.join(', ')} (${via.join('; ')})` : names.join(', ') });
  }
  return units;
}

/** The unit `service` belongs to. */
export function unitOf(units: Unit[], service: string): Unit | undefined {
  return units.find((u) => u.services.includes(service));
}

function variableUsesOf(stack: Stack, site: string): VariableUse[] {
  const [kind, a, b] = site.split('\u0000');
  if (kind === 'var') return stack.variableUses.get(variableKey(a, b)) ?? [];
  if (kind === 'env') return stack.variableUses.get(variableKey(undefined, a)) ?? [];
  return [];
}

function describeSite(site: string, services: StackService[]): string {
  const [kind, a, b, c] = site.split('\u0000');
  if (kind === 'var') return `${b} in ${basename(a)}`;
  if (kind === 'env') return `${a} from the environment`;
  const holder = services.find((s) => s.imageFile === a && String(s.imageOffset) === b);
  const where = holder?.imagePath ?? 'an image value';
  if (kind === 'default') return `the default of ${c} in ${where} in ${basename(a)}`;
  return `${where} in ${basename(a)}`;
}

/** The file an edit writes. */
export function editFile(edit: ImageEdit): string {
  return edit.kind === 'env-variable' ? edit.envFile : edit.file;
}

/** What each service's image becomes once all `edits` are made (only the services they change). */
export function imagesAfterEdits(services: StackService[], edits: ImageEdit[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of services) {
    let image = s.image;
    for (const edit of edits) {
      const next = imageAfterEdit(s, edit);
      if (next !== s.image) image = next;
    }
    if (image !== s.image && image !== undefined) out.set(s.name, image);
  }
  return out;
}

/**
 * Applies `edits` to the file texts; returns the new text of every file they change. Edits in one file are
 * made from the end backwards, so the offsets planned against the file as read stay right.
 */
export function applyEdits(texts: ReadonlyMap<string, string>, edits: ImageEdit[]): Map<string, string> {
  const byFile = new Map<string, ImageEdit[]>();
  const seen = new Map<string, string>();
  for (const e of edits) {
    // Members that share a site plan the same edit; a site asked to hold two different values is a bug.
    const key = `${e.site}\u0000${e.partRaw.join(':')}`;
    if (seen.has(key)) {
      if (seen.get(key) !== e.newText) throw new Error(`applyEdits: ${e.site.replace(/\u0000/g, ' ')} planned as both ${seen.get(key)} and ${e.newText}`);
      continue;
    }
    seen.set(key, e.newText);
    const f = editFile(e);
    const list = byFile.get(f);
    if (list) list.push(e);
    else byFile.set(f, [e]);
  }
  const out = new Map<string, string>();
  for (const [file, list] of byFile) {
    const original = texts.get(file);
    if (original === undefined) throw new Error(`applyEdits: ${file} was not read`);
    let text = original;
    const offset = (e: ImageEdit) => (e.kind === 'env-variable' ? -1 : e.offset);
    for (const e of [...list].sort((x, y) => offset(y) - offset(x))) text = applyEdit(text, e);
    if (text !== original) out.set(file, text);
  }
  return out;
}

export function applyEdit(text: string, edit: ImageEdit): string {
  switch (edit.kind) {
    case 'compose-image': return setScalarAt(text, edit.offset, edit.newRaw, edit.file);
    case 'env-variable': return setEnvVariable(text, edit.name, edit.value, edit.envFile);
    case 'image-default': return setDefaultAt(text, edit.offset, edit.variable, edit.value, edit.file);
  }
}
