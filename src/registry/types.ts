/** Shared shapes between the OCI client, the providers and the credential sources. */

/** What a registry needs from us to authenticate. Exactly one way is normally set. */
export interface Credential {
  /** Basic auth, or the username/password sent to a Bearer token endpoint. */
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (docker config `identitytoken`, ACR): exchanged with grant_type=refresh_token. */
  identityToken?: string;
  /** A ready registry bearer token, sent as-is (some providers hand one out directly). */
  registryToken?: string;
}

/** Resolves credentials for a registry host (as written in the image reference, e.g. `ghcr.io`, `docker.io`, `localhost:5000`). */
export type CredentialResolver = (registry: string) => Promise<Credential | undefined>;

/** A repository on a registry. `registry` is the normalised reference host (`docker.io`, not `registry-1.docker.io`). */
export interface RepositoryRef {
  registry: string;
  repository: string;
}

export interface TagInfo {
  tag: string;
  /** When the tag was last pushed, where the registry tells (needed by the `newest` policy). */
  pushedAt?: Date;
}
