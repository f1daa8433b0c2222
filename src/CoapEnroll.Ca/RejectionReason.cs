namespace CoapEnroll.Ca;

/// <summary>Why a certification request was refused.</summary>
public enum RejectionReason
{
    /// <summary>Not rejected.</summary>
    None,

    /// <summary>
    /// The PKCS#10 structure (RFC 2986) could not be decoded, or had trailing data or an out-of-range length; or a value in it is not
    /// what its type allows (a UTF8String that is not UTF-8, a PrintableString holding '@', an extension requested twice).
    /// </summary>
    MalformedRequest,

    /// <summary>The CSR's signature does not verify with the public key it carries (RFC 2986 section 3, proof of possession).</summary>
    BadSignature,

    /// <summary>The profile named in the request does not exist.</summary>
    UnknownProfile,

    /// <summary>The public key's algorithm or curve is not accepted by the profile.</summary>
    UnsupportedKeyType,

    /// <summary>The RSA key is shorter than the profile's minimum (or longer than the engine's maximum).</summary>
    KeyTooWeak,

    /// <summary>The public key is the CA's own key, or otherwise unusable.</summary>
    KeyNotAllowed,

    /// <summary>
    /// The subject is empty, has a multi-valued RDN, an attribute type outside the allow list, an over-long or empty value, a
    /// string type other than UTF8String or PrintableString (RFC 5280 section 4.1.2.4), a control or bidirectional formatting
    /// character, or a repeated attribute (more than one CN).
    /// </summary>
    SubjectNotAllowed,

    /// <summary>The CSR requests subject alternative names that the profile does not copy (RFC 5280 section 4.2.1.6).</summary>
    SubjectAltNameNotAllowed,

    /// <summary>The same request key was used with a different CSR or requester.</summary>
    RequestKeyConflict,

    /// <summary>An operator rejected the pending request.</summary>
    RejectedByOperator,

    /// <summary>A field of the request (requester, protocol, profile name, request key) is empty or too long.</summary>
    InvalidParameter,

    /// <summary>
    /// The protocol front-end refused the authenticated client under its own rules: proof-of-possession linking
    /// (RFC 7030 section 3.5: challengePassword missing where required, not this session's tls-unique, or over a session without
    /// the extended master secret, whose tls-unique is not unique, RFC 7627 section 6.1), or re-enrollment
    /// (RFC 7030 section 4.2.2: no current certificate of this CA, or a different subject or subjectAltName).
    /// </summary>
    NotAuthorized,

    /// <summary>
    /// The request asks for something the server cannot provide: e.g. an encrypted server-generated key (RFC 7030 section 4.4.1)
    /// with conflicting or incomplete key-encryption attributes, an unknown key identifier, or no usable recipient certificate or algorithm;
    /// or a critical requested extension the CA does not issue.
    /// </summary>
    UnsatisfiableRequest,

    /// <summary>
    /// The request asks for a name the CA never issues (<see cref="Ca.ReservedNames"/>): a CA certificate's subject, the server
    /// certificate's subject, or a name the server certificate carries.
    /// </summary>
    ReservedName,

    /// <summary>
    /// The requested subject or a subjectAltName is not bound to the authenticated requester under the profile's
    /// <see cref="NamePolicy.BoundToRequester"/> rules (not the requester's own CN or serialNumber, no CN nor serialNumber, a
    /// subjectAltName its certificate lacks, and no template or allow-list entry of the profile admitting it).
    /// </summary>
    NameNotBoundToRequester,

    /// <summary>The requested subject is held by an active certificate of another requester (names are unique per identity).</summary>
    NameHeldByAnotherRequester,

    /// <summary>
    /// The signature algorithm of the proof of possession, or its parameters, is not one this CA verifies: e.g. Ed25519, DSA,
    /// RSASSA-PSS with a salt length other than the hash length, or SHA-1 where the profile does not allow it.
    /// </summary>
    UnsupportedAlgorithm,

    /// <summary>
    /// A repeated request whose certificate was issued earlier but is no longer active (superseded by re-enrollment, or revoked):
    /// it is not handed out again, and issuing anew would undo the supersession or revocation.
    /// </summary>
    CertificateNoLongerActive,

    /// <summary>
    /// The request needs an operator's approval, and the requester's identity already has
    /// <see cref="CertificateAuthority.MaxPendingRequestsPerIdentity"/> requests waiting, or all requesters together
    /// <see cref="CertificateAuthority.MaxPendingRequests"/>. Nothing is stored; the requester may repeat the request later,
    /// once an operator has decided on some (front ends answer it as a temporary condition: 5.03 or 503 with a retry time).
    /// </summary>
    TooManyPendingRequests,
}
