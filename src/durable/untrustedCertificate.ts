/**
 * A TLS certificate this process will not accept, as Node's `tls` says it
 * (the `code` of the socket's error): self-signed, from an authority it does
 * not know, for another host, expired. The same settings meet it at every
 * try, so each store's start fails with it at once, not retryable, rather
 * than trying again until `connectTimeout`; trusting the authority (the
 * client's `ca`, or `NODE_EXTRA_CA_CERTS`) is the fix.
 *
 * Internal: not an entry point of the package.
 */

const codes =
  /^(ERR_TLS_CERT_ALTNAME_INVALID|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_(GET_ISSUER_CERT(_LOCALLY)?|VERIFY_LEAF_SIGNATURE)|CERT_(HAS_EXPIRED|NOT_YET_VALID|REVOKED|UNTRUSTED|REJECTED|SIGNATURE_FAILURE)|HOSTNAME_MISMATCH|INVALID_CA)$/

/** Whether `cause` is Node's refusal of a server's certificate. */
export const isUntrustedCertificate = (cause: unknown): boolean => {
  const code = typeof cause === "object" && cause !== null ? (cause as { readonly code?: unknown }).code : undefined
  return typeof code === "string" && codes.test(code)
}
