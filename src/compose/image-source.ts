/**
 * Where the characters of an image reference come from (literal text in the compose file, a variable
 * from an env file or the environment, a `${VAR:-default}`), and which single edit turns the current
 * reference into a new one. Pure.
 */
import { ConfigError } from '../util/errors.js';
import { interpolate, escapeDollars, type Lookup, type Piece, type PieceSource } from './interpolate.js';

export interface ImagePart extends Piece {
  /** For variables: where the value is set. */
  origin?: { definedIn: 'env-file' | 'environment'; envFile?: string };
}

export type OriginOf = (name: string) => { definedIn: 'env-file' | 'default' | 'environment'; envFile?: string } | undefined;

export interface ImageVariable {
  name: string;
  definedIn: 'env-file' | 'default' | 'environment';
  envFile?: string;
}

/**
 * Index where the version part (tag, else digest) of a reference starts; the reference's length when it has
 * neither. Only the last path component can carry a tag, so `host:5000/app` has none.
 */
export function versionStart(image: string): number {
  const at = image.indexOf('@');
  const nameEnd = at >= 0 ? at : image.length;
  const slash = image.lastIndexOf('/', nameEnd - 1);
  const colon = image.indexOf(':', slash + 1);
  if (colon >= 0 && colon < nameEnd) return colon + 1;
  return nameEnd;
}

interface Located {
  part: ImagePart;
  start: number;
  end: number;
}

function locate(parts: ImagePart[]): Located[] {
  const out: Located[] = [];
  let offset = 0;
  for (const part of parts) {
    out.push({ part, start: offset, end: offset + part.text.length });
    offset += part.text.length;
  }
  return out;
}

const isEditableSource = (s: PieceSource) => s.kind === 'variable' || s.kind === 'default';

/** Splits the interpolated image into parts and names the one variable its version part comes from (if exactly one). */
export function describeImageVariable(raw: string, lookup: Lookup, originOf: OriginOf): { parts: ImagePart[]; variable?: ImageVariable } {
  const { value, pieces } = interpolate(raw, lookup);
  const parts: ImagePart[] = pieces.map((p) => {
    if (p.source.kind !== 'variable') return p;
    const origin = originOf(p.source.name);
    const definedIn = origin?.definedIn === 'env-file' ? 'env-file' : 'environment';
    return { ...p, origin: { definedIn, ...(origin?.envFile ? { envFile: origin.envFile } : {}) } };
  });
  const overlapping = versionParts(value, parts);
  const sources = new Map<string, ImageVariable>();
  for (const { part } of overlapping) {
    const s = part.source;
    if (s.kind === 'variable') {
      sources.set(`v:${s.name}`, { name: s.name, definedIn: part.origin!.definedIn, ...(part.origin?.envFile ? { envFile: part.origin.envFile } : {}) });
    } else if (s.kind === 'default') {
      sources.set(`d:${s.name}`, { name: s.name, definedIn: 'default' });
    }
  }
  return sources.size === 1 ? { parts, variable: [...sources.values()][0] } : { parts };
}

/** What every edit says about the part it changes: its site, and the part's new text (for the other services sharing it). */
interface EditTarget {
  /** The place the value is written (see partSite): services whose image has a part there change with it. */
  site: string;
  /** The changed part's range in the raw image and its new text. */
  partRaw: [number, number];
  newText: string;
}

export type ImageEdit = EditTarget & (
  /** Rewrite the image scalar at `offset` of `file` (written for `service`, maybe shared) to `newRaw` (setScalarAt). */
  | { kind: 'compose-image'; file: string; service: string; offset: number; newRaw: string }
  /** Set `name=value` in `envFile` (setEnvVariable). */
  | { kind: 'env-variable'; envFile: string; name: string; value: string }
  /** Replace the default of `${variable:-...}` in the image scalar at `offset` of `file` (setDefaultAt). */
  | { kind: 'image-default'; file: string; service: string; offset: number; variable: string; value: string }
);

export interface EditableService {
  name: string;
  image?: string;
  rawImage?: string;
  imageFile?: string;
  imageOffset?: number;
  imageService?: string;
  imageParts?: ImagePart[];
}

/**
 * The place a part of a service's image is written: the image scalar (a file and an offset, shared by every
 * service that reaches it through an alias, a merge key or `extends`), a default inside it, or a variable
 * (the env file that sets it, or the environment).
 */
export function partSite(service: Pick<EditableService, 'imageFile' | 'imageOffset'>, part: ImagePart): string {
  const s = part.source;
  const node = `${service.imageFile ?? ''}\u0000${service.imageOffset ?? -1}`;
  if (s.kind === 'variable') return part.origin?.definedIn === 'env-file' ? `var\u0000${part.origin.envFile}\u0000${s.name}` : `env\u0000${s.name}`;
  if (s.kind === 'default') return `default\u0000${node}\u0000${s.name}`;
  return `scalar\u0000${node}`;
}

/** Sites of every part of the image: what the image depends on. */
export function imageSites(service: EditableService): Set<string> {
  return new Set((service.imageParts ?? []).filter((p) => p.text.length > 0 || p.source.kind !== 'literal').map((p) => partSite(service, p)));
}

