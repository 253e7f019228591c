/**
 * Node's TLS verification failures, shared by the vendor client and the OpenCTI client: retrying cannot fix
 * them (the configuration or the certificate must change), so both stop at once and say what is wrong.
 */

const CERTIFICATE_PROBLEMS: Readonly<Record<string, string>> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'the certificate chain ends in a self-signed CA that is not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the certificate was issued by a CA that is not trusted',
  UNABLE_TO_GET_ISSUER_CERT: 'the certificate was issued by a CA that is not trusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the certificate was issued by a CA that is not trusted',
  CERT_UNTRUSTED: 'the certificate is not trusted',
  CERT_SIGNATURE_FAILURE: 'the certificate signature is invalid',
  CERT_REVOKED: 'the certificate was revoked',
  CERT_HAS_EXPIRED: 'the certificate has expired',
  CERT_NOT_YET_VALID: 'the certificate is not valid yet (or the clock is wrong)',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the certificate does not name this host',
  HOSTNAME_MISMATCH: 'the certificate does not name this host',
};

/** What is wrong with the certificate, in words, for a Node TLS verification error code; undefined otherwise. */
export function certificateProblem(code: string | undefined): string | undefined {
  return code === undefined ? undefined : CERTIFICATE_PROBLEMS[code];
}

/** A TLS failure that is not about the certificate: a plain-HTTP server on an https:// URL, no common protocol. */
export function isTlsProtocolFailure(code: string | undefined): boolean {
  return (
    code !== undefined && (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) && !certificateProblem(code)
  );
}
