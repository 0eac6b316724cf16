/** Manifest media types, in the order a digest lookup asks for them. */
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const DOCKER_MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';

/**
 * Always the full list: with a narrower one a registry may answer with a single-platform manifest
 * (whose digest does not match what `docker pull` records) or refuse (GHCR: "OCI index found, but
 * Accept header does not support OCI indexes").
 */
export const MANIFEST_ACCEPT = [OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST_V2].join(', ');