/** Sites of the parts that hold the version (tag, else digest): where an edit for a new tag lands. */
export function versionSites(service: EditableService): Set<string> {
  const { image, imageParts } = service;
  if (image === undefined || imageParts === undefined) return new Set();
  return new Set(versionParts(image, imageParts).map((l) => partSite(service, l.part)));
}

function versionParts(value: string, parts: ImagePart[]): Located[] {
  const vs = versionStart(value);
  const located = locate(parts);
  return vs < value.length
    ? located.filter((l) => l.start < value.length && l.end > vs)
    : located.filter((l) => l.end === value.length && l.end > l.start);
}

/** The image `service` resolves to once `edit` is made, or its current image when the edit does not touch it. */
export function imageAfterEdit(service: EditableService, edit: ImageEdit): string | undefined {
  if (!service.imageParts) return service.image;
  return service.imageParts.map((p) => {
    if (partSite(service, p) !== edit.site) return p.text;
    // A literal edit changes one run of the scalar; a variable or a default changes each of its uses.
    if (p.source.kind === 'literal') return p.raw[0] === edit.partRaw[0] && p.raw[1] === edit.partRaw[1] ? edit.newText : p.text;
    return edit.newText;
  }).join('');
}

/**
 * The one edit that makes `service` use `newImage`: the smallest differing region of the reference must lie
 * within one literal run, one variable or one default. Throws ConfigError (saying why) when it does not, or
 * when the variable is set in dosync's own environment (nothing dosync can rewrite).
 */
export function planImageEdit(service: EditableService, newImage: string): ImageEdit {
  const { name, image, rawImage, imageFile, imageParts } = service;
  if (image === undefined || rawImage === undefined || imageFile === undefined || imageParts === undefined) {
    throw new ConfigError(`services.${name} has no image: written in a compose file, so there is nothing to rewrite`);
  }
  if (image === newImage) throw new Error(`planImageEdit: services.${name} already uses ${newImage}`);
  const max = Math.min(image.length, newImage.length);
  let p = 0;
  while (p < max && image[p] === newImage[p]) p++;
  let s = 0;
  while (s < max - p && image[image.length - 1 - s] === newImage[newImage.length - 1 - s]) s++;
  const e = image.length - s;
  const replacement = newImage.slice(p, newImage.length - s);

  const located = locate(imageParts).filter((l) => l.end > l.start);
  const containing = located.filter((l) => l.start <= p && e <= l.end);
  const inside = containing.find((l) => l.start < p && e < l.end);
  const pick =
    inside ??
    containing.find((l) => isEditableSource(l.part.source) && l.end === p) ??
    containing.find((l) => isEditableSource(l.part.source)) ??
    containing.find((l) => l.end === p) ??
    containing[0];
  const where = `services.${name} (image: ${rawImage} in ${imageFile})`;
  if (!pick) {
    throw new ConfigError(`${where}: the change to ${newImage} spans several variables or literal parts; dosync changes one variable, default or literal run per update`);
  }
  const { part, start } = pick;
  const newText = part.text.slice(0, p - start) + replacement + part.text.slice(e - start);
  const simulate = (affects: (x: ImagePart) => boolean) => imageParts.map((x) => (affects(x) ? newText : x.text)).join('');
  const check = (affects: (x: ImagePart) => boolean, what: string) => {
    if (simulate(affects) !== newImage) {
      throw new ConfigError(`${where}: ${what} is used more than once in the image, so changing it cannot yield ${newImage}`);
    }
  };
  const source = part.source;
  const target: EditTarget = { site: partSite(service, part), partRaw: part.raw, newText };
  const offset = service.imageOffset ?? -1;
  switch (source.kind) {
    case 'literal': {
      if (!part.verbatim) throw new ConfigError(`${where}: the change falls on an escaped $$; edit the image by hand`);
      check((x) => x === part, 'this text');
      const rawPart = rawImage.slice(part.raw[0], part.raw[1]);
      const newRawPart = rawPart.slice(0, p - start) + escapeDollars(replacement) + rawPart.slice(e - start);
      const newRaw = rawImage.slice(0, part.raw[0]) + newRawPart + rawImage.slice(part.raw[1]);
      return { ...target, kind: 'compose-image', file: imageFile, service: service.imageService ?? name, offset, newRaw };
    }
    case 'variable': {
      if (part.origin?.definedIn !== 'env-file' || !part.origin.envFile) {
        throw new ConfigError(`${where}: the tag comes from \${${source.name}}, which is set in dosync's environment, not in an env file; change it there or move it to the env file`);
      }
      check((x) => x.source.kind === 'variable' && x.source.name === source.name, `\${${source.name}}`);
      return { ...target, kind: 'env-variable', envFile: part.origin.envFile, name: source.name, value: newText };
    }
    case 'default': {
      if (source.nested) throw new ConfigError(`${where}: the default of \${${source.name}} contains other variables; dosync only rewrites plain defaults`);
      if (/[}$\r\n]/.test(newText)) throw new ConfigError(`${where}: ${JSON.stringify(newText)} cannot be written as the default of \${${source.name}}`);
      check((x) => x.source.kind === 'default' && x.source.name === source.name, `the default of \${${source.name}}`);
      return { ...target, kind: 'image-default', file: imageFile, service: service.imageService ?? name, offset, variable: source.name, value: newText };
    }
    case 'alternative':
      throw new ConfigError(`${where}: the change falls in the alternative of \${${source.name}:+...}; edit the image by hand`);
  }
}
