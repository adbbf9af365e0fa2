/**
 * A TLS certificate this process will not accept, as Node's `tls` says it
 * (the `code` of the socket's error): self-signed, from an authority it does
 * not know, for another host, expired, not meant for a server. At a store's
 * start the same settings meet it at every try, so the start fails with it
 * at once, not retryable, rather than trying again until `connectTimeout`;
 * trusting the authority (`NODE_EXTRA_CA_CERTS`, or on PostgreSQL the
 * client's `ssl.ca`) is the fix. Once started, a store waits it out as any
 * outage (a certificate renewed late).
 *
 * Internal: not an entry point of the package.
 */

const codes = new RegExp(
  "^(ERR_TLS_CERT_ALTNAME_INVALID|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|INVALID_CA|INVALID_PURPOSE" +
    "|UNABLE_TO_(GET_ISSUER_CERT(_LOCALLY)?|VERIFY_LEAF_SIGNATURE|DECODE_ISSUER_PUBLIC_KEY)|CERT_CHAIN_TOO_LONG" +
    "|PATH_LENGTH_EXCEEDED|CERT_(HAS_EXPIRED|NOT_YET_VALID|REVOKED|UNTRUSTED|REJECTED|SIGNATURE_FAILURE)|HOSTNAME_MISMATCH)$"
)

/** Whether `cause` is Node's refusal of a server's certificate. */
export const isUntrustedCertificate = (cause: unknown): boolean => {
  const code = typeof cause === "object" && cause !== null ? (cause as { readonly code?: unknown }).code : undefined
  return typeof code === "string" && codes.test(code)
}
